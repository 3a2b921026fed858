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
from cimhouse.errors import InvalidInput, NotFound
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


@handle_errors
def roster(
    community: str = typer.Option(..., "--community", help="The community's 12-digit code."),
    out: Path = typer.Option(..., "--out", help="The XLSX file to write (replaced if it "
                             "exists)."),
    with_persons: bool = typer.Option(False, "--with-persons", help="Full ID numbers and "
                                      "phones instead of masked ones: needs the token of a "
                                      "pii_reader whose scope holds the community; every "
                                      "person so read is audited."),
    token: str | None = typer.Option(None, "--token", envvar="CIMHOUSE_TOKEN",
                                     show_default=False, help="The operator's API token "
                                     "(better in the environment: CIMHOUSE_TOKEN)."),
    as_of: str | None = typer.Option(None, "--as-of", help="Relations and memberships valid "
                                     "on this day (YYYY-MM-DD); default today."),
) -> None:
    """The roster (花名册) of a community: houses, households and persons (masked) in XLSX.

    Example: cimhouse roster --community 330402001001 --out 花名册.xlsx

    Example: CIMHOUSE_TOKEN=... cimhouse roster --community 330402001001 --with-persons
    --out 花名册.xlsx
    """
    import datetime as dt

    from cimhouse.auth.tokens import authenticate
    from cimhouse.exports.export_roster import Reveal, export_roster
    from cimhouse.pii import PiiVault
    from cimhouse.schema.vocab import Role
    from cimhouse.scope import parse_scope, with_county_keys

    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError:
        raise InvalidInput(_("--as-of takes a date YYYY-MM-DD, not {value!r}",
                             value=as_of)) from None
    current = settings()
    with session_scope(engine(current)) as session:
        scope = with_county_keys(session, parse_scope(community))
        reveal = None
        if with_persons:
            if not token:
                raise InvalidInput(_("--with-persons needs the operator's token "
                                     "(CIMHOUSE_TOKEN or --token)"))
            principal = authenticate(session, token)
            principal.require(Role.PII_READER)
            if not principal.scope.covers_scope(scope):
                raise NotFound(_("scope {code} not found (unknown, or outside your scope)",
                                 code=scope.code))
            reveal = Reveal(PiiVault.from_settings(current), principal.actor)
        try:
            result = export_roster(session, community=scope, path=out, as_of=day,
                                   reveal=reveal)
            session.commit()  # the audit of full reads first: no unaudited file is left
        except BaseException:
            out.unlink(missing_ok=True)
            raise
    console.print(_("roster of {community} written to {path}: {houses} houses, {households} "
                    "households, {persons} persons ({shown})", community=community,
                    path=result.path, houses=result.houses, households=result.households,
                    persons=result.persons,
                    shown=_("full ID numbers and phones, audited") if reveal
                    else _("ID numbers and phones masked")))


def register(app: typer.Typer) -> None:
    app.command("export")(export)
    app.command("roster")(roster)
