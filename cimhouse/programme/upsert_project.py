"""Create or update one future-community project; every change goes to ``change_log``.

A project is keyed by its ``external_id`` (项目编号) when it has one, else by its lead street
and name. Its status is the last lifecycle step that has a date (``reserve`` ... ``accepted``);
steps may be skipped (a municipal project is never on the provincial creation list) but the
dates never go backwards. The communities (level 5) and estates it covers are replaced by the
given ones; an estate must lie in one of the communities. Scope: the caller's scope must
contain the lead street's communities it names and every community the project covers,
before and after the change (else ``NotFound``, worded alike for unknown and outside).

The scenarios come with the date of each state (:mod:`cimhouse.programme.project_scenarios`);
the given histories replace the stored ones. The history row (``change_log``, object_kind
``future_project``, county = the lead street's county) holds the values before and after, the
scenario histories included, so every transition has its date and actor.

Example::

    data = ProjectData(name="南湖未来社区", level="provincial", kind="renovation",
                       lead_street="330402001", communities=["330402001001"],
                       dates={"declared": dt.date(2022, 5, 1), "listed": dt.date(2022, 9, 1)},
                       scenarios={"health": {"planned": dt.date(2022, 5, 1),
                                             "delivered": dt.date(2024, 3, 1)}},
                       external_id="JX-2022-001")
    outcome = upsert_project(session, data, actor="cli:alice", scope=parse_scope("3304"))
    outcome.project.status, outcome.created      # ('listed', True)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput, NotFound
from cimhouse.i18n import _
from cimhouse.programme.project_scenarios import (
    Scenarios,
    as_json,
    check_scenarios,
    load_scenarios,
    replace_scenarios,
)
from cimhouse.schema import (
    ChangeLog,
    Estate,
    FutureProject,
    FutureProjectEstate,
    FutureProjectRegion,
    Region,
)
from cimhouse.schema.programme import STATUS_DATE_COLUMNS
from cimhouse.schema.vocab import ProjectKind, ProjectLevel, ProjectStatus
from cimhouse.scope import Scope

STEPS: tuple[str, ...] = tuple(s.value for s in ProjectStatus)
SNAPSHOT = ("external_id", "name", "level", "kind", "themes", "status", "year",
            "lead_street", "investment_10k", "area_m2", "households",
            *STATUS_DATE_COLUMNS.values())


@dataclass
class ProjectData:
    """A project as a file row or a mutation gives it (values already in the vocabularies)."""

    name: str
    level: str
    kind: str
    lead_street: str
    communities: list[str]
    dates: dict[str, dt.date]  # lifecycle step -> date
    external_id: str | None = None
    themes: list[str] = field(default_factory=list)
    scenarios: Scenarios = field(default_factory=dict)  # scenario -> {state: date or None}
    year: int | None = None
    estates: list[str] = field(default_factory=list)  # estate codes
    investment_10k: Decimal | None = None
    area_m2: Decimal | None = None
    households: int | None = None
    source: str | None = None


@dataclass
class UpsertOutcome:
    project: FutureProject
    created: bool
    changed: bool


def status_of(dates: dict[str, dt.date]) -> str:
    """The last step with a date; the dates must not go backwards along the lifecycle.

    >>> status_of({"declared": dt.date(2022, 5, 1), "listed": dt.date(2022, 9, 1)})
    'listed'
    """
    dated = [(step, dates[step]) for step in STEPS if dates.get(step) is not None]
    if not dated:
        raise InvalidInput(_("a project needs the date of at least one lifecycle step"))
    for (step_a, day_a), (step_b, day_b) in pairwise(dated):
        if day_b < day_a:
            raise InvalidInput(_("the {step_b} date is before the {step_a} date", step_b=step_b,
                                 step_a=step_a))
    return dated[-1][0]


def check_values(data: ProjectData) -> None:
    """Vocabulary checks shared by the importer and the mutations (bilingual reasons)."""
    if not data.name.strip():
        raise InvalidInput(_("the project name is empty"))
    if data.level not in {v.value for v in ProjectLevel}:
        raise InvalidInput(_("unknown level {level!r}", level=data.level))
    if data.kind not in {v.value for v in ProjectKind}:
        raise InvalidInput(_("unknown kind {kind!r}", kind=data.kind))
    check_scenarios(data.scenarios)
    if not (data.lead_street.isdigit() and len(data.lead_street) == 9):
        raise InvalidInput(_("the lead street must be a 9-digit code"))
    if not data.communities:
        raise InvalidInput(_("a project covers at least one community"))
    if data.year is not None and not 2000 <= data.year <= 2100:
        raise InvalidInput(_("year must lie between 2000 and 2100"))
    for number in (data.investment_10k, data.area_m2, data.households):
        if number is not None and number < 0:
            raise InvalidInput(_("figures must not be negative"))
    status_of(data.dates)


def project_snapshot(session: Session, project: FutureProject) -> dict[str, Any]:
    """The values the change log keeps, the scenario histories included."""
    out: dict[str, Any] = {"scenarios": as_json(load_scenarios(session, [project.id])[project.id])}
    for name in SNAPSHOT:
        value = getattr(project, name)
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, Decimal):
            value = format(value.normalize(), "f")  # 12.50 and 12.5 are one value
        elif isinstance(value, list):
            value = list(value)
        elif isinstance(value, dict):
            value = dict(value)
        out[name] = value
    return out


def _check_regions(session: Session, data: ProjectData, scope: Scope | None) -> None:
    codes = sorted(set(data.communities))
    found = {code: level for code, level in session.execute(select(
        Region.code, Region.level).where(Region.code.in_([*codes, data.lead_street]),
                                         Region.valid_to.is_(None)))}
    if found.get(data.lead_street) != 4:
        raise NotFound(_("street {lead_street} not found", lead_street=data.lead_street))
    for code in codes:
        if found.get(code) != 5:
            raise NotFound(_("community {code} not found", code=code))
    if scope is not None:
        outside = [c for c in codes if not scope.covers_region(c)]
        if outside or not any(scope.covers_region(c) for c in codes):
            # one wording for unknown and outside (see cimhouse.errors.NotFound)
            raise NotFound(_("community {outside} not found", outside=(outside or codes)[0]))


def _estate_keys(session: Session, data: ProjectData) -> list[tuple[str, int]]:
    keys: list[tuple[str, int]] = []
    for code in sorted(set(data.estates)):
        row = session.execute(select(Estate.county, Estate.id, Estate.region_code).where(
            Estate.code == code, Estate.county == code[:6])).first()
        if row is None:
            raise NotFound(_("estate {code} not found", code=code))
        if row.region_code not in data.communities:
            raise InvalidInput(_("estate {code} lies outside the project's communities", code=code))
        keys.append((row.county, row.id))
    return keys


def find_project(session: Session, data: ProjectData) -> FutureProject | None:
    if data.external_id:
        return session.scalar(select(FutureProject).where(
            FutureProject.external_id == data.external_id))
    return session.scalar(select(FutureProject).where(
        FutureProject.lead_street == data.lead_street, FutureProject.name == data.name.strip(),
        FutureProject.external_id.is_(None)))


def record_project_change(session: Session, project: FutureProject, operation: str,
                          previous: dict[str, Any] | None, current: dict[str, Any],
                          actor: str, source: str) -> None:
    session.add(ChangeLog(county=project.lead_street[:6], object_kind="future_project",
                          object_id=str(project.id), operation=operation, actor=actor,
                          source=source, previous=previous, current=current))


def upsert_project(session: Session, data: ProjectData, *, actor: str,
                   scope: Scope | None = None, source: str = "api") -> UpsertOutcome:
    """Create or update the project ``data`` names (see the module docstring)."""
    check_values(data)
    _check_regions(session, data, scope)
    estates = _estate_keys(session, data)
    project = find_project(session, data)
    created = project is None
    before_regions: list[str] = []
    if project is None:
        project = FutureProject(external_id=data.external_id or None)
        session.add(project)
        previous = None
    else:
        before_regions = sorted(session.scalars(select(FutureProjectRegion.region_code).where(
            FutureProjectRegion.project_id == project.id)))
        if scope is not None and not all(scope.covers_region(c) for c in before_regions):
            raise NotFound(_("project {project} not found", project=data.external_id or data.name))
        previous = project_snapshot(session, project) | {"communities": before_regions}
    project.name = data.name.strip()
    project.level, project.kind = data.level, data.kind
    project.themes = sorted(set(data.themes))
    project.year, project.lead_street = data.year, data.lead_street
    project.investment_10k, project.area_m2 = data.investment_10k, data.area_m2
    project.households = data.households
    project.source = data.source or source
    for step, column in STATUS_DATE_COLUMNS.items():
        setattr(project, column, data.dates.get(step))
    project.status = status_of(data.dates)
    session.flush()
    communities = sorted(set(data.communities))
    current = (project_snapshot(session, project) | {"communities": communities,
                                                     "scenarios": as_json(data.scenarios)})
    if previous is not None and _same(previous, current):
        # the estates may still differ: compare them too before calling it unchanged
        old_estates = {(county, eid) for county, eid in session.execute(select(
            FutureProjectEstate.county, FutureProjectEstate.estate_id).where(
            FutureProjectEstate.project_id == project.id))}
        if old_estates == set(estates):
            return UpsertOutcome(project, created=False, changed=False)
    session.execute(delete(FutureProjectRegion).where(
        FutureProjectRegion.project_id == project.id))
    session.execute(delete(FutureProjectEstate).where(
        FutureProjectEstate.project_id == project.id))
    session.add_all([FutureProjectRegion(project_id=project.id, region_code=c)
                     for c in communities])
    replace_scenarios(session, project.id, data.scenarios)
    session.add_all([FutureProjectEstate(county=county, project_id=project.id, estate_id=eid)
                     for county, eid in estates])
    record_project_change(session, project, "insert" if created else "update", previous,
                          current, actor, source)
    session.flush()
    return UpsertOutcome(project, created=created, changed=True)


def _same(previous: dict[str, Any], current: dict[str, Any]) -> bool:
    return all(previous.get(k) == current.get(k) for k in current)
