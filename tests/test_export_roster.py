"""The roster (花名册) of a community (issue 17): read back with openpyxl, counted against
independent SQL, masked by default, full ID numbers and phones only for a pii_reader token
covering the community, each full read audited, nothing outside the community."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import session_scope
from cimhouse.exports.export_roster import (
    HOUSE_HEADERS,
    HOUSEHOLD_HEADERS,
    PERSON_HEADERS,
    export_roster,
)
from cimhouse.scope import parse_scope, with_county_keys
from cimhouse.settings import Settings
from tests.helpers.graphql_world import ApiWorld, add_hidden_member
from tests.helpers.keys import TEST_KEY

Sheets = dict[str, list[tuple[Any, ...]]]


@pytest.fixture(scope="module")
def hidden(aw: ApiWorld, test_settings: Settings) -> int:
    """A member of a household of the first community who is a person of another county."""
    with session_scope(aw.engine) as session:
        return add_hidden_member(session, test_settings, aw.world)


def _read(path: Path) -> Sheets:
    book = load_workbook(path, read_only=True)
    return {name: list(book[name].iter_rows(values_only=True)) for name in book.sheetnames}


def _sql_counts(aw: ApiWorld, community: str) -> dict[str, int]:
    """Counted without the exporter: houses, households, (person, house) pairs today."""
    with session_scope(aw.engine) as session:
        one = session.execute(text("""
            SELECT (SELECT count(*) FROM house WHERE region_code = :c) AS houses,
                   (SELECT count(*) FROM household hh JOIN house h ON h.county = hh.county
                    AND h.id = hh.house_id WHERE h.region_code = :c) AS households,
                   (SELECT count(*) FROM (SELECT DISTINCT ph.person_id, ph.county, ph.house_id
                    FROM person_house ph JOIN house h ON h.county = ph.county
                    AND h.id = ph.house_id WHERE h.region_code = :c
                    AND (ph.valid_from IS NULL OR ph.valid_from <= CURRENT_DATE)
                    AND (ph.valid_to IS NULL OR ph.valid_to > CURRENT_DATE)) s) AS persons"""),
            {"c": community}).one()
    return dict(one._mapping)


def _audits(aw: ApiWorld) -> int:
    with session_scope(aw.engine) as session:
        return int(session.execute(text(
            "SELECT count(*) FROM audit_log WHERE action = 'pii.read' "
            "AND detail->>'via' = 'roster'")).scalar_one())


def _person_ids(aw: ApiWorld) -> dict[str, int]:
    with session_scope(aw.engine) as session:
        return {name: pid for pid, name in session.execute(text("SELECT id, name FROM person"))}


def test_roster_counts_masking_and_scope(aw: ApiWorld, hidden: int, tmp_path: Path) -> None:
    world = aw.world
    community = world.communities[0]
    path = tmp_path / "花名册.xlsx"
    before = _audits(aw)
    with session_scope(aw.engine) as session:
        result = export_roster(session, community=with_county_keys(
            session, parse_scope(community)), path=path)
    sheets = _read(path)
    assert list(sheets) == ["房屋", "户", "人员"]
    assert sheets["房屋"][0] == HOUSE_HEADERS
    assert sheets["户"][0] == HOUSEHOLD_HEADERS
    assert sheets["人员"][0] == PERSON_HEADERS
    counts = _sql_counts(aw, community)
    assert counts["houses"] > 0
    assert counts["persons"] > 0
    assert (len(sheets["房屋"]) - 1, len(sheets["户"]) - 1, len(sheets["人员"]) - 1) == (
        counts["houses"], counts["households"], counts["persons"])
    assert (result.houses, result.households, result.persons, result.revealed) == (
        counts["houses"], counts["households"], counts["persons"], 0)
    # only the community's houses, households and persons
    assert {r[0] for r in sheets["房屋"][1:]} == {
        c for c, o in world.objects.items() if o.kind == "house" and o.community == community}
    ids = _person_ids(aw)
    names = {r[0] for r in sheets["人员"][1:]}
    assert {ids[n] for n in names} <= world.persons_in(community)
    assert hidden not in {ids[n] for n in names}
    # sizes count the members who are persons of the community (the hidden one is not)
    inside = world.persons_in(community)
    assert any(hidden in world.households[r[0]][1] for r in sheets["户"][1:])
    for number, _kind, code, _address, head, size in sheets["户"][1:]:
        house, members = world.households[number]
        assert code == house
        assert size == sum(1 for p in members if p in inside)
        assert head is not None
    # masked: never a full ID number or phone, and nothing audited
    full = set(world.id_numbers.values())
    for row in sheets["人员"][1:]:
        assert "*" in row[3]
        assert row[3] not in full
        assert row[4] is None or "*" in row[4]
    assert _audits(aw) == before


def _cli(aw: ApiWorld, monkeypatch: pytest.MonkeyPatch, token: str | None,
         *args: str) -> Any:
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL",
                       aw.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CIMHOUSE_SECRET_KEY", TEST_KEY)
    if token is None:
        monkeypatch.delenv("CIMHOUSE_TOKEN", raising=False)
    else:
        monkeypatch.setenv("CIMHOUSE_TOKEN", token)
    return CliRunner().invoke(app, ["roster", *args])


@pytest.mark.usefixtures("hidden")
def test_full_persons_only_for_a_pii_reader_of_the_community_and_audited(
        aw: ApiWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = aw.world
    community = world.communities[0]
    out = tmp_path / "full.xlsx"
    args = ("--community", community, "--with-persons", "--out", str(out))
    before = _audits(aw)
    refused = {"no token": None, "person_reader": aw.tokens["county"],
               "other county": aw.tokens["other_county"], "bad token": "not-a-token"}
    for label, token in refused.items():
        done = _cli(aw, monkeypatch, token, *args)
        assert done.exit_code != 0, label
        assert not out.exists(), label
    assert _audits(aw) == before
    done = _cli(aw, monkeypatch, aw.tokens["community"], *args)  # pii_reader of the community
    assert done.exit_code == 0, done.output
    rows = _read(out)["人员"][1:]
    ids = _person_ids(aw)
    with session_scope(aw.engine) as session:
        phones = {pid: masked for pid, masked in session.execute(text(
            "SELECT id, phone_masked FROM person"))}
    for row in rows:
        pid = ids[row[0]]
        assert row[3] == world.id_numbers[pid]
        assert row[4] is not None
        assert row[4][-4:] == phones[pid][-4:]
        assert "*" not in row[4]
    assert _audits(aw) - before == len({r[0] for r in rows})
    masked = _cli(aw, monkeypatch, None, "--community", community, "--out", str(out),
                  "--as-of", dt.date.today().isoformat())
    assert masked.exit_code == 0, masked.output
    assert all("*" in r[3] for r in _read(out)["人员"][1:])
    assert _audits(aw) - before == len({r[0] for r in rows})
    wrong = _cli(aw, monkeypatch, None, "--community", community[:6], "--out", str(out))
    assert wrong.exit_code != 0
