"""Read a facility file (CSV, XLSX or GeoJSON) into numbered rows of text columns.

Headers may be English or Chinese (名称, 类别, 地址, 经度, 纬度 ...); they are mapped to the
canonical names of :data:`HEADER_ALIASES`. Unknown columns are kept and end up in the
facility's ``attributes``. GeoJSON features carry their geometry as WKT under ``_wkt``.
Line numbers are what a person sees: the spreadsheet row, or the feature number for GeoJSON.

Example::

    rows = read_facility_file(Path("facilities.csv"))
    rows[0]   # (2, {'name': '阳光托育园', 'category': '托育', 'lon': '120.75', ...})
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from shapely.geometry import shape

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.boundaries.reading import legacy_crs
from cimhouse.importers.rejects import REPORT_COLUMNS

HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": ("name", "名称", "设施名称", "机构名称"),
    "category": ("category", "类别", "类型", "设施类型", "设施类别", "kind", "type"),
    "subtype": ("subtype", "子类", "细类"),
    "address": ("address", "地址", "详细地址"),
    "lon": ("lon", "lng", "longitude", "经度", "x"),
    "lat": ("lat", "latitude", "纬度", "y"),
    "crs": ("crs", "坐标系", "srid"),
    "external_id": ("external_id", "id", "编号", "设施编号", "source_id"),
    "capacity": ("capacity", "容量", "床位", "床位数", "学位", "托位"),
    "status": ("status", "状态"),
    "community_code": ("community_code", "community", "社区代码", "村社代码", "region_code"),
    "estate_code": ("estate_code", "小区代码", "小区编码"),
}
_CANONICAL = {alias.lower(): name for name, aliases in HEADER_ALIASES.items()
              for alias in aliases}
# a corrected rejects report imports again: its own columns are no facility attributes
_CANONICAL.update({column.lower(): "" for column in REPORT_COLUMNS})


def canonical_header(header: str) -> str:
    text = header.strip().lstrip("\ufeff")
    return _CANONICAL.get(text.lower(), text)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("gb18030")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value).strip()


Canonical = Callable[[str], str]


def _read_csv(raw: bytes, canonical: Canonical = canonical_header
              ) -> list[tuple[int, dict[str, str]]]:
    reader = csv.reader(_decode(raw).splitlines())
    header = next(reader, None)
    if not header:
        raise InvalidInput(_("the file has no header row"))
    names = [canonical(h) for h in header]
    rows = []
    for line, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue  # blank lines are not rows
        rows.append((line, {n: (values[i].strip() if i < len(values) else "")
                            for i, n in enumerate(names) if n}))
    return rows


def _read_xlsx(path: Path, canonical: Canonical = canonical_header
               ) -> list[tuple[int, dict[str, str]]]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise InvalidInput(_("{file}: not a readable XLSX file", file=path.name)) from exc
    sheet = book.worksheets[0]
    rows: list[tuple[int, dict[str, str]]] = []
    names: list[str] | None = None
    for line, values in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = [_cell(v) for v in values]
        if not any(cells):
            continue
        if names is None:
            names = [canonical(c) for c in cells]
            continue
        rows.append((line, {n: (cells[i] if i < len(cells) else "")
                            for i, n in enumerate(names) if n}))
    book.close()
    if names is None:
        raise InvalidInput(_("{file}: the first sheet is empty", file=path.name))
    return rows


def _read_geojson(raw: bytes) -> list[tuple[int, dict[str, str]]]:
    try:
        data = json.loads(_decode(raw))
    except json.JSONDecodeError as exc:
        raise InvalidInput(_("not valid JSON: {msg} at line {lineno}", msg=exc.msg,
                             lineno=exc.lineno)) from None
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise InvalidInput(_("GeoJSON must be a FeatureCollection"))
    declared = legacy_crs(data.get("crs"))  # an old-style crs member, e.g. EPSG::4490
    rows = []
    for number, feature in enumerate(features, start=1):
        props = (feature or {}).get("properties") or {}
        row = {canonical_header(str(k)): _cell(v) for k, v in props.items()}
        if declared is not None and not row.get("crs"):
            row["crs"] = f"EPSG:{declared}"
        if feature.get("id") is not None and "external_id" not in row:
            row["external_id"] = _cell(feature["id"])
        geometry = (feature or {}).get("geometry")
        try:
            row["_wkt"] = shape(geometry).wkt if geometry else ""
        except (ValueError, TypeError, AttributeError, KeyError):
            row["_wkt"] = "invalid"
        rows.append((number, row))
    return rows


def read_table_file(path: Path, canonical: Canonical) -> list[tuple[int, dict[str, str]]]:
    """Rows of a .csv or .xlsx file with the header names mapped by ``canonical`` (other
    importers with Chinese headers, e.g. the future-community projects, read through this)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, canonical)
    if suffix in (".csv", ".txt"):
        return _read_csv(path.read_bytes(), canonical)
    raise InvalidInput(_("{file}: unsupported file type (use .csv or .xlsx)", file=path.name))


def read_facility_file(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of a .csv, .xlsx or .geojson/.json file as (line, {column: text})."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path)
    raw = path.read_bytes()
    if suffix in (".geojson", ".json"):
        return _read_geojson(raw)
    if suffix in (".csv", ".txt"):
        return _read_csv(raw)
    raise InvalidInput(_("{file}: unsupported file type (use .csv, .xlsx or .geojson)",
                         file=path.name))
