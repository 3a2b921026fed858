"""GraphQL seams (issue 14 point 5): loaders from session + scope, one page clamp, one scope
check raising one error."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import pytest
from sqlalchemy.orm import Session

from cimhouse.auth.principal import Principal
from cimhouse.errors import InvalidInput, NotFound
from cimhouse.graphql.common import page_size
from cimhouse.graphql.context import RequestContext
from cimhouse.graphql.loaders import Loaders
from cimhouse.schema.vocab import Role
from cimhouse.scope import parse_scope
from cimhouse.settings import Settings


def test_loaders_import_on_their_own() -> None:
    # no context <-> loaders cycle: the loaders module imports first, alone
    done = subprocess.run([sys.executable, "-c", "import cimhouse.graphql.loaders"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_loaders_need_only_session_and_scope(session: Session) -> None:
    async def load(scope: str) -> list[object]:
        loaders = Loaders(session, parse_scope(scope))
        return [await loaders.region.load(code) for code in ("330402", "330411")]

    inside, outside = asyncio.run(load("330402"))
    assert inside is not None
    assert getattr(inside, "code", None) == "330402"
    assert outside is None  # another county: as if it did not exist


def test_one_page_clamp(test_settings: Settings) -> None:
    top = test_settings.max_page_size
    assert [page_size(None, test_settings), page_size(10, test_settings),
            page_size(top + 1, test_settings), page_size(0, test_settings)] == [top, 10, top, 0]
    with pytest.raises(InvalidInput):
        page_size(-1, test_settings)


def test_one_scope_check(session: Session, test_settings: Settings) -> None:
    principal = Principal(id=1, name="gis", scope=parse_scope("330402"),
                          roles=frozenset({Role.READER}))
    ctx = RequestContext(session=session, settings=test_settings, principal=principal)
    assert ctx.narrow_scope("330402007024").code == "330402007024"
    with pytest.raises(NotFound) as outside:
        ctx.narrow_scope("330411")
    with pytest.raises(NotFound) as wider:
        ctx.narrow_scope("3304")
    assert outside.value.message.replace("330411", "X") == \
        wider.value.message.replace("3304", "X")
