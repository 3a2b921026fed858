"""Coverage, gaps, elderly living alone and the service index on a hand-checked world.

See tests/helpers/services_world.py for the layout; distances are Pythagoras in EPSG:4549.
"""

from __future__ import annotations

import math

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cimhouse.errors import InvalidInput
from cimhouse.pii import PiiVault
from cimhouse.schema import AuditLog
from cimhouse.scope import Scope, parse_scope
from cimhouse.services.coverage import (
    EstateCoverage,
    compute_coverage,
    count_unlocated,
)
from cimhouse.services.elderly import list_elderly_living_alone, mask_name
from cimhouse.services.gaps import find_gaps
from cimhouse.services.policy import ServicePolicy, parse_radius_options
from cimhouse.services.service_index import compute_service_index
from cimhouse.settings import Settings
from tests.helpers.services_world import (
    AS_OF,
    COMMUNITY_A,
    COMMUNITY_B,
    POLICY,
    World,
    build_world,
    estate_code,
)

TOLERANCE_M = 0.5


@pytest.fixture
def world(session: Session, test_settings: Settings) -> World:
    return build_world(session, test_settings)


def coverage_map(session: Session, scope: Scope | None = None,
                 policy: ServicePolicy = POLICY) -> dict[tuple[str, str], EstateCoverage]:
    rows = compute_coverage(session, scope, policy=policy, as_of=AS_OF)
    return {(r.estate_name[:2], r.category): r for r in rows}


@pytest.mark.usefixtures("world")
def test_nearest_distances_match_pythagoras(session: Session) -> None:
    cov = coverage_map(session)
    expected = {
        ("E1", "childcare"): (200, True, "托育F1"),
        ("E1", "elderly_care"): (1400, False, "养老F2"),
        ("E1", "education"): (550, True, "小学F6"),  # nearest edge of the school polygon
        ("E1", "medical"): (900, True, "卫生F4"),
        ("E1", "commerce"): (math.hypot(2000, 480), False, "菜场F7"),
        ("E2", "childcare"): (math.hypot(200, 800), False, "托育F1"),
        ("E2", "elderly_care"): (600, False, "养老F2"),
        ("E2", "education"): (1350, False, "小学F6"),
        ("E2", "medical"): (math.hypot(900, 800), False, "卫生F4"),  # F5 is demolished
        ("E2", "commerce"): (math.hypot(2000, 320), False, "菜场F7"),
        ("E3", "childcare"): (1800, False, "托育F1"),
        ("E3", "elderly_care"): (400, True, "养老F3"),
        ("E3", "education"): (math.hypot(1950, 550), False, "小学F6"),
        ("E3", "medical"): (1100, False, "卫生F4"),
        # F7 is nearer in degrees (KNN order), F8 nearer in metres: the exact step wins
        ("E3", "commerce"): (450, True, "菜场F8"),
    }
    assert set(cov) == set(expected)  # E4 has no location
    for key, (distance, covered, name) in expected.items():
        row = cov[key]
        assert row.distance_m == pytest.approx(distance, abs=TOLERANCE_M), key
        assert row.covered is covered, key
        assert row.nearest_facility == name, key
    assert cov[("E3", "commerce")].within_radius == 2
    assert cov[("E1", "childcare")].within_radius == 1
    assert count_unlocated(session, None) == 1


@pytest.mark.usefixtures("world")
def test_category_without_facilities_and_radius_override(session: Session) -> None:
    policy = ServicePolicy.default().with_radii({"elderly_care": 650}).only(
        ["elderly_care", "sports"])
    cov = coverage_map(session, policy=policy)
    assert cov[("E2", "elderly_care")].covered  # 600 m <= 650 m
    assert cov[("E1", "sports")].distance_m is None
    assert not cov[("E1", "sports")].covered
    with pytest.raises(InvalidInput):
        ServicePolicy.default().with_radii({"parks": 100})
    assert parse_radius_options(["childcare=250"]) == {"childcare": 250.0}
    with pytest.raises(InvalidInput):
        parse_radius_options(["childcare"])


@pytest.mark.usefixtures("world")
def test_scope_limits_estates(session: Session) -> None:
    assert {k[0] for k in coverage_map(session, parse_scope(COMMUNITY_B))} == {"E3"}
    assert {k[0] for k in coverage_map(session, parse_scope("330402007"))} == {"E1", "E2",
                                                                               "E3"}
    estate_scope = parse_scope(estate_code(COMMUNITY_A, 2))
    assert {k[0] for k in coverage_map(session, estate_scope)} == {"E2"}
    assert coverage_map(session, parse_scope("330402008016")) == {}
    assert count_unlocated(session, parse_scope("330402008016")) == 1


@pytest.mark.usefixtures("world")
def test_gaps_ranked_by_people_affected(session: Session) -> None:
    result = find_gaps(session, None, policy=POLICY, as_of=AS_OF)
    ranked = [(g.estate_name[:2], g.category, g.affected) for g in result.estates]
    assert ranked == [
        ("E3", "medical", 4),          # everyone: P7, P9, P10, P11
        ("E1", "commerce", 3),         # ties on 3 people: farthest facility first
        ("E2", "commerce", 3),
        ("E2", "medical", 3),
        ("E2", "elderly_care", 3),     # P4 (exactly 60 today), P5, P6
        ("E3", "education", 2),        # P10 (11), P11 (6)
        ("E3", "childcare", 1),        # P9 turns 3 tomorrow ("0-3" = under 3)
        ("E1", "elderly_care", 1),     # P3
        ("E2", "education", 0),
        ("E2", "childcare", 0),
    ]
    assert result.unlocated_estates == 1
    communities = [(g.region_code, g.category, g.estates_uncovered, g.affected_total,
                    g.affected_uncovered) for g in result.communities]
    assert communities == [
        (COMMUNITY_A, "commerce", 2, 6, 6),
        (COMMUNITY_A, "elderly_care", 2, 4, 4),
        (COMMUNITY_B, "medical", 1, 4, 4),
        (COMMUNITY_A, "medical", 1, 6, 3),
        (COMMUNITY_B, "education", 1, 2, 2),
        (COMMUNITY_B, "childcare", 1, 1, 1),
        (COMMUNITY_A, "childcare", 1, 1, 0),
        (COMMUNITY_A, "education", 1, 0, 0),
    ]
    assert result.communities[0].community_name == "百福弄社区居委会"
    assert len(find_gaps(session, None, policy=POLICY, as_of=AS_OF, limit=2).estates) == 2


@pytest.mark.usefixtures("world")
def test_service_index_formula(session: Session) -> None:
    scores = {s.region_code: s for s in compute_service_index(session, None, policy=POLICY,
                                                              as_of=AS_OF)}
    a, b = scores[COMMUNITY_A], scores[COMMUNITY_B]
    # A: childcare 1/1, elderly 0/4, education no children -> 1 of 2 estates, medical 3/6,
    # commerce 0/6; weights 2, 2, 1.5, 1.5, 1 -> 100 * 3.5 / 8
    assert a.index == 43.8
    shares = {c.category: c.share for c in a.components}
    assert shares == {"childcare": 1.0, "elderly_care": 0.0, "education": 0.5,
                      "medical": 0.5, "commerce": 0.0}
    assert (a.population, a.estates) == (6, 2)
    # B: elderly 1/1 (weight 2) and commerce 4/4 (weight 1) -> 100 * 3 / 8
    assert b.index == 37.5
    assert [s.region_code for s in compute_service_index(
        session, None, policy=POLICY, as_of=AS_OF)] == [COMMUNITY_B, COMMUNITY_A]


def test_elderly_living_alone_masked(session: Session, world: World) -> None:
    people = list_elderly_living_alone(session, None, as_of=AS_OF)
    assert [(p.house_code, p.age) for p in people] == [
        (world.houses["H2"].code, 86), (world.houses["H3"].code, 60),
        (world.houses["H6"].code, 81)]
    first = people[0]
    assert first.name == "王**"
    assert "*" in first.id_number
    assert first.phone == "138****5678"
    assert not first.revealed
    oldest = list_elderly_living_alone(session, None, min_age=80, as_of=AS_OF)
    assert [p.house_code for p in oldest] == [world.houses["H2"].code,
                                              world.houses["H6"].code]
    in_a = list_elderly_living_alone(session, parse_scope(COMMUNITY_A), as_of=AS_OF)
    assert [p.age for p in in_a] == [86, 60]
    assert mask_name("张三丰") == "张**"


def test_elderly_reveal_audits_each_read(session: Session, world: World, test_settings: Settings) -> None:
    vault = PiiVault.from_settings(test_settings)
    before = session.execute(select(func.count()).select_from(AuditLog)).scalar_one()
    people = list_elderly_living_alone(session, parse_scope(COMMUNITY_B), as_of=AS_OF,
                                       reveal=True, vault=vault, actor="tester")
    assert len(people) == 1
    assert people[0].name == "王P7"
    assert len(people[0].id_number) == 18
    assert "*" not in people[0].id_number
    rows = session.scalars(select(AuditLog).where(AuditLog.actor == "tester")).all()
    assert session.scalar(select(func.count()).select_from(AuditLog)) == before + 1
    assert rows[0].action == "pii.read"
    assert rows[0].object_ref == str(world.persons["P7"].id)
    assert people[0].id_number not in str(rows[0].detail)
    with pytest.raises(InvalidInput):
        list_elderly_living_alone(session, None, reveal=True)


def test_tenants_live_there_owners_do_not(session: Session, world: World) -> None:
    import datetime as dt

    from cimhouse.schema import Person, PersonHouse
    from cimhouse.services.gaps import count_estate_population

    e1 = (world.estates["E1"].county, world.estates["E1"].id)
    before = count_estate_population(session, None, as_of=AS_OF)[e1]
    assert before == {"everyone": 3, "children_0_3": 1, "school_age_6_15": 0,
                      "elderly_60": 1}
    for key, relation in (("T1", "tenant"), ("T2", "owner")):
        person = Person(name=key, id_hash=key.encode() * 16, id_cipher=b"x",
                        id_masked="x", birth_date=dt.date(2025, 1, 1))
        session.add(person)
        session.flush()
        session.add(PersonHouse(county="330402", person_id=person.id,
                                house_id=world.houses["H1"].id, relation=relation))
    session.flush()
    after = count_estate_population(session, None, as_of=AS_OF)[e1]
    assert (after["everyone"], after["children_0_3"]) == (4, 2)  # the tenant baby only
