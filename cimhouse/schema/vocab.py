"""Controlled vocabularies stored as text with CHECK constraints (portable to Citus)."""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import TypeVar


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
    DEAD_LETTER = "dead_letter"  # a delivery that failed its last attempt (kept for retry)


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
        "transport": ("交通物流", "交通"), "commerce": ("商业",),
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
        "dead_letter": ("死信",),
    },
    Role: {
        "reader": ("只读",), "person_reader": ("人员查询",), "pii_reader": ("敏感信息查询",),
        "importer": ("导入",), "coder": ("赋码",), "programme": ("未来社区建设",),
        "admin": ("管理员",),
    },
    HouseholdKind: {"family": ("家庭户", "家庭", "家庭户口"),
                    "collective": ("集体户", "集体", "集体户口")},
    HeadRelation: {
        "head": ("户主", "本人", "户主本人"),
        "spouse": ("配偶", "妻", "妻子", "夫", "丈夫"),
        "son": ("子", "儿子", "长子", "次子", "独生子", "养子"),
        "daughter": ("女", "女儿", "长女", "次女", "独生女", "养女"),
        "father": ("父", "父亲"), "mother": ("母", "母亲"),
        "grandchild": ("孙子女", "孙子", "孙女", "外孙子", "外孙女", "外孙子女"),
        "sibling": ("兄弟姐妹", "兄", "弟", "姐", "妹", "兄弟", "姐妹"),
        "other": ("其他", "其他亲属", "非亲属", "集体户成员"),
    },
    ProjectLevel: {"provincial": ("省级",), "municipal": ("市级",)},
    ProjectKind: {"new_build": ("新建类",), "renovation": ("旧改类",), "inclusive": ("普惠型",),
                  "demolition_rebuild": ("拆改结合类",), "rural": ("乡村新社区",)},
    ProjectStatus: {"reserve": ("储备",), "declared": ("已申报",), "listed": ("创建名单",),
                    "under_construction": ("建设中",), "acceptance_applied": ("已申请验收",),
                    "accepted": ("已验收命名",)},
    Scenario: {"neighbourhood": ("邻里",), "education": ("教育",), "health": ("健康",),
               "entrepreneurship": ("创业",), "building": ("建筑",), "transport": ("交通",),
               "low_carbon": ("低碳",), "service": ("服务",), "governance": ("治理",)},
    ScenarioState: {"planned": ("规划",), "in_progress": ("建设中",), "delivered": ("已建成",)},
    GapProjectStatus: {"planned": ("规划",), "under_construction": ("在建",), "in_use": ("在用",)},
}
ZH_NAMES[RetiringStatus] = {v.value: ZH_NAMES[LifecycleStatus][v.value] for v in RetiringStatus}
#: region level number -> Chinese name
LEVEL_NAMES_ZH = {1: "省", 2: "市", 3: "县(区)", 4: "乡镇(街道)", 5: "村(社区)", 6: "小区"}


_V = TypeVar("_V", bound=StrEnum)


def _shown(vocabulary: type[_V]) -> dict[_V, str]:
    """value -> its Chinese name as shown (the first of :data:`ZH_NAMES`)."""
    return {vocabulary(v): names[0] for v, names in ZH_NAMES[vocabulary].items()}


def _synonyms(vocabulary: type[_V]) -> dict[str, _V]:
    """Further Chinese spellings (registers write 妻子, 长子, 集体户口...) -> value."""
    return {n: vocabulary(v) for v, names in ZH_NAMES[vocabulary].items() for n in names[1:]}


# Views of ZH_NAMES (the one table) in the shapes their readers use.
#: the Chinese value of each kind and relation, as a register writes it
HOUSEHOLD_KIND_NAMES = _shown(HouseholdKind)
HEAD_RELATION_NAMES = _shown(HeadRelation)
#: spellings found in registers (after the Chinese values and the English values)
HOUSEHOLD_KIND_SYNONYMS = _synonyms(HouseholdKind)
HEAD_RELATION_SYNONYMS = _synonyms(HeadRelation)
#: Chinese words of the programme vocabularies (import files, reports)
LABELS_ZH: dict[type[StrEnum], dict[StrEnum, str]] = {
    v: _shown(v) for v in (ProjectLevel, ProjectKind, ProjectStatus, Scenario, ScenarioState,
                           FacilityCategory, GapProjectStatus)}


def label_zh(value: StrEnum) -> str:
    """The Chinese word of a vocabulary value (``Scenario.HEALTH`` -> ``健康``)."""
    return vocab_label(type(value), value, "zh")


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
    DOOR_NIGHT = "door_night"  # 夜间门未关
    OFFLINE = "offline"  # 设备离线 (silent longer than its heartbeat)


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
                       "sos": ("一键呼救",), "inactivity": ("长时间无活动",),
                       "door_night": ("夜间门未关",), "offline": ("设备离线",)}
ZH_NAMES[AlertSeverity] = {"critical": ("紧急",), "high": ("高",), "medium": ("中",)}
ZH_NAMES[AlertState] = {"open": ("待处理",), "acknowledged": ("已确认",),
                        "resolved": ("已解决",), "escalated": ("已升级",)}


class ContactRole(StrEnum):
    """Who an alert escalates to (issue 19), in the order they are usually called."""

    GRID_WORKER = "grid_worker"  # 网格员
    COMMUNITY_STAFF = "community_staff"  # 社区工作人员
    FAMILY = "family"  # 家属联系人


class NotifyChannel(StrEnum):
    """How a contact is told: the in-app inbox (GraphQL) or a signed webhook."""

    IN_APP = "in_app"
    WEBHOOK = "webhook"


class AlertEventKind(StrEnum):
    """One step in an alert's life, logged in ``safety_alert_event``."""

    OPENED = "opened"
    NOTIFIED = "notified"  # a delivery to a contact was queued
    DELIVERED = "delivered"
    DELIVERY_FAILED = "delivery_failed"
    ESCALATED = "escalated"  # the deadline passed: the next contact
    EXHAUSTED = "exhausted"  # the deadline passed and nobody is left to call
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENT = "sent"  # handed to the signed-delivery job (webhook); delivered when it succeeds
    DELIVERED = "delivered"
    FAILED = "failed"


ZH_NAMES[ContactRole] = {"grid_worker": ("网格员",), "community_staff": ("社区工作人员",),
                         "family": ("家属联系人", "家属")}
ZH_NAMES[NotifyChannel] = {"in_app": ("站内通知",), "webhook": ("Webhook",)}
ZH_NAMES[AlertEventKind] = {
    "opened": ("报警产生",), "notified": ("已通知",), "delivered": ("已送达",),
    "delivery_failed": ("送达失败",), "escalated": ("已升级",), "exhausted": ("无人可升级",),
    "acknowledged": ("已确认",), "resolved": ("已解决",)}
ZH_NAMES[DeliveryStatus] = {"queued": ("排队中",), "sent": ("已发出",), "delivered": ("已送达",),
                            "failed": ("失败",)}
#: device kind -> its Chinese name (the first of :data:`ZH_NAMES`)
DEVICE_KIND_LABELS: dict[str, str] = {k: v[0] for k, v in ZH_NAMES[DeviceKind].items()}
