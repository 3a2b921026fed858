"""Streaming writers: rows in, one file out, memory independent of the row count.

Each writer takes a :class:`~cimhouse.exports.layers.Layer`, the output path and the CRS, then
``write(values, geometry)`` per row (geometry: shapely, already in the output CRS, or None)
and ``close()``. GeoPackage is written with sqlite3 (OGC GeoPackage 1.3: the three metadata
tables, one feature table, geometry blobs = GP header + WKB); XLSX with openpyxl's write-only
workbook (Chinese headers, a representative point as 经度/纬度 instead of the shape).

Example::

    >>> w = open_writer("gpkg", LAYERS["houses"], Path("h.gpkg"), "CGCS2000")
    >>> w.write(("330402...", ...), Point(120.75, 30.75)); w.close()
"""

from __future__ import annotations

import csv
import json
import sqlite3
import struct
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import shapely
from openpyxl import Workbook
from pyproj import CRS
from shapely.geometry.base import BaseGeometry

from cimhouse.errors import InvalidInput
from cimhouse.exports.layers import Layer
from cimhouse.i18n import _

FORMATS = ("geojson", "gpkg", "csv", "xlsx")
# GeoPackage srs_id per output system; GCJ-02 has no EPSG code: a user-defined id whose
# definition is WGS 84 (its datum) and whose description says it is offset.
_GPKG_SRS = {"CGCS2000": (4490, "EPSG", 4490), "WGS84": (4326, "EPSG", 4326),
             "GCJ02": (990002, "NONE", 990002), "BD09": (990009, "NONE", 990009)}


def plain_value(value: Any) -> Any:
    """Decimals as float, everything else as it is (JSON, sqlite and openpyxl accept them)."""
    if value is None or isinstance(value, str | int | float):
        return value
    return float(value) if hasattr(value, "as_integer_ratio") else str(value)


class Writer(Protocol):
    def write(self, values: tuple[Any, ...], geometry: BaseGeometry | None) -> None: ...
    def write_many(self, rows: Sequence[tuple[Any, ...]],
                   geometries: Sequence[BaseGeometry | None]) -> None: ...
    def close(self) -> None: ...


class _OneByOne(ABC):
    """``write_many`` as one ``write`` per row (formats without a faster batch path)."""

    @abstractmethod
    def write(self, values: tuple[Any, ...], geometry: BaseGeometry | None) -> None: ...

    def write_many(self, rows: Sequence[tuple[Any, ...]],
                   geometries: Sequence[BaseGeometry | None]) -> None:
        for values, geometry in zip(rows, geometries, strict=True):
            self.write(values, geometry)


class GeoJsonWriter(_OneByOne):
    """A FeatureCollection written feature by feature (RFC 7946 wants WGS 84; the ``crs``
    member names another system, as GDAL reads it)."""

    def __init__(self, layer: Layer, path: Path, system: str) -> None:
        self.layer, self.out = layer, path.open("w", encoding="utf-8")
        srid = _GPKG_SRS[system][0]
        crs = {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{srid}"}}
        head: dict[str, Any] = {"type": "FeatureCollection", "name": layer.name}
        if system != "WGS84":
            head["crs"] = crs
        self.out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [\n')
        self.first = True

    def write(self, values: tuple[Any, ...], geometry: BaseGeometry | None) -> None:
        feature = {"type": "Feature",
                   "properties": {c.name: plain_value(v) for c, v in zip(self.layer.columns, values,
                                                                    strict=True)},
                   "geometry": shapely.geometry.mapping(geometry) if geometry else None}
        self.out.write(("" if self.first else ",\n") + json.dumps(feature, ensure_ascii=False))
        self.first = False

    def close(self) -> None:
        self.out.write("\n]}\n")
        self.out.close()


class CsvWriter(_OneByOne):
    """UTF-8 with BOM (Excel opens it right), field names as header, geometry as WKT."""

    def __init__(self, layer: Layer, path: Path, system: str) -> None:  # noqa: ARG002 (one signature for every writer; WKT names no CRS)
        self.out: IO[str] = path.open("w", encoding="utf-8-sig", newline="")
        self.csv = csv.writer(self.out)
        self.csv.writerow([c.name for c in layer.columns] + ["wkt"])

    def write(self, values: tuple[Any, ...], geometry: BaseGeometry | None) -> None:
        self.csv.writerow([plain_value(v) for v in values]
                          + [geometry.wkt if geometry is not None else ""])

    def write_many(self, rows: Sequence[tuple[Any, ...]],
                   geometries: Sequence[BaseGeometry | None]) -> None:
        # one vectorised WKT conversion per batch (GEOS), one writerows call
        wkts = shapely.to_wkt(np.asarray(geometries, dtype=object))
        self.csv.writerows([*(plain_value(v) for v in values), "" if wkt is None else wkt]
                           for values, wkt in zip(rows, wkts, strict=True))

    def close(self) -> None:
        self.out.close()


class XlsxWriter(_OneByOne):
    """One sheet named after the layer, Chinese headers, 经度/纬度 of a point on the shape."""

    def __init__(self, layer: Layer, path: Path, system: str) -> None:
        self.path, self.book = path, Workbook(write_only=True)
        self.sheet = self.book.create_sheet(layer.title)
        self.sheet.append([c.header for c in layer.columns] + [f"经度({system})",
                                                               f"纬度({system})"])

    def write(self, values: tuple[Any, ...], geometry: BaseGeometry | None) -> None:
        point = geometry.representative_point() if geometry is not None else None
        self.sheet.append([plain_value(v) for v in values]
                          + ([round(point.x, 7), round(point.y, 7)] if point else [None, None]))

    def close(self) -> None:
        self.book.save(self.path)


class GpkgWriter:
    """An OGC GeoPackage with one feature table (the layer), written in one transaction."""

    def __init__(self, layer: Layer, path: Path, system: str) -> None:
        path.unlink(missing_ok=True)
        self.layer, self.db = layer, sqlite3.connect(path)
        self.srs_id = _GPKG_SRS[system][0]
        self.bounds: list[float] | None = None
        types = {"text": "TEXT", "integer": "INTEGER", "real": "REAL"}
        cols = ", ".join(f'"{c.name}" {types[c.kind]}' for c in layer.columns)
        self.db.executescript(f"""
            PRAGMA application_id = 1196444487;  -- 'GPKG'
            PRAGMA user_version = 10300;
            CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,
                srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
                organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
                description TEXT);
            CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY,
                data_type TEXT NOT NULL, identifier TEXT UNIQUE, description TEXT DEFAULT '',
                last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
                min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
                srs_id INTEGER REFERENCES gpkg_spatial_ref_sys(srs_id));
            CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL,
                column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
                srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
                PRIMARY KEY (table_name, column_name));
            CREATE TABLE "{layer.name}" (fid INTEGER PRIMARY KEY AUTOINCREMENT,
                geom {layer.geometry_type}, {cols});
        """)
        srs: list[tuple[str, int, str, int, str, str | None]] = [
            ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
            ("Undefined geographic SRS", 0, "NONE", 0, "undefined", None)]
        srid, org, org_id = _GPKG_SRS[system]
        wkt = CRS.from_epsg(4326 if org == "NONE" else srid).to_wkt("WKT1_GDAL")
        srs.append((system, srid, org, org_id, wkt,
                    f"{system} (offset from WGS 84)" if org == "NONE" else system))
        self.db.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", srs)
        self.db.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                        "VALUES (?, 'features', ?, ?)", (layer.name, layer.title, srid))
        self.db.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
                        (layer.name, layer.geometry_type, srid))
        names = ", ".join(f'"{c.name}"' for c in layer.columns)
        marks = ", ".join("?" for _ in layer.columns)
        self.insert = f'INSERT INTO "{layer.name}" (geom, {names}) VALUES (?, {marks})'
        self.header = b"GP\x00\x01" + struct.pack("<i", srid)  # v1, little endian, no envelope
        # text and integer columns arrive as str/int from PostgreSQL; only numerics need
        # converting (Decimal -> float) in the batch path
        self.real = frozenset(i for i, c in enumerate(layer.columns) if c.kind == "real")

    def write(self, values: tuple[Any, ...], geometry: BaseGeometry | None) -> None:
        blob = None
        if geometry is not None and not geometry.is_empty:
            blob = self.header + shapely.to_wkb(geometry, byte_order=1)
            x0, y0, x1, y1 = geometry.bounds
            b = self.bounds
            self.bounds = [x0, y0, x1, y1] if b is None else [
                min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)]
        self.db.execute(self.insert, (blob, *(plain_value(v) for v in values)))

    def write_many(self, rows: Sequence[tuple[Any, ...]],
                   geometries: Sequence[BaseGeometry | None]) -> None:
        """A batch: one vectorised WKB conversion and envelope, one ``executemany``."""
        shapes = np.asarray(geometries, dtype=object)
        empty = shapely.is_missing(shapes) | shapely.is_empty(shapes)
        shapes[empty] = None
        wkbs = shapely.to_wkb(shapes, byte_order=1)
        if not empty.all():
            x0, y0, x1, y1 = shapely.total_bounds(shapes)
            b = self.bounds
            self.bounds = [x0, y0, x1, y1] if b is None else [
                min(b[0], x0), min(b[1], y0), max(b[2], x1), max(b[3], y1)]
        header, real = self.header, self.real
        self.db.executemany(self.insert, (
            (None if wkb is None else header + wkb,
             *(plain_value(v) if i in real else v for i, v in enumerate(values)))
            for values, wkb in zip(rows, wkbs, strict=True)))

    def close(self) -> None:
        if self.bounds:
            self.db.execute("UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, "
                            "max_y = ?", self.bounds)
        self.db.commit()
        self.db.close()


_WRITERS: dict[str, type[Any]] = {"geojson": GeoJsonWriter, "csv": CsvWriter,
                                   "xlsx": XlsxWriter, "gpkg": GpkgWriter}


def open_writer(fmt: str, layer: Layer, path: Path, system: str) -> Writer:
    if fmt not in _WRITERS:
        raise InvalidInput(_("unknown export format {fmt!r}; one of {formats}", fmt=fmt,
                             formats=', '.join(FORMATS)))
    writer: Writer = _WRITERS[fmt](layer, path, system)
    return writer
