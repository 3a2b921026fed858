"""``cimhouse import ifc``: buildings, storeys, dwellings and spaces from an IFC model."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cimhouse.cli.choices import IFC_DISAGREEMENT_M
from cimhouse.cli.cmd_import import import_app
from cimhouse.cli.common import (
    ACTOR_HELP,
    cli_actor,
    console,
    engine,
    handle_errors,
    print_json,
    print_summary,
    progress,
    session_scope,
)
from cimhouse.errors import EXIT_REJECTED
from cimhouse.i18n import _

if TYPE_CHECKING:  # ifcopenshell and SQLAlchemy are imported when the command runs
    from sqlalchemy.orm import Session

    from cimhouse.importers.ifc.import_ifc import IfcImportResult


@import_app.command("ifc")
@handle_errors
def import_ifc_command(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The .ifc file."),
    estate: str | None = typer.Option(None, "--estate",
                                      help="Code of an existing estate the buildings join."),
    community: str | None = typer.Option(
        None, "--community", help="12-digit community code; its estate named --estate-name "
        "(default: the site/project name) is reused or created."),
    estate_name: str | None = typer.Option(None, "--estate-name",
                                           help="Estate name with --community."),
    crs: str | None = typer.Option(None, "--crs", help="EPSG:xxxx of --origin, used when the "
                                   "file has no georeferencing (or with --override-georef)."),
    origin: str | None = typer.Option(None, "--origin",
                                      help="E,N of the model origin (0,0) in --crs."),
    rotation: float | None = typer.Option(
        None, "--rotation", help="Degrees from grid east to the model x axis, "
        "counter-clockwise."),
    override_georef: bool = typer.Option(False, "--override-georef",
                                         help="Use --crs/--origin even if the file is "
                                         "georeferenced."),
    dwellings: str = typer.Option("auto", "--dwellings",
                                  help="auto | zone | prefix[:MIN] | property:PSET.NAME | "
                                  "building | none (docs/ifc-import.md)."),
    geometry_timeout: float = typer.Option(300.0, "--geometry-timeout",
                                           help="Seconds the geometry step may take."),
    skip_geometry: bool = typer.Option(False, "--skip-geometry",
                                       help="No footprints (keeps earlier ones)."),
    latlon_tolerance: float = typer.Option(
        IFC_DISAGREEMENT_M, "--latlon-tolerance",
        help="Metres beyond which the site's lat/lon disagrees with its map conversion."),
    assign_codes: bool = typer.Option(False, "--assign-codes",
                                      help="Then code the new estate, buildings and houses "
                                      "(scope: the estate, or its community before it has "
                                      "a code)."),
    report: Path | None = typer.Option(None, "--report", dir_okay=False,
                                       help="Write the rejected objects here (CSV)."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
    dry_run: bool = typer.Option(False, "--dry-run", help="Read and check, write nothing."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
) -> None:
    """Import an IFC2X3/IFC4/IFC4X3 model; a re-import updates by GlobalId, keeps codes.

    Exit code 0: imported; 1: imported, but some objects were rejected (listed, --report);
    2: nothing written (broken file, bad option, unknown estate or community).

    Example: cimhouse import ifc block7.ifc --community 330402007024 --dwellings prefix
    --crs EPSG:4549 --origin 571815.2,3403498.7 --rotation 12.5 --json
    """
    from cimhouse.importers.ifc.georef import CliGeoref
    from cimhouse.importers.ifc.import_ifc import import_ifc

    georef_cli = CliGeoref.parse(crs, origin, rotation)
    actor = cli_actor(actor)
    with progress(transient=True, disable=as_json) as bar:
        task = bar.add_task(_("importing {name}", name=file.name), total=None)
        with session_scope(engine()) as session:
            result = import_ifc(
                session, file, estate=estate, community=community, estate_name=estate_name,
                georef_cli=georef_cli, override_georef=override_georef, dwellings=dwellings,
                geometry=not skip_geometry, geometry_timeout_s=geometry_timeout,
                latlon_tolerance_m=latlon_tolerance, actor=actor, dry_run=dry_run,
                report_path=report)
            scope = result.target.get("estate_code") or result.target["region_code"]
            codes = _assign_codes(session, str(scope), actor) \
                if assign_codes and not dry_run else None
        bar.update(task, total=1, completed=1)
    summary = result.as_dict()
    if codes is not None:
        summary["codes"] = codes
    if as_json:
        print_json(summary)
    else:
        _print_summary(file, result, codes)
    if result.rejected:  # committed, but not everything in the file was taken: say so
        raise typer.Exit(code=EXIT_REJECTED)


def _print_summary(file: Path, result: IfcImportResult, codes: dict[str, Any] | None) -> None:
    print_summary({"file": f"{file.name} ({result.schema})", "read": result.read,
                   "accepted": result.accepted, "rejected": len(result.rejected),
                   **{k: v for k, v in sorted(result.counts.items()) if v},
                   "georeference": result.georef["source"], "dwellings": result.dwelling_rule,
                   "estate": f"{result.target.get('estate_name')} "
                             f"({result.target['region_code']})",
                   "import_run_id": result.import_run_id}, _("IFC import"))
    warning_label, rejected_label = _("warning"), _("rejected")
    for warning in result.warnings:
        console.print(f"[yellow]{warning_label}:[/yellow] {warning}")
    for rejected in result.rejected:
        console.print(f"[red]{rejected_label}:[/red] {rejected['ifc_class']} "
                      f"{rejected['global_id']}: {rejected['reason']}")
    if codes is not None:
        print_summary(codes, _("code assignment"))


def _assign_codes(session: Session, scope: str, actor: str) -> dict[str, Any]:
    """Code the uncoded estate, buildings and houses in ``scope`` (same transaction)."""
    from cimhouse.coding.assign_codes import assign_codes  # heavy: only when asked

    return assign_codes(session, scope, actor=actor).as_dict()


def register(app: typer.Typer) -> None:
    """The command joined ``import_app`` when this module was imported."""
