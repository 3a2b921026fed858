"""Where a model lies on Earth: the georeferencing of an IFC model, by priority.

1. ``IfcMapConversion`` + ``IfcProjectedCRS`` (IFC4, IFC4X3);
2. the IFC2X3 property sets ``ePSet_MapConversion`` + ``ePSet_ProjectedCRS`` on the
   IfcProject or IfcSite;
3. ``IfcSite.RefLatitude/RefLongitude`` at the site origin, turned by ``TrueNorth``;
4. the command-line options (``--crs EPSG:4549 --origin E,N --rotation DEG``).

``--override-georef`` puts the command line first. The chosen source is recorded with the
imported buildings. A map conversion whose ``Scale`` does not fit the unit ratio (left out
in a millimetre model, or inverted) is corrected with a warning.

Example::

    >>> georef = Georeference("cli", PlanarPlacement(4549, 500000.0, 3400000.0))
    >>> lon, lat = georef.to_storage(Point(0, 0)).coords[0]
    >>> round(lon, 4), round(lat, 4)
    (120.0, 30.7206)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from ifcopenshell.util.element import get_psets
from ifcopenshell.util.placement import get_local_placement
from ifcopenshell.util.unit import get_unit_scale
from numpy.typing import NDArray
from pyproj import Geod
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from cimhouse.crs import to_storage, transform_point
from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.ifc.structure import IfcEntity, IfcModel

#: a Scale within this factor of the unit ratio is taken as written (GK scale factors etc.)
SCALE_TOLERANCE = 2.0
#: default distance above which RefLatitude/RefLongitude "disagree" with a map conversion
DEFAULT_DISAGREEMENT_M = 500.0
GEOD = Geod(ellps="GRS80")  # CGCS2000's ellipsoid, for distances only
EPSG_PATTERN = re.compile(r"EPSG\s*:?\s*(\d{4,6})", re.IGNORECASE)


@dataclass(frozen=True)
class PlanarPlacement:
    """Model metres -> map grid: ``E = E0 + scale * (cos*dx - sin*dy)``, ``N`` likewise.

    ``dx, dy`` are model coordinates (metres) minus ``origin``; ``cos/sin`` give the model
    x axis in the grid (counter-clockwise from grid east); ``scale`` is grid units per metre.
    """

    srid: int
    eastings: float
    northings: float
    cos_theta: float = 1.0
    sin_theta: float = 0.0
    scale: float = 1.0
    origin: tuple[float, float] = (0.0, 0.0)

    def apply(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        dx = xy[:, 0] - self.origin[0]
        dy = xy[:, 1] - self.origin[1]
        east = self.eastings + self.scale * (self.cos_theta * dx - self.sin_theta * dy)
        north = self.northings + self.scale * (self.sin_theta * dx + self.cos_theta * dy)
        return np.column_stack([east, north])

    @property
    def rotation_deg(self) -> float:
        return math.degrees(math.atan2(self.sin_theta, self.cos_theta))


@dataclass
class Georeference:
    """The georeferencing chosen for a model, its source and what looked wrong."""

    source: str  # ifc_map_conversion | epset_map_conversion | site_ref_latlon | cli | none
    placement: PlanarPlacement | None
    warnings: list[str] = field(default_factory=list)
    ref_lonlat: tuple[float, float] | None = None
    disagreement_m: float | None = None
    latlon_disagrees: bool = False

    def to_storage(self, geom: BaseGeometry) -> BaseGeometry:
        """Model-metre geometry -> CGCS2000 lon/lat (EPSG:4490)."""
        if self.placement is None:
            raise ValueError("model is not georeferenced")
        placement = self.placement
        grid = shapely.transform(geom, placement.apply)
        return to_storage(grid, placement.srid)

    def as_dict(self) -> dict[str, Any]:
        placement = self.placement
        return {
            "source": self.source,
            "srid": placement.srid if placement else None,
            "eastings": placement.eastings if placement else None,
            "northings": placement.northings if placement else None,
            "rotation_deg": round(placement.rotation_deg, 6) if placement else None,
            "scale": placement.scale if placement else None,
            "ref_lonlat": list(self.ref_lonlat) if self.ref_lonlat else None,
            "disagreement_m": (round(self.disagreement_m, 1)
                               if self.disagreement_m is not None else None),
            "latlon_disagrees": self.latlon_disagrees,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class CliGeoref:
    """``--crs EPSG:4549 --origin E,N --rotation DEG``: model (0,0) sits at (E,N)."""

    srid: int
    eastings: float
    northings: float
    rotation_deg: float = 0.0

    @classmethod
    def parse(cls, crs: str | None, origin: str | None, rotation: float | None
              ) -> CliGeoref | None:
        if crs is None and origin is None and rotation is None:
            return None
        if crs is None or origin is None:
            raise InvalidInput(_("--crs and --origin go together, e.g. --crs EPSG:4549 --origin "
                                 "571815.2,3403498.7"))
        srid = parse_epsg(crs)
        if srid is None:
            raise InvalidInput(_("--crs {crs!r}: expected EPSG:<code>, e.g. EPSG:4549", crs=crs))
        parts = origin.replace(" ", "").split(",")
        try:
            east, north = (float(p) for p in parts)
        except ValueError:
            raise InvalidInput(_("--origin {origin!r}: expected E,N in metres of {crs}, e.g. "
                                 "571815.2,3403498.7", origin=origin, crs=crs)) from None
        return cls(srid, east, north, rotation or 0.0)

    def placement(self) -> PlanarPlacement:
        angle = math.radians(self.rotation_deg)
        return PlanarPlacement(self.srid, self.eastings, self.northings,
                               math.cos(angle), math.sin(angle))


def parse_epsg(name: str | None) -> int | None:
    match = EPSG_PATTERN.search(name or "")
    return int(match.group(1)) if match else None


def compound_to_degrees(value: Any) -> float | None:
    """IfcCompoundPlaneAngleMeasure (deg, min, sec[, millionths]) -> decimal degrees."""
    if not value:
        return None
    parts = [float(v) for v in value] + [0.0] * (4 - len(value))
    return parts[0] + parts[1] / 60 + parts[2] / 3600 + parts[3] / 3.6e9


def metric_grid_srid(lon: float, lat: float) -> int:
    """CGCS2000 3-degree Gauss-Kruger zone in China's longitudes, else the WGS 84 UTM zone."""
    if 73.5 <= lon < 136.5:
        return 4534 + (round(lon / 3) * 3 - 75) // 3
    zone = min(int((lon + 180) // 6) + 1, 60)
    return (32600 if lat >= 0 else 32700) + zone


def _model_context(model: IfcModel) -> IfcEntity | None:
    for context in model.by_type("IfcGeometricRepresentationContext", include_subtypes=False):
        if context.ContextType == "Model":
            return context
    contexts = model.by_type("IfcGeometricRepresentationContext", include_subtypes=False)
    return contexts[0] if contexts else None


def _map_unit_metres(unit: IfcEntity | str | None) -> float:
    if unit is None:
        return 1.0
    if isinstance(unit, str):
        return {"FOOT": 0.3048, "US_SURVEY_FOOT": 1200 / 3937, "MILLIMETRE": 0.001}.get(
            unit.upper().replace(" ", "_"), 1.0)
    return float(get_unit_scale(unit))


def _checked_scale(given: float | None, length_scale: float, map_unit_m: float,
                   warnings: list[str]) -> float:
    """Grid units per model metre, repairing a Scale that contradicts the unit ratio."""
    expected = length_scale / map_unit_m  # grid units per project unit
    written = 1.0 if given is None else float(given)
    if written > 0 and 1 / SCALE_TOLERANCE < written / expected < SCALE_TOLERANCE:
        return written / length_scale
    warnings.append(
        f"map conversion Scale {'omitted (1.0)' if given is None else written} does not fit "
        f"the unit ratio {expected:g} (project unit {length_scale:g} m, map unit "
        f"{map_unit_m:g} m); used {expected:g}")
    return expected / length_scale


def _ifc4_map_conversion(model: IfcModel, length_scale: float, warnings: list[str]
                         ) -> PlanarPlacement | None:
    if model.schema == "IFC2X3":
        return None
    conversions = model.by_type("IfcMapConversion")
    if not conversions:
        return None
    context = _model_context(model)
    chosen = next((c for c in conversions if c.SourceCRS == context), conversions[0])
    target = chosen.TargetCRS
    srid = parse_epsg(target.Name) or parse_epsg(getattr(target, "Description", None))
    if srid is None:
        raise InvalidInput(_("IfcProjectedCRS {name!r} names no EPSG code; pass --crs EPSG:xxxx "
                             "--origin E,N --override-georef", name=target.Name))
    scale = _checked_scale(getattr(chosen, "Scale", None), length_scale,
                           _map_unit_metres(getattr(target, "MapUnit", None)), warnings)
    return _placement(srid, chosen.Eastings, chosen.Northings, chosen.XAxisAbscissa,
                      chosen.XAxisOrdinate, scale)


def _epset_map_conversion(model: IfcModel, length_scale: float, warnings: list[str]
                          ) -> PlanarPlacement | None:
    holders = [*model.by_type("IfcProject"), *model.by_type("IfcSite")]
    for holder in holders:
        psets = get_psets(holder)
        conversion = psets.get("ePSet_MapConversion")
        if not conversion:
            continue
        crs = psets.get("ePSet_ProjectedCRS", {})
        srid = parse_epsg(str(crs.get("Name", "")))
        if srid is None:
            raise InvalidInput(_("ePSet_ProjectedCRS.Name names no EPSG code; pass --crs "
                                 "EPSG:xxxx --origin E,N --override-georef"))
        map_unit = crs.get("MapUnit")
        scale = _checked_scale(conversion.get("Scale"), length_scale,
                               _map_unit_metres(map_unit if isinstance(map_unit, str)
                                                else None), warnings)
        return _placement(srid, conversion.get("Eastings", 0.0),
                          conversion.get("Northings", 0.0),
                          conversion.get("XAxisAbscissa"), conversion.get("XAxisOrdinate"),
                          scale)
    return None


def _placement(srid: int, east: Any, north: Any, abscissa: Any, ordinate: Any,
               scale: float) -> PlanarPlacement:
    a = 1.0 if abscissa is None else float(abscissa)
    b = 0.0 if ordinate is None else float(ordinate)
    norm = math.hypot(a, b) or 1.0
    return PlanarPlacement(srid, float(east or 0.0), float(north or 0.0), a / norm, b / norm,
                           scale)


def _site_origin(site: IfcEntity | None, length_scale: float) -> tuple[float, float]:
    if site is None or site.ObjectPlacement is None:
        return 0.0, 0.0
    matrix = get_local_placement(site.ObjectPlacement)
    return float(matrix[0][3]) * length_scale, float(matrix[1][3]) * length_scale


def _latlon_placement(model: IfcModel, site: IfcEntity, length_scale: float
                      ) -> tuple[PlanarPlacement, tuple[float, float]] | None:
    lat = compound_to_degrees(site.RefLatitude)
    lon = compound_to_degrees(site.RefLongitude)
    if lat is None or lon is None:
        return None
    srid = metric_grid_srid(lon, lat)
    east, north = transform_point(lon, lat, 4326, srid)
    # grid direction of true north at the site (includes the meridian convergence)
    east_n, north_n = transform_point(lon, lat + 0.001, 4326, srid)
    grid_north = math.atan2(north_n - north, east_n - east)
    context = _model_context(model)
    true_north = getattr(context, "TrueNorth", None) if context else None
    ratios = list(true_north.DirectionRatios) if true_north else [0.0, 1.0]
    model_north = math.atan2(float(ratios[1]), float(ratios[0]))
    theta = grid_north - model_north
    placement = PlanarPlacement(srid, east, north, math.cos(theta), math.sin(theta), 1.0,
                                _site_origin(site, length_scale))
    return placement, (lon, lat)


def resolve_georeference(model: IfcModel, length_scale: float, *, cli: CliGeoref | None = None,
                         override: bool = False,
                         tolerance_m: float = DEFAULT_DISAGREEMENT_M) -> Georeference:
    """Pick the georeferencing of ``model`` (project length unit = ``length_scale`` metres)."""
    warnings: list[str] = []
    sites = model.by_type("IfcSite")
    site = sites[0] if sites else None
    latlon = _latlon_placement(model, site, length_scale) if site is not None else None

    if override and cli is not None:
        georef = Georeference("cli", cli.placement(), warnings)
    elif (placement := _ifc4_map_conversion(model, length_scale, warnings)) is not None:
        georef = Georeference("ifc_map_conversion", placement, warnings)
    elif (placement := _epset_map_conversion(model, length_scale, warnings)) is not None:
        georef = Georeference("epset_map_conversion", placement, warnings)
    elif latlon is not None:
        georef = Georeference("site_ref_latlon", latlon[0], warnings)
    elif cli is not None:
        georef = Georeference("cli", cli.placement(), warnings)
    else:
        warnings.append("model is not georeferenced: no map conversion, no site latitude/"
                        "longitude, no --crs/--origin; footprints are not stored")
        georef = Georeference("none", None, warnings)

    if cli is not None and georef.source != "cli":
        warnings.append(f"--crs/--origin ignored: the file's georeferencing "
                        f"({georef.source}) comes first; pass --override-georef to use them")
    if latlon is not None:
        georef.ref_lonlat = latlon[1]
        if georef.source not in ("site_ref_latlon",) and site is not None:
            _compare_latlon(georef, _site_origin(site, length_scale), tolerance_m)
    if georef.placement is not None:
        _warn_outside_china(georef)
    return georef


def _compare_latlon(georef: Georeference, site_origin: tuple[float, float],
                    tolerance_m: float) -> None:
    """Geodesic distance between the site origin as placed by ``georef`` and its lat/lon."""
    assert georef.placement is not None
    assert georef.ref_lonlat is not None
    lon, lat = georef.to_storage(Point(site_origin)).coords[0]
    _, _, distance = GEOD.inv(lon, lat, georef.ref_lonlat[0], georef.ref_lonlat[1])
    georef.disagreement_m = float(distance)
    if georef.disagreement_m > tolerance_m:
        georef.latlon_disagrees = True
        georef.warnings.append(
            f"IfcSite RefLatitude/RefLongitude ({georef.ref_lonlat[1]:.6f}, "
            f"{georef.ref_lonlat[0]:.6f}) lies {georef.disagreement_m:,.0f} m from where the "
            f"{georef.source} puts the site (threshold {tolerance_m:,.0f} m)")


def _warn_outside_china(georef: Georeference) -> None:
    lon, lat = georef.to_storage(Point(0.0, 0.0)).coords[0]
    if not (73.0 <= lon <= 136.0 and 3.0 <= lat <= 54.0):
        georef.warnings.append(f"the model origin lies outside China ({lat:.5f}, {lon:.5f}); "
                               "check the georeferencing or pass --override-georef")
