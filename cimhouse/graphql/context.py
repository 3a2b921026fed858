"""Per-request context: one session (and transaction) per request, settings."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from strawberry.fastapi import BaseContext

from cimhouse.settings import Settings


@dataclass
class RequestContext(BaseContext):
    session: Session
    settings: Settings

    def __post_init__(self) -> None:
        super().__init__()
