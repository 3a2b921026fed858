"""Set community (region level 5) or estate boundaries from GeoJSON or GeoPackage polygons.

Features are keyed by ``code`` (12-digit community code or 25-character estate code) or
else by ``name`` (community names match with or without 居委会/村委会; estate names also
match aliases, narrowed by a ``community`` property, code or name, when present),
optionally narrowed to a region prefix (``within``) so that a name must be unique there.
Polygons are reprojected to EPSG:4490, repaired (``ST_MakeValid``) and stored as
MultiPolygon; every changed boundary is written to ``change_log``. After an
estate import, buildings without an estate are assigned to the smallest estate of their
county whose boundary contains them (also in ``change_log``). Every feature is accepted or
rejected with bilingual reasons; the run is recorded in ``import_run`` (kind
``boundaries``).

Example::

    with session_scope(engine) as session:
        result = import_boundaries(session, Path("nanhu_estates.geojson"), level="estate",
                                   within="330402")
    result.updated, result.buildings_assigned, len(result.rejected)   # (312, 1840, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import literal_column, text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import copy_rows, create_staging, execute_count
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.boundaries.reading import (
    BoundaryUpdateResult,
    first_property,
    polygon_in_storage,
    read_boundary_file,
)
from cimhouse.importers.import_runs import begin_run, end_run
from cimhouse.importers.rejects import RejectedRow, write_rejects
from cimhouse.schema import Estate
from cimhouse.schema.vocab import RETIRING_STATUSES_SQL
from cimhouse.scope import Scope, parse_scope, prefix_range
from cimhouse.services.sql import literal_sql, scope_sql

LEVELS = ("community", "estate")
CODE_KEYS = {"community": ("code", "community_code", "region_code", "社区代码", "代码", "编码"),
             "estate": ("code", "estate_code", "小区代码", "代码", "编码")}
#: on estate features: the community (12-digit code or name) that narrows a name match
COMMUNITY_KEYS = ("community_code", "社区代码", "community", "社区", "所属社区")
NAME_KEYS = ("name", "名称", "小区名称", "社区名称", "村社名称")
_SUFFIX = "'(居民委员会|居委会|村民委员会|村委会)$'"


@dataclass
class BoundaryImportResult(BoundaryUpdateResult):
    buildings_assigned: int = 0

    def summary(self) -> dict[str, object]:
        return {**super().summary(), "buildings_assigned": self.buildings_assigned}


def feature_key(props: dict[str, Any], level: str) -> str:
    """How a feature is named in reports: its code, else [community/]name."""
    code, name = first_property(props, CODE_KEYS[level]), first_property(props, NAME_KEYS)
    community = first_property(props, COMMUNITY_KEYS) if level == "estate" else ""
    return code or (f"{community}/{name}" if community and name else name)


def _validate(features: list[Any], crs: str, level: str
              ) -> tuple[list[tuple[int, str, str, str, str]], list[RejectedRow]]:
    staged: list[tuple[int, str, str, str, str]] = []
    rejected: list[RejectedRow] = []
    seen: dict[str, int] = {}
    for number, props, geom, srid in features:
        code, name = first_property(props, CODE_KEYS[level]), first_property(props, NAME_KEYS)
        community = first_property(props, COMMUNITY_KEYS) if level == "estate" else ""
        key = feature_key(props, level)
        reasons: list[str] = []
        if not key:
            reasons.append("缺少代码或名称 / neither code nor name")
        elif key in seen:
            reasons.append(f"与第{seen[key]}个要素重复 / duplicate of feature {seen[key]}")
        seen.setdefault(key, number)
        geom, refused = polygon_in_storage(geom, srid, crs)
        reasons += refused
        if reasons or geom is None:
            rejected.append(RejectedRow(number, {"key": key}, reasons))
        else:
            staged.append((number, code, name, community, f"SRID=4490;{geom.wkt}"))
    return staged, rejected


def _match_sql(level: str, within: str | None) -> list[str]:
    if level == "community":
        # Matches go to a temp table first: Citus runs no write whose source joins a local
        # table with the region reference table (a plain read of that join it runs).
        narrow = f"AND ({prefix_sql('r.code', within)})" if within else ""
        return ["DROP TABLE IF EXISTS stage_boundary_match", f"""
            CREATE TEMP TABLE stage_boundary_match ON COMMIT DROP AS
            SELECT s2.line, min(r.code) AS code, count(*) AS n
            FROM stage_boundary s2 JOIN region r ON r.level = 5 AND r.valid_to IS NULL
             AND (r.code = s2.code OR (s2.code = '' AND
                  regexp_replace(r.name, {_SUFFIX}, '') =
                  regexp_replace(s2.name, {_SUFFIX}, '') {narrow}))
            GROUP BY s2.line""", """
            UPDATE stage_boundary s SET target_code = m.code, matches = m.n
            FROM stage_boundary_match m WHERE m.line = s.line"""]
    narrow = f"AND ({scope_sql(Estate, _scope(within)).replace('estate.', 'e.')})" \
        if within else ""
    return [f"""
        UPDATE stage_boundary s SET target_county = m.county, target_id = m.id,
               target_code = m.code, matches = m.n
        FROM (SELECT DISTINCT ON (s2.line) s2.line, e.county, e.id, e.code,
                     count(*) OVER (PARTITION BY s2.line) AS n
              FROM stage_boundary s2 JOIN estate e
                ON e.status NOT IN {RETIRING_STATUSES_SQL}
               AND (e.code = s2.code OR (s2.code = '' AND
                    (e.name = s2.name OR s2.name = ANY(e.aliases)) {narrow}
                    AND (s2.community = '' OR e.region_code = s2.community OR EXISTS (
                        SELECT 1 FROM region r WHERE r.code = e.region_code
                          AND regexp_replace(r.name, {_SUFFIX}, '') =
                              regexp_replace(s2.community, {_SUFFIX}, '')))))
              ORDER BY s2.line, e.id) m
        WHERE m.line = s.line"""]


def prefix_sql(column: str, prefix: str | None) -> str:
    return literal_sql(prefix_range(literal_column(column), prefix or ""))


def _scope(within: str | None) -> Scope | None:
    return parse_scope(within) if within else None


def import_boundaries(session: Session, path: Path, *, level: str, crs: str = "CGCS2000",
                      within: str | None = None, actor: str = "cli", dry_run: bool = False,
                      report_path: Path | None = None) -> BoundaryImportResult:
    """Import community (``level="community"``) or estate boundaries from ``path``."""
    if level not in LEVELS:
        raise InvalidInput(_("level must be community or estate"))
    if within is not None:
        _scope(within)  # validates the code
    features = read_boundary_file(path)
    if not features:
        raise InvalidInput(_("{file}: no features", file=path.name))
    result = BoundaryImportResult(read=len(features))
    staged, result.rejected = _validate(features, crs, level)
    keys = {f[0]: feature_key(f[1], level) for f in features}

    handle = begin_run(session, kind="boundaries", path=path, actor=actor, dry_run=dry_run,
                       rows_read=result.read,
                       options={"level": level, "crs": crs, "within": within})
    create_staging(session, "stage_boundary",
                   "line integer PRIMARY KEY, code text, name text, community text, "
                   "geom geometry(Geometry, 4490), target_code text, target_county text, "
                   "target_id bigint, matches integer")
    copy_rows(session, "stage_boundary", ["line", "code", "name", "community", "geom"],
              staged)
    session.execute(text("UPDATE stage_boundary SET geom = ST_Multi(ST_CollectionExtract("
                         "ST_MakeValid(geom), 3))"))
    for statement in _match_sql(level, within):
        session.execute(text(statement))
    for line, code, name, matches in session.execute(text(
            "SELECT line, code, name, matches FROM stage_boundary "
            "WHERE matches IS NULL OR matches > 1 OR ST_IsEmpty(geom)")):
        what = "社区" if level == "community" else "小区"
        reason = (f"未找到{what} / no {level} with this {'code' if code else 'name'}"
                  if matches is None else
                  f"名称对应{matches}个{what}，请提供代码或 --within / name matches "
                  f"{matches} {level}s: give a code or narrow with --within"
                  if matches > 1 else "修复后的几何为空 / geometry is empty after repair")
        result.rejected.append(RejectedRow(line, {"key": keys.get(line, code or name)},
                                           [reason]))
    result.rejected.sort(key=lambda r: r.line)
    session.execute(text("DELETE FROM stage_boundary "
                         "WHERE matches IS NULL OR matches > 1 OR ST_IsEmpty(geom)"))
    params = {"actor": actor, "src": f"import_run:{handle.id}"}
    result.updated = _apply(session, level, params)
    if level == "estate":
        result.buildings_assigned = assign_buildings(session, params)

    if report_path is not None and result.rejected:
        result.report_path = write_rejects(report_path, result.rejected)
    summary = {"updated": result.updated, "unchanged": result.unchanged,
                   "buildings_assigned": result.buildings_assigned}
    result.import_run_id = end_run(session, handle, accepted=result.accepted,
                                   rejected=len(result.rejected), summary=summary,
                                   dry_run=dry_run, report_path=result.report_path)
    return result


_AREA = "round(CAST(ST_Area(CAST({g} AS geography)) AS numeric), 1)"


def _apply(session: Session, level: str, params: dict[str, Any]) -> int:
    if level == "community":
        table, join, county, ref = ("region", "t.code = s.target_code",
                                    "rpad(left(t.code, 6), 6, '0')", "t.code")
        key, match = "t.code", "t.code = u.k"
    else:
        table, join, county, ref = ("estate", "t.county = s.target_county AND t.id = s.target_id",
                                    "t.county", "COALESCE(t.code, CAST(t.id AS text))")
        key, match = "t.county || ':' || t.id", "t.county = split_part(u.k, ':', 1) " \
            "AND t.id = CAST(split_part(u.k, ':', 2) AS bigint)"
    changed = "NOT (t.boundary IS NOT NULL AND ST_OrderingEquals(t.boundary, s.geom))"
    # The changes are read into a temp table first, the writes read only it or arrays:
    # Citus runs no write whose source joins a local table with a reference or distributed
    # one (an INSERT ... SELECT of such a join even inserts nothing).
    session.execute(text("DROP TABLE IF EXISTS stage_boundary_change"))
    session.execute(text(f"""
        CREATE TEMP TABLE stage_boundary_change ON COMMIT DROP AS
        SELECT {key} AS k, {county} AS county, {ref} AS ref, s.geom,
               {_AREA.format(g='t.boundary')} AS previous_m2, {_AREA.format(g='s.geom')} AS m2
        FROM {table} t JOIN stage_boundary s ON {join} WHERE {changed}"""))
    session.execute(text(f"""
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, '{table}', ref, 'update', :actor, :src,
               jsonb_build_object('boundary_area_m2', previous_m2),
               jsonb_build_object('boundary_area_m2', m2)
        FROM stage_boundary_change ORDER BY k"""), params)
    rows = session.execute(text(
        "SELECT k, encode(ST_AsEWKB(geom), 'hex') FROM stage_boundary_change ORDER BY k")).all()
    if not rows:
        return 0
    return execute_count(session, text(f"""
        UPDATE {table} t SET boundary = ST_GeomFromEWKB(decode(u.g, 'hex')),
               updated_at = now()
        FROM unnest(CAST(:k AS text[]), CAST(:g AS text[])) AS u(k, g)
        WHERE {match}"""), {"k": [r[0] for r in rows], "g": [r[1] for r in rows]})


def assign_buildings(session: Session, params: dict[str, Any]) -> int:
    """Give buildings without an estate the smallest estate (same county) containing them."""
    session.execute(text("DROP TABLE IF EXISTS building_estate_hit"))
    session.execute(text(f"""
        CREATE TEMP TABLE building_estate_hit ON COMMIT DROP AS
        SELECT b.county, b.id, b.code, e.id AS estate_id, e.code AS estate_code
        FROM building b CROSS JOIN LATERAL (
            SELECT e.id, e.code FROM estate e
            WHERE e.county = b.county AND e.boundary && b.footprint
              AND ST_Intersects(e.boundary, ST_PointOnSurface(b.footprint))
              AND e.status NOT IN {RETIRING_STATUSES_SQL}
            ORDER BY ST_Area(e.boundary), e.id LIMIT 1) e
        WHERE b.estate_id IS NULL AND b.footprint IS NOT NULL
          AND b.county IN (SELECT DISTINCT county FROM estate e2
                           JOIN stage_boundary s ON e2.county = s.target_county
                            AND e2.id = s.target_id)"""))
    session.execute(text("""
        INSERT INTO change_log (county, object_kind, object_id, operation, actor, source,
                                previous, current)
        SELECT county, 'building', COALESCE(code, CAST(id AS text)), 'update', :actor, :src,
               jsonb_build_object('estate_id', NULL),
               jsonb_build_object('estate_id', estate_id, 'estate_code', estate_code)
        FROM building_estate_hit"""), params)
    count = execute_count(session, text("""
        UPDATE building b SET estate_id = h.estate_id, updated_at = now(),
               version = b.version + 1
        FROM building_estate_hit h WHERE b.county = h.county AND b.id = h.id"""))
    session.execute(text("DROP TABLE building_estate_hit"))
    return count
