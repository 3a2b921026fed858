"""The one table of register columns: it drives parsing, staging and apply.

Two lists, read top to bottom like a form:

- :data:`FIELDS`: the columns of a register file (canonical name, Chinese header synonyms,
  and the validator part that reads them: ``house``, ``person`` or ``relation``);
- :data:`STAGED`: the columns of the staging table ``stage_register`` (SQL type, the
  validator part that fills them, whether the rows of one house must agree on them, and the
  model column they end in with its update rule).

Header matching (:mod:`.columns`), the COPY layout (:mod:`.rows`), the conflict checks
(:mod:`.conflicts`, :mod:`.stored_conflicts`) and the set-based writes (:mod:`.apply`) all
derive from these two lists, so a new house or person column is one line here plus its
validation. SQL fragments are built from the table with explicit aliases (see
:meth:`Target.new_value`), never by patching SQL text.

Example::

    >>> [c.name for c in staged("person")][:3]
    ['person_name', 'id_hash', 'id_cipher']
    >>> target_of("house", "area_m2").new_value("s", "h")
    'COALESCE(s.area_m2, h.area_m2)'
    >>> STAGE_COLUMNS[:3]
    ('line', 'county', 'region_code')
"""

from __future__ import annotations

from dataclasses import dataclass

from cimhouse.settings import STORAGE_SRID

#: validator parts, in the order their values sit in a staged (COPY) line
PARTS = ("line", "house", "person", "relation", "household", "extra")


@dataclass(frozen=True)
class Field:
    """A column of the register file: canonical name, header synonyms, validator part."""

    name: str
    synonyms: tuple[str, ...]
    part: str


FIELDS: tuple[Field, ...] = (
    Field("address", ("房屋坐落", "坐落", "地址", "房屋地址", "住址", "详细地址", "房屋坐落地址",
                      "ADDRESS"), "house"),
    Field("county", ("区县", "县区", "县(市、区)", "县市区", "所属区县", "COUNTY"), "house"),
    Field("town", ("街道", "乡镇", "镇街", "乡镇街道", "街道(乡镇)", "所属街道", "TOWN"), "house"),
    Field("community", ("社区", "村社", "社区(村)", "村(社区)", "社区村", "所属社区", "居委会",
                        "村委会", "COMMUNITY"), "house"),
    Field("estate", ("小区", "小区名称", "小区名", "楼盘", "楼盘名称", "ESTATE"), "house"),
    Field("building", ("幢号", "楼号", "栋", "栋号", "幢", "楼栋", "楼栋号", "BUILDING"), "house"),
    Field("unit", ("单元", "单元号", "UNIT"), "house"),
    Field("floor", ("楼层", "所在层", "所在楼层", "层", "层次", "FLOOR"), "house"),
    # 户号 is the household number (below), never the room
    Field("room", ("室号", "房号", "房间号", "门牌号", "ROOM"), "house"),
    Field("area", ("建筑面积", "面积", "建筑面积(㎡)", "建筑面积(平方米)", "建筑面积M2", "AREA"),
          "house"),
    Field("use", ("房屋用途", "用途", "规划用途", "USE"), "house"),
    Field("realestate_no", ("不动产单元号", "不动产单元代码", "REALESTATE_UNIT_NO"), "house"),
    Field("lon", ("经度", "X坐标", "LON", "LONGITUDE", "LNG"), "house"),
    Field("lat", ("纬度", "Y坐标", "LAT", "LATITUDE"), "house"),
    Field("crs", ("坐标系", "坐标系统", "CRS", "COORDINATE_SYSTEM"), "house"),
    # 户主姓名 names the head of the household (below), never the row's person
    Field("name", ("姓名", "产权人", "住户姓名", "权利人", "人员姓名", "NAME"), "person"),
    Field("id_number", ("身份证号", "身份证号码", "证件号码", "公民身份号码", "证件号", "身份证",
                        "ID_NUMBER", "IDNUMBER"), "person"),
    Field("phone", ("联系电话", "手机", "手机号", "手机号码", "电话", "联系方式", "PHONE"),
          "person"),
    Field("relation", ("人房关系", "关系", "居住类型", "人员类型", "RELATION"), "relation"),
    Field("household_no", ("户号", "户编号", "户籍户号", "户口簿号", "HOUSEHOLD_NO"), "household"),
    Field("head_name", ("户主姓名", "户主", "HEAD_NAME"), "household"),
    Field("head_relation", ("与户主关系", "与户主的关系", "家庭关系", "RELATION_TO_HEAD"),
          "household"),
    Field("household_kind", ("户别", "户类别", "户口类别", "HOUSEHOLD_KIND"), "household"),
)


@dataclass(frozen=True)
class Target:
    """Where a staged value ends in the model, and how an existing row takes it.

    ``keep``: an empty cell keeps the stored value (``COALESCE``); ``insert_only``: set
    when the row is created, never updated (values derived from the ID number);
    ``compared``: a difference counts as a change (logged in ``change_log``; ciphertexts
    differ on every encryption, so they are not compared). ``expression`` computes the
    value from staged columns (``{s}`` is the alias of the staged row).
    """

    table: str
    column: str
    keep: bool = False
    insert_only: bool = False
    compared: bool = True
    expression: str | None = None
    lifecycle: bool = False  # also edited by the lifecycle commands (see stored_conflicts)
    default: str | None = None  # SQL literal a new row takes for an empty cell

    def staged_value(self, s: str, staged_name: str) -> str:
        """The staged value, ``s`` the alias (or ``EXCLUDED``) of the staged row."""
        if self.expression is not None:
            return self.expression.format(s=s)
        return f"{s}.{staged_name}"

    def insert_value(self, s: str, staged_name: str | None = None) -> str:
        """The value a new model row takes."""
        value = self.staged_value(s, staged_name or self.column)
        return f"COALESCE({value}, {self.default})" if self.default else value

    def new_value(self, s: str, stored: str, staged_name: str | None = None) -> str:
        """The value the model row takes: ``s`` aliases the staged row, ``stored`` the row.

        ``staged_name`` defaults to the target column (as under ``EXCLUDED``).
        """
        value = self.staged_value(s, staged_name or self.column)
        return f"COALESCE({value}, {stored}.{self.column})" if self.keep else value

    def changed(self, s: str, stored: str, staged_name: str | None = None) -> str:
        return f"{stored}.{self.column} IS DISTINCT FROM {self.new_value(s, stored, staged_name)}"


@dataclass(frozen=True)
class Staged:
    """A column of ``stage_register``. ``label`` (中文, English) names it in reasons;
    ``agree``: the rows of one house must agree on it (an empty cell says nothing, see
    :mod:`.conflicts`)."""

    name: str
    sql_type: str
    part: str
    label: tuple[str, str] = ("", "")
    agree: bool = False
    target: Target | None = None


_POINT = f"ST_SetSRID(ST_MakePoint({{s}}.lon, {{s}}.lat), {STORAGE_SRID})"

STAGED: tuple[Staged, ...] = (
    Staged("line", "integer", "line"),
    Staged("county", "text", "house"),
    Staged("region_code", "text", "house"),
    Staged("estate_name", "text", "house"),
    Staged("estate_kind", "text", "house"),
    Staged("building_label", "text", "house"),
    Staged("building_norm", "text", "house"),
    Staged("unit_label", "text", "house", label=("单元", "unit"),
           target=Target("house", "unit_label", lifecycle=True)),
    Staged("floor_label", "text", "house", label=("楼层", "floor label"),
           target=Target("house", "floor_label", keep=True, lifecycle=True)),
    Staged("floor_number", "smallint", "house", label=("所在层", "floor"), agree=True,
           target=Target("house", "floor_number", keep=True, lifecycle=True)),
    Staged("room_label", "text", "house", label=("室号", "room"),
           target=Target("house", "room_label", lifecycle=True)),
    Staged("house_norm", "text", "house", target=Target("house", "address_norm")),
    Staged("area_m2", "numeric(10, 2)", "house", label=("建筑面积", "area"), agree=True,
           target=Target("house", "area_m2", keep=True, lifecycle=True)),
    Staged("house_use", "text", "house", label=("房屋用途", "use"), agree=True,
           target=Target("house", "use", keep=True, default="'residential'")),
    Staged("realestate_no", "text", "house", label=("不动产单元号", "real-estate unit number"),
           agree=True,
           target=Target("house", "realestate_unit_no", keep=True, lifecycle=True)),
    Staged("lon", "double precision", "house", label=("经度", "longitude"), agree=True,
           target=Target("house", "location", keep=True, expression=_POINT)),
    Staged("lat", "double precision", "house", label=("纬度", "latitude"), agree=True),
    Staged("person_name", "text", "person", target=Target("person", "name")),
    Staged("id_hash", "bytea", "person",
           target=Target("person", "id_hash", insert_only=True)),
    Staged("id_cipher", "bytea", "person",
           target=Target("person", "id_cipher", insert_only=True)),
    Staged("id_masked", "text", "person",
           target=Target("person", "id_masked", insert_only=True)),
    Staged("gender", "text", "person", target=Target("person", "gender", insert_only=True)),
    Staged("birth_date", "date", "person",
           target=Target("person", "birth_date", insert_only=True)),
    Staged("phone_cipher", "bytea", "person",
           target=Target("person", "phone_cipher", keep=True, compared=False)),
    Staged("phone_masked", "text", "person",
           target=Target("person", "phone_masked", keep=True)),
    Staged("relation", "text", "relation"),
    Staged("household_no", "text", "household", label=("户号", "household number")),
    Staged("household_kind", "text", "household", label=("户别", "household kind")),
    Staged("head_relation", "text", "household", label=("与户主关系", "relation to the head")),
    Staged("head_name", "text", "household", label=("户主姓名", "name of the head")),
    Staged("extra", "jsonb", "extra"),
)


def fields(part: str) -> tuple[str, ...]:
    """The file fields a validator part reads, in table order."""
    return tuple(f.name for f in FIELDS if f.part == part)


def staged(part: str) -> tuple[Staged, ...]:
    """The staged columns a validator part fills, in table order."""
    return tuple(c for c in STAGED if c.part == part)


def targets(table: str) -> tuple[tuple[Staged, Target], ...]:
    """The staged columns that end in ``table``, with their targets."""
    return tuple((c, c.target) for c in STAGED if c.target and c.target.table == table)


def target_of(table: str, column: str) -> Target:
    """The target ``table.column`` (KeyError when no staged column ends there)."""
    for _c, target in targets(table):
        if target.column == column:
            return target
    raise KeyError(f"{table}.{column}")


def agreeing() -> tuple[Staged, ...]:
    """The house columns the rows of one house must agree on."""
    return tuple(c for c in STAGED if c.agree)


SYNONYMS: dict[str, tuple[str, ...]] = {f.name: f.synonyms for f in FIELDS}
#: the staged columns in COPY order: grouped by part, in table order within a part
STAGE_COLUMNS: tuple[str, ...] = tuple(c.name for part in PARTS for c in staged(part))
STAGE_SQL = ",\n".join(f"{name} {next(c.sql_type for c in STAGED if c.name == name)}"
                       for name in STAGE_COLUMNS)

__all__ = ["FIELDS", "PARTS", "STAGED", "STAGE_COLUMNS", "STAGE_SQL", "SYNONYMS", "Field",
           "Staged", "Target", "agreeing", "fields", "staged", "target_of", "targets"]
