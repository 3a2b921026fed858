"""Make a gap-filling (补短板) project from a gap found today (survey, score, gap, project).

The gap must exist on the date: an estate (or, without an estate, a community) of the scope
lacks a facility of the category within its radius (:func:`cimhouse.services.gaps.find_gaps`).
The project records the people affected and the distance to the nearest facility then, and
the community's service index is surveyed on that date (the "before" score) unless it was
already. History goes to ``change_log`` (object_kind ``gap_project``).

Example::

    project = create_gap_project(session, parse_scope("3304"), category="childcare",
                                 estate_code="3304020070240010000000001",
                                 planned_capacity=40, on=dt.date(2026, 7, 1), actor="cli")
    project.status, project.affected        # ('planned', 12)
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from cimhouse.errors import Conflict, InvalidInput, NotFound
from cimhouse.i18n import _
from cimhouse.programme.record_survey import record_survey
from cimhouse.schema import ChangeLog, Estate, GapProject, Region, ServiceIndexSurvey
from cimhouse.schema.vocab import FacilityCategory, GapProjectStatus, label_zh
from cimhouse.scope import Scope, parse_scope, scope_filter, with_county_keys
from cimhouse.services.gaps import find_gaps
from cimhouse.services.policy import ServicePolicy

SNAPSHOT = ("name", "category", "region_code", "estate_id", "planned_capacity", "status",
            "facility_id", "planned_on", "under_construction_on", "in_use_on")


def gap_snapshot(project: GapProject) -> dict[str, object]:
    return {k: (v.isoformat() if isinstance(v, dt.date) else v)
            for k in SNAPSHOT for v in [getattr(project, k)]}


def record_gap_change(session: Session, project: GapProject, previous: dict[str, object] | None,
                      actor: str, source: str) -> None:
    session.add(ChangeLog(county=project.county, object_kind="gap_project",
                          object_id=str(project.id),
                          operation="insert" if previous is None else "update", actor=actor,
                          source=source, previous=previous, current=gap_snapshot(project)))


def create_gap_project(session: Session, scope: Scope, *, category: str, on: dt.date,
                       actor: str, community_code: str | None = None,
                       estate_code: str | None = None, planned_capacity: int | None = None,
                       name: str | None = None, metric_srid: int = 4549,
                       policy: ServicePolicy | None = None) -> GapProject:
    """A planned project for the gap of ``category`` in the estate or community named."""
    if category not in {c.value for c in FacilityCategory}:
        raise InvalidInput(_("unknown facility category {category}", category=category))
    if (community_code is None) == (estate_code is None):
        raise InvalidInput(_("give exactly one of community and estate"))
    if planned_capacity is not None and planned_capacity < 0:
        raise InvalidInput(_("planned capacity must not be negative"))
    target = parse_scope(estate_code or community_code or "")
    if target.level not in (5, 6) or not scope.covers_scope(target):
        raise NotFound(_("{code} not found (unknown, or outside your scope)",
                           code=target.code))
    target = with_county_keys(session, target)
    estate = None
    if target.is_estate:
        estate = session.scalar(select(Estate).where(scope_filter(Estate, target)))
        if estate is None:
            raise NotFound(_("{code} not found (unknown, or outside your scope)",
                               code=target.code))
        community = estate.region_code
    else:
        community = target.code
        if session.scalar(select(Region.level).where(Region.code == community)) != 5:
            raise NotFound(_("{code} not found (unknown, or outside your scope)",
                               code=community))
    county = estate.county if estate is not None else community[:6]
    open_project = session.scalar(select(GapProject.id).where(
        GapProject.county == county,
        GapProject.region_code == community, GapProject.category == category,
        GapProject.estate_id.is_(None) if estate is None else GapProject.estate_id == estate.id,
        GapProject.status != GapProjectStatus.IN_USE.value))
    if open_project is not None:  # one open project per gap: a rerun plans nothing twice
        raise Conflict(_("the gap already has the open project {project}",
                         project=f"{county}:{open_project}"))
    base = policy or ServicePolicy.default()
    gaps = find_gaps(session, target, policy=base.only([category]), metric_srid=metric_srid,
                     as_of=on)
    if not gaps.estates:
        raise Conflict(_("{code} has no {category} gap on {on}", code=target.code,
                         category=category, on=on.isoformat()))
    affected = sum(g.affected for g in gaps.estates)
    distances = [g.distance_m for g in gaps.estates if g.distance_m is not None]
    project = GapProject(
        county=county, category=category, region_code=community,
        estate_id=estate.id if estate is not None else None,
        name=name or f"{(estate.name if estate else community)}补短板"
                     f"{label_zh(FacilityCategory(category))}",
        planned_capacity=planned_capacity, status=GapProjectStatus.PLANNED.value,
        affected=affected, distance_m=min(distances) if distances else None, planned_on=on,
        actor=actor)
    session.add(project)
    session.flush()
    surveyed = session.scalar(select(ServiceIndexSurvey.index).where(
        ServiceIndexSurvey.county == community[:6], ServiceIndexSurvey.region_code == community,
        ServiceIndexSurvey.survey_date == on))
    if surveyed is None:
        record_survey(session, parse_scope(community), on, actor=actor, policy=policy,
                      metric_srid=metric_srid)
    record_gap_change(session, project, None, actor, "create_gap_project")
    session.flush()
    return project
