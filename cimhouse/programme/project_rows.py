"""Read and validate rows of a future-community project file (Chinese headers).

Columns (Chinese header first; the English names are accepted too): 项目编号 (external_id),
项目名称 (name), 级别 (level: 省级/市级), 类型 (kind: 新建类/旧改类/普惠型/拆改结合类/乡村新社区),
主题 (themes, separated by 、；; or ,), 年度 (year), 牵头街道 (lead street, 9 digits),
覆盖社区 (community codes, 12 digits, separated), 覆盖小区 (estate codes), 投资(万元),
面积(平方米), 覆盖户数, one date per lifecycle step (储备日期, 申报日期, 列入创建名单日期,
开工日期, 申请验收日期, 验收命名日期) and one column per scenario (邻里场景 ... 治理场景) holding
its states with the date each was reached, separated by ；: ``规划 2022-03-01；已建成 2023-06-01``
(a lone state may go without its date: ``已建成``). States: 规划, 建设中, 已建成. Dates:
2023-05-01, 2023/5/1, 2023.5.1 or 2023年5月1日.

Example::

    >>> data, reasons = parse_row({"项目名称": "月河未来社区", "级别": "省级", "类型": "旧改类",
    ...     "牵头街道": "330402001", "覆盖社区": "330402001001", "申报日期": "2022/5/1"})
    >>> data.level, data.dates["declared"], reasons
    ('provincial', datetime.date(2022, 5, 1), [])
    >>> parse_scenario_cell("规划 2022-03-01；已建成（2023/6/1）")
    {'planned': datetime.date(2022, 3, 1), 'delivered': datetime.date(2023, 6, 1)}
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from cimhouse.errors import InvalidInput
from cimhouse.i18n import bilingual
from cimhouse.importers.facilities.reading import read_table_file
from cimhouse.importers.rejects import REPORT_COLUMNS
from cimhouse.programme.upsert_project import ProjectData, check_values
from cimhouse.schema.vocab import (
    LABELS_ZH,
    ProjectKind,
    ProjectLevel,
    ProjectStatus,
    Scenario,
    ScenarioState,
)

DATE_HEADERS: dict[str, str] = {
    ProjectStatus.RESERVE: "储备日期", ProjectStatus.DECLARED: "申报日期",
    ProjectStatus.LISTED: "列入创建名单日期", ProjectStatus.UNDER_CONSTRUCTION: "开工日期",
    ProjectStatus.ACCEPTANCE_APPLIED: "申请验收日期", ProjectStatus.ACCEPTED: "验收命名日期",
}
SCENARIO_HEADERS: dict[str, str] = {s.value: f"{LABELS_ZH[Scenario][s]}场景" for s in Scenario}
#: canonical (Chinese) header -> accepted spellings
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "项目编号": ("external_id", "编号", "id"),
    "项目名称": ("name", "名称"),
    "级别": ("level", "项目级别"),
    "类型": ("kind", "项目类型", "类别"),
    "主题": ("themes", "特色主题"),
    "年度": ("year", "创建年度", "批次"),
    "牵头街道": ("lead_street", "街道代码", "牵头街道代码"),
    "覆盖社区": ("communities", "社区代码", "覆盖社区代码"),
    "覆盖小区": ("estates", "小区代码", "覆盖小区代码"),
    "投资(万元)": ("investment_10k", "投资", "总投资(万元)", "总投资"),
    "面积(平方米)": ("area_m2", "面积", "规划面积(平方米)"),
    "覆盖户数": ("households", "户数"),
    **{header: (f"{step}_on",) for step, header in DATE_HEADERS.items()},
    **{header: (scenario, LABELS_ZH[Scenario][Scenario(scenario)])
       for scenario, header in SCENARIO_HEADERS.items()},
}
_CANONICAL = {alias.lower(): name for name, aliases in HEADER_ALIASES.items()
              for alias in (name, *aliases)}
_CANONICAL.update({column.lower(): "" for column in REPORT_COLUMNS})  # rejects re-import
_SPLIT = re.compile(r"[、；;,，\s]+")
_STATE_PARTS = re.compile(r"[；;,，、\n]+")
_STATE_AND_DATE = re.compile(
    r"^(?P<state>.*?)\s*[（(]?\s*(?P<date>\d{4}\s*[-/.年]\s*\d{1,2}\s*[-/.月]\s*\d{1,2}\s*日?)?"
    r"\s*[)）]?$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T].*)?$")


def canonical_header(header: str) -> str:
    text = header.strip().lstrip("\ufeff")
    return _CANONICAL.get(text.lower(), text)


def read_project_file(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a .csv or .xlsx project file as (line, {canonical header: text})."""
    return read_table_file(path, canonical_header)


def _word(value: str, vocab: type[ProjectLevel | ProjectKind | ScenarioState]) -> str | None:
    text = value.strip()
    for member in vocab:
        if text in (member.value, LABELS_ZH[vocab][member]):
            return member.value
    return None


def parse_date(text: str) -> dt.date:
    match = _DATE.match(text.strip())
    if not match:
        raise ValueError(text)
    return dt.date(int(match[1]), int(match[2]), int(match[3]))


def parse_scenario_cell(text: str) -> dict[str, dt.date | None]:
    """The states of a scenario cell with their dates; ValueError names the part not read."""
    history: dict[str, dt.date | None] = {}
    for part in (p.strip() for p in _STATE_PARTS.split(text) if p.strip()):
        match = _STATE_AND_DATE.match(part)
        state = _word(match["state"], ScenarioState) if match else None
        if match is None or state is None or state in history:
            raise ValueError(part)
        try:
            history[state] = parse_date(match["date"]) if match["date"] else None
        except ValueError:
            raise ValueError(part) from None
    return history


def _number(text: str, name: str, reasons: list[str]) -> Decimal | None:
    if not text.strip():
        return None
    try:
        return Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        reasons.append(f"{name}不是数字 / {name} is not a number")
        return None


def parse_row(row: dict[str, str]) -> tuple[ProjectData | None, list[str]]:
    """The project of one row, or None with the (bilingual) reasons it was rejected."""
    reasons: list[str] = []
    level = _word(row.get("级别", ""), ProjectLevel)
    if level is None:
        reasons.append(f"未知项目级别 / unknown level {row.get('级别', '')!r} (省级 or 市级)")
    kind = _word(row.get("类型", ""), ProjectKind)
    if kind is None:
        reasons.append(f"未知项目类型 / unknown kind {row.get('类型', '')!r}")
    dates: dict[str, dt.date] = {}
    for step, header in DATE_HEADERS.items():
        if row.get(header, "").strip():
            try:
                dates[step] = parse_date(row[header])
            except ValueError:
                reasons.append(f"{header}无效 / {header}: not a date (2023-05-01)")
    scenarios: dict[str, dict[str, dt.date | None]] = {}
    for scenario, header in SCENARIO_HEADERS.items():
        if row.get(header, "").strip():
            try:
                scenarios[scenario] = parse_scenario_cell(row[header])
            except ValueError as exc:
                reasons.append(f"{header}状态无效 / {header}: cannot read {str(exc)!r} "
                               "(规划, 建设中 or 已建成, each with its date: 已建成 2023-06-01)")
    year: int | None = None
    if row.get("年度", "").strip():
        try:
            year = int(row["年度"].strip().rstrip("年"))
        except ValueError:
            reasons.append("年度应为整数 / year must be a whole number")
    investment = _number(row.get("投资(万元)", ""), "投资", reasons)
    area = _number(row.get("面积(平方米)", ""), "面积", reasons)
    households_number = _number(row.get("覆盖户数", ""), "覆盖户数", reasons)
    if reasons or level is None or kind is None:
        return None, reasons
    data = ProjectData(
        name=row.get("项目名称", "").strip(), level=level, kind=kind,
        lead_street=row.get("牵头街道", "").strip(),
        communities=[c for c in _SPLIT.split(row.get("覆盖社区", "")) if c],
        estates=[c.upper() for c in _SPLIT.split(row.get("覆盖小区", "")) if c],
        themes=[t for t in _SPLIT.split(row.get("主题", "")) if t], scenarios=scenarios,
        dates=dates, year=year, external_id=row.get("项目编号", "").strip() or None,
        investment_10k=investment, area_m2=area,
        households=None if households_number is None else int(households_number))
    try:
        check_values(data)
    except InvalidInput as exc:
        return None, [bilingual(exc.message)]
    return data, []
