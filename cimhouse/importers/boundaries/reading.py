"""Read polygon features from GeoJSON or GeoPackage as (number, properties, geometry, srid).

GeoPackage files are SQLite databases: the first feature table listed in
``gpkg_contents`` is read, its geometry blobs decoded (GeoPackage header + WKB) and its
``srs_id`` looked up in ``gpkg_spatial_ref_sys``. GeoJSON has no CRS member in RFC 7946;
an old-style ``crs`` member (``urn:ogc:def:crs:EPSG::4490``) is honoured, otherwise the srid
is ``None`` and the caller's ``--crs`` applies.

Example::

    features = read_boundary_file(Path("estates.gpkg"))
    features[0][1]["name"], features[0][2].geom_type, features[0][3]
    # ('梅湾小区', 'MultiPolygon', 4490)
"""

from __future__ import annotations

import json
import re
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely import wkb
from shapely.errors import ShapelyError
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from cimhouse.crs import geometry_to_storage, in_china
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.result import ImportResult

Feature = tuple[int, dict[str, Any], BaseGeometry | None, int | None]
_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def polygon_in_storage(geom: BaseGeometry | None, srid: int | None, crs: str
                       ) -> tuple[BaseGeometry | None, list[str]]:
    """A feature's polygon in the storage CRS (EPSG:4490), or None and the bilingual reasons
    it is refused; ``srid`` (the file's own CRS) wins over ``crs`` (the caller's default)."""
    if geom is None or geom.is_empty or geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None, ["几何应为面 / geometry must be a Polygon or MultiPolygon"]
    system = crs if srid is None else f"EPSG:{srid}"
    try:
        stored = geometry_to_storage(geom, system)
    except ValueError:
        return None, [f"未知坐标系 / unknown coordinate system {system!r}"]
    if not in_china(stored):
        return None, ["坐标不在中国境内 / coordinates outside China (wrong coordinate system?)"]
    return stored, []


def gpkg_geometry(blob: bytes | None) -> BaseGeometry | None:
    """Decode a GeoPackage geometry blob; None when empty or unreadable."""
    if not blob or blob[:2] != b"GP":
        return None
    flags = blob[3]
    if flags & 0b10000:  # empty geometry
        return None
    envelope = _ENVELOPE_BYTES.get((flags >> 1) & 0b111)
    if envelope is None:
        return None
    try:
        return wkb.loads(bytes(blob[8 + envelope:]))
    except ShapelyError:
        return None


def _gpkg_srs_id(blob: bytes | None) -> int | None:
    if not blob or blob[:2] != b"GP":
        return None
    order = "<" if blob[3] & 1 else ">"
    return int(struct.unpack(f"{order}i", blob[4:8])[0])


def _read_gpkg(path: Path) -> list[Feature]:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        table, column = conn.execute(
            "SELECT c.table_name, g.column_name FROM gpkg_contents c "
            "JOIN gpkg_geometry_columns g ON g.table_name = c.table_name "
            "WHERE c.data_type = 'features' ORDER BY c.table_name LIMIT 1").fetchone()
        epsg = {int(srs): int(org) for srs, org in conn.execute(
            "SELECT srs_id, organization_coordsys_id FROM gpkg_spatial_ref_sys "
            "WHERE upper(organization) = 'EPSG'")}
        cursor = conn.execute(f'SELECT * FROM "{table}"')
        names = [d[0] for d in cursor.description]
        features: list[Feature] = []
        for number, values in enumerate(cursor, start=1):
            props = {n: v for n, v in zip(names, values, strict=True) if n != column}
            blob = values[names.index(column)]
            srs = _gpkg_srs_id(blob)
            features.append((number, props, gpkg_geometry(blob),
                             epsg.get(srs, srs) if srs is not None else None))
        conn.close()
    except (sqlite3.DatabaseError, TypeError) as exc:
        raise InvalidInput(_("{file}: not a readable GeoPackage feature table",
                             file=path.name)) from exc
    return features


def _read_geojson(path: Path) -> list[Feature]:
    try:
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(_("{file}: not valid GeoJSON", file=path.name)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise InvalidInput(_("{file}: GeoJSON must be a FeatureCollection", file=path.name))
    srid = legacy_crs(data.get("crs"))
    features: list[Feature] = []
    for number, feature in enumerate(data["features"], start=1):
        feature = feature if isinstance(feature, dict) else {}
        props = dict(feature.get("properties") or {})
        if feature.get("id") is not None:
            props.setdefault("id", feature["id"])
        try:
            geom = shape(feature["geometry"]) if feature.get("geometry") else None
        except (ValueError, TypeError, AttributeError, KeyError, ShapelyError):
            geom = None
        features.append((number, props, geom, srid))
    return features


def legacy_crs(member: Any) -> int | None:
    """The EPSG code of a (pre-RFC 7946) ``crs`` member such as EPSG::4490, else None."""
    name = ((member or {}).get("properties") or {}).get("name") if isinstance(
        member, dict) else None
    if not isinstance(name, str):
        return None
    if name.upper().endswith("CRS84"):
        return 4326
    found = re.search(r"EPSG:+(\d+)$", name.upper())
    return int(found.group(1)) if found else None


def read_boundary_file(path: Path) -> list[Feature]:
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return _read_gpkg(path)
    if suffix in (".geojson", ".json"):
        return _read_geojson(path)
    raise InvalidInput(_("{file}: unsupported file type (use .geojson or .gpkg)", file=path.name))


@dataclass
class BoundaryUpdateResult(ImportResult):
    """What a boundary import did: features read, boundaries changed, rejects (the community and
    estate boundaries import and the project boundaries import both report this way)."""

    updated: int = 0

    @property
    def unchanged(self) -> int:
        return self.accepted - self.updated

    def counts(self) -> dict[str, object]:
        return {"updated": self.updated, "unchanged": self.unchanged}


def first_property(props: dict[str, Any], keys: tuple[str, ...]) -> str:
    """The first non-empty value among ``keys`` of a feature's properties, stripped ("" if none).

    >>> first_property({"名称": " 南湖新村 ", "code": ""}, ("code", "名称"))
    '南湖新村'
    """
    for key in keys:
        value = props.get(key)
        if value not in (None, ""):
            return str(value).strip()
    return ""
