"""Future-community projects with boundaries over a test world (the ``projects`` layer).

Example::

    covered = add_bounded_projects(engine, world)    # project id -> its communities
    boundary_visible_in(covered[pid], "330402")       # the rule of FutureProject.geometry
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, text

from cimhouse.db import session_scope
from cimhouse.programme.upsert_project import ProjectData, upsert_project
from tests.helpers.graphql_world import World


def add_bounded_projects(engine: Engine, world: World) -> dict[int, list[str]]:
    """One project per community, one over two communities of a county and one over two
    counties, each bounded by the hull of its communities' estates; id -> communities.

    The hulls are read in a transaction of their own: on Citus a transaction that read the
    distributed estates in parallel may not then write the reference tables of projects."""
    groups = [[c] for c in world.communities]
    by_county: dict[str, list[str]] = {}
    for community in world.communities:
        by_county.setdefault(community[:6], []).append(community)
    groups += [cs[:2] for cs in by_county.values() if len(cs) > 1][:1]
    counties = sorted(by_county)
    if len(counties) > 1:
        groups.append([by_county[counties[0]][0], by_county[counties[-1]][0]])
    with session_scope(engine) as session:
        hulls = [session.execute(text(
            "SELECT ST_AsEWKT(ST_Multi(ST_Buffer(ST_ConvexHull(ST_Collect(boundary)), "
            "0.0002))) FROM estate WHERE region_code = ANY(:cs)"), {"cs": cs}).scalar_one()
            for cs in groups]
    covered: dict[int, list[str]] = {}
    with session_scope(engine) as session:
        for number, (communities, hull) in enumerate(zip(groups, hulls, strict=True)):
            data = ProjectData(name=f"测试未来社区{number}", level="municipal",
                               kind="renovation", lead_street=communities[0][:9],
                               communities=communities,
                               dates={"declared": dt.date(2023, 3, 1)},
                               external_id=f"T-{number}")
            project = upsert_project(session, data, actor="tests").project
            session.execute(text("UPDATE future_project SET boundary = ST_GeomFromEWKT(:g) "
                                 "WHERE id = :id"), {"g": hull, "id": project.id})
            covered[project.id] = communities
    return covered


def boundary_visible_in(communities: list[str], scope: str) -> bool:
    """A project's boundary is shown to a region scope holding every community it covers."""
    return len(scope) != 25 and all(c.startswith(scope) for c in communities)
