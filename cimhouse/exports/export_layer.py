"""Export one layer of one scope to a file, streaming (a county never sits in memory).

The SELECT carries the scope (:func:`cimhouse.scope.scope_filter`); rows come from a
server-side cursor in batches of :data:`BATCH` (CSV: streamed by ``COPY ... TO STDOUT``,
:mod:`cimhouse.exports.copy_csv`); geometries are converted from storage CRS by
:func:`cimhouse.crs.geometry_from_storage`. The ``gaps`` layer is computed for the scope by
:func:`cimhouse.exports.gap_features.read_gap_features` (a list per community or county, not
streamed; ``metric_srid`` is the CRS its distances are measured in).

Example::

    >>> export_layer(session, scope=parse_scope("330402"), layer="houses", fmt="gpkg",
    ...              path=Path("nanhu-houses.gpkg"), crs="WGS84")
    ExportResult(layer='houses', rows=5481, path=PosixPath('nanhu-houses.gpkg'))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy.orm import Session

from cimhouse.crs import geometry_from_storage, normalize_coordinate_system
from cimhouse.errors import InvalidInput
from cimhouse.exports.copy_csv import copy_csv, copy_csv_supported
from cimhouse.exports.gap_features import read_gap_features
from cimhouse.exports.layers import LAYERS
from cimhouse.exports.writers import Writer, open_writer
from cimhouse.i18n import _
from cimhouse.scope import Scope
from cimhouse.settings import DEFAULT_METRIC_SRID

BATCH = 2000


@dataclass
class ExportResult:
    layer: str
    rows: int
    path: Path


def _batches(session: Session, scope: Scope | None, layer: str, metric_srid: int
             ) -> Iterator[Sequence[Any]]:
    if LAYERS[layer].computed:
        rows = read_gap_features(session, scope, metric_srid=metric_srid)
        for start in range(0, len(rows), BATCH):
            yield rows[start:start + BATCH]
        return
    # Core rows through a server-side cursor (no ORM row processing: the layer is plain
    # columns), BATCH rows per round trip
    result = session.connection().execution_options(yield_per=BATCH).execute(
        LAYERS[layer].select(scope))
    yield from result.partitions()


def export_layer(session: Session, *, scope: Scope | None, layer: str, fmt: str, path: Path,
                 crs: str = "CGCS2000", metric_srid: int = DEFAULT_METRIC_SRID
                 ) -> ExportResult:
    if layer not in LAYERS:
        raise InvalidInput(_("unknown layer {layer!r}; one of {layers}", layer=layer,
                             layers=', '.join(LAYERS)))
    try:
        system = normalize_coordinate_system(crs)
    except ValueError:
        raise InvalidInput(_("unknown coordinate system {name!r}", name=crs)) from None
    spec = LAYERS[layer]
    if fmt == "csv" and copy_csv_supported(spec, system):  # PostgreSQL formats the rows
        return ExportResult(layer, copy_csv(session, spec, scope, path, system), path)
    writer = open_writer(fmt, spec, path, system)
    try:
        rows = write_rows(session, scope, layer, writer, system, metric_srid)
    finally:
        writer.close()
    return ExportResult(layer, rows, path)


def write_rows(session: Session, scope: Scope | None, layer: str, writer: Writer, system: str,
               metric_srid: int = DEFAULT_METRIC_SRID) -> int:
    """The layer's rows through ``writer`` (geometries converted in Python); the row count."""
    rows = 0
    for batch in _batches(session, scope, layer, metric_srid):
        # one vectorised WKB parse per batch (shapely/GEOS), not one call per row
        shapes = shapely.from_wkb([None if r[-1] is None else bytes(r[-1]) for r in batch])
        if system != "CGCS2000":
            shapes = [None if g is None else geometry_from_storage(g, system)
                      for g in shapes]
        writer.write_many([tuple(row[:-1]) for row in batch], list(shapes))
        rows += len(batch)
    return rows
