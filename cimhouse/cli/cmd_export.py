"""``cimhouse export``: one layer of one scope to GeoJSON, GeoPackage, CSV or XLSX."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.choices import EXPORT_FORMATS, EXPORT_LAYERS
from cimhouse.cli.common import console, engine, handle_errors, session_scope, summary_labels
from cimhouse.i18n import _


@handle_errors
def export(
    scope: str = typer.Option(..., "--scope", help="Region code (2/4/6/9/12 digits) or "
                              "estate code: only what lies in it is written."),
    layer: str = typer.Option(..., "--layer", help=f"One of {', '.join(EXPORT_LAYERS)}."),
    fmt: str = typer.Option(..., "--format", help=f"One of {', '.join(EXPORT_FORMATS)}."),
    out: Path = typer.Option(..., "--out", help="The file to write (replaced if it exists)."),
    crs: str = typer.Option("CGCS2000", "--crs", help="Output coordinates: CGCS2000 "
                            "(EPSG:4490), WGS84 or GCJ02."),
) -> None:
    """Write a layer (no personal data) of a scope, streaming; XLSX has Chinese headers.

    Example: cimhouse export --scope 330402 --layer houses --format gpkg --out nanhu.gpkg
    """
    from cimhouse.exports.export_layer import export_layer
    from cimhouse.scope import parse_scope, with_county_keys

    with session_scope(engine()) as session:
        parsed = with_county_keys(session, parse_scope(scope))
        result = export_layer(session, scope=parsed, layer=layer, fmt=fmt, path=out, crs=crs)
    layer_name = summary_labels().get(result.layer, result.layer)
    console.print(_("{rows} {layer} written to {path}", rows=result.rows, layer=layer_name,
                    path=result.path))


def register(app: typer.Typer) -> None:
    app.command("export")(export)
