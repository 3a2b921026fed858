"""``cimhouse codes ...`` (validate, decode, assign, lifecycle) and ``cimhouse jobs ...``.

Library imports happen inside the commands, so that ``cimhouse --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cimhouse.cli.common import (
    ACTOR_HELP,
    cli_actor,
    console,
    engine,
    format_time,
    handle_errors,
    print_json,
    print_summary,
    progress,
    session_scope,
)
from cimhouse.errors import EXIT_REJECTED, InvalidInput, NotFound
from cimhouse.i18n import _

if TYPE_CHECKING:
    from rich.progress import TaskID

codes_app = typer.Typer(help="The 25-character house code: validate, decode, assign, lifecycle.",
                        no_args_is_help=True)
jobs_app = typer.Typer(help="Administrative jobs (code assignment, region changes).",
                       no_args_is_help=True)

@codes_app.command("validate")
def validate_codes(
    codes: list[str] = typer.Argument(..., help="Codes, with or without separators."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list of results."),
) -> None:
    """Check codes; exit 0 only when every one is valid, else 1 with the reason per code.

    Example: cimhouse codes validate 330402007024-001-0003-00101-8 3304020070240010003001026
    """
    from cimhouse.coding.house_code import normalize, problem

    results = [{"input": raw, "code": normalize(raw), "valid": problem(raw) is None,
                "reason": problem(raw)} for raw in codes]
    if as_json:
        print_json(results)
    else:
        valid, invalid = _("valid"), _("invalid")
        width = max(len(valid), len(invalid)) + 2
        for item in results:
            if item["valid"]:
                typer.echo(f"{valid:<{width}}{item['input']}")
            else:
                typer.echo(f"{invalid:<{width}}{item['input']}: {item['reason']}")
    if not all(item["valid"] for item in results):
        raise typer.Exit(code=EXIT_REJECTED)


@codes_app.command("decode")
@handle_errors
def decode_code(code: str = typer.Argument(..., help="One code.")) -> None:
    """Print the parts of a code as JSON (region path at issue, numbers, object kind).

    Example: cimhouse codes decode 330402007024-001-0003-00101-8
    """
    from cimhouse.coding.house_code import decode

    print_json(decode(code).as_dict())


def _stage_label(stage: str) -> str:
    labels = {"estates": _("estates"), "buildings": _("buildings"), "houses": _("houses")}
    return labels.get(stage, stage)


class _Bar:
    """Feeds assign_codes' (stage, done, total) reports into the CLI progress bar."""

    def __init__(self, bar: Any) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.bar.add_task(_stage_label(stage), total=total or 1)
        self.bar.update(self.tasks[stage], completed=done if total else 1, total=total or 1)


@codes_app.command("assign")
@handle_errors
def assign(
    scope: str = typer.Option(..., "--scope", help="2/4/6/9/12-digit region code or an "
                                                   "estate code."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be issued."),
    as_json: bool = typer.Option(False, "--json", help="Print a final JSON summary."),
    queue: bool = typer.Option(False, "--queue", help="Queue for `cimhouse worker` instead "
                                                      "of running here."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Code every uncoded estate, building and house in a scope (idempotent, recorded as a job).

    Example: cimhouse codes assign --scope 330402 --json
    """
    from cimhouse.coding.jobs import enqueue_code_assignment, run_inline_assignment

    eng = engine()
    if queue:
        with session_scope(eng) as session:
            job = enqueue_code_assignment(session, scope, cli_actor(actor), dry_run=dry_run)
            summary: dict[str, Any] = {"job_id": job.id, "status": job.status,
                                       "scope": job.scope_code}
    else:
        with progress() as bar:
            result = run_inline_assignment(eng, scope, actor=cli_actor(actor), dry_run=dry_run,
                                           on_progress=_Bar(bar))
        summary = {**result.as_dict(), "status": "succeeded"}
    if as_json:
        print_json(summary)
    else:
        from cimhouse.schema.vocab import RunStatus, vocab_label

        shown = summary | {"status": vocab_label(RunStatus, str(summary["status"]))}
        print_summary(shown, _("code assignment (dry run: nothing issued)") if dry_run
                      else _("code assignment"))


@codes_app.command("retire")
@handle_errors
def retire(
    code: str = typer.Argument(..., help="House code."),
    status: str = typer.Option(..., "--status", help="demolished or registered_in_error."),
    reason: str = typer.Option(..., "--reason", help="Why (kept in the registry)."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Retire a house code (it is never reused); its residents' relations end today.

    Example: cimhouse codes retire 3304020070240010003001018 --status demolished --reason 拆除
    """
    from cimhouse.coding.retire_house import retire_house

    with session_scope(engine()) as session:
        house = retire_house(session, code, status, actor=cli_actor(actor), reason=reason)
        print_json({"code": house.code, "status": house.status})


@codes_app.command("status")
@handle_errors
def status_cmd(
    code: str = typer.Argument(..., help="Estate, building or house code."),
    status: str = typer.Option(..., "--status", help="planned, under_construction, in_use "
                                                     "or out_of_use."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept in change_log)."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Move an object through its lifecycle (the code stays active).

    Example: cimhouse codes status 3304020070240010003000007 --status in_use --reason 竣工
    """
    from cimhouse.coding.change_status import change_status

    with session_scope(engine()) as session:
        obj = change_status(session, code, status, actor=cli_actor(actor), reason=reason)
        print_json({"code": obj.code, "status": obj.status})


@codes_app.command("split")
@handle_errors
def split(
    code: str = typer.Argument(..., help="House code."),
    parts: int = typer.Option(..., "--parts", help="Number of new houses (2-99)."),
    relations_to: int | None = typer.Option(
        None, "--relations-to", help="Move the current person-house relations to this part "
                                     "(1..N); default: they end today."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Split a house into N new houses (new codes; the old one retired).

    Example: cimhouse codes split 3304020070240010003001018 --parts 2 --relations-to 1
    """
    from cimhouse.coding.split_house import split_house

    with session_scope(engine()) as session:
        new_codes = split_house(session, code, parts, actor=cli_actor(actor),
                                relations_to=relations_to)
    print_json({"retired": code, "new_codes": new_codes})


@codes_app.command("merge")
@handle_errors
def merge(
    codes: list[str] = typer.Argument(..., help="Two or more house codes of one building."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Merge houses of one building into one new house (new code; the old ones retired);
    the current person-house relations move to the new house.

    Example: cimhouse codes merge 3304020070240010003001018 3304020070240010003001026
    """
    from cimhouse.coding.merge_houses import merge_houses

    with session_scope(engine()) as session:
        new_code = merge_houses(session, codes, actor=cli_actor(actor))
    print_json({"retired": codes, "new_code": new_code})


@codes_app.command("relabel")
@handle_errors
def relabel(
    code: str = typer.Argument(..., help="Estate, building or house code."),
    fields: list[str] = typer.Option(..., "--set", help="field=value (repeat); an empty "
                                                        "value clears the field."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Change labels or cross-references; the code stays (previous values in change_log).

    Example: cimhouse codes relabel 3304020070240010003001018 --set room_label=1101室
    """
    from cimhouse.coding.relabel_object import relabel_object

    changes: dict[str, Any] = {}
    for item in fields:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InvalidInput(_("--set expects field=value, got {item!r}", item=item))
        changes[name.strip()] = json.loads(value) if name.strip() == "external_ids" else value
    with session_scope(engine()) as session:
        obj = relabel_object(session, code, actor=cli_actor(actor), **changes)
        print_json({"code": obj.code, **{name: getattr(obj, name) for name in changes}})


@codes_app.command("apply-region-changes")
@handle_errors
def apply_region_changes_cmd(
    file: Path = typer.Argument(..., exists=True, dir_okay=False,
                                help="CSV with old_code,new_code[,new_name]."),
    effective_date: str = typer.Option(dt.date.today().isoformat(), "--effective-date",
                                       help="YYYY-MM-DD the change takes effect."),
    actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP),
) -> None:
    """Apply a 区划调整 file: regions and objects move, codes stay.

    Example: cimhouse codes apply-region-changes changes.csv --effective-date 2026-12-01
    """
    from cimhouse.coding.apply_region_changes import (
        apply_region_changes,
        read_region_change_file,
    )

    try:
        effective = dt.date.fromisoformat(effective_date)
    except ValueError as exc:
        raise InvalidInput(_("--effective-date must be YYYY-MM-DD, not {value!r}",
                             value=effective_date)) from exc
    mapping, names = read_region_change_file(file)
    with session_scope(engine()) as session:
        result = apply_region_changes(session, mapping, effective, actor=cli_actor(actor),
                                      names=names)
    print_json(result.as_dict())


@codes_app.command("lineage")
@handle_errors
def show_lineage(code: str = typer.Argument(..., help="Any code ever issued.")) -> None:
    """Print a code's registry entry, events, ancestors and descendants as JSON.

    Example: cimhouse codes lineage 3304020070240010003001018
    """
    from cimhouse.coding.lineage import lineage

    with session_scope(engine()) as session:
        print_json(lineage(session, code).as_dict())


def _job_dict(job: Any) -> dict[str, Any]:
    return {name: getattr(job, name) for name in (
        "id", "kind", "scope_code", "status", "requested_by", "requested_at", "started_at",
        "finished_at", "counts", "options", "error", "queue_job_id")}


@jobs_app.command("list")
@handle_errors
def list_jobs(
    status: str | None = typer.Option(None, "--status", help="queued, running, succeeded, "
                                                             "failed or cancelled."),
    limit: int = typer.Option(20, "--limit", min=1, max=1000,
                              help="How many jobs, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List the most recent jobs.

    Example: cimhouse jobs list --status running
    """
    from sqlalchemy import select

    from cimhouse.coding.jobs import mark_interrupted_jobs
    from cimhouse.schema import Job

    with session_scope(engine()) as session:
        mark_interrupted_jobs(session)  # a job whose process was killed shows failed
        query = select(Job).order_by(Job.id.desc()).limit(limit)
        if status:
            query = query.where(Job.status == status)
        jobs = [_job_dict(job) for job in session.scalars(query)]
    if as_json:
        print_json(jobs)
        return
    print_jobs(jobs)


def print_jobs(jobs: list[dict[str, Any]]) -> None:
    """Jobs as a table with a header, their dates, and dry runs marked."""
    from rich.table import Table

    from cimhouse.schema.vocab import RunStatus, vocab_label

    table = Table(box=None, padding=(0, 1), header_style="bold")
    for title, justify in ((_("ID"), "right"), (_("kind"), "left"), (_("status"), "left"),
                           (_("dry run"), "left"), (_("scope"), "left"),
                           (_("requested by"), "left"), (_("requested at"), "left"),
                           (_("finished at"), "left"), (_("estates/buildings/houses"), "right")):
        table.add_column(title, justify=justify)  # type: ignore[arg-type]
    for job in jobs:
        counts = job["counts"] or {}
        done = "/".join(str(counts.get(k, "-")) for k in ("estates", "buildings", "houses"))
        if job["kind"] == "delivery":  # a delivery counts its attempts, not objects
            done = _("{n} attempts", n=counts.get("attempts", 0))
        dry = bool((job["options"] or {}).get("dry_run"))
        kinds = {"code_assignment": _("code assignment"), "region_change": _("region change")}
        table.add_row(str(job["id"]), kinds.get(job["kind"], job["kind"]),
                      vocab_label(RunStatus, job["status"]),
                      "[yellow]" + _("dry run") + "[/yellow]" if dry else "",
                      job["scope_code"] or "-", job["requested_by"] or "-",
                      format_time(job["requested_at"]), format_time(job["finished_at"]), done)
    if not jobs:
        console.print(_("no jobs"))
        return
    console.print(table)


@jobs_app.command("show")
@handle_errors
def show_job(job_id: int = typer.Argument(...)) -> None:
    """Print one job as JSON (counts, progress, timing, outcome).

    Example: cimhouse jobs show 17
    """
    from cimhouse.coding.jobs import mark_interrupted_jobs
    from cimhouse.schema import Job

    with session_scope(engine()) as session:
        mark_interrupted_jobs(session)
        job = session.get(Job, job_id)
        if job is None:
            raise NotFound(_("job {job_id} not found", job_id=job_id))
        print_json(_job_dict(job))


@jobs_app.command("cancel")
@handle_errors
def cancel(job_id: int = typer.Argument(...),
           actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP)) -> None:
    """Cancel a queued job, or ask a running worker job to stop (its work rolls back).

    Example: cimhouse jobs cancel 17
    """
    from cimhouse.coding.jobs import cancel_job

    with session_scope(engine()) as session:
        print_json(_job_dict(cancel_job(session, job_id, cli_actor(actor))))


@jobs_app.command("retry")
@handle_errors
def retry(job_id: int = typer.Argument(...),
          actor: str | None = typer.Option(None, "--actor", help=ACTOR_HELP)) -> None:
    """Queue a dead-lettered delivery again, from its first attempt (cimhouse worker sends it).

    Example: cimhouse jobs retry 17
    """
    from cimhouse.delivery.attempt_delivery import retry_delivery

    with session_scope(engine()) as session:
        print_json(_job_dict(retry_delivery(session, job_id, cli_actor(actor))))


def register(app: typer.Typer) -> None:
    app.add_typer(codes_app, name="codes")
    app.add_typer(jobs_app, name="jobs")
