"""Write a :class:`~cimhouse.programme.progress.Progress` as JSON, CSV or XLSX.

XLSX: a sheet ``targets`` (target, actual, distance), a sheet ``counties`` (one line per
county) and one sheet per county with its streets, streets without a provincial project
first. CSV: the same tables, one file each (``<out>.targets.csv``, ``<out>.counties.csv``,
``<out>.streets.csv``). Column names carry the Chinese label first.

Example::

    write_progress(progress, "xlsx", Path("programme-3304.xlsx"))
"""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.programme.progress import Figures, Progress
from cimhouse.schema.vocab import LABELS_ZH, ProjectStatus, Scenario

FORMATS = ("json", "csv", "xlsx")
FIGURE_LABELS = {
    "communities": "社区数/communities", "urban_communities": "城镇社区数/urban_communities",
    "urban_covered": "覆盖城镇社区/urban_covered", "coverage": "覆盖率/coverage",
    "provincial_declared": "省级申报/provincial_declared",
    "provincial_creation": "省级创建/provincial_creation",
    "provincial_built": "省级验收/provincial_built",
    "municipal_creation": "市级创建/municipal_creation",
    "municipal_named": "市级命名/municipal_named",
}


def figures_row(figures: Figures) -> dict[str, Any]:
    row: dict[str, Any] = {label: (figures.coverage if key == "coverage"
                                   else getattr(figures, key))
                           for key, label in FIGURE_LABELS.items()}
    for status in ProjectStatus:
        row[f"{LABELS_ZH[ProjectStatus][status]}/{status.value}"] = figures.by_status.get(
            status.value, 0)
    for scenario in Scenario:
        row[f"{LABELS_ZH[Scenario][scenario]}场景/{scenario.value}"] = (
            figures.scenarios_delivered.get(scenario.value, 0))
    return row


def tables(progress: Progress) -> dict[str, list[dict[str, Any]]]:
    targets = [{"指标/target": t.key, "目标/value": t.target, "实际/actual": t.actual,
                "差距/distance": t.distance, "达成/met": t.met} for t in progress.targets]
    counties = [{"县区代码/code": c.code, "县区/name": c.name,
                 "无省级项目街道/streets_without_provincial": len(c.streets_without_provincial),
                 **figures_row(c.figures)} for c in progress.counties]
    streets = [{"县区代码/county": c.code, "街道代码/code": s.code, "街道/name": s.name,
                "无省级项目/without_provincial": s.without_provincial,
                **figures_row(s.figures)} for c in progress.counties for s in c.streets]
    return {"targets": targets, "counties": counties, "streets": streets}


def as_dict(progress: Progress) -> dict[str, Any]:
    return {"region_code": progress.region_code, "as_of": progress.as_of.isoformat(),
            "target_year": progress.target_year,
            "total": asdict(progress.total) | {"coverage": progress.total.coverage},
            "targets": [asdict(t) | {"met": t.met} for t in progress.targets],
            "counties": [{"code": c.code, "name": c.name,
                          "figures": asdict(c.figures) | {"coverage": c.figures.coverage},
                          "streets_without_provincial": [s.code for s in
                                                         c.streets_without_provincial],
                          "streets": [{"code": s.code, "name": s.name,
                                       "without_provincial": s.without_provincial,
                                       "figures": asdict(s.figures)
                                       | {"coverage": s.figures.coverage}}
                                      for s in c.streets]} for c in progress.counties]}


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def write_progress(progress: Progress, fmt: str, out: Path | None) -> list[Path]:
    """Write the report; returns the files written (none for stdout)."""
    if fmt not in FORMATS:
        raise InvalidInput(_("format must be one of {formats}", formats=', '.join(FORMATS)))
    if fmt == "json":
        data = json.dumps(as_dict(progress), ensure_ascii=False, indent=2)
        if out is None:
            sys.stdout.write(data + "\n")
            return []
        out.write_text(data + "\n", encoding="utf-8")
        return [out]
    if fmt == "csv":
        if out is None:
            for name, rows in tables(progress).items():
                sys.stdout.write(f"# {name}\n{_csv_text(rows)}\n")
            return []
        written = []
        for name, rows in tables(progress).items():
            path = out.with_name(f"{out.stem}.{name}.csv")
            path.write_text(_csv_text(rows), encoding="utf-8-sig")
            written.append(path)
        return written
    if out is None:
        raise InvalidInput(_("xlsx needs --out FILE"))
    _write_xlsx(progress, out)
    return [out]


def _sheet(book: Any, name: str, rows: list[dict[str, Any]], bold: Any) -> None:
    sheet = book.add_worksheet(name[:31])
    columns = list(rows[0]) if rows else ["(no rows)"]
    sheet.write_row(0, 0, columns, bold)
    for r, row in enumerate(rows, start=1):
        sheet.write_row(r, 0, [row[c] for c in columns])
    sheet.freeze_panes(1, 0)


def _write_xlsx(progress: Progress, out: Path) -> None:
    import xlsxwriter

    book = xlsxwriter.Workbook(str(out))
    bold = book.add_format({"bold": True})
    about = book.add_worksheet("about")
    for line, (key, value) in enumerate((("region", progress.region_code),
                                         ("as_of", progress.as_of.isoformat()),
                                         ("target_year", progress.target_year))):
        about.write(line, 0, key, bold)
        about.write(line, 1, value)
    data = tables(progress)
    _sheet(book, "targets", data["targets"], bold)
    _sheet(book, "counties", data["counties"], bold)
    for county in progress.counties:
        rows = [r for r in data["streets"] if r["县区代码/county"] == county.code]
        _sheet(book, f"{county.code} {county.name}", rows, bold)
    book.close()
