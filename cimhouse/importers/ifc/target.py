"""Where the imported objects belong: their estate, community (region_code) and county.

- ``--estate CODE``: an existing estate, by its 25-character house code;
- ``--community CODE``: a current 12-digit community; the estate named ``--estate-name``
  (default: the IfcSite name, else the IfcProject name, else the file name) in it is
  reused, or created when there is none;
- neither: a re-import finds the estate and community of the buildings imported before.

Example::

    target, info = resolve_target(session, community="330402007024", model_name="Block 7",
                                  building_ids=["2O2Fr$t4X7Zf8NOew3FLOH"],
                                  source="ifc:block7.ifc", actor="alice")
    target.county, info["created"]                 # ('330402', True)
"""

from __future__ import annotations

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput, NotFound
from cimhouse.i18n import _
from cimhouse.importers.ifc.persist import ImportTarget
from cimhouse.schema import Building, ChangeLog, Estate, Region
from cimhouse.schema.vocab import EstateKind, RegionLevel


def _current_community(session: Session, code: str) -> Region:
    region = session.get(Region, code)
    if region is None or region.level != RegionLevel.COMMUNITY:
        raise NotFound(_("community {code} does not exist (expected a 12-digit community or "
                         "village code from the region table)", code=code))
    if region.valid_to is not None:
        raise InvalidInput(_("community {code} ({region}) was closed on {valid_to}; use its "
                             "successor", code=code, region=region.name, valid_to=region.valid_to))
    return region


def resolve_target(session: Session, *, estate_code: str | None = None,
                   community: str | None = None, estate_name: str | None = None,
                   model_name: str, building_ids: list[str], source: str,
                   actor: str) -> tuple[ImportTarget, dict[str, object]]:
    """Return the target and a description of it (estate id/name, whether it was created)."""
    if estate_code and community:
        raise InvalidInput(_("give --estate or --community, not both"))
    if estate_code:
        estate = session.scalars(select(Estate).where(Estate.code == estate_code)).first()
        if estate is None:
            raise NotFound(_("estate {estate_code} does not exist", estate_code=estate_code))
        _current_community(session, estate.region_code)
        return _target(estate, created=False)
    if community:
        if not (len(community) == 12 and community.isdigit()):
            raise InvalidInput(_("--community {community!r}: expected a 12-digit community code",
                                 community=community))
        region = _current_community(session, community)
        name = (estate_name or model_name).strip()
        estate = session.scalars(select(Estate).where(
            Estate.county == community[:6], Estate.region_code == community,
            or_(Estate.name == name, literal(name) == func.any(Estate.aliases)),
        ).order_by(Estate.id)).first()
        if estate is not None:
            return _target(estate, created=False)
        estate = Estate(county=community[:6], name=name, region_code=region.code,
                        kind=EstateKind.COMMODITY.value, source=source)
        session.add(estate)
        session.flush()
        session.add(ChangeLog(county=estate.county, object_kind="estate",
                              object_id=str(estate.id), operation="insert", actor=actor,
                              source=source, previous=None,
                              current={"name": name, "region_code": region.code}))
        return _target(estate, created=True)
    known = session.execute(select(Building.county, Building.estate_id, Building.region_code,
                                   func.count()).where(Building.ifc_global_id.in_(building_ids))
                            .group_by(Building.county, Building.estate_id,
                                      Building.region_code)).all()
    if len(known) == 1:
        county, estate_id, region_code, _count = known[0]
        estate = session.get(Estate, (county, estate_id)) if estate_id is not None else None
        if estate is not None:
            return _target(estate, created=False)
        return ImportTarget(county, region_code, None), {"estate_id": None, "created": False,
                                                         "region_code": region_code}
    raise InvalidInput(_("where do these buildings belong? pass --estate CODE (an existing "
                         "estate) or --community CODE (a 12-digit community; its estate is found "
                         "by name or created)"))


def _target(estate: Estate, *, created: bool) -> tuple[ImportTarget, dict[str, object]]:
    return (ImportTarget(estate.county, estate.region_code, estate.id),
            {"estate_id": estate.id, "estate_name": estate.name, "estate_code": estate.code,
             "county": estate.county, "region_code": estate.region_code, "created": created})
