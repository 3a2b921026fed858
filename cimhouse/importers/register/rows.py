"""Turn one register row into a staged tuple, or into the reasons it is rejected.

:class:`RowValidator` holds what every row needs (columns, gazetteer, vault, caches) and
:meth:`RowValidator.validate` returns ``(COPY text line of STAGE_COLUMNS, [])`` or
``(None, reasons)``. Personal identifiers leave this module only encrypted, hashed or masked.
Checks that need other rows of the file (one house or person described two ways) run in
SQL over the staged rows, see :mod:`.conflicts`.

Example::

    validator = RowValidator(columns, gazetteer, vault, known_estates={})
    staged, reasons = validator.validate(12, cells)   # ('12\t330402\t...\n', [])
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from cimhouse.addressing.gazetteer import Gazetteer
from cimhouse.addressing.parse_address import (
    building_address,
    house_address,
    parse_address,
)
from cimhouse.crs import coordinate_converter, crs_name, point_in_china
from cimhouse.db.bulk import copy_text_field
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _, bilingual
from cimhouse.idnumber import mask_id_number, parse_id_number
from cimhouse.importers.register.columns import ColumnMap, header_field, owner_header
from cimhouse.importers.register.table import STAGE_COLUMNS, STAGE_SQL, fields, staged
from cimhouse.importers.register.values import (
    ID_REASONS,
    head_relation,
    house_use,
    household_kind,
    normalize_phone,
    parse_area,
    realestate_unit_problem,
    relation_kind,
)
from cimhouse.pii import PiiVault, mask_phone
from cimhouse.schema.vocab import HeadRelation, HouseholdKind

SEALED_PREFIX = "sealed:"
PARSE_CACHE_SIZE = 50_000  # rows of one house or person are near each other in registers
_REGION_HINTS = ("county", "town", "community")
_ADDRESS_PARTS = ("estate", "building", "unit", "floor", "room")
_HOUSE_FIELDS = fields("house")
_PERSON_FIELDS = fields("person")
_HOUSE_STAGED = tuple(c.name for c in staged("house"))
_PERSON_STAGED = tuple(c.name for c in staged("person"))
_NO_HOUSEHOLD = "\t".join(copy_text_field(None) for _c in staged("household"))
# A validated house or person part: its staged columns as COPY text (None when rejected).
Part = tuple[str | None, list[str]]


def seal(vault: PiiVault, value: str) -> str:
    """Encrypt a value for the rejects report, so it can be imported again as it is."""
    return SEALED_PREFIX + base64.urlsafe_b64encode(vault.encrypt(value)).decode("ascii")


def unseal(vault: PiiVault, value: str) -> str:
    if not value.startswith(SEALED_PREFIX):
        return value
    try:
        return vault.decrypt(base64.urlsafe_b64decode(value[len(SEALED_PREFIX):]))
    except Exception:  # a token sealed with another key, or damaged
        raise InvalidInput(_("sealed value cannot be opened with this key")) from None


def _getter(indexes: Sequence[int]) -> Callable[[Sequence[str]], tuple[str, ...]]:
    """A function picking ``indexes`` of a row as a tuple (itemgetter, whatever the count)."""
    if not indexes:
        return lambda _cells: ()
    if len(indexes) == 1:
        only = indexes[0]
        return lambda cells: (cells[only],)
    return itemgetter(*indexes)


def _encoded(part: tuple[dict[str, Any] | None, list[str]], columns: Sequence[str]) -> Part:
    """A validated part as COPY text of its staged ``columns`` (the table's order)."""
    values, reasons = part
    if values is None:
        return None, reasons
    return "\t".join([copy_text_field(values[c]) for c in columns]), reasons


class RowValidator:
    """Validates rows of one file; caches address parses (rows of one house repeat them)."""

    def __init__(self, columns: ColumnMap, gazetteer: Gazetteer, vault: PiiVault, *,
                 known_estates: Mapping[str, Sequence[str]], default_crs: str = "CGCS2000",
                 default_relation: str | None = None) -> None:
        self.columns = columns
        self.gazetteer = gazetteer
        self.vault = vault
        self.known_estates = known_estates
        self.default_crs = default_crs
        self.default_relation = default_relation or owner_header(columns)
        # Rows of one house repeat its columns, rows of one person theirs: validate each
        # distinct house part and person part once (bounded caches, memory stays flat).
        index = columns.fields
        self._house_fields = tuple(f for f in _HOUSE_FIELDS if f in index)
        self._person_fields = tuple(f for f in _PERSON_FIELDS if f in index)
        self._house_key = _getter([index[f] for f in self._house_fields])
        self._person_key = _getter([index[f] for f in self._person_fields])
        self._relation_at = index.get("relation", -1)
        self._household_fields = tuple((f, index[f]) for f in fields("household") if f in index)
        self._id_at = index["id_number"]
        self._extra_at = sorted(columns.extra)
        self._extra_key = _getter(self._extra_at)
        self._width = len(columns.header)
        self._houses: dict[tuple[str, ...], Part] = {}
        self._persons: dict[tuple[str, ...], Part] = {}
        self._extras: dict[tuple[str, ...], str] = {}

    def is_repeated_header(self, cells: Sequence[str]) -> bool:
        """A header row pasted again mid-file (its ID cell names the ID column)."""
        at = self._id_at
        cell = cells[at].strip() if at < len(cells) else ""
        return bool(cell) and not cell[:1].isdigit() and header_field(cell) == "id_number"

    def validate(self, line: int, cells: Sequence[str]) -> tuple[str | None, list[str]]:
        if len(cells) < self._width:  # a short row: the missing cells are empty
            cells = [*cells, *[""] * (self._width - len(cells))]
        house_key = self._house_key(cells)
        house = self._houses.get(house_key)
        if house is None:
            house = self._cached(self._houses, house_key,
                                 _encoded(self._house(house_key), _HOUSE_STAGED))
        person_key = self._person_key(cells)
        person = self._persons.get(person_key)
        if person is None:
            person = self._cached(self._persons, person_key,
                                  _encoded(self._person(person_key), _PERSON_STAGED))
        relation_raw = cells[self._relation_at].strip() if self._relation_at >= 0 else ""
        relation = relation_kind(relation_raw) if relation_raw else self.default_relation
        household, household_reasons = self._household(cells) if self._household_fields \
            else (_NO_HOUSEHOLD, [])
        if house[0] is None or person[0] is None or relation is None or household_reasons:
            reasons = house[1] + person[1]
            if relation is None:
                reasons.append(f"人房关系无法识别: {relation_raw or '(空)'} / unknown relation "
                               f"(expected 产权/户籍/常住/租住)")
            return None, reasons + household_reasons
        extra_key = self._extra_key(cells)
        extra = self._extras.get(extra_key)
        if extra is None:
            values = {self.columns.header[i]: v.strip()
                      for i, v in zip(self._extra_at, extra_key, strict=True) if v.strip()}
            extra = self._cached_text(extra_key, copy_text_field(
                json.dumps(values, ensure_ascii=False)))
        return f"{line}\t{house[0]}\t{person[0]}\t{relation}\t{household}\t{extra}\n", []

    def _household(self, cells: Sequence[str]) -> tuple[str, list[str]]:
        """The household columns of a row: 户号, 户别, 与户主关系, 户主姓名 (see households)."""
        raw = {name: cells[at].strip() for name, at in self._household_fields}
        number = " ".join(raw.get("household_no", "").split()).upper()
        kind_raw, relation_raw = raw.get("household_kind", ""), raw.get("head_relation", "")
        head_name = " ".join(raw.get("head_name", "").split())
        if not (number or kind_raw or relation_raw or head_name):
            return _NO_HOUSEHOLD, []  # a row without a household (a landlord, a tenant)
        reasons: list[str] = []
        if not number:
            reasons.append("户号为空但填写了户的信息 / household number is empty while the "
                           "row gives household columns")
        relation = head_relation(relation_raw) if relation_raw else None
        if relation is None:
            reasons.append(f"与户主关系无法识别: {relation_raw or '(空)'} / unknown relation "
                           "to the head (expected 户主/配偶/子/女/父/母/孙子女/兄弟姐妹/其他)")
        kind = household_kind(kind_raw) if kind_raw else HouseholdKind.FAMILY.value
        if kind is None:
            reasons.append(f"户别无法识别: {kind_raw} / unknown household kind "
                           "(expected 家庭户/集体户)")
        name_at = self.columns.fields.get("name")
        name = " ".join(cells[name_at].split()) if name_at is not None else ""
        if relation == HeadRelation.HEAD.value and head_name and head_name != name:
            reasons.append(f"户主姓名与本人姓名不符: {head_name} 与 {name} / the row is the "
                           f"head but the head's name differs: {head_name} vs {name}")
        if reasons:
            return _NO_HOUSEHOLD, reasons
        return "\t".join(copy_text_field(v or None)
                         for v in (number, kind, relation, head_name)), []

    def _cached_text(self, key: tuple[str, ...], value: str) -> str:
        if len(self._extras) >= PARSE_CACHE_SIZE:
            self._extras.clear()
        self._extras[key] = value
        return value

    @staticmethod
    def _cached(cache: dict[tuple[str, ...], Part], key: tuple[str, ...], value: Part) -> Part:
        if len(cache) >= PARSE_CACHE_SIZE:
            cache.clear()
        cache[key] = value
        return value

    def _house(self, key: tuple[str, ...]) -> tuple[dict[str, Any] | None, list[str]]:
        """Validate the house columns of a row (address, use, area, unit number, point)."""
        raw: dict[str, str | None] = dict.fromkeys(_HOUSE_FIELDS)
        raw.update(zip(self._house_fields, (v.strip() or None for v in key), strict=True))
        reasons: list[str] = []
        hint = "".join(raw[h] or "" for h in _REGION_HINTS) or None
        parsed = parse_address(raw["address"], self.gazetteer,
                               parts={p: raw[p] for p in _ADDRESS_PARTS}, region_hint=hint,
                               known_estates=self.known_estates)
        building_norm = house_norm = ""
        if parsed.accepted:
            building_norm = building_address(self.gazetteer, parsed)
            house_norm = house_address(self.gazetteer, parsed)
        else:
            reasons += parsed.reasons or ["地址无法解析 / address cannot be parsed"]
        use_raw = raw["use"]
        use = house_use(use_raw) if use_raw else None  # blank: the stored use, else residential
        if use_raw and use is None:
            reasons.append(f"房屋用途无法识别: {use_raw} / unknown house use")
        area_raw = raw["area"]
        area = parse_area(area_raw) if area_raw else None
        if area_raw and area is None:
            reasons.append(f"建筑面积无效: {area_raw} / area is not a positive number")
        unit_no = (raw["realestate_no"] or "").upper() or None
        if unit_no:
            problem = realestate_unit_problem(unit_no)
            if problem:
                reasons.append(problem)
            elif parsed.county and unit_no[:6] != parsed.county:
                reasons.append("不动产单元号的区县代码与地址不符 / real-estate unit number "
                               "belongs to another county than the address")
        lon, lat = self._coordinates(raw["lon"], raw["lat"], raw["crs"], reasons)
        if reasons:
            return None, reasons
        estate_kind = "rural_group" if (parsed.estate or "").endswith("组") else "commodity"
        return {"county": parsed.county, "region_code": parsed.community_code,
                "estate_name": parsed.estate, "estate_kind": estate_kind,
                "building_label": parsed.building, "building_norm": building_norm,
                "unit_label": parsed.unit, "floor_label": parsed.floor,
                "floor_number": parsed.floor_number, "room_label": parsed.room,
                "house_norm": house_norm, "area_m2": area, "house_use": use,
                "realestate_no": unit_no, "lon": lon, "lat": lat}, []

    def _person(self, key: tuple[str, ...]) -> tuple[dict[str, Any] | None, list[str]]:
        """Validate, hash and encrypt the person columns of a row."""
        raw = dict.fromkeys(_PERSON_FIELDS, "")
        raw.update(zip(self._person_fields, key, strict=True))
        name_raw, id_raw, phone_raw = raw["name"], raw["id_number"], raw["phone"]
        reasons: list[str] = []
        name = " ".join(name_raw.split())
        if not name:
            reasons.append("姓名为空 / name is empty")
        id_hash = id_cipher = id_masked = gender = birth = None
        if not id_raw.strip():
            reasons.append("身份证号为空 / ID number is empty")
        else:
            try:
                info = parse_id_number(unseal(self.vault, id_raw.strip()))
                id_hash = self.vault.lookup_hash(info.value)
                id_cipher = self.vault.encrypt(info.value)
                id_masked, gender, birth = info.masked, info.gender, info.birth_date
            except InvalidInput as exc:
                reasons.append(ID_REASONS.get(str(exc.detail.get("reason")),
                                              bilingual(exc.message)))
        phone_cipher = phone_masked = None
        if phone_raw.strip():
            try:
                phone = normalize_phone(unseal(self.vault, phone_raw.strip()))
            except InvalidInput:
                phone = None
            if phone is None:
                reasons.append("联系电话格式不对 / phone number is not a mobile or landline "
                               "number")
            else:
                phone_cipher, phone_masked = self.vault.encrypt(phone), mask_phone(phone)
        if reasons:
            return None, reasons
        return {"person_name": name, "id_hash": id_hash, "id_cipher": id_cipher,
                "id_masked": id_masked, "gender": gender, "birth_date": birth,
                "phone_cipher": phone_cipher, "phone_masked": phone_masked}, []

    def _coordinates(self, lon_raw: str | None, lat_raw: str | None, crs_raw: str | None,
                     reasons: list[str]) -> tuple[float | None, float | None]:
        if not lon_raw and not lat_raw:
            return None, None
        try:
            lon, lat = float(lon_raw or ""), float(lat_raw or "")
        except ValueError:
            reasons.append("经纬度不是数字 / longitude/latitude is not a number")
            return None, None
        try:
            system = crs_name(crs_raw or self.default_crs)
        except ValueError:
            reasons.append(f"坐标系无法识别: {crs_raw} / unknown coordinate system "
                           "(CGCS2000, WGS84, GCJ02, BD09, EPSG:xxxx)")
            return None, None
        if not system.startswith("EPSG:") and 15 <= lon <= 56 and 70 <= lat <= 140:
            reasons.append("经度与纬度可能颠倒 / longitude and latitude look swapped")
            return None, None
        stored = coordinate_converter(system)(lon, lat)
        if not point_in_china(*stored):
            reasons.append("坐标不在中国范围内 / coordinates lie outside China")
            return None, None
        return stored

    def report_cells(self, cells: Sequence[str]) -> tuple[list[str], str]:
        """Cells for the rejects report: ID and phone sealed; plus the masked ID number."""
        out = list(cells) + [""] * max(0, len(self.columns.header) - len(cells))
        masked = ""
        for name in ("id_number", "phone"):
            index = self.columns.fields.get(name)
            if index is not None and out[index].strip():
                value = out[index].strip()
                if not value.startswith(SEALED_PREFIX):
                    if name == "id_number":
                        masked = mask_id_number(value)
                    out[index] = seal(self.vault, value)
                elif name == "id_number":
                    masked = mask_id_number(unseal(self.vault, value))
        return out, masked


__all__ = ["SEALED_PREFIX", "STAGE_COLUMNS", "STAGE_SQL", "RowValidator", "seal", "unseal"]
