"""Move a gap-filling project on: planned -> under construction -> in use (score again).

``in_use`` needs the facility that was built: a facility of the project's category, in use,
in the same county (and the same estate when the project names one). The community's service
index is then surveyed on that date, the "after" score next to the one taken when the project
was made.

Example::

    advance_gap_project(session, parse_scope("3304"), "330402", 7, "in_use",
                        dt.date(2027, 3, 1), actor="cli", facility_id=5120)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.errors import Conflict, InvalidInput, NotFound
from cimhouse.i18n import _
from cimhouse.programme.create_gap_project import gap_snapshot, record_gap_change
from cimhouse.programme.record_survey import record_survey
from cimhouse.schema import Facility, GapProject
from cimhouse.schema.vocab import GapProjectStatus
from cimhouse.scope import Scope, parse_scope, prefix_range
from cimhouse.services.policy import ServicePolicy

ORDER = [s.value for s in GapProjectStatus]


def advance_gap_project(session: Session, scope: Scope, county: str, project_id: int,
                        status: str, on: dt.date, *, actor: str, facility_id: int | None = None,
                        metric_srid: int = 4549,
                        policy: ServicePolicy | None = None) -> GapProject:
    """Set ``status`` (a later one) with its date; see the module docstring."""
    if status not in ORDER:
        raise InvalidInput(_("the status must be one of {statuses}", statuses=", ".join(ORDER)))
    if scope.is_estate:
        raise NotFound(_("gap project not found (unknown, or outside your scope)"))
    project = session.scalar(select(GapProject).where(
        GapProject.county == county, GapProject.id == project_id,
        prefix_range(GapProject.region_code, scope.code)).with_for_update())
    if project is None:
        raise NotFound(_("gap project not found (unknown, or outside your scope)"))
    if ORDER.index(status) <= ORDER.index(project.status):
        raise Conflict(_("the gap project is already {status}", status=project.status))
    if on < project.planned_on:
        raise InvalidInput(_("the date is before the project was planned"))
    previous = gap_snapshot(project)
    if status == GapProjectStatus.IN_USE.value:
        if facility_id is None:
            raise InvalidInput(_("in use needs the facility that was built"))
        facility = session.scalar(select(Facility).where(
            Facility.county == project.county, Facility.id == facility_id,
            prefix_range(Facility.region_code, scope.code)))
        if facility is None:
            raise NotFound(_("facility not found (unknown, or outside your scope)"))
        if facility.category != project.category or facility.status != "in_use":
            raise Conflict(_("the facility is not an in-use {category} facility",
                             category=project.category))
        if project.estate_id is not None and facility.estate_id not in (None, project.estate_id):
            raise Conflict(_("the facility belongs to another estate"))
        project.facility_id, project.in_use_on = facility.id, on
    else:
        project.under_construction_on = on
    project.status = status
    session.flush()
    record_gap_change(session, project, previous, actor, "advance_gap_project")
    if status == GapProjectStatus.IN_USE.value:
        record_survey(session, parse_scope(project.region_code), on, actor=actor,
                      metric_srid=metric_srid, policy=policy)  # the policy of the "before"
    session.flush()
    return project
