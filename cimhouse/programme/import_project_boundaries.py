"""``cimhouse import project-boundaries FILE``: future-community project boundaries from
GeoJSON or GeoPackage polygons (the shapes a planning office draws in its GIS).

Features are keyed by 项目编号 (``external_id``) or else by 项目名称 + 牵头街道 (name and lead
street), like the rows of ``cimhouse import projects``; the project must exist. Polygons are
brought to CGCS2000 (EPSG:4490) by :mod:`cimhouse.crs` (a GeoPackage says its own CRS, GeoJSON
takes ``crs``), repaired (``ST_MakeValid``) and stored as MultiPolygon. Every feature is
accepted (updated or unchanged) or rejected with bilingual reasons in the one rejects report
(accepted + rejected = read); a changed boundary writes ``change_log`` (the areas before and
after). The import is one transaction of the caller: a killed import leaves nothing and a
rerun does the whole job; importing the same file again reports every feature unchanged.

Example::

    with session_scope(engine) as session:
        result = import_project_boundaries(session, Path("projects.geojson"), crs="GCJ02",
                                           report_path=Path("rejects.csv"))
    result.updated, result.unchanged, len(result.rejected)     # (112, 0, 2)
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

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
from cimhouse.programme.upsert_project import record_project_change
from cimhouse.schema import FutureProject

ID_KEYS = ("项目编号", "external_id", "编号", "code", "id")
NAME_KEYS = ("项目名称", "name", "名称")
STREET_KEYS = ("牵头街道", "lead_street", "街道代码", "牵头街道代码")
_AREA = "round(CAST(ST_Area(CAST({g} AS geography)) AS numeric), 1)"


class ProjectBoundaryResult(BoundaryUpdateResult):
    """What ``import_project_boundaries`` did (the boundary imports' one result shape)."""


def _projects(session: Session, keys: list[tuple[str, str, str]]) -> dict[tuple[str, ...], int]:
    """Project ids by ("id", external_id) and ("name", lead street, name); two statements."""
    found: dict[tuple[str, ...], int] = {}
    ids = sorted({k[0] for k in keys if k[0]})
    names = sorted({k[2] for k in keys if not k[0] and k[2]})
    if ids:
        for pid, external_id in session.execute(select(FutureProject.id, FutureProject.external_id)
                                                .where(FutureProject.external_id.in_(ids))):
            found[("id", str(external_id))] = pid
    if names:
        for pid, street, name in session.execute(
                select(FutureProject.id, FutureProject.lead_street, FutureProject.name)
                .where(FutureProject.name.in_(names))):
            found[("name", street, name)] = pid
    return found


def _apply(session: Session, project_id: int, ewkt: str, actor: str, source: str
           ) -> tuple[bool, list[str]]:
    """Set one boundary; (changed, reasons it was refused)."""
    row = session.execute(text(f"""
        WITH new AS (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(
                                ST_GeomFromEWKT(:g)), 3)) AS g)
        SELECT ST_IsEmpty(new.g) AS empty,
               p.boundary IS NOT NULL AND ST_OrderingEquals(p.boundary, new.g) AS same,
               {_AREA.format(g='p.boundary')} AS before_m2, {_AREA.format(g='new.g')} AS m2,
               encode(ST_AsEWKB(new.g), 'hex') AS hex
        FROM future_project p, new WHERE p.id = :id"""), {"g": ewkt, "id": project_id}).one()
    if row.empty:
        return False, ["修复后的几何为空 / geometry is empty after repair"]
    if row.same:
        return False, []
    session.execute(text("UPDATE future_project SET boundary = ST_GeomFromEWKB(decode(:h, 'hex')),"
                         " updated_at = now() WHERE id = :id"), {"h": row.hex, "id": project_id})
    project = session.get(FutureProject, project_id)
    assert project is not None
    record_project_change(session, project, "update",
                          {"boundary_area_m2": None if row.before_m2 is None
                           else float(row.before_m2)},
                          {"boundary_area_m2": float(row.m2)}, actor, source)
    return True, []


def import_project_boundaries(session: Session, path: Path, *, crs: str = "CGCS2000",
                              actor: str = "cli", dry_run: bool = False,
                              report_path: Path | None = None) -> ProjectBoundaryResult:
    """Import project boundaries from ``path`` (see the module docstring)."""
    features = read_boundary_file(path)
    if not features:
        raise InvalidInput(_("{file}: no features", file=path.name))
    result = ProjectBoundaryResult(read=len(features))
    handle = begin_run(session, kind="project_boundaries", path=path, actor=actor,
                       dry_run=dry_run, rows_read=result.read, options={"crs": crs})
    keyed = [(first_property(p, ID_KEYS), first_property(p, STREET_KEYS),
              first_property(p, NAME_KEYS)) for _n, p, _g, _s in features]
    projects = _projects(session, keyed)
    seen: dict[tuple[str, ...], int] = {}
    source = f"import_run:{handle.id}"
    for (number, _props, geom, srid), (external_id, street, name) in zip(features, keyed,
                                                                       strict=True):
        key = ("id", external_id) if external_id else ("name", street, name)
        shown = {"项目编号": external_id, "牵头街道": street, "项目名称": name}
        reasons: list[str] = []
        if not external_id and not (street and name):
            reasons.append("缺少项目编号或项目名称+牵头街道 / neither 项目编号 nor 项目名称 "
                           "with 牵头街道")
        elif key in seen:
            reasons.append(f"与第{seen[key]}个要素重复 / duplicate of feature {seen[key]}")
        elif key not in projects:
            reasons.append("未找到项目 / no project with this "
                           + ("项目编号 (external id)" if external_id else "name and lead street"))
        seen.setdefault(key, number)
        stored, refused = polygon_in_storage(geom, srid, crs)
        reasons += refused
        if not reasons and stored is not None:
            changed, reasons = _apply(session, projects[key], f"SRID=4490;{stored.wkt}",
                                      actor, source)
            result.updated += changed
        if reasons:
            result.rejected.append(RejectedRow(number, shown, reasons))
    if report_path is not None and result.rejected:
        result.report_path = write_rejects(report_path, result.rejected)
    result.import_run_id = end_run(
        session, handle, accepted=result.accepted, rejected=len(result.rejected),
        summary={"updated": result.updated, "unchanged": result.unchanged}, dry_run=dry_run,
        report_path=result.report_path)
    return result
