"""The example queries of docs/graphql.md (read from the document, so tests cannot drift from
it) and real values of the GraphQL test world to run them with."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cimhouse.coding.house_code import display
from cimhouse.crs import wgs84_to_gcj02
from tests.helpers.graphql_world import ApiWorld

DOC = Path(__file__).resolve().parent.parent.parent / "docs" / "graphql.md"
EXAMPLE = re.compile(r"```graphql\n# example: (?P<name>[\w-]+)\n(?P<query>.*?)```"
                     r"(?:\n```json\n(?P<variables>.*?)```)?", re.S)


def documented_examples() -> dict[str, tuple[str, dict[str, Any]]]:
    found = {m["name"]: (m["query"], json.loads(m["variables"]) if m["variables"] else {})
             for m in EXAMPLE.finditer(DOC.read_text(encoding="utf-8"))}
    assert len(found) >= 10, "docs/graphql.md lost its examples"
    return found


def world_values(built: ApiWorld) -> dict[str, Any]:
    """Real values from the test world for the variables the examples use."""
    world = built.world
    estate = world.estates[0]
    house = next(c for c, o in world.objects.items() if o.kind == "house"
                 and o.estate_code == estate)
    pid = next(p for p, rels in world.person_houses.items() if rels[0][0] == house)
    lon, lat = wgs84_to_gcj02(120.005, 30.5)  # the first estate's centre, as a web map has it
    return {"code": display(house).lower(), "estateCode": estate, "houseCode": display(house),
            "regionCode": world.communities[0], "streetCode": world.communities[0][:9],
            "idNumber": world.id_numbers[pid],
            "scope": world.communities[0], "lon": lon, "lat": lat, "after": None,
            "text": "测式小区0-1 1-101",  # 测试小区0-1 1幢101室 with a typo
            "asOf": "2026-06-30"}
