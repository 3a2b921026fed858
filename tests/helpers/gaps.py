"""Service gaps computed independently of cimhouse.services (the oracle of the gaps layer).

Example::

    truth = expected_gaps(engine)   # {(estate code, category): residents}
"""

from __future__ import annotations

from pyproj import Transformer
from sqlalchemy import Engine, text

from cimhouse.db import session_scope
from cimhouse.services.policy import ServicePolicy

Gap = tuple[str, str]  # (estate code, category)


def expected_gaps(engine: Engine) -> dict[Gap, int]:
    """Every (estate, category) with no facility in use within the radius -> residents living
    there today (for the categories that affect everyone), computed without the services."""
    policy = ServicePolicy.default()
    to_metres = Transformer.from_crs(4490, 4549, always_xy=True)
    with session_scope(engine) as session:
        estates = session.execute(text(
            "SELECT code, ST_X(ST_PointOnSurface(boundary)), ST_Y(ST_PointOnSurface(boundary))"
            " FROM estate WHERE status IN ('in_use', 'under_construction')")).all()
        facilities = session.execute(text(
            "SELECT category, ST_X(geom), ST_Y(geom) FROM facility WHERE status = 'in_use'"
        )).all()
        residents: dict[str, int] = dict(session.execute(text(
            "SELECT e.code, count(DISTINCT ph.person_id) FROM person_house ph "
            "JOIN house h ON h.county = ph.county AND h.id = ph.house_id "
            "JOIN building b ON b.county = h.county AND b.id = h.building_id "
            "JOIN estate e ON e.county = b.county AND e.id = b.estate_id "
            "WHERE ph.relation IN ('resident', 'tenant') AND ph.valid_to IS NULL "
            "GROUP BY e.code")).all())
    out: dict[Gap, int] = {}
    for code, lon, lat in estates:
        ex, ey = to_metres.transform(lon, lat)
        for category in policy.categories:
            near = [((fx - ex) ** 2 + (fy - ey) ** 2) ** 0.5 for c, lon2, lat2 in facilities
                    if c == category for fx, fy in [to_metres.transform(lon2, lat2)]]
            if not near or min(near) > policy.radius(category):
                out[(code, category)] = residents.get(code, 0)
    return out
