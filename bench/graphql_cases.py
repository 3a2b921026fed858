"""The three cases of bench_graphql.py as each server asks them, and one canonical answer.

cimhouse and the floor answer in cimhouse's shape; PostGraphile 4 and 5 in theirs (both
name things the same way for this schema). ``canonical`` maps every answer to plain tuples,
so that the benchmark can check that all servers returned the same rows in the same order
before it times them.

The PostGraphile queries ask for the same rows: the estate by code, its first 5 buildings
and their first 10 houses in key order, each house's current residents (relation resident
or registered, valid today) with name and masked ID number; a house and its registry entry
by code (PostGraphile looks both up by their unique ``(county, code)``, the county being the
code's first six digits; the decoding of the code is computed, not read, so it is left
out); a community's first 50 houses in key order with the total count. PostGraphile
applies no scope (it has no notion of one): the bench data of the token's county is all
that these queries reach anyway.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

CIMHOUSE = {
    "nested": """query($e: String!) { estates(filter: {estateCode: $e}, first: 1) { edges {
  node { code buildings(first: 5) { code houses(first: 10) { code roomLabel
    residents { relation person { name idNumber } } } } } } } }""",
    "lookup": """query($c: String!) { lookup(code: $c) { code status decoding { objectKind
  county community estateNumber buildingNumber houseNumber } house { code roomLabel
  status } } }""",
    "community": """query($r: String!) { houses(filter: {regionCode: $r}, first: 50) {
  totalCount edges { node { code roomLabel status } } } }""",
}

POSTGRAPHILE = {
    "nested": """query($e: String!, $today: Date!) {
  allEstates(condition: {code: $e}, first: 1, orderBy: PRIMARY_KEY_ASC) { nodes { code
    buildingsByCountyAndEstateId(first: 5, orderBy: PRIMARY_KEY_ASC) { nodes { code
      housesByCountyAndBuildingId(first: 10, orderBy: PRIMARY_KEY_ASC) { nodes {
        code roomLabel
        personHousesByCountyAndHouseId(orderBy: PRIMARY_KEY_ASC, filter: {
            relation: {in: ["resident", "registered"]},
            and: [{or: [{validFrom: {isNull: true}}, {validFrom: {lessThanOrEqualTo: $today}}]},
                  {or: [{validTo: {isNull: true}}, {validTo: {greaterThan: $today}}]}]}) {
          nodes { relation personByPersonId { name idMasked } } } } } } } } } }""",
    "lookup": """query($county: String!, $c: String!) {
  codeRegistryByCountyAndCode(county: $county, code: $c) { code status objectKind }
  houseByCountyAndCode(county: $county, code: $c) { code roomLabel status } }""",
    "community": """query($r: String!) {
  allHouses(condition: {regionCode: $r}, first: 50, orderBy: PRIMARY_KEY_ASC) {
    totalCount nodes { code roomLabel status } } }""",
}


def hyphenated(code: str) -> str:
    """A house code as people type it, e.g. ``330402001001-001-0001-00001-X``."""
    return f"{code[:12]}-{code[12:15]}-{code[15:19]}-{code[19:24]}-{code[24]}"


def variables(server: str, case: str, arg: str) -> dict[str, Any]:
    """GraphQL variables of ``case`` for ``server`` ("cimhouse" or "postgraphile")."""
    if case == "nested":
        if server == "cimhouse":
            return {"e": arg}
        return {"e": arg, "today": dt.date.today().isoformat()}
    if case == "lookup":
        return {"c": hyphenated(arg)} if server == "cimhouse" else {"county": arg[:6], "c": arg}
    return {"r": arg}


def canonical(server: str, case: str, data: dict[str, Any]) -> Any:
    """The rows of an answer as tuples, whatever the server ("cimhouse" shape for the floor)."""
    if server == "cimhouse":
        if case == "nested":
            return [(b["code"], h["code"], h["roomLabel"], r["relation"], r["person"]["name"],
                     r["person"]["idNumber"])
                    for e in data["estates"]["edges"] for b in e["node"]["buildings"]
                    for h in b["houses"] for r in h["residents"]]
        if case == "lookup":
            found = data["lookup"]
            return (found["code"], found["status"], found["decoding"]["objectKind"],
                    found["house"]["code"], found["house"]["roomLabel"], found["house"]["status"])
        page = data["houses"]
        return (page["totalCount"], [(e["node"]["code"], e["node"]["roomLabel"],
                                      e["node"]["status"]) for e in page["edges"]])
    if case == "nested":
        return [(b["code"], h["code"], h["roomLabel"], r["relation"], r["personByPersonId"]["name"],
                 r["personByPersonId"]["idMasked"])
                for e in data["allEstates"]["nodes"]
                for b in e["buildingsByCountyAndEstateId"]["nodes"]
                for h in b["housesByCountyAndBuildingId"]["nodes"]
                for r in h["personHousesByCountyAndHouseId"]["nodes"]]
    if case == "lookup":
        reg, house = data["codeRegistryByCountyAndCode"], data["houseByCountyAndCode"]
        return (reg["code"], reg["status"], reg["objectKind"], house["code"], house["roomLabel"],
                house["status"])
    page = data["allHouses"]
    return (page["totalCount"], [(n["code"], n["roomLabel"], n["status"])
                                 for n in page["nodes"]])


def rows_in(case: str, answer: Any) -> int:
    """How many rows a canonical answer holds (the benchmark checks each reply has them all)."""
    if case == "nested":
        return len(answer)
    if case == "lookup":
        return 1
    return len(answer[1])
