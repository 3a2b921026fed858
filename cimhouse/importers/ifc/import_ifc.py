"""Import an IFC model (IFC2X3, IFC4, IFC4X3): the public use case of this package.

Steps: open and check the file (:mod:`.model_file`), walk the spatial structure
(:mod:`.structure`), start meshing footprints in a child under a time limit
(:mod:`.footprints`) and meanwhile choose the georeferencing (:mod:`.georef`), group spaces
into dwellings (:mod:`.dwellings`) and resolve the estate/community (:mod:`.target`); then
upsert everything by GlobalId (:mod:`.persist`).
Everything happens in a savepoint of the caller's transaction: a broken file or a failed step
leaves nothing behind, a successful run leaves one ``import_run`` row (kind ``ifc``).

Example::

    with session_scope(engine) as session:
        result = import_ifc(session, Path("block7.ifc"), community="330402007024",
                            actor="alice")
    result.counts["houses_added"], result.georef["source"]   # (4, 'ifc_map_conversion')
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.ifc.dwellings import DwellingRule, group_dwellings, resolve_rule
from cimhouse.importers.ifc.footprints import FootprintResult, start_footprints
from cimhouse.importers.ifc.georef import (
    DEFAULT_DISAGREEMENT_M,
    CliGeoref,
    resolve_georeference,
)
from cimhouse.importers.ifc.model_file import open_model
from cimhouse.importers.ifc.persist import ModelView, write_model
from cimhouse.importers.ifc.structure import read_structure
from cimhouse.importers.ifc.target import resolve_target
from cimhouse.importers.import_runs import begin_run, end_run
from cimhouse.importers.rejects import RejectedRow, write_rejects

IMPORT_KIND = "ifc"


@dataclass
class IfcImportResult:
    import_run_id: int | None
    schema: str
    read: int  # IfcBuilding + IfcBuildingStorey + IfcSpace in the file
    accepted: int
    rejected: list[dict[str, str]]
    counts: dict[str, int]
    dwelling_rule: str
    georef: dict[str, Any]
    target: dict[str, object]
    warnings: list[str] = field(default_factory=list)
    timings_s: dict[str, float] = field(default_factory=dict)
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in (
            "import_run_id", "schema", "read", "accepted", "rejected", "counts",
            "dwelling_rule", "georef", "target", "warnings", "timings_s", "dry_run")}


def import_ifc(session: Session, path: Path, *, estate: str | None = None,
               community: str | None = None, estate_name: str | None = None,
               georef_cli: CliGeoref | None = None, override_georef: bool = False,
               dwellings: str = "auto", geometry: bool = True,
               geometry_timeout_s: float = 300.0, threads: int | None = None,
               latlon_tolerance_m: float = DEFAULT_DISAGREEMENT_M, actor: str = "cli",
               dry_run: bool = False, report_path: Path | None = None) -> IfcImportResult:
    """Import ``path`` into buildings, storeys, houses and spaces; see the module docstring.

    Rejected objects go to ``report_path`` (:mod:`cimhouse.importers.rejects`; the line is the
    entity's STEP #id).

    Raises :class:`~cimhouse.errors.InvalidInput` for a broken file, a bad option or a
    geometry step over ``geometry_timeout_s``; nothing is written then.
    """
    # Citus: the caller may write reference tables (the job of ``--assign-codes``) after the
    # estate's objects in this transaction, which Citus refuses after a parallel multi-shard
    # access; one connection per node, set before the first query, as in the register
    # import. A placeholder setting on plain PostgreSQL.
    session.execute(text("SET LOCAL citus.multi_shard_modify_mode = 'sequential'"))
    timings: dict[str, float] = {}
    clock = time.perf_counter()
    rule = DwellingRule.parse(dwellings)
    opened = open_model(path)
    model = opened.model
    timings["open"] = time.perf_counter() - clock

    clock = time.perf_counter()
    structure = read_structure(model)
    if not structure.buildings:
        raise InvalidInput(_("{file}: no IfcBuilding is reachable from the IfcProject (project -> "
                             "site -> building)", file=path.name))
    # the geometry child meshes while this process does everything that does not need it
    pending = start_footprints(model, structure, timeout_s=geometry_timeout_s,
                               threads=threads) if geometry else None
    # a failure or a dry run rolls back to the savepoint begin_run opens
    handle = begin_run(session, kind=IMPORT_KIND, path=path, actor=actor, dry_run=dry_run,
                       rows_read=structure.read, sha256=opened.sha256,
                       options=_options(estate, community, estate_name, georef_cli,
                                        override_georef, str(rule), geometry))
    try:
        georef = resolve_georeference(model, structure.length_scale, cli=georef_cli,
                                      override=override_georef,
                                      tolerance_m=latlon_tolerance_m)
        used_rule = resolve_rule(structure, rule)
        groups = group_dwellings(structure, used_rule)
        source = f"ifc:{path.name}"
        target, target_info = resolve_target(
            session, estate_code=estate, community=community, estate_name=estate_name,
            model_name=_model_name(structure, path), source=source, actor=actor,
            building_ids=[b.global_id for b in structure.buildings])
        timings["structure"] = time.perf_counter() - clock

        clock = time.perf_counter()
        shapes: FootprintResult | None = pending.result() if pending else None
        timings["geometry_wait"] = time.perf_counter() - clock

        clock = time.perf_counter()
        counts = write_model(session, target, ModelView(structure, groups, shapes, georef,
                                                        source),
                             actor=actor, source=f"import_run:{handle.id}")
        warnings = [*opened.warnings, *structure.warnings, *georef.warnings]
        if rule.kind == "auto" and structure.zones and used_rule.kind != "zone":
            warnings.append(f"{len(structure.zones)} IfcZone(s) overlap (a space in two "
                            f"zones), so they were not taken as dwellings; rule used: "
                            f"{used_rule}. Pass --dwellings zone to use them anyway")
        if shapes is not None and shapes.failed:
            warnings.append(f"{shapes.failed} element(s) could not be meshed; their "
                            "footprints are missing")
        accepted = structure.read - len(structure.rejected)
        rejected = [{"global_id": r.global_id, "ifc_class": r.ifc_class, "reason": r.reason}
                    for r in structure.rejected]
        timings["write"] = time.perf_counter() - clock
        if shapes is not None:
            timings["geometry"] = shapes.seconds
        report = None
        if report_path is not None and structure.rejected:
            report = write_rejects(report_path, [
                RejectedRow(r.step_id, {"global_id": r.global_id, "ifc_class": r.ifc_class},
                            [r.reason]) for r in structure.rejected])
        summary = {"schema": structure.schema, "counts": counts,
                   "dwelling_rule": str(used_rule), "georeference": georef.as_dict(),
                   "target": target_info, "rejected": rejected, "warnings": warnings,
                   "timings_s": {k: round(v, 3) for k, v in timings.items()}}
        run_id = end_run(session, handle, accepted=accepted, rejected=len(rejected),
                         summary=summary, dry_run=dry_run, report_path=report)
    except BaseException:
        if pending is not None:
            pending.cancel()
        if handle.savepoint.is_active:
            handle.savepoint.rollback()
        raise
    return IfcImportResult(run_id, structure.schema, structure.read,
                           accepted, rejected, counts, str(used_rule), georef.as_dict(),
                           target_info, warnings,
                           {k: round(v, 3) for k, v in timings.items()}, dry_run)


def _model_name(structure: Any, path: Path) -> str:
    sites = [b.site_name for b in structure.buildings if b.site_name]
    generic = {"site", "default", "gelände", "surface", "default site"}
    for name in [*sites, structure.project_name]:
        if name and name.strip().lower() not in generic:
            return str(name)
    return path.stem


def _options(estate: str | None, community: str | None, estate_name: str | None,
             cli: CliGeoref | None, override: bool, rule: str, geometry: bool
             ) -> dict[str, Any]:
    return {"estate": estate, "community": community, "estate_name": estate_name,
            "georef_cli": None if cli is None else
            {"srid": cli.srid, "origin": [cli.eastings, cli.northings],
             "rotation_deg": cli.rotation_deg},
            "override_georef": override, "dwellings": rule, "geometry": geometry}
