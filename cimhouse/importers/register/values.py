"""Field-level validation of register values; every problem is a bilingual reason.

Example::

    >>> relation_kind("租住"), house_use("住宅"), parse_area("88.5㎡")
    ('tenant', 'residential', Decimal('88.50'))
    >>> realestate_unit_problem("330402001001GB00001F00010001")
    >>> normalize_phone("+86 138-1234-5678")
    '13812345678'
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from cimhouse.addressing.normalize import normalize_text
from cimhouse.schema.vocab import (
    HEAD_RELATION_NAMES,
    HEAD_RELATION_SYNONYMS,
    HOUSEHOLD_KIND_NAMES,
    HOUSEHOLD_KIND_SYNONYMS,
    HeadRelation,
    HouseholdKind,
)

RELATIONS = {
    "产权": "owner", "产权人": "owner", "业主": "owner", "所有权人": "owner", "权利人": "owner",
    "户籍": "registered", "户籍人口": "registered", "户籍人员": "registered",
    "户籍在册": "registered",
    "常住": "resident", "实住": "resident", "居住": "resident", "常住人口": "resident",
    "实有人口": "resident",
    "租住": "tenant", "租户": "tenant", "承租": "tenant", "承租人": "tenant", "租赁": "tenant",
    "其他": "other",
    "OWNER": "owner", "REGISTERED": "registered", "RESIDENT": "resident", "TENANT": "tenant",
    "OTHER": "other",
}
USES = {
    "住宅": "residential", "居住": "residential", "成套住宅": "residential",
    "非成套住宅": "residential", "RESIDENTIAL": "residential",
    "商业": "commercial", "商铺": "commercial", "商服": "commercial", "商业服务": "commercial",
    "COMMERCIAL": "commercial",
    "办公": "office", "OFFICE": "office",
    "工业": "industrial", "厂房": "industrial", "工业厂房": "industrial",
    "INDUSTRIAL": "industrial",
    "公共服务": "public_service", "公建": "public_service", "公共设施": "public_service",
    "PUBLIC_SERVICE": "public_service",
    "仓储": "storage", "仓库": "storage", "储藏室": "storage", "STORAGE": "storage",
    "车位": "parking", "车库": "parking", "PARKING": "parking",
    "商住": "mixed", "综合": "mixed", "MIXED": "mixed",
    "其他": "other", "其它": "other", "OTHER": "other",
}
_REALESTATE = re.compile(r"^[0-9]{12}[GJZ][A-Z][0-9]{5}[FLQW][0-9]{8}$")
_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_LANDLINE = re.compile(r"^(0[0-9]{2,3})?[2-9][0-9]{6,7}$")
MAX_AREA = Decimal("100000")


def relation_kind(text: str) -> str | None:
    return RELATIONS.get(normalize_text(text))


_HEAD_RELATIONS = {**{v.upper(): k for k, v in HEAD_RELATION_NAMES.items()},
                   **{k.value.upper(): k for k in HeadRelation}, **HEAD_RELATION_SYNONYMS}
_HOUSEHOLD_KINDS = {**{v: k for k, v in HOUSEHOLD_KIND_NAMES.items()},
                    **{k.value.upper(): k for k in HouseholdKind}, **HOUSEHOLD_KIND_SYNONYMS}


def head_relation(text: str) -> str | None:
    """与户主关系 as the vocabulary value: ``head_relation("长子") == "son"``."""
    found = _HEAD_RELATIONS.get(normalize_text(text))
    return found.value if found else None


def household_kind(text: str) -> str | None:
    """户别 as the vocabulary value: ``household_kind("集体户") == "collective"``."""
    found = _HOUSEHOLD_KINDS.get(normalize_text(text))
    return found.value if found else None


def house_use(text: str) -> str | None:
    return USES.get(normalize_text(text))


def parse_area(text: str) -> Decimal | None:
    """Area in m² from '88.5', '88.5㎡', '88.5平方米'; None when not a positive number."""
    value = normalize_text(text).replace("平方米", "").replace("M2", "").replace("M²", "")
    try:
        area = Decimal(value.replace(",", ""))
    except InvalidOperation:
        return None
    if not area.is_finite() or area <= 0 or area >= MAX_AREA:
        return None
    return area.quantize(Decimal("0.01"))


def realestate_unit_problem(value: str) -> str | None:
    """Why a 不动产单元号 is not a GB/T 37346 house unit number, or None when it is one.

    28 characters: county (6) + cadastral zone and subzone (6) + parcel kind (2 letters) +
    parcel number (5) + fixture kind (1 letter, F for buildings) + fixture unit (8).
    """
    if len(value) != 28:
        return f"不动产单元号应为28位，实际{len(value)}位 / real-estate unit number must " \
               f"have 28 characters, got {len(value)}"
    if not _REALESTATE.match(value):
        return "不动产单元号格式不符合GB/T 37346 / real-estate unit number does not follow " \
               "GB/T 37346"
    if value[19] != "F":
        return "不动产单元号的定着物特征码应为F(房屋) / real-estate unit number is not a " \
               "building unit (fixture code must be F)"
    return None


def normalize_phone(text: str) -> str | None:
    """Digits of a mobile or landline number, or None when it is neither."""
    digits = re.sub(r"[\s\-()（）]", "", normalize_text(text))
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    return None


ID_REASONS = {
    "length": "身份证号位数不对 / ID number must have 18 characters",
    "character": "身份证号含非法字符 / ID number has an invalid character",
    "region": "身份证号地区码无效 / ID number region prefix is not a province",
    "birth_date": "身份证号出生日期无效 / ID number birth date is invalid",
    "checksum": "身份证号校验位错误 / ID number check character is wrong (MOD 11-2)",
}

__all__ = ["ID_REASONS", "RELATIONS", "USES", "house_use", "normalize_phone", "parse_area",
           "realestate_unit_problem", "relation_kind"]
