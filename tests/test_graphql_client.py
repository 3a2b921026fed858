"""A real client: the ``gql`` library runs the documented example queries (read from
docs/graphql.md, so they cannot drift) over HTTP against uvicorn on a loopback port."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.requests import RequestsHTTPTransport
from test_graphql_world import ApiWorld, api_world

from cimhouse.api.app import create_app
from cimhouse.coding.house_code import display
from cimhouse.crs import wgs84_to_gcj02
from cimhouse.db import EmbeddedCluster
from cimhouse.settings import Settings

DOC = Path(__file__).resolve().parent.parent / "docs" / "graphql.md"
EXAMPLE = re.compile(r"```graphql\n# example: (?P<name>[\w-]+)\n(?P<query>.*?)```"
                     r"(?:\n```json\n(?P<variables>.*?)```)?", re.S)


def documented_examples() -> dict[str, tuple[str, dict[str, Any]]]:
    found = {m["name"]: (m["query"], json.loads(m["variables"]) if m["variables"] else {})
             for m in EXAMPLE.finditer(DOC.read_text(encoding="utf-8"))}
    assert len(found) >= 10, "docs/graphql.md lost its examples"
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def served(pg_cluster: EmbeddedCluster, template_db: str,
           test_settings: Settings) -> Iterator[tuple[str, ApiWorld]]:
    with api_world(pg_cluster, template_db, test_settings) as built:
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(test_settings, engine=built.engine),
                                               host="127.0.0.1", port=port,
                                               log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}/graphql", built
        finally:
            server.should_exit = True
            thread.join(timeout=10)


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
            "text": "测式小区0-1 1-101"}  # 测试小区0-1 1幢101室 with a typo


def client_for(url: str, token: str) -> Client:
    transport = RequestsHTTPTransport(url=url, headers={"Authorization": f"Bearer {token}"},
                                      timeout=30)
    return Client(transport=transport, fetch_schema_from_transport=False)


def truthy_leaf(value: Any) -> bool:
    if isinstance(value, dict):
        return any(truthy_leaf(v) for v in value.values())
    if isinstance(value, list):
        return any(truthy_leaf(v) for v in value)
    return bool(value)


@pytest.mark.parametrize("name", sorted(documented_examples()))
def test_documented_example_runs(name: str, served: tuple[str, ApiWorld]) -> None:
    url, built = served
    query, shown = documented_examples()[name]
    values = world_values(built)
    variables = {key: values[key] for key in shown} if shown else {}
    request = gql(query)
    request.variable_values = variables
    result = client_for(url, built.tokens["province"]).execute(request)
    assert truthy_leaf(result), (name, result)
    assert "Error" not in json.dumps(result), (name, result)


def test_bad_token_and_masking_over_http(served: tuple[str, ApiWorld]) -> None:
    url, built = served
    query, _ = documented_examples()["person-houses"]
    values = world_values(built)
    request = gql(query)
    request.variable_values = {"idNumber": values["idNumber"]}
    masked = client_for(url, built.tokens["county"]).execute(request)
    assert masked["person"]["idNumber"] != values["idNumber"]
    assert "********" in masked["person"]["idNumber"]
    with pytest.raises(TransportQueryError) as failure:
        client_for(url, "cimh_wrong").execute(gql("{ jobs { totalCount } }"))
    assert "UNAUTHENTICATED" in str(failure.value)
