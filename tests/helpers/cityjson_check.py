"""Validation of CityJSON files for the tests: cjio, the official schema, cjval's checks, solids.

``cjio FILE validate`` calls the official validator (cjval) through its Python binding
cjvalpy, which PyPI has only for macOS and Windows (no Linux wheel for Python 3.11, no source
distribution). So :func:`validate` runs it where cjvalpy imports and, everywhere, does what
cjval does for files like ours: the CityJSON 2.0 JSON schema that cjval embeds
(tests/data/cityjson, taken from cjval, MIT) with jsonschema_rs, then cjval's checks
duplicate keys, parents/children, wrong vertex index, semantics arrays, extra root
properties, duplicate and unused vertices. :func:`solid_report` checks each LoD1 solid:
closed (every edge used once in each direction), outward (positive volume) and its height.

Example::

    errors = validate(path)            # [] when valid
    report = solid_report(doc, "3304020010020010000000004")
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema_rs

SCHEMA = Path(__file__).resolve().parent.parent / "data" / "cityjson" / \
    "cityjson-2.0.min.schema.json"
ROOT = {"type", "version", "extensions", "transform", "metadata", "CityObjects", "vertices",
        "appearance", "geometry-templates"}


def cjio(path: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """``cjio FILE command...`` from the test environment's cjio (a real reader)."""
    cli = Path(sys.executable).with_name("cjio")
    return subprocess.run([str(cli), str(path), *command], capture_output=True, text=True,
                          timeout=120, check=False)


def has_cjvalpy() -> bool:
    return importlib.util.find_spec("cjvalpy") is not None


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    keys = [k for k, _v in pairs]
    duplicated = [k for k, n in Counter(keys).items() if n > 1]
    if duplicated:
        raise ValueError(f"duplicate keys {duplicated}")
    return dict(pairs)


def _indices(boundaries: Any) -> list[int]:
    if isinstance(boundaries, int):
        return [boundaries]
    return [i for b in boundaries for i in _indices(b)]


def _semantic_errors(name: str, g: dict[str, Any]) -> list[str]:
    if "semantics" not in g:
        return []
    surfaces = len(g["semantics"]["surfaces"])
    solids = [g["boundaries"]] if g["type"] == "Solid" else g["boundaries"]
    values = [g["semantics"]["values"]] if g["type"] == "Solid" else g["semantics"]["values"]
    errors = []
    if [[len(shell) for shell in s] for s in solids] != [[len(v) for v in s] for s in values]:
        errors.append(f"semantic values not the dimension of boundaries: {name}")
    if any(v is not None and not 0 <= v < surfaces for v in _indices(values)):
        errors.append(f"semantic values overflow: {name}")
    return errors


def validate(path: Path) -> list[str]:
    """Errors and warnings of ``path`` (empty: valid, no warnings)."""
    errors: list[str] = []
    if has_cjvalpy():
        done = cjio(path, "validate")
        if done.returncode != 0 or "INVALID" in done.stdout or "WARNING" in done.stdout:
            errors.append(f"cjio validate: {done.stdout}{done.stderr}")
    text = path.read_text(encoding="utf-8")
    try:
        doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except ValueError as exc:
        return [*errors, f"json: {exc}"]
    validator = jsonschema_rs.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    errors += [f"schema: {e.message} at {list(e.instance_path)}"
               for e in validator.iter_errors(doc)]
    objects: dict[str, Any] = doc.get("CityObjects", {})
    n = len(doc.get("vertices", []))
    used: set[int] = set()
    for name, obj in objects.items():
        for ref in obj.get("children", []) + obj.get("parents", []):
            if ref not in objects:
                errors.append(f"{name} refers to missing {ref}")
        for g in obj.get("geometry", []):
            indices = _indices(g["boundaries"])
            if any(not 0 <= i < n for i in indices):
                errors.append(f"wrong vertex index in {name}")
            used |= set(indices)
            errors += _semantic_errors(name, g)
    errors += [f"extra root property {k}" for k in doc if k not in ROOT and k[:1] != "+"]
    vertices = [tuple(v) for v in doc.get("vertices", [])]
    if len(set(vertices)) != len(vertices):
        errors.append(f"{len(vertices) - len(set(vertices))} duplicate vertices")
    if len(used) != n:
        errors.append(f"{n - len(used)} unused vertices")
    return errors


def _real(doc: dict[str, Any]) -> list[tuple[float, float, float]]:
    scale, move = doc["transform"]["scale"], doc["transform"]["translate"]
    return [(x * scale[0] + move[0], y * scale[1] + move[1], z * scale[2] + move[2])
            for x, y, z in doc["vertices"]]


def _shell_volume(shell: list[list[list[int]]], points: list[tuple[float, float, float]]
                  ) -> float:
    """Signed volume (divergence theorem over fan triangles of each ring; holes negative)."""
    total = 0.0
    origin = points[shell[0][0][0]]
    for surface in shell:
        for ring in surface:
            a = [tuple(p - o for p, o in zip(points[i], origin, strict=True)) for i in ring]
            for k in range(1, len(a) - 1):
                (x1, y1, z1), (x2, y2, z2), (x3, y3, z3) = a[0], a[k], a[k + 1]
                total += (x1 * (y2 * z3 - z2 * y3) - y1 * (x2 * z3 - z2 * x3)
                          + z1 * (x2 * y3 - y2 * x3)) / 6.0
    return total


def solid_report(doc: dict[str, Any], name: str) -> dict[str, Any]:
    """closed / volume / height / solids of one city object's LoD1 geometry."""
    points = _real(doc)
    geometry = doc["CityObjects"][name]["geometry"][0]
    solids = [geometry["boundaries"]] if geometry["type"] == "Solid" \
        else geometry["boundaries"]
    closed, volume, zs = True, 0.0, []
    for solid in solids:
        shell = solid[0]
        edges: Counter[tuple[int, int]] = Counter()
        for surface in shell:
            for ring in surface:
                for k, i in enumerate(ring):
                    edges[(i, ring[(k + 1) % len(ring)])] += 1
                    zs.append(points[i][2])
        closed &= all(c == 1 and edges.get((b, a)) == 1 for (a, b), c in edges.items())
        volume += _shell_volume(shell, points)
    return {"closed": closed, "volume": volume, "height": max(zs) - min(zs),
            "bottom": min(zs), "solids": len(solids), "type": geometry["type"]}
