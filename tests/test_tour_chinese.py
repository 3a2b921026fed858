"""The README's tour in Chinese (issue 18): what a Chinese-speaking operator sees from the key
commands holds no untranslated English message.

The check is a heuristic over the text: after removing what is English on purpose (file
paths, option names, quoted input, codes, JSON, coordinate systems and formats), no run of
English words may be left. A new message that is not in the catalog shows up as such a run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cimhouse.cli.main import app
from cimhouse.i18n import set_language

#: words that stay as they are in Chinese text: names of formats, systems and programs
KEEP = {"cimhouse", "csv", "xlsx", "json", "geojson", "gpkg", "utf", "gbk", "cgcs", "wgs",
        "epsg", "ifc", "sdl", "graphql", "postgresql", "postgis", "citus", "id", "url", "mb",
        "jsonl", "bom", "tsv", "sigterm", "ctrl", "alembic", "heads", "root", "cli", "wkt",
        "ods", "xls", "iso", "gcj", "bd", "api", "gis", "sql", "lon", "lat", "yyyy", "mm", "dd",
        "pdf", "pid", "demo", "town", "mib", "globalid"}
_REMOVE = [
    re.compile(r"'[^']*'|\"[^\"]*\"|“[^”]*”"),  # quoted input and examples
    re.compile(r"(?<![\w])(?:/|\./|var/)[^\s，。：；）)]*"),  # paths
    re.compile(r"--?[A-Za-z][\w-]*(?:[= ][\w:.,=\u4e00-\u9fff-]+)?"),  # options and values
    re.compile(r"\b[A-Z][A-Z0-9_]{1,}\b"),  # metavars and constants: OPTIONS, ARGS, EPSG
    re.compile(r"<[^>]*>|\[[a-z/ ]*\]"),  # <file>, rich markup
    re.compile(r"\b[\w.-]+\.(?:csv|xlsx|geojson|json|ifc|gpkg)\b"),  # file names
    re.compile(r"\b\w*\d\w*\b"),  # codes, numbers, dates
    re.compile(r"\bcimh_\S+"),  # a token
    re.compile(r"^  ([a-z][\w-]*)(?=\s{2,})"),  # a command's name in a listing
    re.compile(r"\bcimhouse(?: [a-z][\w-]*)*"),  # a command line
    re.compile(r"\{[a-z_]+\}"),  # an argument's metavar
]
ENGLISH_RUN = re.compile(r"\b[A-Za-z]{2,}(?:[ ,;:]+[A-Za-z]{2,})*\b")


def untranslated(output: str) -> list[str]:
    """Lines that still hold English words other than :data:`KEEP` (JSON lines are data)."""
    found = []
    for line in output.splitlines():
        if line.lstrip().startswith(("{", "}", "[", "]", '"')):
            continue
        text = line
        for pattern in _REMOVE:
            text = pattern.sub(" ", text)
        words = [w for run in ENGLISH_RUN.findall(text) for w in re.findall(r"[A-Za-z]+", run)]
        if [w for w in words if w.lower() not in KEEP]:
            found.append(line)
    return found


def test_the_heuristic_finds_english() -> None:
    assert untranslated("已导入 3 行") == []
    assert untranslated("错误：缺少选项 '--scope'。") == []
    assert untranslated("  estates added   1") == ["  estates added   1"]
    assert untranslated("已写入 /tmp/x/r.csv") == []
    assert untranslated("Error: no such command") != []


@pytest.fixture
def chinese(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CIMHOUSE_LANG", "zh")
    monkeypatch.setenv("COLUMNS", "160")
    set_language(None)
    yield
    monkeypatch.delenv("CIMHOUSE_LANG")
    set_language(None)  # the process language is global: the next test speaks English again


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.usefixtures("cli_env", "chinese")
def test_the_tour_speaks_chinese(tmp_path: Path) -> None:
    demo = tmp_path / "demo"
    outputs: dict[str, tuple[int, str]] = {}

    def step(*args: str, expect: int = 0) -> str:
        code, out = run(*args)
        outputs[" ".join(args)] = (code, out)
        assert code == expect, (args, out)
        return out

    step("demo", "generate", "--houses", "60", "--seed", "7", "--out", str(demo))
    step("import", "register", str(demo / "register.csv"), "--assign-codes")
    step("import", "register", str(demo / "register.csv"), "--dry-run")
    step("import", "boundaries", str(demo / "estates.geojson"), "--level", "estate",
         "--within", "3304")
    step("import", "footprints", str(demo / "buildings.geojson"))
    step("import", "facilities", str(demo / "facilities.csv"), "--source", "demo")
    step("import", "projects", str(demo / "projects.csv"))
    step("codes", "assign", "--scope", "3304", "--dry-run")
    step("jobs", "list")
    step("codes", "validate", "330402007024-001-0003-00101-8", "123", expect=1)
    step("tokens", "create", "--name", "门户系统", "--scope", "3304", "--role", "reader")
    step("tokens", "list")
    step("report", "services", "--scope", "3304", "--format", "xlsx", "--out",
         str(tmp_path / "s.xlsx"), "--radius", "托育=250")
    step("export", "--scope", "3304", "--layer", "houses", "--format", "csv", "--out",
         str(tmp_path / "h.csv"))
    address = (tmp_path / "h.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    step("find", address.split(",")[2] + address.split(",")[3])  # estate name + building
    step("programme", "survey", "--scope", "3304", "--date", "2026-06-30")
    step("programme", "plan-gaps", "--scope", "3304", "--top", "2", "--date", "2026-06-30")
    step("safety", "check-inactivity", "--scope", "3304")
    step("db", "status")
    # mistakes an operator makes: click's own messages, and a domain error
    step("report", "services", expect=2)
    step("nosuch", expect=2)
    step("find", "x", "--first", "abc", expect=2)
    step("codes", "lineage", "3304020070240010003001018", expect=5)
    step("import", "register", str(tmp_path / "missing.csv"), expect=2)
    for group in ("db", "import", "report", "codes"):
        step(group, "--help")
    step("import", "register", "--help")

    english = {cmd: untranslated(out) for cmd, (_code, out) in outputs.items()}
    english = {cmd: lines for cmd, lines in english.items() if lines}
    assert english == {}, "\n".join(f"{cmd}: {line}" for cmd, lines in english.items()
                                     for line in lines)
    assert "登记导入" in outputs[f"import register {demo / 'register.csv'} --assign-codes"][1]
    assert "缺少选项" in outputs["report services"][1]
