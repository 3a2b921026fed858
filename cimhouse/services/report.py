"""The community-services report: coverage, gaps, index and the elderly living alone.

One call gathers every section for a scope (coverage and population are computed once and
shared); writers turn it into JSON, CSV (one file per section) or XLSX (one sheet per
section). Personal data in the elderly section is always masked here. The ``households``
section is one row of household figures (:mod:`cimhouse.services.households`).

Example::

    report = build_services_report(session, parse_scope("330402"), metric_srid=4549)
    write_report(report, "xlsx", Path("nanhu_services.xlsx"))
    sorted(report.sections())   # ['community_gaps', 'coverage', 'elderly_living_alone', ...]
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _, current_language, language_scope
from cimhouse.programme.list_gap_projects import list_gap_projects
from cimhouse.programme.record_survey import index_history
from cimhouse.scope import Scope
from cimhouse.services.elderly import list_elderly_living_alone
from cimhouse.services.gaps import find_gaps, load_category_coverage
from cimhouse.services.households import household_statistics
from cimhouse.services.policy import ServicePolicy
from cimhouse.services.service_index import compute_service_index

FORMATS = ("json", "csv", "xlsx")


@dataclass
class ServicesReport:
    scope: str
    as_of: dt.date
    radii_m: dict[str, float]
    weights: dict[str, float]
    unlocated_estates: int = 0
    tables: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def sections(self) -> dict[str, list[dict[str, Any]]]:
        return self.tables

    def as_dict(self) -> dict[str, Any]:
        return {"scope": self.scope, "as_of": self.as_of.isoformat(), "radii_m": self.radii_m,
                "index_weights": self.weights, "unlocated_estates": self.unlocated_estates,
                **self.tables}


def _metres(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def build_services_report(session: Session, scope: Scope | None, *,
                          policy: ServicePolicy | None = None, metric_srid: int = 4549,
                          as_of: dt.date | None = None, elderly_min_age: int = 60,
                          on_step: Callable[[str], None] | None = None) -> ServicesReport:
    """Every section of the report for ``scope`` (None: everything).

    ``on_step`` is called with the name of each of the four steps as it starts (for a
    progress display).
    """
    policy = policy or ServicePolicy.default()
    as_of = as_of or dt.date.today()
    step = on_step or (lambda _name: None)
    step(_("coverage and people per estate"))
    rows = load_category_coverage(session, scope, policy=policy, metric_srid=metric_srid,
                                  as_of=as_of)
    step(_("gaps"))
    gaps = find_gaps(session, scope, policy=policy, metric_srid=metric_srid, rows=rows)
    step(_("service index"))
    index = compute_service_index(session, scope, policy=policy, rows=rows)
    step(_("elderly living alone"))
    elderly = list_elderly_living_alone(session, scope, min_age=elderly_min_age, as_of=as_of)
    households = household_statistics(session, scope, as_of=as_of, min_age=elderly_min_age)
    report = ServicesReport(
        scope=scope.code if scope else "all", as_of=as_of,
        radii_m={c: policy.radius(c) for c in policy.categories},
        weights={c: policy.index_weight(c) for c in policy.categories},
        unlocated_estates=gaps.unlocated_estates)
    report.tables["service_index"] = [
        {"region_code": s.region_code, "community_name": s.community_name, "index": s.index,
         "estates": s.estates, "population": s.population,
         **{f"{c.category}_share": c.share for c in s.components}} for s in index]
    report.tables["index_components"] = [
        {"region_code": s.region_code, **asdict(c), "contribution": round(c.contribution, 4)}
        for s in index for c in s.components]
    report.tables["community_gaps"] = [asdict(g) for g in gaps.communities]
    report.tables["estate_gaps"] = [asdict(g) | {"distance_m": _metres(g.distance_m)}
                                    for g in gaps.estates]
    report.tables["coverage"] = [
        {"estate_code": r.estate_code, "estate_name": r.estate_name,
         "region_code": r.region_code, "category": r.category, "radius_m": r.radius_m,
         "nearest_facility": r.nearest_facility, "distance_m": _metres(r.distance_m),
         "covered": r.covered, "affected_group": r.affected_group, "affected": r.affected}
        for r in sorted(rows, key=lambda r: (r.region_code, r.estate_code or "", r.category))]
    report.tables["elderly_living_alone"] = [
        {k: v for k, v in asdict(p).items() if k != "revealed"} for p in elderly]
    report.tables["households"] = [{
        "households": households.households, "elderly_only": households.elderly_only,
        "single_elderly_living_alone": households.elderly_living_alone,
        "with_children_0_3": households.with_children_0_3,
        **{f"size_{n}": households.by_size[n] for n in sorted(households.by_size)}}]
    if scope is not None:  # the gap-filling library: each project's score before and after
        report.tables["gap_projects"] = [
            {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in asdict(g).items()}
            for g in list_gap_projects(session, scope)]
        report.tables["index_history"] = [
            {"region_code": h.region_code, "survey_date": h.survey_date.isoformat(),
             "index": h.index,
             "population": h.population, "estates": h.estates}
            for h in index_history(session, scope)]
    return report


def report_labels() -> dict[str, str]:
    """Section and column names of the report in the current language (keys: JSON names);
    in English the JSON names themselves, as programs reading the files expect."""
    if current_language() != "zh":
        return {"(no rows)": "(no rows)", "share_of": "{category}_share",
                "size_of": "size_{size}"}
    return {
        "about": _("about"), "service_index": _("service index"),
        "index_components": _("index components"), "community_gaps": _("community gaps"),
        "estate_gaps": _("estate gaps"), "coverage": _("coverage"),
        "elderly_living_alone": _("elderly living alone"), "scope": _("scope"),
        "as_of": _("as of"), "unlocated_estates": _("estates without location"),
        "radius_m": _("radius (m)"), "index_weight": _("index weight"),
        "region_code": _("region code"), "community_name": _("community"),
        "index": _("service index"), "estates": _("estates"), "population": _("population"),
        "category": _("category"), "weight": _("weight"), "affected_group": _("affected group"),
        "affected": _("people affected"), "covered": _("covered"),
        "estates_covered": _("estates covered"), "share": _("share"),
        "contribution": _("contribution"), "estates_uncovered": _("estates uncovered"),
        "affected_total": _("people affected, total"),
        "affected_uncovered": _("people affected, uncovered"), "estate_code": _("estate code"),
        "estate_name": _("estate"), "nearest_facility": _("nearest facility"),
        "distance_m": _("distance (m)"), "house_code": _("house code"),
        "address": _("address"), "age": _("age"), "gender": _("gender"), "name": _("name"),
        "id_number": _("ID number"), "phone": _("phone"), "(no rows)": _("(no rows)"),
        "share_of": _("{category} share"),
        "household_number": _("household number"), "household_size": _("household size"),
        "registered_here": _("household registered here"), "households": _("households"),
        "elderly_only": _("elderly-only households"),
        "single_elderly_living_alone": _("one-person elderly households living alone"),
        "with_children_0_3": _("households with children 0-3"),
        "size_of": _("{size}-person households"),
    }


def _header(key: str, labels: dict[str, str]) -> str:
    from cimhouse.schema.vocab import FacilityCategory, vocab_label

    category, dot, rest = key.partition(".")
    if dot:  # radius_m.childcare
        return f"{labels.get(category, category)}.{vocab_label(FacilityCategory, rest)}"
    if key.endswith("_share") and key[:-6] in {c.value for c in FacilityCategory}:
        return labels["share_of"].format(category=vocab_label(FacilityCategory, key[:-6]))
    if key.startswith("size_") and key[5:].isdigit():  # households of that many members
        return labels["size_of"].format(size=key[5:])
    return labels.get(key, key)


def _localised(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows with headers and vocabulary values (category 托育, ...) in the current language."""
    from cimhouse.schema.vocab import FacilityCategory, vocab_label

    if current_language() != "zh":
        return rows
    labels = report_labels()
    out = []
    for row in rows:
        shown = {}
        for key, value in row.items():
            if key == "category" and isinstance(value, str):
                value = vocab_label(FacilityCategory, value)
            elif isinstance(value, bool):
                value = _("yes") if value else _("no")
            shown[_header(key, labels)] = value
        out.append(shown)
    return out


def _csv_text(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    if rows:
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return buffer.getvalue()


def write_report(report: ServicesReport, fmt: str, out: Path | None,
                 language: str = "zh") -> list[Path]:
    """Write ``report``; ``out`` None prints JSON/CSV to stdout. Returns the files written.

    CSV to a file writes one file per section next to ``out`` (``out.stem.<section>.csv``).
    CSV and XLSX headers, sheet names and categories are Chinese by default (托育, 养老, ...);
    ``language="en"`` and JSON keep the field names programs read. File names keep the
    section keys.
    """
    with language_scope(language):
        return _write_report(report, fmt, out)


def _write_report(report: ServicesReport, fmt: str, out: Path | None) -> list[Path]:
    import sys

    if fmt not in FORMATS:
        raise InvalidInput(_("format must be one of {formats}", formats=", ".join(FORMATS)))
    if fmt == "json":
        data = json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str)
        if out is None:
            sys.stdout.write(data + "\n")
            return []
        out.write_text(data + "\n", encoding="utf-8")
        return [out]
    if fmt == "csv":
        labels = report_labels()
        if out is None:
            for name, rows in report.tables.items():
                sys.stdout.write(f"# {labels.get(name, name)}\n{_csv_text(_localised(rows))}\n")
            return []
        written = []
        for name, rows in report.tables.items():
            path = out.with_name(f"{out.stem}.{name}.csv")
            path.write_text(_csv_text(_localised(rows)), encoding="utf-8-sig")
            written.append(path)
        return written
    if out is None:
        raise InvalidInput(_("xlsx needs --out FILE"))
    _write_xlsx(report, out)
    return [out]


def _write_xlsx(report: ServicesReport, out: Path) -> None:
    import xlsxwriter

    labels = report_labels()
    book = xlsxwriter.Workbook(str(out), {"constant_memory": True})
    bold = book.add_format({"bold": True})
    about = book.add_worksheet(labels.get("about", "about"))
    facts: list[tuple[str, Any]] = [("scope", report.scope), ("as_of", str(report.as_of)),
                                    ("unlocated_estates", report.unlocated_estates)]
    facts += [(f"radius_m.{c}", r) for c, r in report.radii_m.items()]
    facts += [(f"index_weight.{c}", w) for c, w in report.weights.items()]
    for line, (key, value) in enumerate(facts):
        about.write(line, 0, _header(key, labels), bold)
        about.write(line, 1, value)
    for name, section in report.tables.items():
        sheet = book.add_worksheet(labels.get(name, name)[:31])
        rows = _localised(section)
        columns = list(rows[0]) if rows else [labels["(no rows)"]]
        sheet.write_row(0, 0, columns, bold)
        for r, row in enumerate(rows, start=1):
            sheet.write_row(r, 0, [row[c] for c in columns])
        sheet.freeze_panes(1, 0)
    book.close()
