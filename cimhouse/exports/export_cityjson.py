"""CityJSON 2.0 of the buildings of a scope: LoD1 blocks with their house codes, streamed.

Each building becomes a ``Building`` city object named by its code, with the buildings layer's
attributes (:data:`cimhouse.exports.layers.LAYERS`, the same scoped SELECT: nothing outside the
scope is read), ``estate_name``, the codes of its houses in the scope (``house_codes``, a
grouped join on the distribution key) and the CityGML attributes ``measuredHeight`` and
``storeysAboveGround``. Its geometry is the footprint extruded from 0 (the building's ground;
no terrain is stored) to its height: the IFC height where the IFC import measured one
(``height_m``, ``height_source = "ifc"``), else ``floors_above`` x the storey height (default
3.0 m, ``height_source = "storeys"``). A footprint of one polygon is the building's ``Solid``; of
several, each polygon is a ``BuildingPart`` child (``<code>-1``, ``<code>-2``, ...) with its
``Solid`` (CityJSON gives a Building no MultiSolid); a building without a footprint or
without either height keeps its attributes and has no geometry (counted in
:class:`CityJsonResult`).

Coordinates are metres in the metric CRS of the settings (``METRIC_CRS``, EPSG:4549 =
CGCS2000 / 3-degree Gauss-Kruger zone of central meridian 120 E, which holds Jiaxing and the
rest of Zhejiang west of 121.5 E with a scale error under 0.03 %), converted by
:func:`cimhouse.crs.transform_geometry`, integers in millimetres with ``transform``.

The file is written while rows arrive: city objects first, the vertices (kept in a temporary
file, each distinct vertex once) and the metadata with the extent last.

Example::

    >>> export_cityjson(session, scope=parse_scope("330402"), path=Path("nanhu.city.json"))
    CityJsonResult(buildings=412, solids=409, without_geometry=3, vertices=6520, ...)
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Select, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, aliased

from cimhouse.crs import transform_geometry
from cimhouse.errors import InvalidInput
from cimhouse.exports.layers import LAYERS
from cimhouse.exports.writers import plain_value
from cimhouse.i18n import _
from cimhouse.schema import Building, Estate, House
from cimhouse.schema.base import SRID
from cimhouse.scope import Scope, scope_filter

VERSION = "2.0"
SCALE = 0.001  # millimetres
DEFAULT_STOREY_HEIGHT_M = 3.0
BATCH = 2000
EPSG_URI = "https://www.opengis.net/def/crs/EPSG/0/{srid}"


@dataclass
class CityJsonResult:
    buildings: int
    solids: int
    without_geometry: int
    vertices: int
    reference_system: str
    path: Path


def cityjson_select(scope: Scope | None) -> Select[Any]:
    """The buildings layer's SELECT plus the estate name and the codes of the scope's houses
    (grouped on the distribution key, joined like the tiles' house counts)."""
    houses = (select(House.county, House.building_id,
                     func.array_agg(aggregate_order_by(House.code, House.code)).label("codes"))
              .where(scope_filter(House, scope))
              .group_by(House.county, House.building_id).subquery("hc"))
    est = aliased(Estate)
    return (LAYERS["buildings"].select(scope).add_columns(est.name, houses.c.codes)
            .outerjoin(est, (est.county == Building.county) & (est.id == Building.estate_id))
            .outerjoin(houses, (houses.c.county == Building.county)
                       & (houses.c.building_id == Building.id)))


def building_height(height_m: Decimal | float | None, floors_above: int | None,
                    storey_height_m: float) -> tuple[float | None, str | None]:
    """(height in metres, its source) of a building: IFC height, else storeys x height.

    >>> building_height(None, 6, 3.0), building_height(Decimal("17.4"), 6, 3.0)
    ((18.0, 'storeys'), (17.4, 'ifc'))
    >>> building_height(None, None, 3.0)
    (None, None)
    """
    if height_m is not None and float(height_m) > 0:
        return float(height_m), "ifc"
    if floors_above:
        return floors_above * storey_height_m, "storeys"
    return None, None


class _Vertices:
    """Distinct integer vertices (millimetres from ``translate``), numbered in order of first
    use and spooled to a file; each ring is quantised with numpy in one step."""

    def __init__(self, translate: tuple[float, float]) -> None:
        self.translate = np.array(translate)
        self.index: dict[tuple[int, int, int], int] = {}
        # closed by export_cityjson once copied into the output
        self.spool: IO[str] = tempfile.TemporaryFile("w+", encoding="ascii")  # noqa: SIM115
        self.low = np.array([np.iinfo(np.int64).max] * 3)
        self.high = np.array([np.iinfo(np.int64).min] * 3)

    def ring(self, coords: Any) -> Any:
        """A ring's points as stored (n x 2 integers): repeats and the closing point dropped."""
        q = np.rint((np.asarray(coords)[:, :2] - self.translate) / SCALE).astype(np.int64)
        q = q[np.r_[True, np.any(q[1:] != q[:-1], axis=1)]]
        if len(q) > 1 and (q[0] == q[-1]).all():
            q = q[:-1]
        return q

    def add(self, ring: Any, z: int) -> list[int]:
        """The numbers of ``ring``'s points (from :meth:`ring`) at height ``z`` (mm)."""
        index, numbers, new = self.index, [], []
        for x, y in ring.tolist():
            key = (x, y, z)
            number = index.get(key)
            if number is None:
                number = index[key] = len(index)
                new.append(f"[{x},{y},{z}]")
            numbers.append(number)
        if new:
            self.spool.write(("," if len(index) > len(new) else "") + ",".join(new))
        self.low = np.minimum(self.low, [*ring.min(axis=0), z])
        self.high = np.maximum(self.high, [*ring.max(axis=0), z])
        return numbers

    def extent(self) -> list[float]:
        if not self.index:
            return [0.0] * 6
        origin = [*self.translate.tolist(), 0.0]
        return [round(origin[i % 3] + int(v) * SCALE, 3)
                for i, v in enumerate([*self.low, *self.high])]


def _solid(polygon: Polygon, height: float, vertices: _Vertices) -> list[Any] | None:
    """One closed shell: bottom (normal down), top (up) and one wall per ring edge (out).

    Rings are oriented exterior counter-clockwise, holes clockwise (seen from above); a wall
    b_i, b_i+1, t_i+1, t_i then faces to the right of its edge: away from the solid."""
    rings = []
    for ring in (polygon.exterior, *polygon.interiors):
        points = vertices.ring(ring.coords)
        if len(points) < 3:
            if ring is polygon.exterior:
                return None
            continue  # a hole smaller than a millimetre
        rings.append(points)
    top_z = round(height / SCALE)
    bottom = [vertices.add(ring, 0) for ring in rings]
    top = [vertices.add(ring, top_z) for ring in rings]
    shell = [[list(reversed(ring)) for ring in bottom], top]
    for low, high in zip(bottom, top, strict=True):
        n = len(low)
        shell.extend([[low[i], low[(i + 1) % n], high[(i + 1) % n], high[i]]] for i in range(n))
    return [shell]


def _solids(footprint: BaseGeometry, height: float, vertices: _Vertices) -> list[list[Any]]:
    polygons = list(footprint.geoms) if isinstance(footprint, MultiPolygon) else [footprint]
    return [s for p in polygons if not p.is_empty
            and (s := _solid(shapely.geometry.polygon.orient(p, 1.0), height, vertices))]


_SURFACES = [{"type": "GroundSurface"}, {"type": "RoofSurface"}, {"type": "WallSurface"}]


def _lod1(solid: list[Any]) -> dict[str, Any]:
    """A Solid with its semantics: ground, roof, then walls, as :func:`_solid` writes them."""
    return {"type": "Solid", "lod": "1", "boundaries": solid,
            "semantics": {"surfaces": _SURFACES,
                          "values": [[0, 1, *([2] * (len(solid[0]) - 2))]]}}


def _city_objects(code: str, attributes: dict[str, Any], solids: list[list[Any]]
                  ) -> list[tuple[str, dict[str, Any]]]:
    """The building, and a BuildingPart per solid when its footprint has several polygons
    (CityJSON allows a Building no MultiSolid; disjoint parts are its children)."""
    building: dict[str, Any] = {"type": "Building", "attributes": attributes,
                                "geometry": [_lod1(solids[0])] if len(solids) == 1 else []}
    if len(solids) < 2:
        return [(code, building)]
    parts = [(f"{code}-{i}", {"type": "BuildingPart", "parents": [code],
                              "geometry": [_lod1(solid)]}) for i, solid in enumerate(solids, 1)]
    building["children"] = [name for name, _part in parts]
    return [(code, building), *parts]


def export_cityjson(session: Session, *, scope: Scope | None, path: Path, metric_srid: int,
                    storey_height_m: float = DEFAULT_STOREY_HEIGHT_M) -> CityJsonResult:
    """Write the buildings of ``scope`` to ``path`` as CityJSON 2.0 (LoD1)."""
    if not 0 < storey_height_m <= 20:
        raise InvalidInput(_("storey height must be above 0 and at most 20 metres"))
    columns = [c.name for c in LAYERS["buildings"].columns]
    reference = EPSG_URI.format(srid=metric_srid)
    vertices: _Vertices | None = None
    counts = {"buildings": 0, "objects": 0, "solids": 0, "without_geometry": 0}
    part = path.with_name(path.name + ".part")
    with part.open("w", encoding="utf-8") as out:
        out.write(f'{{"type":"CityJSON","version":"{VERSION}","CityObjects":{{')
        result = session.execute(cityjson_select(scope).execution_options(yield_per=BATCH))
        for batch in result.partitions():
            # one WKB parse and one transformation per batch (shapely/GEOS, pyproj arrays)
            shapes = transform_geometry(shapely.from_wkb([
                None if r[len(columns)] is None else bytes(r[len(columns)]) for r in batch]),
                SRID, metric_srid)
            for row, metric in zip(batch, shapes, strict=True):
                values = dict(zip(columns, (plain_value(v) for v in row[:len(columns)]),
                                  strict=True))
                height, source = building_height(values["height_m"], values["floors_above"],
                                                 storey_height_m)
                attributes = {**{k: v for k, v in values.items() if v is not None},
                              "estate_name": row[len(columns) + 1],
                              "house_codes": list(row[len(columns) + 2] or [])}
                attributes["house_count"] = len(attributes["house_codes"])
                solids: list[list[Any]] = []
                if metric is not None and height is not None:
                    if vertices is None:  # the first corner, whole metres: any origin works
                        first = metric.bounds
                        vertices = _Vertices((math.floor(first[0]), math.floor(first[1])))
                    solids = _solids(metric, height, vertices)
                if solids:
                    attributes |= {"measuredHeight": round(height or 0.0, 3),
                                   "height_source": source}
                    counts["solids"] += len(solids)
                else:
                    counts["without_geometry"] += 1
                if values.get("floors_above") is not None:
                    attributes["storeysAboveGround"] = values["floors_above"]
                attributes = {k: v for k, v in attributes.items() if v is not None}
                for name, city_object in _city_objects(values["code"], attributes, solids):
                    out.write(("," if counts["objects"] else "") + json.dumps(name) + ":"
                              + json.dumps(city_object, ensure_ascii=False,
                                           separators=(",", ":")))
                    counts["objects"] += 1
                counts["buildings"] += 1
        vertices = vertices or _Vertices((0.0, 0.0))
        transform = {"scale": [SCALE] * 3, "translate": [*vertices.translate.tolist(), 0.0]}
        out.write(f'}},"transform":{json.dumps(transform)},"vertices":[')
        vertices.spool.seek(0)
        shutil.copyfileobj(vertices.spool, out)
        vertices.spool.close()
        metadata = {"referenceSystem": reference, "title": "cimhouse LoD1 buildings",
                    "referenceDate": dt.date.today().isoformat(),
                    "geographicalExtent": vertices.extent()}
        out.write(f'],"metadata":{json.dumps(metadata, ensure_ascii=False)}}}\n')
    part.replace(path)  # a killed export leaves no half file under the asked name
    return CityJsonResult(buildings=counts["buildings"], solids=counts["solids"],
                          without_geometry=counts["without_geometry"],
                          vertices=len(vertices.index), reference_system=reference, path=path)
