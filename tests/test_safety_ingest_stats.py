"""The ingesters' counts and refused readings in GraphQL (``safetyIngestStatistics``) and the
CLI, limited to the counties wholly inside the caller's scope (issue 19)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from cimhouse.api.app import create_app
from cimhouse.db import EmbeddedCluster, session_scope
from cimhouse.safety.ingest_log import counties_inside, ingest_status, whole_counties
from cimhouse.scope import parse_scope
from cimhouse.settings import Settings
from tests.helpers.graphql_world import issue_token, post
from tests.helpers.safety_world import COMMUNITY_A, SafetyWorld, safety_world

QUERY = ("query($r: String!, $f: Date!, $t: Date!) { safetyIngestStatistics(regionCode: $r, "
         "from: $f, to: $t) { from to counties total { received stored malformed "
         "unknownDevice duplicate outOfOrder } bySource { source county received stored } "
         "byDay { day received } rejects { reason reasonText count } latestRejects { county "
         "reason device payload } } }")


@pytest.fixture(scope="module")
def sw(pg_cluster: EmbeddedCluster, template_db: str, test_settings: Settings,
       tmp_path_factory: pytest.TempPathFactory) -> Iterator[SafetyWorld]:
    with safety_world(pg_cluster, template_db, test_settings,
                      tmp_path_factory.mktemp("ingest-stats")) as world:
        with session_scope(world.engine) as session:
            for scope in ("33", "3304", "330402", "3305"):
                world.tokens[f"reader_{scope}"] = issue_token(session, scope, "reader")
        yield world


@pytest.fixture(scope="module")
def api(sw: SafetyWorld, test_settings: Settings) -> TestClient:
    return TestClient(create_app(test_settings, sw.engine))


def ask(api: TestClient, token: str, region: str, day: dt.date,
        until: dt.date | None = None) -> dict[str, Any]:
    return post(api, token, QUERY, {"r": region, "f": day.isoformat(),
                                    "t": (until or day).isoformat()})


def test_counties_inside_follow_region_changes() -> None:
    keys = ["330402", "330482", "330682", "330604", ""]
    assert counties_inside(parse_scope("33"), {}, keys) == ["330402", "330482", "330604",
                                                              "330682"]
    assert counties_inside(parse_scope("330402"), {}, keys) == ["330402"]
    assert counties_inside(parse_scope("330402007"), {}, keys) == []  # a part of a county
    assert counties_inside(parse_scope("3304020070240010000000001"), {}, keys) == []
    # a street of 330482 moved to 330402: 330482's counts are no longer one county's
    moved = {"330482101": "330402020"}
    assert counties_inside(parse_scope("330402"), moved, keys) == ["330402"]
    assert counties_inside(parse_scope("330482"), moved, keys) == []
    assert "330482" in counties_inside(parse_scope("3304"), moved, keys)
    # 330682 merged into 330604 as a whole: its counts belong to 330604 now
    merged = {"330682": "330604"}
    assert counties_inside(parse_scope("330604"), merged, keys) == ["330604", "330682"]
    assert counties_inside(parse_scope("330682"), merged, keys) == []


def test_counts_and_rejects_in_graphql_keep_to_whole_counties(sw: SafetyWorld,
                                                              api: TestClient) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    at = (now - dt.timedelta(minutes=5)).isoformat()
    batch = [{"device": "MOT-A1", "metric": "motion", "ts": at, "value": 1},
             {"device": "MOT-A1", "metric": "motion", "ts": at, "value": 1},  # duplicate
             {"device": "MOT-A2", "metric": "motion", "ts": at, "value": "x"},  # malformed
             {"device": "NOPE-1", "metric": "motion", "ts": at, "value": 1}]  # unknown
    reply = api.post("/safety/readings", json={"readings": batch},
                     headers={"Authorization": f"Bearer {sw.tokens['gateway_a']}"})
    assert reply.status_code == 200, reply.text
    today = now.date()
    seen = ask(api, sw.tokens["reader_330402"], "330402", today)["data"][
        "safetyIngestStatistics"]
    assert seen["counties"] == ["330402"]
    # the gateway's scope lies in 330402: what names no known device counts there too
    assert seen["total"] == {"received": 4, "stored": 1, "malformed": 1, "unknownDevice": 1,
                             "duplicate": 1, "outOfOrder": 0}
    assert seen["bySource"] == [{"source": "http", "county": "330402", "received": 4,
                                 "stored": 1}]
    assert seen["byDay"] == [{"day": today.isoformat(), "received": 4}]
    assert [(r["reason"], r["count"]) for r in seen["rejects"]] == [("bad_value", 1),
                                                                    ("unknown_device", 1)]
    assert seen["rejects"][0]["reasonText"].startswith("数值不是有限数 / ")
    assert {r["device"] for r in seen["latestRejects"]} == {"MOT-A2", "NOPE-1"}
    # the province's and the city's views agree with the county's
    for token, region in (("reader_33", "33"), ("reader_3304", "330402"),
                          ("reader_33", "3304")):
        view = ask(api, sw.tokens[token], region, today)["data"]["safetyIngestStatistics"]
        assert "330402" in view["counties"]
        assert view["total"] == seen["total"], (token, region)
    # narrower than a county, another city, a region apart, another day: nothing
    for token, region, day in (
            ("reader_a", COMMUNITY_A, today), ("reader_330402", "330402007", today),
            ("reader_3305", "33", today), ("reader_330402", "3305", today),
            ("reader_330402", "330402", today - dt.timedelta(days=3))):
        view = ask(api, sw.tokens[token], region, day)["data"]["safetyIngestStatistics"]
        assert view["total"]["received"] == 0, (token, region)
        assert view["bySource"] == view["rejects"] == view["latestRejects"] == [], token


def test_bad_ranges_are_refused_in_both_languages(sw: SafetyWorld, api: TestClient) -> None:
    day = dt.date(2026, 12, 2)
    for until in (day - dt.timedelta(days=1), day + dt.timedelta(days=366)):
        error = ask(api, sw.tokens["reader_330402"], "330402", day, until)["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert "366" in error["message"]
        assert "366 天" in error["extensions"]["message_zh"]


def test_a_region_sees_the_counts_of_its_whole_counties_only(sw: SafetyWorld) -> None:
    """What ``ingest-status --scope`` reads (regression: with ``--scope 3305``, a city, it
    listed every county's counts: a city scope has no county keys, and none meant all)."""
    with Session(sw.engine) as session:
        since = dt.date(2000, 1, 1)
        everything = ingest_status(session, since=since)["counts"]
        assert {r["county"] for r in everything} >= {"330402"}
        for scope, expected in (("3305", set()), ("3304", {"330402"}),
                                ("330402007", set())):
            counties = whole_counties(session, parse_scope(scope))
            status = ingest_status(session, since=since, counties=counties)
            assert {r["county"] for r in status["counts"]} == expected, scope
