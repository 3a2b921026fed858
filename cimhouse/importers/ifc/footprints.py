"""Footprints from the model geometry, computed in a child process under a time limit.

Definition (see docs/ifc-import.md):

- a **space polygon** is the vertical projection of the space's body (every non-vertical
  triangle of its mesh, united);
- a **building footprint** is the projection of its walls, curtain walls and columns together
  with its spaces, inner voids under :data:`HOLE_FILL_M2` closed (stair wells, shafts).
  Roofs, slabs (terraces, eaves), railings, furniture and openings do not count; a building
  without walls and spaces falls back to its floor and base slabs.

Geometry comes from ``ifcopenshell.geom`` in world coordinates (metres) with opening
subtraction off: openings are vertical and do not change a projection, and subtracting them
costs most of the meshing time. The child is forked, so a pathological model that makes the
kernel hang is killed after ``timeout_s`` instead of hanging the import.

Example::

    result = compute_footprints(model, structure, timeout_s=120)
    result.buildings["0cVTYHAI3nGeTXA2X4Gxyo"].footprint   # shapely Polygon in model metres
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import ifcopenshell
import ifcopenshell.geom
import numpy as np
import shapely
from shapely.geometry import Polygon
from shapely.geometry.base import BaseGeometry

from cimhouse.errors import InvalidInput
from cimhouse.i18n import _
from cimhouse.importers.ifc.structure import IfcModel, ModelStructure

OUTLINE_TYPES = ("IfcWall", "IfcCurtainWall", "IfcColumn")
SLAB_TYPES = ("IfcSlab",)
#: inner voids of a footprint smaller than this (m²) are closed: stair wells, shafts, gaps
HOLE_FILL_M2 = 50.0
#: below this many elements the geometry kernel runs on one thread
PARALLEL_FROM = 300
#: triangles whose projection is smaller than this (m²) are vertical faces: dropped
MIN_TRIANGLE_M2 = 1e-7


@dataclass
class SpaceShape:
    polygon: BaseGeometry
    area_m2: float


@dataclass
class BuildingShape:
    footprint: BaseGeometry | None
    top_z_m: float | None


@dataclass
class FootprintResult:
    spaces: dict[str, SpaceShape] = field(default_factory=dict)
    buildings: dict[str, BuildingShape] = field(default_factory=dict)
    meshed: int = 0
    failed: int = 0  # elements the geometry kernel could not mesh
    seconds: float = 0.0


def default_threads(elements: int) -> int:
    """Kernel threads for ``elements`` to mesh: one for small models (thread start-up costs
    more than it saves below a few hundred elements), else up to 8 cores."""
    if elements < PARALLEL_FROM:
        return 1
    return max(1, min(os.cpu_count() or 1, 8))


def geometry_settings() -> Any:
    """The settings of the footprint step (the benchmark iterates with the same ones)."""
    geom: Any = ifcopenshell.geom
    settings = geom.settings()
    settings.set("use-world-coords", True)
    settings.set("disable-opening-subtractions", True)
    return settings


def geometry_elements(model: IfcModel, structure: ModelStructure
                      ) -> dict[int, tuple[str, str]]:
    """STEP id -> (building GlobalId, role) of every element the footprint step meshes."""
    roles: dict[int, tuple[str, str]] = {}
    for building in structure.buildings:
        for space in building.spaces:
            entity = model.by_guid(space.global_id)
            if entity.Representation is not None:
                roles[entity.id()] = (building.global_id, "space")
        for step_id in building.element_ids:
            element = model.by_id(step_id)
            if element.Representation is None:
                continue
            if any(element.is_a(t) for t in OUTLINE_TYPES):
                roles[step_id] = (building.global_id, "outline")
            elif element.is_a("IfcSlab"):
                roof = element.PredefinedType == "ROOF" or any(
                    rel.RelatingObject.is_a("IfcRoof") for rel in element.Decomposes or ())
                roles[step_id] = (building.global_id, "roof" if roof else "slab")
            elif element.is_a("IfcRoof"):
                roles[step_id] = (building.global_id, "roof")
        for step_id in list(building.element_ids):
            # slabs of an IfcRoof are aggregated into it, not contained in the storey
            element = model.by_id(step_id)
            if element.is_a("IfcRoof"):
                for rel in element.IsDecomposedBy or ():
                    for part in rel.RelatedObjects:
                        if part.Representation is not None:
                            roles[part.id()] = (building.global_id, "roof")
    return roles


def _flat_triangles(verts: Any, faces: Any) -> tuple[Any, float]:
    """The plan (x, y) of every non-vertical triangle of a mesh, and the mesh's top z."""
    points = np.asarray(verts, dtype=np.float64).reshape(-1, 3)
    if points.size == 0:
        return np.empty((0, 3, 2)), -np.inf
    triangles = points[np.asarray(faces, dtype=np.int64).reshape(-1, 3)][:, :, :2]
    edge_a = triangles[:, 1] - triangles[:, 0]
    edge_b = triangles[:, 2] - triangles[:, 0]
    area = np.abs(edge_a[:, 0] * edge_b[:, 1] - edge_a[:, 1] * edge_b[:, 0]) / 2
    return triangles[area > MIN_TRIANGLE_M2], float(points[:, 2].max())


def _union_of_triangles(triangles: Any) -> BaseGeometry | None:
    if len(triangles) == 0:
        return None
    polygons = shapely.polygons(np.concatenate([triangles, triangles[:, :1]], axis=1))
    union = shapely.union_all(polygons)
    return None if union.is_empty else union


def _close_small_holes(geom: BaseGeometry) -> BaseGeometry:
    parts = getattr(geom, "geoms", [geom])
    closed = [Polygon(p.exterior, [r for r in p.interiors if Polygon(r).area >= HOLE_FILL_M2])
              for p in parts if isinstance(p, Polygon) and not p.is_empty]
    return shapely.union_all(closed) if closed else geom


def _mesh(model: IfcModel, roles: dict[int, tuple[str, str]], threads: int
          ) -> dict[str, Any]:
    spaces: dict[str, tuple[bytes, float]] = {}
    space_shapes: dict[str, list[BaseGeometry]] = {}
    # triangles of outline elements and slabs, united once per building (not per element)
    triangles: dict[tuple[str, str], list[Any]] = {}
    tops: dict[str, float] = {}
    meshed = 0
    include = [model.by_id(step_id) for step_id in roles]
    if include:
        geom_module: Any = ifcopenshell.geom
        iterator = geom_module.iterator(geometry_settings(), model, threads, include=include)
        if iterator.initialize():
            while True:
                shape = iterator.get()
                building_id, role = roles[shape.id]
                flat, z_max = _flat_triangles(shape.geometry.verts, shape.geometry.faces)
                meshed += 1
                tops[building_id] = max(tops.get(building_id, z_max), z_max)
                if role == "space":
                    polygon = _union_of_triangles(flat)
                    if polygon is not None:
                        spaces[shape.guid] = (shapely.to_wkb(polygon), float(polygon.area))
                        space_shapes.setdefault(building_id, []).append(polygon)
                elif role in ("outline", "slab") and len(flat):
                    triangles.setdefault((building_id, role), []).append(flat)
                if not iterator.next():
                    break
    buildings: dict[str, tuple[bytes | None, float | None]] = {}
    for building_id in {b for b, _role in roles.values()}:
        outline = triangles.get((building_id, "outline"))
        pieces = list(space_shapes.get(building_id, []))
        if outline:
            pieces.append(_union_of_triangles(np.concatenate(outline)))
        if not pieces and (slabs := triangles.get((building_id, "slab"))):
            pieces.append(_union_of_triangles(np.concatenate(slabs)))
        footprint = _close_small_holes(shapely.union_all(pieces)) if pieces else None
        top = tops.get(building_id)
        buildings[building_id] = (shapely.to_wkb(footprint) if footprint else None,
                                  top if top is not None and np.isfinite(top) else None)
    return {"spaces": spaces, "buildings": buildings, "meshed": meshed,
            "failed": len(include) - meshed}


def _child(connection: Connection, model: IfcModel,
           roles: dict[int, tuple[str, str]], threads: int) -> None:
    # a collection would touch every inherited object and copy its memory page (fork COW)
    gc.disable()
    started = time.perf_counter()
    try:
        payload = _mesh(model, roles, threads)
        payload["seconds"] = time.perf_counter() - started
        connection.send(("ok", payload))
    except Exception as exc:  # report any kernel failure to the parent instead of dying
        connection.send(("error", f"{type(exc).__name__}: {exc}"))
    finally:
        connection.close()


class PendingFootprints:
    """A running geometry step: the caller works on while the child meshes, then asks for
    :meth:`result` (which enforces the time limit) or :meth:`cancel`."""

    def __init__(self, model: IfcModel, structure: ModelStructure, timeout_s: float,
                 threads: int | None) -> None:
        self.started = time.perf_counter()
        self.deadline = self.started + timeout_s
        self.timeout_s = timeout_s
        self.building_ids = [b.global_id for b in structure.buildings]
        roles = geometry_elements(model, structure)
        self.process: Any = None
        if not roles:  # nothing to mesh: no child process either
            return
        context = multiprocessing.get_context("fork")  # the child inherits the parsed model
        self.receiver, sender = context.Pipe(duplex=False)
        self.process = context.Process(
            target=_child, args=(sender, model, roles, threads or default_threads(len(roles))),
            daemon=True)
        gc.freeze()  # the parent's objects stay out of the child's collections
        try:
            self.process.start()
        finally:
            gc.unfreeze()
        sender.close()

    def _too_long(self) -> InvalidInput:
        return InvalidInput(_("the geometry step took longer than {timeout_s:g} s and was "
                              "stopped; raise --geometry-timeout or import without footprints "
                              "(--skip-geometry)", timeout_s=self.timeout_s))

    def cancel(self) -> None:
        if self.process is not None:
            self.receiver.close()
            if self.process.is_alive():
                self.process.kill()
            self.process.join()
            self.process = None

    def result(self) -> FootprintResult:
        payload: dict[str, Any] = {"spaces": {}, "buildings": {}, "meshed": 0, "failed": 0}
        if self.process is not None:
            try:
                if not self.receiver.poll(max(self.deadline - time.perf_counter(), 0.0)):
                    raise self._too_long()
                try:
                    status, payload = self.receiver.recv()
                except EOFError:
                    raise InvalidInput(_("the geometry kernel crashed on this model; import "
                                         "without footprints with --skip-geometry")) from None
            finally:
                self.cancel()
            if status != "ok":
                raise InvalidInput(_("the geometry step failed: {payload}", payload=payload))
            if payload["seconds"] > self.timeout_s:  # finished while nobody was waiting
                raise self._too_long()
        result = FootprintResult(meshed=payload["meshed"], failed=payload["failed"])
        for guid, (wkb, area) in payload["spaces"].items():
            result.spaces[guid] = SpaceShape(shapely.from_wkb(wkb), area)
        for guid, (wkb, top) in payload["buildings"].items():
            result.buildings[guid] = BuildingShape(shapely.from_wkb(wkb) if wkb else None, top)
        for building_id in self.building_ids:  # buildings with nothing to mesh
            result.buildings.setdefault(building_id, BuildingShape(None, None))
        result.seconds = time.perf_counter() - self.started
        return result


def start_footprints(model: IfcModel, structure: ModelStructure, *, timeout_s: float = 300.0,
                     threads: int | None = None) -> PendingFootprints:
    """Fork the geometry step and return at once; see :class:`PendingFootprints`."""
    return PendingFootprints(model, structure, timeout_s, threads)


def compute_footprints(model: IfcModel, structure: ModelStructure, *,
                       timeout_s: float = 300.0, threads: int | None = None
                       ) -> FootprintResult:
    """Mesh the spaces and outline elements of every building; see the module docstring."""
    return start_footprints(model, structure, timeout_s=timeout_s, threads=threads).result()
