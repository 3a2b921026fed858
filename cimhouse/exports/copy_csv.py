"""CSV export streamed by PostgreSQL itself: ``COPY (the layer's SELECT) TO STDOUT (FORMAT csv)``.

The CSV writer of :mod:`cimhouse.exports.writers` turned every row into Python objects, parsed
its WKB with shapely, wrote it back as WKT and formatted the line: eight times the bare COPY
of the same SELECT at 1,000,000 houses (docs/performance.md, "Exports"). Here the server
formats the rows (WKT by ``ST_AsText``, reals as ``double precision`` so they print like
Python floats) and the blocks go to the file as they arrive; Python only writes the BOM and
the header. The SELECT is the layer's own, so the scope filter stays in SQL; no layer holds
personal data (persons are not a layer), so there is nothing to mask.

It covers the systems PostGIS can express: CGCS2000 (storage, no transform) and WGS 84
(``ST_Transform(..., 4326)``, the same PROJ operation as :func:`cimhouse.crs.transform_geometry`).
GCJ-02 and BD-09 are offsets computed in Python (:mod:`cimhouse.crs`), and ``gaps`` is a
computed layer: those keep the row writer (:func:`copy_csv_supported` says which path).

Example::

    >>> copy_csv(session, LAYERS["houses"], parse_scope("330402"), Path("h.csv"), "WGS84")
    5481
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from sqlalchemy import Float, cast, func
from sqlalchemy.orm import Session

from cimhouse.db.bulk import driver_connection
from cimhouse.exports.layers import Layer
from cimhouse.scope import Scope

#: the output systems PostGIS transforms to (the others are offsets computed in Python)
_SRID = {"CGCS2000": None, "WGS84": 4326}
#: decimals of the WKT coordinates, as shapely's ``to_wkt`` wrote them (1e-6 degree, ~0.1 m)
WKT_DIGITS = 6


def copy_csv_supported(layer: Layer, system: str) -> bool:
    """Whether ``layer`` in ``system`` can be exported by :func:`copy_csv`."""
    return not layer.computed and system in _SRID


def _wkt(system: str) -> Any:
    srid = _SRID[system]
    if srid is None:
        return lambda geom: func.ST_AsText(geom, WKT_DIGITS)
    return lambda geom: func.ST_AsText(func.ST_Transform(geom, srid), WKT_DIGITS)


def copy_csv(session: Session, layer: Layer, scope: Scope | None, path: Path,
             system: str) -> int:
    """Write ``layer`` in ``scope`` to ``path`` (UTF-8 with BOM, field names as header,
    geometry as ``wkt``); returns the number of rows."""
    query = layer.select(scope, geometry=_wkt(system))
    columns = list(query.selected_columns)
    columns[:len(layer.columns)] = [
        cast(col, Float).label(spec.name) if spec.kind == "real" else col
        for col, spec in zip(columns, layer.columns, strict=False)]
    query = query.with_only_columns(*columns, maintain_column_froms=True)
    bind = session.get_bind()
    # expanding IN (county keys) rendered as single parameters: COPY binds them client-side
    compiled = query.compile(dialect=bind.dialect, compile_kwargs={"render_postcompile": True})
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([c.name for c in layer.columns] + ["wkt"])
    conn = driver_connection(session)
    with path.open("wb") as out, conn.cursor() as cur:
        out.write(header.getvalue().encode("utf-8-sig"))  # the BOM, then the header
        with cur.copy(f"COPY ({compiled}) TO STDOUT (FORMAT csv)", compiled.params) as copy:
            for block in copy:
                out.write(block)
        return max(cur.rowcount, 0)
