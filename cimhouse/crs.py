"""The one CRS helper: cached pyproj transformers, always in x/y (lon/lat) order.

Storage is CGCS2000 geographic (EPSG:4490); metric work uses the CGCS2000 3-degree
Gauss-Kruger zone from settings (EPSG:4549 by default, central meridian 120E).

Example::

    >>> x, y = transform_point(120.75, 30.75, 4490, 4549)
    >>> round(x), round(y)
    (571815, 3403498)
"""

from __future__ import annotations

from functools import lru_cache

from pyproj import Transformer
from shapely.geometry.base import BaseGeometry
from shapely.ops import transform as shapely_transform

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
    return shapely_transform(transformer(src_srid, dst_srid).transform, geom)


def to_storage(geom: BaseGeometry, src_srid: int) -> BaseGeometry:
    """Reproject a geometry into the storage CRS (EPSG:4490)."""
    return transform_geometry(geom, src_srid, STORAGE_SRID)
