"""Bad arguments get one clear error and a non-zero exit, never a Python traceback; an
unknown region is refused before any work (issue 11, items 11 and 14)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.coding.resolve_scope import resolve_scope
from cimhouse.errors import Conflict, InvalidInput, NotFound, exit_code

# the error table decides the exit code; 2 stays Click's own (usage errors)
BAD, MISSING, USAGE = exit_code(InvalidInput("")), exit_code(NotFound("")), 2
UNKNOWN_REGIONS = ["99", "330499", "999999", "9999", "330402999999"]


def run(*args: str) -> tuple[int, str]:
    """Exit code and everything printed; fails the test on an uncaught exception."""
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        f"{args}: uncaught {result.exception!r}"
    output = result.output
    assert "Traceback" not in output, output
    return result.exit_code, output


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_db_upgrade_unknown_revision_is_a_clear_error() -> None:
    # before any cluster is started or any URL read: the revision is checked first
    code, out = run("db", "upgrade", "foo")
    assert code == BAD
    assert "unknown revision 'foo'" in out
    assert "heads" in out


def test_db_upgrade_in_a_real_process_prints_no_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "cimhouse.cli.main", "db", "upgrade", "foo"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == BAD, done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "unknown revision 'foo'" in done.stderr


@pytest.mark.parametrize("port", ["99999", "65536", "-1"])
def test_serve_refuses_a_port_outside_1_65535(port: str) -> None:
    code, out = run("serve", "--port", port)
    assert code == USAGE
    assert "--port" in out


@pytest.mark.usefixtures("cli_env")
def test_other_bad_arguments(tmp_path: Path) -> None:
    assert run("codes", "decode", "123")[0] == BAD
    assert run("codes", "split", "3304020070240010003001018", "--parts", "1")[0] == BAD
    assert run("jobs", "show", "abc")[0] == USAGE
    assert run("jobs", "show", "999999")[0] == MISSING
    assert run("report", "services", "--scope", "330402", "--as-of", "yesterday")[0] == BAD
    changes = tmp_path / "changes.csv"
    changes.write_text("330402,330499\n", encoding="utf-8")
    code, out = run("codes", "apply-region-changes", str(changes), "--effective-date", "soon")
    assert code == BAD
    assert "effective" in out.lower()
    assert run("tokens", "create", "--name", "x", "--scope", "330402", "--role", "king")[0] == BAD
    assert run("codes", "status", "3304020070240010003001018", "--status", "gone")[0] == BAD
    assert run("codes", "relabel", "3304020070240010003001018", "--set", "nonsense")[0] == BAD
    assert run("codes", "lineage", "3304020070240010003001018")[0] == MISSING
    assert run("report", "services", "--scope", "330402", "--format", "pdf")[0] == BAD
    assert run("report", "services", "--scope", "330402", "--radius", "x")[0] == BAD
    assert run("import", "boundaries", str(changes), "--level", "house")[0] == BAD
    assert run("import", "register", str(tmp_path / "missing.csv"))[0] == USAGE
    assert run("regions", "load", "--report", str(tmp_path / "no" / "dir" / "r.csv"))[0] in (
        0, BAD)
    # a report path in a directory that does not exist: the OS error, one line
    code, out = run("report", "services", "--scope", "330402", "--out",
                    str(tmp_path / "no" / "such" / "dir" / "r.json"))
    assert code == BAD
    assert "No such file or directory" in out


@pytest.mark.parametrize("scope", ["99", "330499", "330402999999",
                                   "3304020070249990000000005"])
@pytest.mark.usefixtures("cli_env")
def test_codes_assign_unknown_scope_fails_before_any_job(fresh_engine: Engine,
                                                         scope: str) -> None:
    for extra in ([], ["--queue"]):
        code, out = run("codes", "assign", "--scope", scope, "--json", *extra)
        assert code == MISSING, out
        assert "no " in out, out
        assert "with code" in out, out
    assert _count(fresh_engine, "job") == 0


@pytest.mark.usefixtures("cli_env")
def test_tokens_create_unknown_scope_is_refused(fresh_engine: Engine) -> None:
    code, out = run("tokens", "create", "--name", "ghost", "--scope", "999999",
                    "--role", "reader")
    assert code == MISSING
    assert "no county with code 999999" in out
    assert _count(fresh_engine, "api_principal") == 0
    code, out = run("tokens", "create", "--name", "real", "--scope", "330402",
                    "--role", "reader", "--json")
    assert code == 0
    assert json.loads(out)["name"] == "real"


@pytest.mark.usefixtures("cli_env")
def test_report_services_unknown_scope_is_an_error(tmp_path: Path) -> None:
    out_file = tmp_path / "r.json"
    code, out = run("report", "services", "--scope", "330499", "--out", str(out_file))
    assert code == MISSING
    assert "no county with code 330499" in out
    assert not out_file.exists()


@pytest.mark.usefixtures("cli_env")
def test_import_boundaries_unknown_within_is_one_error(fresh_engine: Engine,
                                                       tmp_path: Path) -> None:
    path = tmp_path / "estates.geojson"
    square = [[[120.75, 30.75], [120.76, 30.75], [120.76, 30.76], [120.75, 30.75]]]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "怡景府"},
         "geometry": {"type": "Polygon", "coordinates": square}}]}), encoding="utf-8")
    runs = _count(fresh_engine, "import_run")  # the template's regions load made one
    code, out = run("import", "boundaries", str(path), "--level", "estate",
                    "--within", "9999", "--report", str(tmp_path / "rejects.csv"))
    assert code == MISSING
    assert "no city with code 9999" in out
    assert _count(fresh_engine, "import_run") == runs


def test_resolve_scope(session: Session) -> None:
    assert resolve_scope(session, "330402").level == 3
    assert resolve_scope(session, "330402007024").level == 5
    for scope in UNKNOWN_REGIONS:
        with pytest.raises(NotFound):
            resolve_scope(session, scope)
    with pytest.raises(InvalidInput):
        resolve_scope(session, "33x")
    with pytest.raises(NotFound, match="no estate"):
        resolve_scope(session, "3304020070249990000000005")
    session.execute(text("UPDATE region SET valid_to = DATE '2026-01-01' "
                         "WHERE code = '330402007024'"))
    with pytest.raises(Conflict, match="closed on 2026-01-01"):
        resolve_scope(session, "330402007024")
