"""Progress of the future-community programme against the policy's targets (Jiaxing, 2023).

Per county and per street of a region, on a date ``as_of`` (a project's stage on that date is
the last lifecycle step dated on or before it; a project with no step yet does not count):

- ``provincial_declared``: provincial projects declared or further (申报及以后);
- ``provincial_creation``: provincial projects on the creation list or further (省级创建项目);
- ``provincial_built``: provincial projects accepted (省级验收, "built");
- ``municipal_named``: municipal projects accepted (市级命名);
- ``by_status``: projects of either level by their stage on ``as_of``;
- ``scenarios_delivered``: projects (creation list or further on ``as_of``) whose scenario is
  delivered on ``as_of`` (its ``delivered`` state dated on or before it, or undated);
- ``urban_communities`` / ``urban_covered``: urban communities (城镇社区), and those covered by
  a provincial creation project; ``coverage`` = covered / urban.

A project counts for a street (a county) when it covers at least one of its communities;
totals count each project once. Urban communities are residents' committees (居委会): a
community is urban when ``region.urban_rural`` (GB/T 10114 code, where a source provides it)
starts with 1, else when the last three digits of its 12-digit statistical code are below 200
(the statistical code numbers residents' committees 001-199 and villages 200-399). Streets
without a provincial project (declared or further) come first in their county.

Scope: only communities inside the caller's scope are counted (the region asked is cut down to
the scope), so a street row seen from a community scope counts that community alone and
nothing outside the scope shows, not even a count. Everything reads reference tables
(``region``, ``future_project``, ``future_project_region``): on Citus it runs on the
coordinator's copies.

Example::

    progress = compute_progress(session, parse_scope("3304"), "3304", dt.date(2025, 12, 31))
    progress.total.provincial_creation, progress.target_year    # (262, 2025)
    [(t.key, t.target, t.actual, t.distance) for t in progress.targets][:1]
    # [('provincial_creation', 260, 262, 0)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.schema.programme import STATUS_DATE_COLUMNS
from cimhouse.schema.vocab import ProjectStatus, Scenario
from cimhouse.scope import REGION_LEVEL_BY_LENGTH, Scope

STEPS = tuple(s.value for s in ProjectStatus)
DECLARED, LISTED, ACCEPTED = (STEPS.index(s) + 1 for s in ("declared", "listed", "accepted"))
#: the policy's targets by year (Jiaxing 2023); coverage is a share of urban communities
TARGETS: dict[int, dict[str, float]] = {
    2023: {"provincial_creation": 120, "provincial_built": 20, "municipal_named": 50},
    2025: {"provincial_creation": 260, "provincial_built": 50, "municipal_named": 200,
           "urban_coverage": 0.60},
}


@dataclass
class Figures:
    communities: int = 0
    urban_communities: int = 0
    urban_covered: int = 0
    provincial_declared: int = 0
    provincial_creation: int = 0
    provincial_built: int = 0
    municipal_creation: int = 0
    municipal_named: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    scenarios_delivered: dict[str, int] = field(default_factory=dict)

    @property
    def coverage(self) -> float | None:
        """Share of urban communities covered by a provincial creation project."""
        return (round(self.urban_covered / self.urban_communities, 4)
                if self.urban_communities else None)


@dataclass
class StreetProgress:
    code: str
    name: str
    figures: Figures

    @property
    def without_provincial(self) -> bool:
        return self.figures.provincial_declared == 0


@dataclass
class CountyProgress:
    code: str
    name: str
    figures: Figures
    streets: list[StreetProgress] = field(default_factory=list)

    @property
    def streets_without_provincial(self) -> list[StreetProgress]:
        return [s for s in self.streets if s.without_provincial]


@dataclass
class TargetDistance:
    key: str
    target: float
    actual: float
    distance: float  # how far below the target, 0 when met

    @property
    def met(self) -> bool:
        return self.distance == 0


@dataclass
class Progress:
    region_code: str
    as_of: dt.date
    target_year: int
    total: Figures
    counties: list[CountyProgress]
    targets: list[TargetDistance]

    @property
    def streets_without_provincial(self) -> int:
        return sum(len(c.streets_without_provincial) for c in self.counties)


def target_year(as_of: dt.date) -> int:
    """The policy year whose targets apply: 2023 up to its end, then 2025."""
    return 2023 if as_of <= dt.date(2023, 12, 31) else 2025


def effective_prefix(scope: Scope | None, region_code: str) -> str | None:
    """The region prefix to count: ``region_code`` cut down to the scope; None when they do
    not overlap (or the scope is an estate: regions are not visible there)."""
    if not region_code.isdigit() or len(region_code) not in REGION_LEVEL_BY_LENGTH:
        raise InvalidInput(_("regionCode must be a 2, 4, 6, 9 or 12-digit region code"))
    if scope is None:
        return region_code
    if scope.is_estate:
        return None
    if region_code.startswith(scope.code):
        return region_code
    if scope.code.startswith(region_code):
        return scope.code
    return None


def _stage_sql() -> str:
    cases = " ".join(f"WHEN p.{STATUS_DATE_COLUMNS[step]} <= :as_of THEN {i + 1}"
                     for i, step in reversed(list(enumerate(STEPS))))
    return f"CASE {cases} ELSE 0 END"


#: a residents' committee (urban), see the module docstring
_URBAN = ("CASE WHEN r.urban_rural IS NOT NULL THEN r.urban_rural LIKE '1%' "
          "ELSE substr(r.code12, 10, 3) < '200' END")
_PROJECT_FIGURES = ("provincial_declared", "provincial_creation", "provincial_built",
                    "municipal_creation", "municipal_named", *(f"st_{s}" for s in STEPS),
                    *(f"sc_{s.value}" for s in Scenario))


def progress_sql() -> str:
    """One statement, set-based, the area names included, reading the communities once.

    The communities of the region are read in one pass (``communities``), joined to the
    (community, project) pairs prepared beforehand (``covering``, a few thousand rows, each
    marked ``first`` of its community and ``covered`` when a provincial creation project
    covers it): the community figures count the ``first`` rows over GROUPING SETS (street,
    county, total), and the (area, project) pairs are the same rows reduced to distinct
    ones (GROUPING SETS with the project id), so every figure is a plain ``count(*)
    FILTER``. It used to read the communities
    twice, once joined to the projects and once to count them (docs/performance.md,
    "Programme"); before that, 25 ``count(DISTINCT ...)`` over GROUPING SETS of every
    (community, project) row."""
    prov = "p.level = 'provincial'"
    status_counts = ", ".join(f"count(*) FILTER (WHERE p.stage = {i + 1}) AS st_{step}"
                              for i, step in enumerate(STEPS))
    scenario_counts = ", ".join(
        f"count(*) FILTER (WHERE p.stage >= {LISTED} AND d.sc_{s.value}) AS sc_{s.value}"
        for s in Scenario)
    scenario_flags = ", ".join(f"bool_or(s.scenario = '{s.value}') AS sc_{s.value}"
                               for s in Scenario)
    return f"""
        WITH proj AS MATERIALIZED (
            SELECT p.id, p.level, {_stage_sql()} AS stage FROM future_project p),
        covering AS (  -- (community, project) pairs; whether a project covers the community
            SELECT pr.region_code AS code, p.id, row_number() OVER w = 1 AS first,
                   bool_or({prov} AND p.stage >= {LISTED}) OVER w AS covered
            FROM future_project_region pr
            JOIN proj p ON p.id = pr.project_id AND p.stage > 0
            WHERE pr.region_code >= :lo AND pr.region_code < :hi
            WINDOW w AS (PARTITION BY pr.region_code)),
        pass AS MATERIALIZED (  -- the one pass over the communities: per (street, project),
            -- the communities counted once each (``first``: NULL project = not covered)
            SELECT r.parent_code AS street, v.id,
                   count(*) FILTER (WHERE v.first IS NOT FALSE) AS communities,
                   count(*) FILTER (WHERE v.first IS NOT FALSE AND {_URBAN})
                       AS urban_communities,
                   count(*) FILTER (WHERE v.first AND v.covered AND {_URBAN}) AS urban_covered
            FROM region r LEFT JOIN covering v ON v.code = r.code
            WHERE r.level = 5 AND r.valid_to IS NULL AND r.code >= :lo AND r.code < :hi
            GROUP BY r.parent_code, v.id),
        delivered AS (  -- scenarios delivered on :as_of (an undated state: since ever)
            SELECT s.project_id, {scenario_flags}
            FROM future_project_scenario s
            WHERE s.state = 'delivered' AND (s.since IS NULL OR s.since <= :as_of)
            GROUP BY s.project_id),
        area_project AS (  -- distinct (area, project) pairs
            SELECT county, street, id, grouping(county, street) AS g
            FROM (SELECT left(street, 6) AS county, street, id FROM pass
                  WHERE id IS NOT NULL) x
            GROUP BY GROUPING SETS ((county, street, id), (county, id), (id))),
        project_figures AS (
            SELECT a.county, a.street, a.g,
                   count(*) FILTER (WHERE {prov} AND p.stage >= {DECLARED})
                       AS provincial_declared,
                   count(*) FILTER (WHERE {prov} AND p.stage >= {LISTED})
                       AS provincial_creation,
                   count(*) FILTER (WHERE {prov} AND p.stage >= {ACCEPTED}) AS provincial_built,
                   count(*) FILTER (WHERE NOT {prov} AND p.stage >= {LISTED})
                       AS municipal_creation,
                   count(*) FILTER (WHERE NOT {prov} AND p.stage >= {ACCEPTED})
                       AS municipal_named,
                   {status_counts}, {scenario_counts}
            FROM area_project a
            JOIN proj p ON p.id = a.id
            LEFT JOIN delivered d ON d.project_id = a.id
            GROUP BY a.county, a.street, a.g),
        community_figures AS (
            SELECT county, street, grouping(county, street) AS g,
                   sum(communities)::bigint AS communities,
                   sum(urban_communities)::bigint AS urban_communities,
                   sum(urban_covered)::bigint AS urban_covered
            FROM (SELECT left(street, 6) AS county, * FROM pass) s
            GROUP BY GROUPING SETS ((county, street), (county), ()))
        SELECT f.county, f.street, f.g, coalesce(n.name, '') AS name,
               f.communities, f.urban_communities, f.urban_covered,
               {", ".join(f"coalesce(pf.{name}, 0)" for name in _PROJECT_FIGURES)}
        FROM community_figures f
        LEFT JOIN project_figures pf
          ON pf.g = f.g AND coalesce(pf.county, '') = coalesce(f.county, '')
         AND coalesce(pf.street, '') = coalesce(f.street, '')
        LEFT JOIN (SELECT code, name FROM region
                   WHERE level IN (3, 4) AND code >= left(:lo, 6) AND code < :hi) n
          ON n.code = CASE f.g WHEN 0 THEN f.street WHEN 1 THEN f.county END
    """


#: the figures' columns, in the order the statement returns them after (county, street, g, name)
_COLUMNS = ("communities", "urban_communities", "urban_covered", *_PROJECT_FIGURES)
_SCENARIOS = tuple(s.value for s in Scenario)  # enum .value costs ~5 us: not per row


def _figures(row: Any) -> Figures:
    # by position, names resolved once: 1,500 rows of 33 figures by name took ~0.2 s;
    # every figure arrives as a bigint, never NULL (no Decimal from sum(), no conversion)
    v = row[4:]
    statuses, scenarios = v[8:8 + len(STEPS)], v[8 + len(STEPS):]
    return Figures(
        communities=v[0], urban_communities=v[1], urban_covered=v[2],
        provincial_declared=v[3], provincial_creation=v[4], provincial_built=v[5],
        municipal_creation=v[6], municipal_named=v[7],
        by_status=dict(zip(STEPS, statuses, strict=True)),
        scenarios_delivered=dict(zip(_SCENARIOS, scenarios, strict=True)))


def _bounds(prefix: str) -> tuple[str, str]:
    lower = prefix.ljust(12, "0")
    if len(prefix) == 12:
        return lower, lower + "\x7f"  # codes are digits: the one community
    upper = str(int(prefix) + 1).zfill(len(prefix)).ljust(12, "0")
    return lower, upper


def _targets(total: Figures, streets_without: int, year: int) -> list[TargetDistance]:
    out: list[TargetDistance] = []
    for key, target in TARGETS[year].items():
        actual = float(total.coverage or 0) if key == "urban_coverage" else float(
            getattr(total, key))
        out.append(TargetDistance(key, target, actual, round(max(0.0, target - actual), 4)))
    out.append(TargetDistance("streets_without_provincial", 0, streets_without,
                              float(streets_without)))
    return out


def compute_progress(session: Session, scope: Scope | None, region_code: str,
                     as_of: dt.date) -> Progress:
    """The programme's figures for ``region_code`` inside ``scope`` on ``as_of``."""
    year = target_year(as_of)
    prefix = effective_prefix(scope, region_code)
    if prefix is None:
        empty = Figures()
        return Progress(region_code, as_of, year, empty, [], _targets(empty, 0, year))
    lo, hi = _bounds(prefix)
    rows = session.execute(text(progress_sql()), {"lo": lo, "hi": hi, "as_of": as_of}).all()
    total = Figures()
    counties: dict[str, CountyProgress] = {}
    streets: list[tuple[str, StreetProgress]] = []
    for row in rows:
        if row.g == 3:
            total = _figures(row)
        elif row.g == 1:
            counties[row.county] = CountyProgress(row.county, row.name, _figures(row))
        else:
            streets.append((row.county, StreetProgress(row.street, row.name, _figures(row))))
    for county, street in streets:
        counties[county].streets.append(street)
    ordered = [counties[c] for c in sorted(counties)]
    for county_progress in ordered:  # a street without a provincial project comes first
        county_progress.streets.sort(key=lambda s: (not s.without_provincial, s.code))
    without = sum(len(c.streets_without_provincial) for c in ordered)
    return Progress(region_code, as_of, year, total, ordered, _targets(total, without, year))
