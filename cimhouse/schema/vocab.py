"""Controlled vocabularies stored as text with CHECK constraints (portable to Citus)."""

from __future__ import annotations

from enum import IntEnum, StrEnum


class RegionLevel(IntEnum):
    PROVINCE = 1
    CITY = 2
    COUNTY = 3
    TOWN = 4
    COMMUNITY = 5
    ESTATE = 6


#: native code length of each region level
LEVEL_CODE_LENGTH = {1: 2, 2: 4, 3: 6, 4: 9, 5: 12}
LEVEL_NAMES = {
    1: "province", 2: "city", 3: "county", 4: "town", 5: "community", 6: "estate",
}


class LifecycleStatus(StrEnum):
    PLANNED = "planned"
    UNDER_CONSTRUCTION = "under_construction"
    IN_USE = "in_use"
    OUT_OF_USE = "out_of_use"
    DEMOLISHED = "demolished"
    REGISTERED_IN_ERROR = "registered_in_error"


class RetiringStatus(StrEnum):
    """The lifecycle statuses that retire a house and its code for good (``retire_house``)."""

    DEMOLISHED = LifecycleStatus.DEMOLISHED.value
    REGISTERED_IN_ERROR = LifecycleStatus.REGISTERED_IN_ERROR.value


#: statuses that always mean retired (``out_of_use`` only with a retired code: split, merge)
RETIRING_STATUSES: tuple[str, ...] = tuple(s.value for s in RetiringStatus)
#: the statuses an object moves between while it exists (``change_status``)
ACTIVE_STATUSES: tuple[str, ...] = tuple(s.value for s in LifecycleStatus
                                         if s.value not in RETIRING_STATUSES)
#: :data:`RETIRING_STATUSES` as an SQL list, for ``status [NOT] IN ...`` in set-based SQL
RETIRING_STATUSES_SQL = "(" + ", ".join(f"'{s}'" for s in RETIRING_STATUSES) + ")"


class HouseUse(StrEnum):
    RESIDENTIAL = "residential"
    COMMERCIAL = "commercial"
    OFFICE = "office"
    INDUSTRIAL = "industrial"
    PUBLIC_SERVICE = "public_service"
    STORAGE = "storage"
    PARKING = "parking"
    MIXED = "mixed"
    OTHER = "other"


class EstateKind(StrEnum):
    COMMODITY = "commodity"  # 商品房小区
    RESETTLEMENT = "resettlement"  # 安置小区
    OLD_ESTATE = "old_estate"  # 老旧小区
    AFFORDABLE = "affordable"  # 保障房
    WORK_UNIT = "work_unit"  # 单位宿舍/房改房
    RURAL_GROUP = "rural_group"  # 自然村 / 村民小组
    SCATTERED = "scattered"  # 散居 (no estate)
    OTHER = "other"


class RelationKind(StrEnum):
    OWNER = "owner"  # 产权人
    REGISTERED = "registered"  # 户籍
    RESIDENT = "resident"  # 常住 / 实住
    TENANT = "tenant"  # 租住
    OTHER = "other"


class AreaSource(StrEnum):
    REGISTER = "register"
    SURVEY = "survey"
    IFC_QTO = "ifc_qto"  # Qto_SpaceBaseQuantities
    IFC_BASE_QUANTITIES = "ifc_base_quantities"
    IFC_VENDOR_PSET = "ifc_vendor_pset"
    IFC_GEOMETRY = "ifc_geometry"
    SUM_OF_SPACES = "sum_of_spaces"


class FacilityCategory(StrEnum):
    EDUCATION = "education"
    MEDICAL = "medical"
    ELDERLY_CARE = "elderly_care"
    CHILDCARE = "childcare"
    SPORTS = "sports"
    CULTURE = "culture"
    TRANSPORT = "transport"  # transport and logistics
    COMMERCE = "commerce"
    PROPERTY_SERVICE = "property_service"
    SECURITY = "security"
    GOVERNANCE = "governance"  # community governance


class ObjectKind(StrEnum):
    ESTATE = "estate"
    BUILDING = "building"
    HOUSE = "house"


class CodeStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class LineageEvent(StrEnum):
    ISSUE = "issue"
    RETIRE = "retire"
    SPLIT = "split"
    MERGE = "merge"
    RELABEL = "relabel"
    REGION_CHANGE = "region_change"


class RunStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Role(StrEnum):
    READER = "reader"
    PERSON_READER = "person_reader"
    PII_READER = "pii_reader"
    IMPORTER = "importer"
    CODER = "coder"
    ADMIN = "admin"


#: Chinese name of every vocabulary value (shown to Chinese readers, accepted from everyone).
#: Several names may map to one value (常住 and 实住 are both ``resident``); the first is shown.
ZH_NAMES: dict[type[StrEnum], dict[str, tuple[str, ...]]] = {
    LifecycleStatus: {
        "planned": ("规划",), "under_construction": ("在建",), "in_use": ("在用",),
        "out_of_use": ("停用",), "demolished": ("拆除", "已拆除"),
        "registered_in_error": ("错登", "登记错误"),
    },
    HouseUse: {
        "residential": ("住宅",), "commercial": ("商业",), "office": ("办公",),
        "industrial": ("工业",), "public_service": ("公共服务",), "storage": ("仓储",),
        "parking": ("车位", "停车"), "mixed": ("混合",), "other": ("其他",),
    },
    EstateKind: {
        "commodity": ("商品房小区",), "resettlement": ("安置小区",), "old_estate": ("老旧小区",),
        "affordable": ("保障房",), "work_unit": ("单位宿舍", "房改房"),
        "rural_group": ("自然村", "村民小组"), "scattered": ("散居",), "other": ("其他",),
    },
    RelationKind: {
        "owner": ("产权", "产权人"), "registered": ("户籍",), "resident": ("常住", "实住"),
        "tenant": ("租住", "租户"), "other": ("其他",),
    },
    AreaSource: {
        "register": ("登记",), "survey": ("测绘",), "ifc_qto": ("IFC 工程量",),
        "ifc_base_quantities": ("IFC 基本量",), "ifc_vendor_pset": ("IFC 厂商属性",),
        "ifc_geometry": ("IFC 几何",), "sum_of_spaces": ("空间合计",),
    },
    FacilityCategory: {
        "education": ("教育",), "medical": ("医疗", "卫生"), "elderly_care": ("养老",),
        "childcare": ("托育",), "sports": ("体育",), "culture": ("文化",),
        "transport": ("交通", "交通物流"), "commerce": ("商业",),
        "property_service": ("物业", "物业服务"), "security": ("安全", "治安"),
        "governance": ("社区治理", "治理"),
    },
    ObjectKind: {"estate": ("小区",), "building": ("楼栋",), "house": ("房屋",)},
    CodeStatus: {"active": ("有效",), "retired": ("已注销",)},
    LineageEvent: {
        "issue": ("赋码",), "retire": ("注销",), "split": ("拆分",), "merge": ("合并",),
        "relabel": ("更名",), "region_change": ("区划调整",),
    },
    RunStatus: {
        "queued": ("排队",), "running": ("运行中",), "succeeded": ("成功",),
        "failed": ("失败",), "cancelled": ("已取消",),
    },
    Role: {
        "reader": ("只读",), "person_reader": ("人员查询",), "pii_reader": ("敏感信息查询",),
        "importer": ("导入",), "coder": ("赋码",), "admin": ("管理员",),
    },
}
ZH_NAMES[RetiringStatus] = {v.value: ZH_NAMES[LifecycleStatus][v.value] for v in RetiringStatus}
#: region level number -> Chinese name
LEVEL_NAMES_ZH = {1: "省", 2: "市", 3: "县(区)", 4: "乡镇(街道)", 5: "村(社区)", 6: "小区"}


def vocab_value(vocabulary: type[StrEnum], text: str) -> str:
    """The stored value for ``text``: the value itself, its member name or a Chinese name.

    >>> vocab_value(FacilityCategory, "托育"), vocab_value(RelationKind, "OWNER")
    ('childcare', 'owner')

    Raises :class:`cimhouse.errors.InvalidInput` (listing the accepted words) otherwise.
    """
    word = text.strip()
    values = {member.value for member in vocabulary}
    if word in values:
        return word
    if word.upper() in vocabulary.__members__:
        return vocabulary.__members__[word.upper()].value
    for value, names in ZH_NAMES.get(vocabulary, {}).items():
        if word in names:
            return value
    from cimhouse.errors import InvalidInput
    from cimhouse.i18n import _

    choices = ", ".join(f"{v} ({vocab_label(vocabulary, v, 'zh')})" for v in values)
    raise InvalidInput(_("{word!r} is not one of: {choices}", word=word, choices=choices))


def vocab_label(vocabulary: type[StrEnum], value: str, language: str | None = None) -> str:
    """``value`` as shown to a reader of ``language`` (default: the current language).

    >>> vocab_label(FacilityCategory, "elderly_care", "zh")
    '养老'
    >>> vocab_label(LifecycleStatus, "in_use", "en")
    'in_use'
    """
    if language is None:
        from cimhouse.i18n import current_language

        language = current_language()
    if language == "zh":
        names = ZH_NAMES.get(vocabulary, {}).get(value)
        if names:
            return names[0]
    return value


def check_in(column: str, values: type[StrEnum]) -> str:
    """SQL for a CHECK constraint restricting ``column`` to the enum's values."""
    quoted = ", ".join(f"'{v.value}'" for v in values)
    return f"{column} IN ({quoted})"
