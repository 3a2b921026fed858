"""Keep the service index of every community in a scope on a survey date (补短板: survey, score).

The score is :func:`cimhouse.services.service_index.compute_service_index` on the survey date;
one ``service_index_survey`` row per community and date (recording the same date again
replaces it), so the history of a community's index can be plotted and a gap project's
before/after read off it.

Example::

    count = record_survey(session, parse_scope("330402"), dt.date(2026, 6, 30), actor="cli")
    history = index_history(session, parse_scope("330402007024"))
    [(h.survey_date, h.index) for h in history]     # [(date(2026, 6, 30), 72.5)]
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from cimhouse.schema import ServiceIndexSurvey
from cimhouse.scope import Scope, prefix_range
from cimhouse.services.policy import ServicePolicy
from cimhouse.services.service_index import compute_service_index


def record_survey(session: Session, scope: Scope, survey_date: dt.date, *, actor: str,
                  policy: ServicePolicy | None = None, metric_srid: int = 4549) -> int:
    """Score every community with located estates in ``scope`` on ``survey_date``."""
    scores = compute_service_index(session, scope, policy=policy, metric_srid=metric_srid,
                                   as_of=survey_date)
    recorded_at = dt.datetime.now(dt.UTC)
    for s in scores:
        # an upsert on the county-keyed table (no UPDATE ... FROM: Citus-safe); the time is a
        # parameter because Citus refuses now() (not IMMUTABLE) in DO UPDATE SET
        session.execute(text("""
            INSERT INTO service_index_survey (county, region_code, survey_date, index,
                                              population, estates, components, actor,
                                              recorded_at)
            VALUES (:county, :code, :day, :index, :population, :estates,
                    CAST(:components AS jsonb), :actor, :at)
            ON CONFLICT (county, region_code, survey_date) DO UPDATE SET
                index = EXCLUDED.index, population = EXCLUDED.population,
                estates = EXCLUDED.estates, components = EXCLUDED.components,
                actor = EXCLUDED.actor, recorded_at = EXCLUDED.recorded_at"""),
            {"county": s.region_code[:6], "code": s.region_code, "day": survey_date,
             "index": s.index, "population": s.population, "estates": s.estates,
             "components": json.dumps([asdict(c) for c in s.components]), "actor": actor,
             "at": recorded_at})
    return len(scores)


def index_history(session: Session, scope: Scope) -> list[ServiceIndexSurvey]:
    """Every recorded survey of the communities in ``scope``, by community and date. An estate
    scope sees none: a community's score sums estates outside it."""
    if scope.is_estate:
        return []
    prefix = scope.region_prefix
    query = select(ServiceIndexSurvey).where(prefix_range(ServiceIndexSurvey.region_code,
                                                          prefix))
    if scope.county_keys:
        query = query.where(ServiceIndexSurvey.county.in_(scope.county_keys))
    return list(session.scalars(query.order_by(ServiceIndexSurvey.region_code,
                                               ServiceIndexSurvey.survey_date)))
