"""``cimhouse codes ...`` and ``cimhouse jobs ...`` against a private database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.db import session_scope
from cimhouse.errors import Conflict, InvalidInput, NotFound, exit_code
from tests.helpers.coding_world import COMMUNITY, build_world


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout


def test_validate_and_decode_without_database() -> None:
    code, out = run("codes", "validate", "330402007024-001-0003-00101-8",
                    "3304020070240010003001018")
    assert code == 0
    assert out.count("valid ") == 2
    code, out = run("codes", "validate", "330402007024-001-0003-00101-8",
                    "3304020070240010003001013", "33040200702A0010003001018")
    assert code == 1
    assert "expected '8'" in out
    assert "non-digit 'A' at position 12" in out
    code, out = run("codes", "validate", "--json", "330402007024-001-0003-00101-x")
    assert code == 1
    assert json.loads(out)[0]["valid"] is False
    code, out = run("codes", "decode", "330402007024-001-0003-00101-8")
    assert code == 0
    assert json.loads(out)["region_path"]["town"] == "330402007"
    assert run("codes", "decode", "123")[0] == exit_code(InvalidInput(""))


@pytest.mark.usefixtures("cli_env")
def test_assign_lifecycle_and_jobs(fresh_engine: Engine, tmp_path: Path) -> None:
    with session_scope(fresh_engine) as session:
        counts = build_world(session, estates=1, buildings=1, floors=1, per_floor=3,
                             scattered=0)
    code, out = run("codes", "assign", "--scope", COMMUNITY, "--dry-run", "--json")
    assert code == 0
    assert json.loads(out)["houses"] == counts["houses"]
    code, out = run("codes", "assign", "--scope", COMMUNITY, "--json", "--actor", "ops")
    summary = json.loads(out)
    assert code == 0
    assert summary["houses"] == counts["houses"]
    assert summary["dry_run"] is False
    code, out = run("codes", "assign", "--scope", COMMUNITY, "--json")
    assert json.loads(out)["issued"] == 0
    with fresh_engine.connect() as conn:
        houses = conn.execute(text("SELECT code FROM house ORDER BY code")).scalars().all()
    code, out = run("codes", "split", houses[0], "--parts", "2")
    new_codes = json.loads(out)["new_codes"]
    assert code == 0
    assert len(new_codes) == 2
    code, out = run("codes", "merge", new_codes[0], houses[1])
    assert code == 0
    assert json.loads(out)["new_code"]
    code, out = run("codes", "retire", houses[2], "--status", "demolished", "--reason", "拆除")
    assert code == 0
    assert json.loads(out)["status"] == "demolished"
    assert run("codes", "retire", houses[2], "--status", "demolished", "--reason", "x")[0] == exit_code(Conflict(""))
    code, out = run("codes", "relabel", new_codes[1], "--set", "room_label=9室")
    assert code == 0
    assert json.loads(out)["room_label"] == "9室"
    code, out = run("codes", "lineage", houses[0])
    assert code == 0
    assert len(json.loads(out)["descendants"]) == 3
    changes = tmp_path / "changes.csv"
    changes.write_text(f"old_code,new_code,new_name\n{COMMUNITY},330402007098,新社区\n",
                       encoding="utf-8")
    code, out = run("codes", "apply-region-changes", str(changes), "--effective-date",
                    "2026-12-01")
    assert code == 0
    assert json.loads(out)["regions_added"] == 1
    code, out = run("jobs", "list", "--json")
    jobs = json.loads(out)
    assert code == 0
    assert {j["kind"] for j in jobs} == {"code_assignment", "region_change"}
    assert all(j["status"] == "succeeded" for j in jobs)
    assert any(j["requested_by"] == "ops" for j in jobs)
    code, out = run("jobs", "show", str(jobs[0]["id"]))
    assert code == 0
    assert json.loads(out)["id"] == jobs[0]["id"]
    assert run("jobs", "show", "999999")[0] == exit_code(NotFound(""))
    code, out = run("codes", "assign", "--scope", "330402", "--queue", "--json")
    queued = json.loads(out)
    assert code == 0
    assert queued["status"] == "queued"
    code, out = run("jobs", "cancel", str(queued["job_id"]))
    assert code == 0
    assert json.loads(out)["status"] == "cancelled"


def test_every_command_has_help_with_example() -> None:
    for command in ("validate", "decode", "assign", "retire", "status", "split", "merge",
                    "relabel",
                    "apply-region-changes", "lineage"):
        code, out = run("codes", command, "--help")
        assert code == 0, command
        assert "Example: cimhouse codes" in out, command
    for command in ("list", "show", "cancel"):
        code, out = run("jobs", command, "--help")
        assert code == 0
        assert "Example: cimhouse jobs" in out
    code, out = run("worker", "--help")
    assert code == 0
    assert "Example: cimhouse worker" in out
