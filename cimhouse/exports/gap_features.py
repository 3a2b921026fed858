"""The ``gaps`` layer: service gaps (补短板) as point features, for exports, OGC API and tiles.

A feature is one estate lacking one facility category within its walking radius, exactly as
:func:`cimhouse.services.gaps.find_gaps` finds it (the one definition; docs/services.md):
the gap computation reads only the scope (its SQL carries the scope predicate), and a
nearest facility outside the scope is not named, only its distance given. The point is the
one the distance was measured from (:func:`cimhouse.services.sql.estate_points_sql`: a point
on the estate's boundary, else the centroid of its buildings), read by a second scoped
statement; ``box`` (EPSG:4490) keeps the features whose point lies inside it (bbox, tiles).
The tiles pass a :class:`~cimhouse.exports.gap_cache.GapCache`: the located gaps of a scope
are computed once per data version, not once per tile.

Gaps are computed for today (the facilities in use now), so there is no ``datetime``.
Features are ranked like ``find_gaps``: most people affected first.

Example::

    >>> rows = read_gap_features(session, parse_scope("330402"), metric_srid=4549)
    >>> rows[0][:5]
    ('3304020010010010000000001-elderly_care', '3304020010010010000000001', '梅湾小区',
     '330402001001', 'elderly_care')
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from cimhouse.exports.gap_cache import GapCache
from cimhouse.schema.vocab import FacilityCategory, vocab_label
from cimhouse.scope import Scope
from cimhouse.services.gaps import EstateGap, find_gaps
from cimhouse.services.sql import estate_points_sql

Box = tuple[float, float, float, float]


def gap_id(estate_code: str, category: str) -> str:
    """A gap's feature id: ``<estate code>-<category>`` (unique: one gap per pair).

    >>> gap_id("3304020010010010000000001", "childcare")
    '3304020010010010000000001-childcare'
    """
    return f"{estate_code}-{category}"


Located = tuple[EstateGap, float, float, bytes]  # the gap, its point's lon, lat and WKB


def _points(session: Session, scope: Scope | None, codes: list[str], metric_srid: int
            ) -> dict[str, tuple[float, float, bytes]]:
    """Estate code -> (lon, lat, WKB point, EPSG:4490) of the estates of ``codes`` in ``scope``."""
    rows = session.execute(text(
        f"SELECT s.code, ST_X(s.pt), ST_Y(s.pt), ST_AsBinary(s.pt) "
        f"FROM ({estate_points_sql(scope)}) s "
        f"WHERE s.code = ANY(:codes) AND s.pt IS NOT NULL"),
        {"codes": codes, "metric_srid": metric_srid})
    return {code: (lon, lat, bytes(wkb)) for code, lon, lat, wkb in rows}


def locate_gaps(session: Session, scope: Scope | None, *, metric_srid: int) -> list[Located]:
    """Every gap of ``scope`` with its point (language-neutral: what :class:`GapCache` keeps)."""
    gaps = find_gaps(session, scope, metric_srid=metric_srid, visible=scope)
    codes = sorted({g.estate_code for g in gaps.estates if g.estate_code})
    points = _points(session, scope, codes, metric_srid) if codes else {}
    return [(g, *points[g.estate_code]) for g in gaps.estates
            if g.estate_code and g.estate_code in points]


def read_gap_features(session: Session, scope: Scope | None, *, metric_srid: int,
                      box: Box | None = None, cache: GapCache | None = None
                      ) -> list[tuple[Any, ...]]:
    """The gaps of ``scope`` as rows: the values of ``LAYERS["gaps"]``' columns, then WKB.

    ``box`` (EPSG:4490) keeps the gaps whose point lies in it; ``cache`` (the tiles') keeps
    the located gaps per scope and data version (:mod:`cimhouse.exports.gap_cache`)."""
    def compute() -> list[Located]:
        return locate_gaps(session, scope, metric_srid=metric_srid)

    located = (compute() if cache is None
               else cache.rows(session, scope, metric_srid=metric_srid, compute=compute))
    return [(gap_id(g.estate_code, g.category), g.estate_code, g.estate_name, g.region_code,
             g.category, vocab_label(FacilityCategory, g.category), g.radius_m,
             g.nearest_facility, g.distance_m, g.affected_group, g.affected, wkb)
            for g, lon, lat, wkb in located if g.estate_code
            and (box is None or (box[0] <= lon <= box[2] and box[1] <= lat <= box[3]))]
