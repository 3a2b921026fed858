"""Register columns: canonical fields, their Chinese synonyms, mapping files, header search.

A header cell is matched after normalisation (full-width folded, spaces, ``*`` and brackets
removed, so ``身份证号*`` and ``身份证号（必填）`` count). A mapping file (JSON object, or a
CSV/TSV with two columns ``column,field``) names the field of any header explicitly and
wins over the synonyms; ``field`` ``ignore`` drops a column on purpose.

Example::

    >>> header_field("房屋坐落"), header_field("公民身份号码"), header_field("楼号")
    ('address', 'id_number', 'building')
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cimhouse.addressing.normalize import normalize_text
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers import rejects
from cimhouse.importers.register.table import SYNONYMS  # the one table of register columns

FIELDS = tuple(SYNONYMS)
#: columns the rejects report adds; ignored when the report is imported again
MASKED_ID_COLUMN = "身份证号(脱敏)/id masked"  # the register's extra report column
REPORT_COLUMNS = (*rejects.REPORT_COLUMNS, MASKED_ID_COLUMN, rejects.WARNINGS_COLUMN)
IGNORE = "ignore"
_STRIP = re.compile(r"[\s*＊:：()（）\[\]【】]|必填|选填")


def header_key(cell: str) -> str:
    return _STRIP.sub("", normalize_text(cell))


_LOOKUP = {header_key(syn): name for name, syns in SYNONYMS.items() for syn in syns}
_LOOKUP.update({header_key(c): IGNORE for c in REPORT_COLUMNS})


def header_field(cell: str) -> str | None:
    """The canonical field a header cell names, or None when it is not a known column."""
    key = header_key(cell)
    if key in _LOOKUP:
        return _LOOKUP[key]
    # "建筑面积（㎡）" and the like: a known header followed by a unit in brackets
    for known, name in _LOOKUP.items():
        if len(known) >= 2 and key.startswith(known) and name in ("area", "lon", "lat"):
            return name
    return None


def load_mapping(path: Path) -> dict[str, str]:
    """Read a mapping file: ``{"源列名": "field", ...}`` (JSON) or CSV ``column,field``.

    Keys are the columns as written; they are compared normalised (see :func:`header_key`).
    """
    try:
        text = path.read_text("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(_("mapping file {file} cannot be read: {exc}", file=path.name,
                             exc=exc)) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput(_("mapping file {file} is not valid JSON: {exc}", file=path.name,
                                 exc=exc)) from None
        if not isinstance(data, dict):
            raise InvalidInput(_("mapping file {file} must hold an object column -> field",
                                 file=path.name))
        pairs = [(str(k), str(v)) for k, v in data.items()]
    else:
        dialect = "excel-tab" if "\t" in text.splitlines()[0] else "excel"
        pairs = [(row[0], row[1]) for row in csv.reader(text.splitlines(), dialect=dialect)
                 if len(row) >= 2 and row[0].strip()]
        if pairs and pairs[0][1].strip().lower() == "field":
            pairs = pairs[1:]
    mapping: dict[str, str] = {}
    for column, name in pairs:
        name = name.strip()
        if name not in FIELDS and name != IGNORE:
            raise InvalidInput(_("mapping file {file}: unknown field {name!r} for column "
                                 "{column!r}; fields are {fields}, or ignore", file=path.name,
                                 name=name, column=column, fields=', '.join(FIELDS)))
        mapping[column.strip()] = name
    return mapping


@dataclass
class ColumnMap:
    """Where each field sits in a row; ``extra`` holds the unknown columns (kept)."""

    header: list[str]
    fields: dict[str, int] = field(default_factory=dict)
    extra: dict[int, str] = field(default_factory=dict)
    ignored: list[int] = field(default_factory=list)

    def get(self, row: Sequence[str], name: str) -> str | None:
        index = self.fields.get(name)
        if index is None or index >= len(row):
            return None
        value = row[index].strip()
        return value or None


def map_header(header: Sequence[str], mapping: Mapping[str, str] | None = None) -> ColumnMap:
    """Assign each header cell to a field (mapping first, then synonyms); first one wins."""
    result = ColumnMap(header=[h.strip() for h in header])
    explicit = {header_key(column): name for column, name in (mapping or {}).items()}
    for index, cell in enumerate(result.header):
        if not cell:
            continue
        name = explicit.get(header_key(cell)) or header_field(cell)
        if name == IGNORE:
            result.ignored.append(index)
        elif name and name not in result.fields:
            result.fields[name] = index
        else:
            result.extra[index] = cell
    return result


def absent_mapped_columns(header: Sequence[str], mapping: Mapping[str, str]) -> list[str]:
    """Columns a mapping names that the header does not have (compared normalised).

    A mapping written for another office's file would otherwise be ignored without a word
    and the columns it meant to name read by the synonyms, or not at all.

    >>> absent_mapped_columns(["住户证件", "姓名"], {"住户证件": "id_number", "备注": "ignore"})
    ['备注']
    """
    present = {header_key(cell) for cell in header if cell.strip()}
    return [column for column in mapping if header_key(column) not in present]


def header_score(row: Sequence[str]) -> int:
    """How many distinct known fields a row names: the header row scores highest."""
    return len({header_field(cell) for cell in row if cell and header_field(cell)})


def missing_required(columns: ColumnMap) -> list[str]:
    """Required fields absent from the header, as bilingual names."""
    missing = []
    if "name" not in columns.fields:
        missing.append("姓名 / name")
    if "id_number" not in columns.fields:
        missing.append("身份证号 / ID number")
    if "address" not in columns.fields and "building" not in columns.fields:
        missing.append("房屋坐落或幢号 / address or building")
    if "relation" not in columns.fields and owner_header(columns) is None \
            and "head_relation" not in columns.fields:
        missing.append("人房关系 / relation")
    return missing


def owner_header(columns: ColumnMap) -> str | None:
    """The relation a file without 人房关系 implies: a name column titled 产权人/权利人
    means 'owner'; a household register (与户主关系 given) means 'registered' (户籍)."""
    index = columns.fields.get("name")
    if index is not None and header_key(columns.header[index]) in ("产权人", "权利人"):
        return "owner"
    return "registered" if "head_relation" in columns.fields else None


__all__ = ["FIELDS", "MASKED_ID_COLUMN", "REPORT_COLUMNS", "SYNONYMS", "ColumnMap",
           "absent_mapped_columns", "header_field", "header_score", "load_mapping", "map_header",
           "missing_required", "owner_header"]
