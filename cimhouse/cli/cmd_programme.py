"""``cimhouse programme ...``: the gap-filling (补短板) project library and its surveys."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

import typer

from cimhouse.cli.common import (
    cli_actor,
    console,
    engine,
    handle_errors,
    print_json,
    session_scope,
    settings,
)
from cimhouse.errors import Conflict, InvalidInput
from cimhouse.i18n import _

# the domain modules (SQLAlchemy, shapely) are imported inside each command: `--help`
# answers without them

programme_app = typer.Typer(help="The future-community programme: gap-filling projects and "
                                 "service-index surveys.", no_args_is_help=True)


def _date(raw: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(raw) if raw else dt.date.today()
    except ValueError:
        raise InvalidInput(_("--date must be a date like 2026-07-01")) from None


@programme_app.command("survey")
@handle_errors
def survey(scope: str = typer.Option(..., "--scope", help="Region code to survey."),
           date: str | None = typer.Option(None, "--date", help="Survey date (default today).")
           ) -> None:
    """Score the service index of every community in the scope on a survey date.

    Example: cimhouse programme survey --scope 330402 --date 2026-06-30
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.programme.record_survey import record_survey

    current = settings()
    with session_scope(engine(current)) as session:
        count = record_survey(session, resolve_scope(session, scope), _date(date),
                              actor=cli_actor(), metric_srid=current.metric_srid)
    console.print(_("surveyed {count} communities", count=count))


@programme_app.command("gap-project")
@handle_errors
def gap_project(
    category: str = typer.Option(..., "--category", help="Facility category, e.g. childcare."),
    estate: str | None = typer.Option(None, "--estate", help="Estate code with the gap."),
    community: str | None = typer.Option(None, "--community",
                                         help="Community code (12 digits) with the gap."),
    capacity: int | None = typer.Option(None, "--capacity", help="Planned capacity."),
    name: str | None = typer.Option(None, "--name", help="Project name (default: derived)."),
    date: str | None = typer.Option(None, "--date", help="Planned on (default today)."),
) -> None:
    """Make a planned gap-filling project from a gap that exists on the date.

    Example: cimhouse programme gap-project --category childcare --community 330402007024
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.programme.create_gap_project import create_gap_project

    current = settings()
    with session_scope(engine(current)) as session:
        target = resolve_scope(session, estate or community or "")
        project = create_gap_project(
            session, target, category=category, on=_date(date), actor=cli_actor(),
            community_code=community, estate_code=estate, planned_capacity=capacity,
            name=name, metric_srid=current.metric_srid)
        console.print(_("gap project {project} planned ({affected} affected)",
                        project=f"{project.county}:{project.id}", affected=project.affected))


@programme_app.command("plan-gaps")
@handle_errors
def plan_gaps(scope: str = typer.Option(..., "--scope", help="Region code."),
              top: int = typer.Option(5, "--top", help="How many of the largest gaps."),
              date: str | None = typer.Option(None, "--date", help="Planned on.")) -> None:
    """Make a gap-filling project for each of the largest estate gaps of a scope.

    Example: cimhouse programme plan-gaps --scope 3304 --top 5
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.programme.create_gap_project import create_gap_project
    from cimhouse.services.gaps import find_gaps

    current = settings()
    on = _date(date)
    with session_scope(engine(current)) as session:
        parsed = resolve_scope(session, scope)
        gaps = find_gaps(session, parsed, metric_srid=current.metric_srid, as_of=on)
        made = skipped = 0
        for gap in [g for g in gaps.estates if g.estate_code][:max(0, top)]:
            savepoint = session.begin_nested()
            try:
                create_gap_project(session, parsed, category=gap.category, on=on,
                                   actor=cli_actor(), estate_code=gap.estate_code,
                                   metric_srid=current.metric_srid)
            except Conflict:  # already planned (a rerun): keep the one there is
                savepoint.rollback()
                skipped += 1
                continue
            savepoint.commit()
            made += 1
    console.print(_("planned {made} gap projects ({skipped} already had one)", made=made,
                    skipped=skipped))


@programme_app.command("advance-gap-project")
@handle_errors
def advance(project: str = typer.Argument(..., help="COUNTY:ID as printed when planned."),
            status: str = typer.Option(..., "--status", help="under_construction or in_use."),
            date: str | None = typer.Option(None, "--date", help="Date of the step."),
            facility_id: int | None = typer.Option(None, "--facility-id",
                                                   help="The facility built (for in_use).")
            ) -> None:
    """Move a gap project on; in_use links the facility and scores the community again.

    Example: cimhouse programme advance-gap-project 330402:7 --status in_use --facility-id 51
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.programme.advance_gap_project import advance_gap_project

    county, _sep, number = project.partition(":")
    if not (county.isdigit() and len(county) == 6 and number.isdigit()):
        raise InvalidInput(_("the project is COUNTY:ID, e.g. 330402:7"))
    current = settings()
    with session_scope(engine(current)) as session:
        moved = advance_gap_project(session, resolve_scope(session, county), county,
                                    int(number), status, _date(date), actor=cli_actor(),
                                    facility_id=facility_id, metric_srid=current.metric_srid)
        console.print(_("gap project {project} is {status}", project=project,
                        status=moved.status))


@programme_app.command("gap-projects")
@handle_errors
def gap_projects(scope: str = typer.Option(..., "--scope", help="Region or estate code."),
                 status: str | None = typer.Option(None, "--status", help="Only this status.")
                 ) -> None:
    """List gap-filling projects with the service index before and after (JSON).

    Example: cimhouse programme gap-projects --scope 330402
    """
    from cimhouse.coding.resolve_scope import resolve_scope
    from cimhouse.programme.list_gap_projects import list_gap_projects

    with session_scope(engine(settings())) as session:
        rows = list_gap_projects(session, resolve_scope(session, scope), status=status)
    print_json([asdict(r) | {"planned_on": str(r.planned_on),
                             "under_construction_on": str(r.under_construction_on or ""),
                             "in_use_on": str(r.in_use_on or "")} for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(programme_app, name="programme")
