"""The gap-filling (补短板) cycle: survey, score, gap, project, built facility, score again."""

from __future__ import annotations

import datetime as dt

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.errors import Conflict, InvalidInput, NotFound
from cimhouse.programme.advance_gap_project import advance_gap_project
from cimhouse.programme.create_gap_project import create_gap_project
from cimhouse.programme.list_gap_projects import list_gap_projects
from cimhouse.programme.record_survey import index_history, record_survey
from cimhouse.schema import ChangeLog, Facility
from cimhouse.scope import parse_scope
from cimhouse.services.report import build_services_report
from cimhouse.settings import Settings
from tests.helpers.services_world import AS_OF, COMMUNITY_A, POLICY, build_world, to_storage


def test_the_cycle_scores_before_and_after(session: Session, test_settings: Settings) -> None:
    world = build_world(session, test_settings)
    county = parse_scope("330402")
    assert record_survey(session, county, AS_OF - dt.timedelta(days=365), actor="tests",
                         policy=POLICY) == 2
    e2 = world.estates["E2"]
    assert e2.code is not None
    with pytest.raises(Conflict):  # E1 has a childcare facility within reach: no gap
        create_gap_project(session, county, category="childcare", on=AS_OF, actor="tests",
                           estate_code=world.estates["E1"].code, policy=POLICY)
    with pytest.raises(NotFound):  # outside the caller's scope
        create_gap_project(session, parse_scope("330411"), category="medical", on=AS_OF,
                           actor="tests", estate_code=e2.code, policy=POLICY)
    project = create_gap_project(session, county, category="medical", on=AS_OF,
                                 actor="tests", estate_code=e2.code, planned_capacity=40,
                                 policy=POLICY)
    assert (project.status, project.region_code, project.estate_id) == (
        "planned", COMMUNITY_A, e2.id)
    assert project.distance_m is not None
    assert round(project.distance_m) == 1204
    assert project.affected == 3  # everyone living in E2
    with pytest.raises(Conflict):  # one open project per gap
        create_gap_project(session, county, category="medical", on=AS_OF, actor="tests",
                           estate_code=e2.code, policy=POLICY)
    before = {h.region_code: h.index for h in index_history(session, county)
              if h.survey_date == AS_OF}
    assert COMMUNITY_A in before  # scored when the project was made
    start = AS_OF + dt.timedelta(days=1)
    advance_gap_project(session, county, project.county, project.id, "under_construction",
                        start, actor="tests")
    with pytest.raises(InvalidInput):  # in use needs the facility built
        advance_gap_project(session, county, project.county, project.id, "in_use", start,
                            actor="tests")
    built = Facility(county="330402", category="medical", name="E2卫生站", status="in_use",
                     geom=from_shape(to_storage(Point(0, 820)), srid=4490),
                     region_code=COMMUNITY_A, capacity=40)
    session.add(built)
    session.flush()
    done = AS_OF + dt.timedelta(days=2)  # the same people: only the facility changed
    advance_gap_project(session, county, project.county, project.id, "in_use", done,
                        actor="tests", facility_id=built.id, policy=POLICY)
    with pytest.raises(Conflict):
        advance_gap_project(session, county, project.county, project.id,
                            "under_construction", done, actor="tests")
    [row] = list_gap_projects(session, county)
    assert (row.status, row.facility_name, row.estate_code) == ("in_use", "E2卫生站", e2.code)
    history = [h for h in index_history(session, parse_scope(COMMUNITY_A))]
    assert [h.survey_date for h in history] == [AS_OF - dt.timedelta(days=365), AS_OF, done]
    assert row.index_before == before[COMMUNITY_A] == history[1].index
    assert row.index_after == history[2].index
    assert row.index_after is not None
    assert row.index_before is not None
    assert row.index_after > row.index_before  # a medical facility within reach of E2
    kinds = session.scalars(select(ChangeLog.operation).where(
        ChangeLog.object_kind == "gap_project", ChangeLog.object_id == str(project.id))
        .order_by(ChangeLog.id)).all()
    assert kinds == ["insert", "update", "update"]
    report = build_services_report(session, county, policy=POLICY, as_of=AS_OF)
    assert report.tables["gap_projects"][0]["index_after"] == row.index_after
    assert len(report.tables["index_history"]) == 3 + 1  # A: three surveys, B: the first
    assert list_gap_projects(session, parse_scope("330411")) == []
