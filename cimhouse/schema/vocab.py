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


class HouseholdKind(StrEnum):
    """户别 of a household (户)."""

    FAMILY = "family"  # 家庭户
    COLLECTIVE = "collective"  # 集体户 (dormitory, care home, work unit)


class HeadRelation(StrEnum):
    """与户主关系: a member's relation to the head of the household."""

    HEAD = "head"  # 户主 / 本人
    SPOUSE = "spouse"  # 配偶
    SON = "son"  # 子
    DAUGHTER = "daughter"  # 女
    FATHER = "father"  # 父
    MOTHER = "mother"  # 母
    GRANDCHILD = "grandchild"  # 孙子女
    SIBLING = "sibling"  # 兄弟姐妹
    OTHER = "other"  # 其他


#: the Chinese value of each kind and relation, as a register writes it
HOUSEHOLD_KIND_NAMES = {HouseholdKind.FAMILY: "家庭户", HouseholdKind.COLLECTIVE: "集体户"}
HEAD_RELATION_NAMES = {
    HeadRelation.HEAD: "户主", HeadRelation.SPOUSE: "配偶", HeadRelation.SON: "子",
    HeadRelation.DAUGHTER: "女", HeadRelation.FATHER: "父", HeadRelation.MOTHER: "母",
    HeadRelation.GRANDCHILD: "孙子女", HeadRelation.SIBLING: "兄弟姐妹",
    HeadRelation.OTHER: "其他",
}
#: spellings found in registers (after the Chinese values and the English values)
HOUSEHOLD_KIND_SYNONYMS = {
    "家庭": HouseholdKind.FAMILY, "家庭户口": HouseholdKind.FAMILY,
    "集体": HouseholdKind.COLLECTIVE, "集体户口": HouseholdKind.COLLECTIVE,
}
HEAD_RELATION_SYNONYMS = {
    "本人": HeadRelation.HEAD, "户主本人": HeadRelation.HEAD,
    "妻": HeadRelation.SPOUSE, "妻子": HeadRelation.SPOUSE, "夫": HeadRelation.SPOUSE,
    "丈夫": HeadRelation.SPOUSE,
    "儿子": HeadRelation.SON, "长子": HeadRelation.SON, "次子": HeadRelation.SON,
    "独生子": HeadRelation.SON, "养子": HeadRelation.SON,
    "女儿": HeadRelation.DAUGHTER, "长女": HeadRelation.DAUGHTER, "次女": HeadRelation.DAUGHTER,
    "独生女": HeadRelation.DAUGHTER, "养女": HeadRelation.DAUGHTER,
    "父亲": HeadRelation.FATHER, "母亲": HeadRelation.MOTHER,
    "孙子": HeadRelation.GRANDCHILD, "孙女": HeadRelation.GRANDCHILD,
    "外孙子": HeadRelation.GRANDCHILD, "外孙女": HeadRelation.GRANDCHILD,
    "外孙子女": HeadRelation.GRANDCHILD,
    "兄": HeadRelation.SIBLING, "弟": HeadRelation.SIBLING, "姐": HeadRelation.SIBLING,
    "妹": HeadRelation.SIBLING, "兄弟": HeadRelation.SIBLING, "姐妹": HeadRelation.SIBLING,
    "其他亲属": HeadRelation.OTHER, "非亲属": HeadRelation.OTHER,
    "集体户成员": HeadRelation.OTHER,
}


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
    PROGRAMME = "programme"  # future-community programme office: projects, gap projects
    ADMIN = "admin"


class ProjectLevel(StrEnum):
    """Who creates a future-community project (未来社区创建项目)."""

    PROVINCIAL = "provincial"  # 省级
    MUNICIPAL = "municipal"  # 市级


class ProjectKind(StrEnum):
    NEW_BUILD = "new_build"  # 新建类 (规划新建)
    RENOVATION = "renovation"  # 旧改类 (旧区改造)
    INCLUSIVE = "inclusive"  # 普惠型 (全域类, often a street's cluster)
    DEMOLITION_REBUILD = "demolition_rebuild"  # 拆改结合类 / 全拆重建类
    RURAL = "rural"  # 乡村新社区


class ProjectStatus(StrEnum):
    """The lifecycle, in order; each step has its date column ``<value>_on``."""

    RESERVE = "reserve"  # 项目储备库
    DECLARED = "declared"  # 已申报
    LISTED = "listed"  # 列入创建名单
    UNDER_CONSTRUCTION = "under_construction"  # 建设中
    ACCEPTANCE_APPLIED = "acceptance_applied"  # 已申请验收
    ACCEPTED = "accepted"  # 省级验收 / 市级命名


class Scenario(StrEnum):
    """The nine scenarios of the province's "139" frame (一统三化九场景)."""

    NEIGHBOURHOOD = "neighbourhood"  # 邻里
    EDUCATION = "education"  # 教育
    HEALTH = "health"  # 健康
    ENTREPRENEURSHIP = "entrepreneurship"  # 创业
    BUILDING = "building"  # 建筑
    TRANSPORT = "transport"  # 交通
    LOW_CARBON = "low_carbon"  # 低碳
    SERVICE = "service"  # 服务
    GOVERNANCE = "governance"  # 治理


class ScenarioState(StrEnum):
    PLANNED = "planned"  # 规划
    IN_PROGRESS = "in_progress"  # 建设中
    DELIVERED = "delivered"  # 已建成


class GapProjectStatus(StrEnum):
    """A gap-filling (补短板) project: planned -> under construction -> in use."""

    PLANNED = LifecycleStatus.PLANNED.value
    UNDER_CONSTRUCTION = LifecycleStatus.UNDER_CONSTRUCTION.value
    IN_USE = LifecycleStatus.IN_USE.value


#: Chinese words of the programme vocabularies (import files, reports); stored values stay
#: English like every other vocabulary
LABELS_ZH: dict[type[StrEnum], dict[str, str]] = {
    ProjectLevel: {ProjectLevel.PROVINCIAL: "省级", ProjectLevel.MUNICIPAL: "市级"},
    ProjectKind: {ProjectKind.NEW_BUILD: "新建类", ProjectKind.RENOVATION: "旧改类",
                  ProjectKind.INCLUSIVE: "普惠型", ProjectKind.DEMOLITION_REBUILD: "拆改结合类",
                  ProjectKind.RURAL: "乡村新社区"},
    ProjectStatus: {ProjectStatus.RESERVE: "储备", ProjectStatus.DECLARED: "已申报",
                    ProjectStatus.LISTED: "创建名单", ProjectStatus.UNDER_CONSTRUCTION: "建设中",
                    ProjectStatus.ACCEPTANCE_APPLIED: "已申请验收",
                    ProjectStatus.ACCEPTED: "已验收命名"},
    Scenario: {Scenario.NEIGHBOURHOOD: "邻里", Scenario.EDUCATION: "教育",
               Scenario.HEALTH: "健康", Scenario.ENTREPRENEURSHIP: "创业",
               Scenario.BUILDING: "建筑", Scenario.TRANSPORT: "交通",
               Scenario.LOW_CARBON: "低碳", Scenario.SERVICE: "服务",
               Scenario.GOVERNANCE: "治理"},
    ScenarioState: {ScenarioState.PLANNED: "规划", ScenarioState.IN_PROGRESS: "建设中",
                    ScenarioState.DELIVERED: "已建成"},
    FacilityCategory: {FacilityCategory.EDUCATION: "教育", FacilityCategory.MEDICAL: "医疗",
                       FacilityCategory.ELDERLY_CARE: "养老", FacilityCategory.CHILDCARE: "托育",
                       FacilityCategory.SPORTS: "体育", FacilityCategory.CULTURE: "文化",
                       FacilityCategory.TRANSPORT: "交通物流", FacilityCategory.COMMERCE: "商业",
                       FacilityCategory.PROPERTY_SERVICE: "物业",
                       FacilityCategory.SECURITY: "安全", FacilityCategory.GOVERNANCE: "社区治理"},
    GapProjectStatus: {GapProjectStatus.PLANNED: "规划", GapProjectStatus.UNDER_CONSTRUCTION:
                       "在建", GapProjectStatus.IN_USE: "在用"},
}


def label_zh(value: StrEnum) -> str:
    """The Chinese word of a programme vocabulary value (``Scenario.HEALTH`` -> ``健康``)."""
    return LABELS_ZH[type(value)][value]

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


class DeviceKind(StrEnum):
    """Home safety devices (issue 19); :data:`DEVICE_KIND_LABELS` gives the Chinese names."""

    GAS = "gas"  # 燃气报警器
    SMOKE = "smoke"  # 烟感
    DOOR = "door"  # 门磁
    MOTION = "motion"  # 人体感应
    WEARABLE = "wearable"  # 智能手环 (跌倒 / 一键呼救 / 心率)
    WATER_METER = "water_meter"  # 智能水表
    ELECTRICITY_METER = "electricity_meter"  # 智能电表


class DeviceStatus(StrEnum):
    ACTIVE = "active"  # 在用
    INACTIVE = "inactive"  # 停用
    FAULTY = "faulty"  # 故障


class AlertKind(StrEnum):
    GAS = "gas"  # 燃气泄漏
    SMOKE = "smoke"  # 烟雾
    FALL = "fall"  # 跌倒
    SOS = "sos"  # 一键呼救
    INACTIVITY = "inactivity"  # 长时间无活动


class AlertSeverity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    ESCALATED = "escalated"


ZH_NAMES[DeviceKind] = {
    "gas": ("燃气报警器", "燃气"), "smoke": ("烟感报警器", "烟感"), "door": ("门磁",),
    "motion": ("人体感应器", "人体感应"), "wearable": ("智能手环", "手环"),
    "water_meter": ("智能水表", "水表"), "electricity_meter": ("智能电表", "电表"),
}
ZH_NAMES[DeviceStatus] = {"active": ("在用",), "inactive": ("停用",), "faulty": ("故障",)}
ZH_NAMES[AlertKind] = {"gas": ("燃气泄漏",), "smoke": ("烟雾报警",), "fall": ("跌倒",),
                       "sos": ("一键呼救",), "inactivity": ("长时间无活动",)}
ZH_NAMES[AlertSeverity] = {"critical": ("紧急",), "high": ("高",), "medium": ("中",)}
ZH_NAMES[AlertState] = {"open": ("待处理",), "acknowledged": ("已确认",),
                        "resolved": ("已解决",), "escalated": ("已升级",)}
#: device kind -> its Chinese name (the first of :data:`ZH_NAMES`)
DEVICE_KIND_LABELS: dict[str, str] = {k: v[0] for k, v in ZH_NAMES[DeviceKind].items()}
