"""The checked-in SDL is the contract: it must match the schema the code builds."""

from __future__ import annotations

from cimhouse.graphql.schema import SDL_PATH, build_schema


def test_checked_in_sdl_matches_the_code() -> None:
    current = build_schema().as_str() + "\n"
    assert SDL_PATH.read_text(encoding="utf-8") == current, (
        "the GraphQL schema changed: run `cimhouse export-schema` and commit "
        "cimhouse/graphql/schema.graphql")


def test_sdl_names_the_contract() -> None:
    sdl = SDL_PATH.read_text(encoding="utf-8")
    for name in ("interface Node", "type EstateConnection", "union HouseResult",
                 "upsertPersonHouseRelation", "validateCode", "statistics"):
        assert name in sdl
