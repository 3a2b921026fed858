"""The change feed: gap-free under out-of-order commits and concurrent writers, every kind of
change present, scoped and masked in SQL (issue 17)."""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.coding.apply_region_changes import apply_region_changes
from cimhouse.coding.assign_codes import assign_codes
from cimhouse.coding.split_house import split_house
from cimhouse.db import session_scope
from cimhouse.demo.generate_demo import generate_demo
from cimhouse.errors import InvalidInput, exit_code
from cimhouse.feed.read_changes import Change, read_changes
from cimhouse.feed.stamp_changes import stamp_changes
from cimhouse.importers.facilities.import_facilities import import_facilities
from cimhouse.importers.register.import_register import import_register
from cimhouse.pii import PiiVault
from cimhouse.scope import Scope, parse_scope, with_county_keys
from tests.helpers.coding_world import COMMUNITY, OTHER_COUNTY_COMMUNITY, build_world

VAULT = PiiVault(b"k" * 32)


def _log(conn: Connection | Session, county: str, object_id: str, kind: str = "house",
         current: str = '{"n": 1}') -> None:
    conn.execute(text(
        "INSERT INTO change_log (county, object_kind, object_id, operation, actor, current) "
        "VALUES (:c, :k, :o, 'update', 'test', CAST(:cur AS jsonb))"),
        {"c": county, "k": kind, "o": object_id, "cur": current})


def _drain(engine: Engine, after: int, scope: Scope | None = None,
           with_persons: bool = True) -> tuple[list[Change], int]:
    """Stamp, then read every page after ``after``: (changes, the cursor to keep)."""
    stamp_changes(engine)
    out: list[Change] = []
    with session_scope(engine) as session:
        while True:
            page = read_changes(session, scope=scope, after=after, first=7,
                                with_persons=with_persons)
            out += page.changes
            after = int(page.end_cursor)
            if not page.has_more:
                return out, after


def test_a_late_commit_is_read_after_the_cursor_not_skipped(fresh_engine: Engine) -> None:
    """T1 writes first and commits last: an id or time cursor would skip its row."""
    with fresh_engine.connect() as late, fresh_engine.connect() as early:
        _log(late, "330402", "1")  # lower id, still uncommitted
        _log(early, "330402", "2")
        early.commit()
        first, cursor = _drain(fresh_engine, 0)
        assert [c.object_id for c in first] == ["2"]
        late.commit()
    second, cursor2 = _drain(fresh_engine, cursor)
    assert [c.object_id for c in second] == ["1"]
    assert int(cursor2) > cursor
    again, _ = _drain(fresh_engine, cursor2)
    assert again == []


def test_concurrent_writers_every_change_exactly_once(fresh_engine: Engine) -> None:
    """Writers commit in random order while a consumer polls: each row once, in order."""
    writers, per_writer = 4, 15
    done = threading.Event()
    seen: list[Change] = []
    errors: list[BaseException] = []

    def write(n: int) -> None:
        rng = random.Random(n)
        try:
            for i in range(per_writer):
                with fresh_engine.connect() as conn:
                    for part in range(rng.randint(1, 3)):
                        _log(conn, rng.choice(["330402", "330411"]), f"{n}-{i}-{part}")
                        time.sleep(rng.random() * 0.01)  # others commit meanwhile
                    conn.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def consume() -> None:
        cursor = 0
        try:
            while not done.is_set():
                got, cursor = _drain(fresh_engine, cursor)
                seen.extend(got)
            got, cursor = _drain(fresh_engine, cursor)
            seen.extend(got)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    consumer = threading.Thread(target=consume)
    consumer.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    done.set()
    consumer.join()
    assert errors == []
    with fresh_engine.connect() as conn:
        written = sorted(conn.execute(text("SELECT object_id FROM change_log")).scalars())
    assert sorted(c.object_id for c in seen) == written  # none missed, none twice
    seqs = [c.seq for c in seen]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == len(seqs)


def test_every_kind_of_change_appears(fresh_engine: Engine, tmp_path: Path) -> None:
    generate_demo(tmp_path, houses=40, seed=3)
    with session_scope(fresh_engine) as session:
        import_register(session, tmp_path / "register.csv", vault=VAULT)
        import_facilities(session, tmp_path / "facilities.csv")
        build_world(session, estates=1, buildings=1, floors=2, per_floor=2, scattered=0)
        assign_codes(session, "3304", actor="setup")
    with session_scope(fresh_engine) as session:
        code = session.execute(text(
            f"SELECT code FROM house WHERE region_code = '{COMMUNITY}' ORDER BY code")
        ).scalars().first()
        assert code
        split_house(session, code, 2, actor="bob")
    with session_scope(fresh_engine) as session:
        apply_region_changes(session, {COMMUNITY: "330402007099"}, dt.date(2026, 12, 1),
                             actor="eve", names={"330402007099": "新百福社区"})
    changes, _ = _drain(fresh_engine, 0)
    kinds = {c.kind for c in changes}
    assert kinds >= {"estate", "building", "house", "person_house", "facility", "code",
                     "region"}, kinds
    assert {c.operation for c in changes if c.kind == "code"} >= {"issue", "split",
                                                                   "region_change"}
    assert all(c.region_code for c in changes if c.kind != "region"), "scope fixed"
    assert [c.seq for c in changes] == list(range(1, len(changes) + 1))


def _scoped(engine: Engine, raw: str | None, with_persons: bool = True) -> list[Change]:
    scope = None
    if raw:
        with session_scope(engine) as session:
            scope = with_county_keys(session, parse_scope(raw))
    return _drain(engine, 0, scope, with_persons)[0]


def test_scope_and_roles_are_applied_in_sql(fresh_engine: Engine) -> None:
    with session_scope(fresh_engine) as session:
        build_world(session, estates=1, buildings=1, floors=1, per_floor=2, scattered=0)
        build_world(session, OTHER_COUNTY_COMMUNITY, estates=1, buildings=1, floors=1,
                    per_floor=2, scattered=0)
        assign_codes(session, "3304", actor="setup")
        houses = session.execute(text(
            "SELECT county, id, region_code FROM house ORDER BY id")).all()
        for county, hid, _ in houses:
            _log(session, county, str(hid))
            _log(session, county, str(hid), kind="person",
                 current='{"name": "张三", "phone": "13812345678", "id_hash": "xx", '
                         '"id_number": "330402199001011234"}')
        estate = session.execute(text(
            f"SELECT code FROM estate WHERE region_code = '{COMMUNITY}'")).scalar_one()
    everything = _scoped(fresh_engine, None)
    mine = _scoped(fresh_engine, "330402")
    theirs = _scoped(fresh_engine, "330411")
    placed = [c for c in everything if c.region_code]
    assert mine
    assert theirs
    assert len(mine) + len(theirs) == len(placed)
    # persons without a relation have no place: only an unscoped reader sees them
    assert {c.kind for c in everything if not c.region_code} == {"person"}
    assert all(c.region_code and c.region_code.startswith("330402") for c in mine)
    assert not {c.seq for c in mine} & {c.seq for c in theirs}
    in_estate = _scoped(fresh_engine, estate)
    assert in_estate
    assert {c.seq for c in in_estate} <= {c.seq for c in mine}
    assert all(c.kind != "region" for c in in_estate)
    no_persons = _scoped(fresh_engine, "330402", with_persons=False)
    assert {c.kind for c in no_persons} == {"house", "code"}
    person = next(c for c in everything if c.kind == "person")
    assert person.current == {"name": "张三", "phone": "138****5678",
                              "id_number": "330402********1234"}


def test_a_killed_stamper_leaves_nothing_hidden(fresh_engine: Engine) -> None:
    """Rows numbered above the mark by a stamper that died are published by the next run."""
    with fresh_engine.connect() as conn:
        _log(conn, "330402", "a")
        _log(conn, "330402", "b")
        conn.execute(text("UPDATE change_log SET seq = 5, feed_region = '330402007024' "
                          "WHERE object_id = 'a'"))  # as if killed before the mark
        conn.commit()
    changes, cursor = _drain(fresh_engine, 0)
    assert [(c.object_id, c.seq) for c in changes] == [("a", 5), ("b", 6)]
    assert cursor == 6


def test_cli_changes_resumes_from_the_last_cursor(fresh_db: str, fresh_engine: Engine,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CIMHOUSE_DATABASE_URL", fresh_db)
    with session_scope(fresh_engine) as session:
        build_world(session, estates=1, buildings=1, floors=1, per_floor=2, scattered=0)
        assign_codes(session, "3304", actor="setup")

    def lines(*args: str) -> list[dict[str, Any]]:
        result = CliRunner().invoke(app, ["changes", *args])
        assert result.exit_code == 0, result.output
        return [json.loads(line) for line in result.stdout.splitlines()]

    everything = lines("--format", "jsonl")
    assert everything
    assert {c["kind"] for c in everything} == {"code"}
    first_two = lines("--limit", "2")
    rest = lines("--since", first_two[-1]["cursor"])
    assert first_two + rest == everything
    assert lines("--since", everything[-1]["cursor"]) == []
    assert lines("--since", "2000-01-01") == everything
    assert lines("--since", "2999-01-01") == []
    assert lines("--scope", "330411") == []
    bad = CliRunner().invoke(app, ["changes", "--since", "yesterday"])
    assert bad.exit_code == exit_code(InvalidInput("x"))


def test_a_bounded_stamp_publishes_what_it_numbered(fresh_engine: Engine) -> None:
    """A request numbers at most ``limit`` rows; the mark covers them, the rest come next."""
    with fresh_engine.connect() as conn:
        for n in range(5):
            _log(conn, "330402", f"r{n}")
        conn.commit()
    first = stamp_changes(fresh_engine, batch=2, limit=2)
    assert (first.numbered, first.last_seq) == (2, 2)
    with session_scope(fresh_engine) as session:
        page = read_changes(session, scope=None, after=0, first=10)
    assert [c.object_id for c in page.changes] == ["r0", "r1"]
    rest, cursor = _drain(fresh_engine, 2)
    assert [c.object_id for c in rest] == ["r2", "r3", "r4"]
    assert cursor == 5


def test_a_merge_across_counties_hides_the_other_county_code(fresh_engine: Engine) -> None:
    """Regression (found by the webhook scope property test): a merge whose parent lies in
    another county showed the parent's code to the child's county in ``previous``."""
    outside, inside = "3304020070240010001001014", "3301060020510010001001012"
    with session_scope(fresh_engine) as session:
        session.execute(text(
            "INSERT INTO code_lineage (county, event, parent_code, child_code) "
            "VALUES ('330106', 'merge', :p, :c)"), {"p": outside, "c": inside})
    stamp_changes(fresh_engine)
    with session_scope(fresh_engine) as session:
        for raw in ("3301", "330106002051", "33"):
            scope = with_county_keys(session, parse_scope(raw))
            (change,) = read_changes(session, scope=scope, after=0, kinds=["code"]).changes
            assert change.object_id == inside
            assert change.current is not None
            assert change.current["code"] == inside
            shown = (change.previous or {}).get("code")
            assert shown == (outside if raw == "33" else None), raw
