"""The exported layers: columns with their Chinese headers, and the scoped SQL that reads them.

Every layer but ``gaps`` is one SELECT filtered by :func:`cimhouse.scope.scope_filter` in SQL
(``projects``: by the programme's project scope rules, in SQL);
``gaps`` is computed by the services module (``computed``: its rows come from
:func:`cimhouse.exports.gap_features.read_gap_features`, scoped in SQL as well). The geometry
leaves PostgreSQL as WKB in storage CRS (EPSG:4490) and is converted by :mod:`cimhouse.crs`.
No layer carries personal data (persons are not a layer; houses hold no names or numbers).

Example::

    >>> [c.header for c in LAYERS["houses"].columns][:3]
    ['房屋编码', '社区代码', '小区名称']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import aliased

from cimhouse.programme.project_scope import boundary_visible, project_visible
from cimhouse.schema import Building, Estate, Facility, FutureProject, House
from cimhouse.scope import Scope, scope_filter

Rows = Select[*tuple[Any, ...]]  # a SELECT of any number of columns
Shape = Callable[[Any], Any]  # geometry column -> the selected expression (WKB, WKT)


@dataclass(frozen=True)
class Column:
    name: str  # field name in GeoJSON, GeoPackage and CSV
    header: str  # the Chinese header of XLSX
    kind: str  # text, integer or real (the GeoPackage column type)


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    columns: tuple[Column, ...]
    geometry_type: str  # GeoPackage geometry type name
    computed: bool = False  # rows from read_gap_features, not from one SELECT

    def select(self, scope: Scope | None, geometry: Shape = func.ST_AsBinary) -> Rows:
        """The layer's rows in ``scope``, the geometry last as ``geometry(column)`` (WKB by
        default; the CSV export asks for WKT, made by PostGIS)."""
        if self.computed:
            raise TypeError(f"layer {self.name} is computed: use read_gap_features")
        return _SELECTS[self.name](scope, geometry)


def _c(name: str, header: str, kind: str = "text") -> Column:
    return Column(name, header, kind)


LAYERS = {
    "estates": Layer("estates", "小区", (
        _c("code", "小区编码"), _c("name", "小区名称"), _c("region_code", "社区代码"),
        _c("kind", "小区类型"), _c("status", "状态"), _c("address", "地址")), "MULTIPOLYGON"),
    "buildings": Layer("buildings", "楼栋", (
        _c("code", "楼栋编码"), _c("estate_code", "小区编码"), _c("region_code", "社区代码"),
        _c("building_label", "楼栋号"), _c("address", "地址"),
        _c("floors_above", "地上层数", "integer"), _c("height_m", "高度(米)", "real"),
        _c("use", "用途"), _c("status", "状态")), "MULTIPOLYGON"),
    "houses": Layer("houses", "房屋", (
        _c("code", "房屋编码"), _c("region_code", "社区代码"), _c("estate_name", "小区名称"),
        _c("building_label", "楼栋号"), _c("unit_label", "单元"),
        _c("floor_number", "楼层", "integer"), _c("room_label", "室号"),
        _c("area_m2", "面积(平方米)", "real"), _c("use", "用途"), _c("status", "状态"),
        _c("address", "地址")), "POINT"),
    "facilities": Layer("facilities", "公共服务设施", (
        _c("id", "设施编号", "integer"), _c("category", "类别"), _c("subtype", "子类"),
        _c("name", "名称"), _c("capacity", "容量", "integer"), _c("status", "状态"),
        _c("region_code", "社区代码"), _c("address", "地址")), "POINT"),
    # one estate lacking one category within its radius (cimhouse.services.gaps), at the point
    # its distances are measured from; id = <estate code>-<category>
    "gaps": Layer("gaps", "服务短板", (
        _c("id", "编号"), _c("estate_code", "小区编码"), _c("estate_name", "小区名称"),
        _c("region_code", "社区代码"), _c("category", "设施类别"),
        _c("category_label", "类别名称"), _c("radius_m", "服务半径(米)", "real"),
        _c("nearest_facility", "最近设施"), _c("distance_m", "最近设施距离(米)", "real"),
        _c("affected_group", "受影响人群"), _c("affected", "受影响人数", "integer")),
        "POINT", computed=True),
    # future-community projects' boundaries (cimhouse import project-boundaries), shown only
    # when every community of the project lies in the scope (as FutureProject.geometry)
    "projects": Layer("projects", "未来社区项目", (
        _c("id", "项目编号", "integer"), _c("external_id", "外部编号"), _c("name", "项目名称"),
        _c("level", "级别"), _c("kind", "类型"), _c("status", "状态"),
        _c("year", "年度", "integer"), _c("lead_street", "牵头街道")), "MULTIPOLYGON"),
}


def _estates(scope: Scope | None, geometry: Shape) -> Rows:
    return select(Estate.code, Estate.name, Estate.region_code, Estate.kind, Estate.status,
                  Estate.address, geometry(Estate.boundary)).where(
        scope_filter(Estate, scope)).order_by(Estate.county, Estate.id)


def _buildings(scope: Scope | None, geometry: Shape) -> Rows:
    est = aliased(Estate)
    return select(Building.code, est.code, Building.region_code, Building.building_label,
                  Building.address_norm, Building.floors_above, Building.height_m,
                  Building.use, Building.status, geometry(Building.footprint)
                  ).outerjoin(est, (est.county == Building.county)
                              & (est.id == Building.estate_id)).where(
        scope_filter(Building, scope)).order_by(Building.county, Building.id)


def _houses(scope: Scope | None, geometry: Shape) -> Rows:
    bld, est = aliased(Building), aliased(Estate)
    query: Rows = select(
        House.code, House.region_code, est.name, bld.building_label, House.unit_label,
        House.floor_number, House.room_label, House.area_m2, House.use, House.status,
        House.address_norm, geometry(House.location)
    ).join(bld, (bld.county == House.county) & (bld.id == House.building_id)
           ).outerjoin(est, (est.county == bld.county) & (est.id == bld.estate_id)).where(
        scope_filter(House, scope)).order_by(House.county, House.id)
    return query


def _facilities(scope: Scope | None, geometry: Shape) -> Rows:
    return select(Facility.id, Facility.category, Facility.subtype, Facility.name,
                  Facility.capacity, Facility.status, Facility.region_code, Facility.address,
                  geometry(Facility.geom)).where(
        scope_filter(Facility, scope)).order_by(Facility.county, Facility.id)


def project_boundaries_visible(scope: Scope | None) -> Any:
    """The projects whose boundary ``scope`` may see: visible, and no community outside it
    (:mod:`cimhouse.programme.project_scope`, the rule of ``FutureProject.geometry``)."""
    return and_(FutureProject.boundary.is_not(None), project_visible(scope),
                boundary_visible(scope))


def _projects(scope: Scope | None, geometry: Shape) -> Rows:
    return select(FutureProject.id, FutureProject.external_id, FutureProject.name,
                  FutureProject.level, FutureProject.kind, FutureProject.status,
                  FutureProject.year, FutureProject.lead_street,
                  geometry(FutureProject.boundary)).where(
        project_boundaries_visible(scope)).order_by(FutureProject.id)


_SELECTS: dict[str, Callable[[Scope | None, Shape], Rows]] = {
    "estates": _estates, "buildings": _buildings, "houses": _houses,
    "facilities": _facilities, "projects": _projects}
