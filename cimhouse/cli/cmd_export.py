"""``cimhouse export``: one layer of one scope to GeoJSON, GeoPackage, CSV or XLSX, or the
buildings as CityJSON (LoD1)."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.choices import EXPORT_FORMATS, EXPORT_LAYERS
from cimhouse.cli.common import (
    console,
    engine,
    handle_errors,
    session_scope,
    settings,
    summary_labels,
)
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

CITYJSON = "cityjson"


@handle_errors
def export(
    scope: str = typer.Option(..., "--scope", help="Region code (2/4/6/9/12 digits) or "
                              "estate code: only what lies in it is written."),
    layer: str | None = typer.Option(None, "--layer", help=f"One of {', '.join(EXPORT_LAYERS)}"
                                     " (cityjson: buildings, the default)."),
    fmt: str = typer.Option(..., "--format", help=f"One of {', '.join(EXPORT_FORMATS)}, "
                            f"{CITYJSON}."),
    out: Path = typer.Option(..., "--out", help="The file to write (replaced if it exists)."),
    crs: str | None = typer.Option(None, "--crs", help="Output coordinates: CGCS2000 "
                                   "(EPSG:4490, the default), WGS84 or GCJ02. CityJSON is "
                                   "always in metres of METRIC_CRS (EPSG:4549)."),
    storey_height: float = typer.Option(3.0, "--storey-height", help="CityJSON: metres per "
                                        "storey for buildings without an IFC height."),
) -> None:
    """Write a layer (no personal data) of a scope, streaming; XLSX has Chinese headers.

    The gaps layer: each estate lacking a facility category within its radius (services).

    Example: cimhouse export --scope 330402 --layer houses --format gpkg --out nanhu.gpkg

    Example: cimhouse export --scope 330402 --format cityjson --out nanhu.city.json
    """
    from cimhouse.exports.export_layer import export_layer
    from cimhouse.scope import parse_scope, with_county_keys

    if fmt == CITYJSON:
        _cityjson(scope, layer, crs, storey_height, out)
        return
    if layer is None:
        raise InvalidInput(_("--layer is needed: one of {layers}",
                             layers=", ".join(EXPORT_LAYERS)))
    current = settings()
    with session_scope(engine(current)) as session:
        parsed = with_county_keys(session, parse_scope(scope))
        result = export_layer(session, scope=parsed, layer=layer, fmt=fmt, path=out,
                              crs=crs or "CGCS2000", metric_srid=current.metric_srid)
    layer_name = summary_labels().get(result.layer, result.layer)
    console.print(_("{rows} {layer} written to {path}", rows=result.rows, layer=layer_name,
                    path=result.path))


def _cityjson(scope: str, layer: str | None, crs: str | None, storey_height: float,
              out: Path) -> None:
    from cimhouse.exports.export_cityjson import export_cityjson
    from cimhouse.scope import parse_scope, with_county_keys

    if layer not in (None, "buildings"):
        raise InvalidInput(_("CityJSON holds buildings only, not {layer!r}", layer=layer))
    if crs is not None:
        raise InvalidInput(_("CityJSON is written in metres of the metric CRS (METRIC_CRS); "
                             "--crs does not apply"))
    current = settings()
    with session_scope(engine(current)) as session:
        parsed = with_county_keys(session, parse_scope(scope))
        result = export_cityjson(session, scope=parsed, path=out,
                                 metric_srid=current.metric_srid,
                                 storey_height_m=storey_height)
    console.print(_("{buildings} buildings written to {path} ({solids} LoD1 solids, "
                    "{missing} without footprint or height; {crs})",
                    buildings=result.buildings, path=result.path, solids=result.solids,
                    missing=result.without_geometry, crs=result.reference_system))


def register(app: typer.Typer) -> None:
    app.command("export")(export)
