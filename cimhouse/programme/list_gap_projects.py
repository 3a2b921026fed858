"""The gap-filling project library of a scope, each project with its before/after score.

``index_before`` is the community's service index on the last survey on or before the day the
project was planned (:func:`~cimhouse.programme.create_gap_project.create_gap_project` takes
one); ``index_after`` the last survey on or after the day it went into use (taken by
:func:`~cimhouse.programme.advance_gap_project.advance_gap_project`), None until then.

Example::

    rows = list_gap_projects(session, parse_scope("330402"))
    rows[0].category, rows[0].status, rows[0].index_before, rows[0].index_after
    # ('childcare', 'in_use', 61.2, 78.9)
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from cimhouse.programme.record_survey import index_history
from cimhouse.schema import Estate, Facility, GapProject
from cimhouse.scope import Scope, prefix_range


@dataclass(frozen=True)
class GapProjectRow:
    county: str
    id: int
    name: str
    category: str
    region_code: str
    estate_code: str | None
    planned_capacity: int | None
    status: str
    affected: int | None
    distance_m: float | None
    planned_on: dt.date
    under_construction_on: dt.date | None
    in_use_on: dt.date | None
    facility_name: str | None
    index_before: float | None
    index_after: float | None


def list_gap_projects(session: Session, scope: Scope, *, status: str | None = None,
                      only: tuple[str, int] | None = None) -> list[GapProjectRow]:
    """Projects of the communities in ``scope`` (an estate scope: its estate's), by community;
    ``only`` (county, id) keeps that one project (still inside ``scope``)."""
    where = [prefix_range(GapProject.region_code, scope.region_prefix)]
    if scope.is_estate:
        where.append(Estate.code == scope.code)
    if scope.county_keys:
        where.append(GapProject.county.in_(scope.county_keys))
    if status is not None:
        where.append(GapProject.status == status)
    if only is not None:
        where.extend([GapProject.county == only[0], GapProject.id == only[1]])
    rows = session.execute(
        select(GapProject, Estate.code, Facility.name)
        .outerjoin(Estate, and_(Estate.county == GapProject.county,
                                Estate.id == GapProject.estate_id))
        .outerjoin(Facility, and_(Facility.county == GapProject.county,
                                  Facility.id == GapProject.facility_id))
        .where(*where).order_by(GapProject.region_code, GapProject.county, GapProject.id)).all()
    surveys: dict[str, list[tuple[dt.date, float]]] = defaultdict(list)
    for survey in index_history(session, scope):
        surveys[survey.region_code].append((survey.survey_date, survey.index))
    out = []
    for project, estate_code, facility_name in rows:
        history = surveys[project.region_code]
        before = [i for d, i in history if d <= project.planned_on]
        after = ([i for d, i in history if d >= project.in_use_on]
                 if project.in_use_on is not None else [])
        out.append(GapProjectRow(
            county=project.county, id=project.id, name=project.name,
            category=project.category, region_code=project.region_code,
            estate_code=estate_code, planned_capacity=project.planned_capacity,
            status=project.status, affected=project.affected, distance_m=project.distance_m,
            planned_on=project.planned_on,
            under_construction_on=project.under_construction_on,
            in_use_on=project.in_use_on, facility_name=facility_name,
            index_before=before[-1] if before else None,
            index_after=after[-1] if after else None))
    return out
