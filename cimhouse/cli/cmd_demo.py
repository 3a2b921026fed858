"""``cimhouse demo generate``: synthetic demo/test data over the real Jiaxing regions."""

from __future__ import annotations

from pathlib import Path

import typer

from cimhouse.cli.common import console, handle_errors, print_json
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _

demo_app = typer.Typer(help="Synthetic demo data (fictitious persons only).",
                       no_args_is_help=True)


@demo_app.command("generate")
@handle_errors
def generate(
    houses: int = typer.Option(2000, "--houses", min=1, help="About how many houses."),
    seed: int = typer.Option(1, "--seed", help="Same seed, same files."),
    messy: bool = typer.Option(False, "--messy",
                               help="Add real-world dirt: GBK, full-width digits, Chinese "
                                    "numerals, missing districts, wrong ID checksums, "
                                    "duplicates, blank lines, stray headers."),
    out: Path = typer.Option(Path("var/demo"), "--out", file_okay=False,
                             help="Directory to write into (created)."),
    as_json: bool = typer.Option(False, "--json", help="Print the manifest as JSON."),
) -> None:
    """Write register.csv, estates.geojson, buildings.geojson, facilities.csv, manifest.json.

    Persons are fictitious, with checksum-valid ID numbers; regions are the real Jiaxing
    communities (3304).

    Example: cimhouse demo generate --houses 2000 --seed 7 --messy --out var/demo
    """
    from cimhouse.demo.generate_demo import generate_demo

    try:
        summary = generate_demo(out, houses=houses, seed=seed, messy=messy)
    except OSError as exc:
        raise InvalidInput(_("cannot write into {out}: {error}", out=out,
                             error=exc.strerror)) from None
    if as_json:
        print_json(summary.as_dict())
        return
    console.print(_("{houses} houses in {estates} estates, {buildings} buildings, {persons} "
                    "persons, {rows} register rows, {facilities} facilities -> {out}",
                    houses=summary.houses, estates=summary.estates,
                    buildings=summary.buildings, persons=summary.persons,
                    rows=summary.register_rows, facilities=summary.facilities, out=out))


def register(app: typer.Typer) -> None:
    app.add_typer(demo_app, name="demo")
