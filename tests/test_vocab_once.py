"""Vocabularies declared once (issue 14 point 3/4): GraphQL wraps the vocabulary enums, the
active and retiring statuses are declared in schema.vocab."""

from __future__ import annotations

from cimhouse.graphql.built import RelationKindEnum
from cimhouse.graphql.code_mutations import RetireStatus
from cimhouse.graphql.schema import build_schema
from cimhouse.schema.vocab import (
    ACTIVE_STATUSES,
    RETIRING_STATUSES,
    RETIRING_STATUSES_SQL,
    LifecycleStatus,
    RelationKind,
    RetiringStatus,
)


def test_graphql_enums_are_the_vocabulary() -> None:
    assert RelationKindEnum is RelationKind
    assert RetireStatus is RetiringStatus
    sdl = build_schema().as_str()
    for name, enum in (("RelationKind", RelationKind), ("RetireStatus", RetiringStatus)):
        block = sdl.split(f"enum {name} {{", 1)[1].split("}", 1)[0]
        assert block.split() == [member.name for member in enum]


def test_statuses_split_into_active_and_retiring() -> None:
    assert set(ACTIVE_STATUSES) | set(RETIRING_STATUSES) == {s.value for s in LifecycleStatus}
    assert not set(ACTIVE_STATUSES) & set(RETIRING_STATUSES)
    assert RETIRING_STATUSES == ("demolished", "registered_in_error")
    assert RETIRING_STATUSES_SQL == "('demolished', 'registered_in_error')"
    assert all(LifecycleStatus(s) for s in RETIRING_STATUSES)
