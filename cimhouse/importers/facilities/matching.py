"""Set-based SQL that places staged facilities and finds the rows they update.

The staging table ``stage_facility`` holds one validated row per input line. In order:

1. an explicit estate code (``estate_code``) picks the estate and its community;
2. otherwise the smallest estate whose boundary contains the facility (its point on
   surface) does;
3. an explicit community code overrides the community (it must be a current level-5 code);
4. a facility still without a community takes the community whose boundary contains it,
   else that of the nearest estate boundary or building footprint within ``max_match_m``;
5. each placed row is matched to an existing facility of its county (a facility never
   changes county): same source + external id, else same name + category within 5 m (or
   same name, community and address when the row has no location). A key that names a
   facility of another county is a conflict: the row is rejected, nothing is moved.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.db.bulk import county_in, execute_count
from cimhouse.importers.facilities.rows import FacilityRow
from cimhouse.services.sql import expand_box_sql

STAGE_COLUMNS = ("line", "name", "category", "subtype", "address", "geom", "external_id",
                 "capacity", "status", "community_code", "estate_code", "attributes")
STAGE_SQL = """line integer PRIMARY KEY, name text, category text, subtype text,
    address text, geom geometry(Geometry, 4490), external_id text, capacity integer,
    status text, community_code text, estate_code text, attributes jsonb,
    estate_county text, estate_id bigint, region_code text, matched_by text,
    facility_county text, facility_id bigint, reason text"""
SAME_PLACE_M = 5.0


def stage_values(line: int, row: FacilityRow) -> tuple[object, ...]:
    import json

    return (line, row.name, row.category, row.subtype, row.address,
            f"SRID=4490;{row.wkt}" if row.wkt else None, row.external_id, row.capacity,
            row.status, row.community_code, row.estate_code,
            json.dumps(row.attributes, ensure_ascii=False))


def place_staged(session: Session, *, max_match_m: float, metric_srid: int) -> None:
    """Fill estate/region/matched_by, or ``reason`` for rows that cannot be placed."""
    params = {"max_m": max_match_m, "srid": metric_srid}
    session.execute(text("""
        UPDATE stage_facility s SET estate_county = e.county, estate_id = e.id,
               region_code = e.region_code, matched_by = 'estate_code'
        FROM estate e WHERE e.code = s.estate_code"""))
    session.execute(text("""
        UPDATE stage_facility s
        SET reason = '小区代码不存在 / estate code not found: ' || s.estate_code
        WHERE s.estate_code IS NOT NULL AND s.estate_id IS NULL"""))
    # DISTINCT ON, not LATERAL ... LIMIT 1: Citus cannot push a LIMIT down per outer row.
    session.execute(text("""
        WITH hit AS (
            SELECT DISTINCT ON (s.line) s.line, e.county, e.id, e.region_code
            FROM stage_facility s
            JOIN estate e ON e.boundary IS NOT NULL
                         AND ST_Intersects(e.boundary, ST_PointOnSurface(s.geom))
            WHERE s.geom IS NOT NULL AND s.estate_id IS NULL AND s.reason IS NULL
            ORDER BY s.line, ST_Area(e.boundary), e.id)
        UPDATE stage_facility s SET estate_county = hit.county, estate_id = hit.id,
               region_code = hit.region_code, matched_by = 'estate_boundary'
        FROM hit WHERE hit.line = s.line"""))
    session.execute(text("""
        UPDATE stage_facility s SET region_code = s.community_code,
               matched_by = COALESCE(s.matched_by || '+', '') || 'community_code'
        FROM region r
        WHERE r.code = s.community_code AND r.level = 5 AND r.valid_to IS NULL
          AND s.reason IS NULL"""))
    session.execute(text("""
        UPDATE stage_facility s
        SET reason = '社区代码不存在或已撤销 / community code unknown or closed: '
                     || s.community_code
        WHERE s.community_code IS NOT NULL AND s.reason IS NULL
          AND s.region_code IS DISTINCT FROM s.community_code"""))
    session.execute(text("""
        WITH hit AS (
            SELECT s.line, r.code FROM stage_facility s
            CROSS JOIN LATERAL (
                SELECT r.code FROM region r
                WHERE r.level = 5 AND r.valid_to IS NULL AND r.boundary IS NOT NULL
                  AND ST_Intersects(r.boundary, ST_PointOnSurface(s.geom))
                ORDER BY r.code LIMIT 1) r
            WHERE s.geom IS NOT NULL AND s.region_code IS NULL AND s.reason IS NULL)
        UPDATE stage_facility s SET region_code = hit.code, matched_by = 'region_boundary'
        FROM hit WHERE hit.line = s.line"""))
    # The nearest estate boundary or building footprint within max_m: a bounded candidate
    # join (GiST on the box) ranked by the exact metric distance with DISTINCT ON, not a
    # LATERAL ... ORDER BY <-> LIMIT 1 per row, which Citus cannot push down to the shards.
    # An estate wins a tie with a building.
    near = """
        SELECT DISTINCT ON (s.line) s.line, t.region_code AS code, {rank} AS rank,
               ST_Distance(ST_Transform(t.{geom}, :srid),
                           ST_Transform(ST_PointOnSurface(s.geom), :srid)) AS d
        FROM stage_facility s
        JOIN {table} t ON t.{geom} IS NOT NULL AND t.{geom} && {box}
        WHERE s.geom IS NOT NULL AND s.region_code IS NULL AND s.reason IS NULL
        ORDER BY s.line, d, t.id"""
    box = expand_box_sql("ST_PointOnSurface(s.geom)", "CAST(:max_m AS float8)")
    session.execute(text(f"""
        WITH cand AS (
            ({near.format(rank=0, geom='boundary', table='estate', box=box)})
            UNION ALL
            ({near.format(rank=1, geom='footprint', table='building', box=box)})),
        hit AS (
            SELECT DISTINCT ON (line) line, code, d FROM cand ORDER BY line, d, rank)
        UPDATE stage_facility s SET region_code = hit.code, matched_by = 'nearest_estate'
        FROM hit WHERE hit.line = s.line AND hit.d <= :max_m"""), params)
    session.execute(text("""
        UPDATE stage_facility s
        SET reason = CASE WHEN s.geom IS NULL
            THEN '无法定位到社区 / no community: give coordinates or a community code'
            ELSE '该位置附近没有已知小区或社区边界 / no estate or community boundary at '
                 || 'or within ' || CAST(:max_m AS integer) || ' m of this location' END
        WHERE s.region_code IS NULL AND s.reason IS NULL"""), params)


def find_existing(session: Session, *, source: str, metric_srid: int) -> int:
    """Set facility_county/facility_id of staged rows that an earlier import created.

    A facility never changes county, so only a facility of the row's county (the first six
    digits of its placed ``region_code``) is matched. A row whose key names a facility of
    another county is a conflict: it gets a ``reason`` (and is rejected) instead of moving
    that facility. Returns the number of such conflicts.
    """
    params = {"source": source, "srid": metric_srid, "near": SAME_PLACE_M}
    # the rows' counties: Citus reads their facility shards only (county_in); the conflict
    # checks below look at every county on purpose
    counties = tuple(session.execute(text(
        "SELECT DISTINCT left(region_code, 6) FROM stage_facility "
        "WHERE region_code IS NOT NULL ORDER BY 1")).scalars())
    session.execute(text(f"""
        WITH hit AS (
            SELECT DISTINCT ON (s.line) s.line, f.county, f.id FROM stage_facility s
            JOIN facility f ON f.county = left(s.region_code, 6) AND f.source = :source
                           AND f.external_id = s.external_id
            WHERE {county_in('f', counties)} AND s.reason IS NULL AND s.external_id IS NOT NULL
            ORDER BY s.line, f.id)
        UPDATE stage_facility s SET facility_county = hit.county, facility_id = hit.id
        FROM hit WHERE hit.line = s.line"""), params)
    conflicts = execute_count(session, text("""
        WITH clash AS (  -- the reason built here: Citus refuses format() in the SET list
            SELECT DISTINCT ON (s.line) s.line, format(
            '来源 %s 的编号 %s 已属于县（区）%s 的设施“%s”（%s），本行位于 %s；设施不会跨县，'
            '未作更新。若本文件来自另一数据来源，请用 --source 区分 / source %s external id '
            '%s already names facility "%s" in county %s (%s) and this row lies in %s; a '
            'facility never changes county, so nothing was updated. If this file comes from '
            'another data owner, import it with its own --source',
            :source, s.external_id, f.county, f.name, f.region_code,
            s.region_code, :source, s.external_id, f.name, f.county,
            f.region_code, s.region_code) AS reason
            FROM stage_facility s
            JOIN facility f ON f.source = :source AND f.external_id = s.external_id
                           AND f.county <> left(s.region_code, 6)
            WHERE s.reason IS NULL AND s.external_id IS NOT NULL AND s.facility_id IS NULL
            ORDER BY s.line, f.id)
        UPDATE stage_facility s SET reason = clash.reason
        FROM clash WHERE clash.line = s.line"""), params)
    # Without an external id: same name and category at the same place (or, without a
    # location, in the same community at the same address). Same-county hits come first;
    # a hit only in another county is a conflict as above.
    same_county = session.scalars(text("""
        WITH hit AS (  -- DISTINCT ON over a join: Citus cannot push a LATERAL ... LIMIT down
            SELECT DISTINCT ON (s.line) s.line, f.county, f.id, f.name, f.region_code,
                   f.county = left(s.region_code, 6) AS same_county, format(
                '同名同类设施“%s”已在县（区）%s（%s）同一位置，本行位于 %s；设施不会跨县，'
                '未作更新 / facility "%s" of this category already exists at this place in '
                'county %s (%s) and this row lies in %s; a facility never changes county, '
                'so nothing was updated', f.name, f.county, f.region_code,
                s.region_code, f.name, f.county, f.region_code, s.region_code) AS clash
            FROM stage_facility s
            JOIN facility f ON f.name = s.name AND f.category = s.category
                  AND (f.source IS NOT DISTINCT FROM :source OR f.external_id IS NULL)
                  AND ((s.geom IS NOT NULL AND f.geom IS NOT NULL
                        AND f.geom && ST_Expand(s.geom, 0.001)
                        AND ST_DWithin(ST_Transform(f.geom, :srid),
                                       ST_Transform(s.geom, :srid), :near))
                    OR (s.geom IS NULL AND f.geom IS NULL
                        AND f.region_code = s.region_code
                        AND f.address IS NOT DISTINCT FROM s.address))
            WHERE s.reason IS NULL AND s.external_id IS NULL
            ORDER BY s.line, f.county = left(s.region_code, 6) DESC, f.id)
        UPDATE stage_facility s
        SET facility_county = CASE WHEN hit.same_county THEN hit.county END,
            facility_id = CASE WHEN hit.same_county THEN hit.id END,
            reason = CASE WHEN NOT hit.same_county THEN hit.clash END
        FROM hit WHERE hit.line = s.line RETURNING hit.same_county"""), params).all()
    return conflicts + same_county.count(False)
