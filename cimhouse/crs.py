"""The one CRS helper: cached pyproj transformers, always in x/y (lon/lat) order.

Storage is CGCS2000 geographic (EPSG:4490); metric work uses the CGCS2000 3-degree
Gauss-Kruger zone from settings (EPSG:4549 by default, central meridian 120E).

Example::

    >>> x, y = transform_point(120.75, 30.75, 4490, 4549)
    >>> round(x), round(y)
    (571815, 3403498)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from enum import StrEnum
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry.base import BaseGeometry

from cimhouse.settings import STORAGE_SRID


@lru_cache(maxsize=64)
def transformer(src_srid: int, dst_srid: int) -> Transformer:
    """A cached transformer between two EPSG codes, lon/lat (x/y) order on both sides."""
    return Transformer.from_crs(f"EPSG:{src_srid}", f"EPSG:{dst_srid}", always_xy=True)


def transform_point(x: float, y: float, src_srid: int, dst_srid: int) -> tuple[float, float]:
    if src_srid == dst_srid:
        return x, y
    tx, ty = transformer(src_srid, dst_srid).transform(x, y)
    return float(tx), float(ty)


def transform_geometry(geom: BaseGeometry, src_srid: int, dst_srid: int) -> BaseGeometry:
    if src_srid == dst_srid:
        return geom
    project = transformer(src_srid, dst_srid)
    # vectorised: pyproj transforms whole coordinate arrays at once
    return shapely.transform(geom, lambda x, y: project.transform(x, y), interleaved=False)


def to_storage(geom: BaseGeometry, src_srid: int) -> BaseGeometry:
    """Reproject a geometry into the storage CRS (EPSG:4490)."""
    return transform_geometry(geom, src_srid, STORAGE_SRID)


# -- Chinese web-map offsets (GCJ-02, BD-09) ---------------------------------------------
# GCJ-02 ("Mars coordinates") is WGS84 shifted by a published, deliberately non-linear
# formula; BD-09 (Baidu) shifts GCJ-02 once more. Neither is an EPSG CRS, so pyproj cannot
# do them: the formulas below are the widely published ones (coordtransform, eviltransform).
# WGS84 and CGCS2000 differ by a few centimetres, far below register precision.

_GCJ_A = 6378245.0  # Krasovsky 1940 semi-major axis used by the GCJ-02 formula
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0



class CoordinateSystem(StrEnum):
    """The named lon/lat systems; GraphQL's ``Crs`` enum wraps this one."""

    CGCS2000 = "CGCS2000"
    WGS84 = "WGS84"
    GCJ02 = "GCJ02"
    BD09 = "BD09"


#: names of the coordinate systems accepted by :func:`to_cgcs2000`
COORDINATE_SYSTEMS = tuple(system.value for system in CoordinateSystem)

#: lon/lat (west, south, east, north) a stored coordinate must fall in: the one plausibility
#: box of every importer (a point outside is a swapped pair or a wrong coordinate system)
CHINA_BOX = (73.0, 3.0, 136.0, 54.0)


def in_china(geom: BaseGeometry) -> bool:
    """True when ``geom`` (CGCS2000 lon/lat) lies wholly inside :data:`CHINA_BOX`."""
    minx, miny, maxx, maxy = geom.bounds
    return point_in_china(minx, miny) and point_in_china(maxx, maxy)


def point_in_china(lon: float, lat: float) -> bool:
    """True when the lon/lat lies inside :data:`CHINA_BOX`."""
    west, south, east, north = CHINA_BOX
    return bool(west <= lon <= east and south <= lat <= north)


def out_of_china(lon: float, lat: float) -> bool:
    """True outside the box where the GCJ-02 offset is applied.

    This is part of the published formula (the providers apply no offset outside it), not a
    plausibility check, so it deliberately differs from :data:`CHINA_BOX`.
    """
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _gcj_dlat(x: float, y: float) -> float:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2 / 3
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320 * math.sin(y * math.pi / 30.0)) * 2 / 3
    return ret


def _gcj_dlon(x: float, y: float) -> float:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2 / 3
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2 / 3
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2 / 3
    return ret


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """WGS84 -> GCJ-02. ``wgs84_to_gcj02(116.404, 39.915)`` is
    ``(116.41024449916938, 39.91640428150164)``."""
    if out_of_china(lon, lat):
        return lon, lat
    dlat = _gcj_dlat(lon - 105.0, lat - 35.0)
    dlon = _gcj_dlon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * math.pi
    magic = 1 - _GCJ_EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1 - _GCJ_EE)) / (magic * sqrtmagic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrtmagic * math.cos(radlat) * math.pi)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> WGS84 by fixed-point iteration (error < 1e-9 degree, about 0.1 mm).

    The one-step inverse most libraries publish is off by up to ~0.5 m; iterating the
    forward formula removes that.
    """
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(30):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        wlon, wlat = wlon - dlon, wlat - dlat
        if abs(dlon) < 1e-12 and abs(dlat) < 1e-12:
            break
    return wlon, wlat


def gcj02_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    """GCJ-02 -> BD-09. ``gcj02_to_bd09(116.404, 39.915)`` is
    ``(116.41036949371029, 39.92133699351021)``."""
    z = math.sqrt(lon * lon + lat * lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_X_PI)
    return z * math.cos(theta) + 0.0065, z * math.sin(theta) + 0.006


def bd09_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """BD-09 -> GCJ-02. ``bd09_to_gcj02(116.404, 39.915)`` is
    ``(116.39762729119315, 39.90865673957631)``."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.sqrt(x * x + y * y) - 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_X_PI)
    return z * math.cos(theta), z * math.sin(theta)


def normalize_coordinate_system(name: str | None) -> str:
    """Map the many spellings of a coordinate system to one of :data:`COORDINATE_SYSTEMS`.

    Empty means CGCS2000 (the national standard). Raises ``ValueError`` on anything else.
    """
    key = "".join((name or "").upper().replace("_", "").replace("-", "").replace(":", "")
                  .split())
    aliases = {
        "": "CGCS2000", "CGCS2000": "CGCS2000", "EPSG4490": "CGCS2000", "4490": "CGCS2000",
        "2000": "CGCS2000", "国家2000": "CGCS2000", "2000国家大地坐标系": "CGCS2000",
        "WGS84": "WGS84", "EPSG4326": "WGS84", "4326": "WGS84", "GPS": "WGS84",
        "GCJ02": "GCJ02", "GCJ": "GCJ02", "火星坐标": "GCJ02", "高德": "GCJ02", "腾讯": "GCJ02",
        "BD09": "BD09", "BD09LL": "BD09", "BAIDU": "BD09", "百度": "BD09",
    }
    if key not in aliases:
        raise ValueError(f"unknown coordinate system {name!r}")
    return aliases[key]


def _bd09_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    # the published inverse is off by ~0.1 m: refine it against the forward formula
    glon, glat = bd09_to_gcj02(lon, lat)
    for _ in range(10):
        blon, blat = gcj02_to_bd09(glon, glat)
        glon, glat = glon - (blon - lon), glat - (blat - lat)
    return gcj02_to_wgs84(glon, glat)


def _wgs84_to_bd09(lon: float, lat: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


# offset systems: WGS84 <-> system, pointwise (the formulas are not vectorisable)
_FROM_WGS84 = {"GCJ02": wgs84_to_gcj02, "BD09": _wgs84_to_bd09}
_TO_WGS84 = {"GCJ02": gcj02_to_wgs84, "BD09": _bd09_to_wgs84}
WGS84_SRID = 4326


def to_cgcs2000(lon: float, lat: float, system: str) -> tuple[float, float]:
    """Convert a lon/lat in CGCS2000, WGS84, GCJ-02 or BD-09 into CGCS2000 (EPSG:4490)."""
    kind = normalize_coordinate_system(system)
    if kind in _TO_WGS84:
        lon, lat = _TO_WGS84[kind](lon, lat)
        kind = "WGS84"
    if kind == "WGS84":
        return transform_point(lon, lat, WGS84_SRID, STORAGE_SRID)
    return lon, lat


def crs_name(name: str | None) -> str:
    """The one spelling of every CRS form an importer or the API accepts.

    A named system (any alias of :func:`normalize_coordinate_system`, including EPSG:4490 and
    EPSG:4326) gives its name; any other EPSG code pyproj knows (``EPSG:4549``, ``epsg::4549``)
    gives ``EPSG:<code>`` with x/y in that CRS's units. Raises ``ValueError`` otherwise.

    >>> crs_name("epsg:4326"), crs_name("EPSG::4549"), crs_name(None)
    ('WGS84', 'EPSG:4549', 'CGCS2000')
    """
    text = "".join((name or "").upper().split())
    code = text.removeprefix("EPSG").lstrip(":")
    if text.startswith("EPSG") and code.isdigit() and code not in ("4490", "4326"):
        try:
            transformer(int(code), STORAGE_SRID)
        except Exception:  # pyproj's CRSError: not an EPSG code it knows
            raise ValueError(f"unknown coordinate system {name!r}") from None
        return f"EPSG:{int(code)}"
    return normalize_coordinate_system(name)


def coordinate_converter(name: str | None) -> Callable[[float, float], tuple[float, float]]:
    """lon/lat (or projected x/y) in CRS ``name`` -> EPSG:4490; ``ValueError`` when unknown.

    >>> lon, lat = coordinate_converter("EPSG:4549")(571815.2, 3403498.7)
    >>> round(lon, 4), round(lat, 4)
    (120.75, 30.75)
    """
    system = crs_name(name)
    if system.startswith("EPSG:"):
        srid = int(system.removeprefix("EPSG:"))
        return lambda x, y: transform_point(x, y, srid, STORAGE_SRID)
    return lambda x, y: to_cgcs2000(x, y, system)


def _pointwise(geom: BaseGeometry, func: Callable[[float, float], tuple[float, float]]
               ) -> BaseGeometry:
    def apply(coords: Any) -> Any:
        return np.array([func(float(x), float(y)) for x, y in coords],
                        dtype=float).reshape(-1, 2)

    return shapely.transform(geom, apply)


def geometry_to_storage(geom: BaseGeometry, name: str | None) -> BaseGeometry:
    """A geometry in CRS ``name`` (any form :func:`crs_name` accepts) -> EPSG:4490."""
    system = crs_name(name)
    if system.startswith("EPSG:"):
        return transform_geometry(geom, int(system.removeprefix("EPSG:")), STORAGE_SRID)
    if system == "CGCS2000":
        return geom
    if system in _TO_WGS84:
        geom = _pointwise(geom, _TO_WGS84[system])
    return transform_geometry(geom, WGS84_SRID, STORAGE_SRID)


def geometry_from_storage(geom: BaseGeometry, system: str) -> BaseGeometry:
    """A stored (EPSG:4490) geometry in the named lon/lat ``system`` (for output)."""
    kind = normalize_coordinate_system(system)
    if kind == "CGCS2000":
        return geom
    geom = transform_geometry(geom, STORAGE_SRID, WGS84_SRID)
    return _pointwise(geom, _FROM_WGS84[kind]) if kind in _FROM_WGS84 else geom


# -- OGC API CRS URIs (OGC API - Features Part 2) ------------------------------------------

OGC_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
OGC_EPSG = "http://www.opengis.net/def/crs/EPSG/0/"
#: the CRS URIs the OGC API serves: URI -> (named system, axes in latitude/longitude order).
#: EPSG:4490 and EPSG:4326 are latitude first by their EPSG definition; CRS84 is lon/lat.
OGC_CRSS: dict[str, tuple[str, bool]] = {
    OGC_CRS84: ("WGS84", False),
    f"{OGC_EPSG}4490": ("CGCS2000", True),
    f"{OGC_EPSG}4326": ("WGS84", True),
}
OGC_STORAGE_CRS = f"{OGC_EPSG}{STORAGE_SRID}"


def ogc_crs(uri: str | None) -> str:
    """The served CRS URI for ``uri`` (default CRS84); ``ValueError`` when not served.

    Accepts the URI, its ``[EPSG:4490]`` safe-CURIE form and ``EPSG:4490``.

    >>> ogc_crs("[EPSG:4490]") == OGC_STORAGE_CRS, ogc_crs(None) == OGC_CRS84
    (True, True)
    """
    text = (uri or OGC_CRS84).strip().strip("[]")
    if text.upper().startswith("EPSG:"):
        text = OGC_EPSG + text[5:]
    elif text.upper() == "OGC:CRS84":
        text = OGC_CRS84
    if text not in OGC_CRSS:
        raise ValueError(f"unsupported crs {uri!r}; served: {', '.join(OGC_CRSS)}")
    return text


def _swap_axes(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda coords: coords[:, ::-1])


def geometry_to_ogc(geom: BaseGeometry, uri: str) -> BaseGeometry:
    """A stored geometry in the served CRS ``uri``, in that CRS's axis order."""
    system, lat_first = OGC_CRSS[uri]
    out = geometry_from_storage(geom, system)
    return _swap_axes(out) if lat_first else out


def bbox_from_ogc(box: tuple[float, float, float, float], uri: str
                  ) -> tuple[float, float, float, float]:
    """A bbox in the served CRS ``uri`` (its axis order) -> lon/lat box in storage CRS."""
    system, lat_first = OGC_CRSS[uri]
    x1, y1, x2, y2 = (box[1], box[0], box[3], box[2]) if lat_first else box
    corners = [to_cgcs2000(x, y, system) for x, y in ((x1, y1), (x2, y2), (x1, y2), (x2, y1))]
    return (min(c[0] for c in corners), min(c[1] for c in corners),
            max(c[0] for c in corners), max(c[1] for c in corners))
