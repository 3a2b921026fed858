"""The root GraphQL schema, merged from one query type per area.

``build_schema()`` is what the app serves; ``export_sdl()`` writes ``schema.graphql`` (the
checked-in contract, regenerated with ``cimhouse serve --export-schema``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from cimhouse.graphql.built_queries import BuiltQuery
from cimhouse.graphql.code_mutations import CodeMutation
from cimhouse.graphql.codes import CodeQuery
from cimhouse.graphql.facilities import FacilityQuery
from cimhouse.graphql.feed import FeedQuery
from cimhouse.graphql.gap_project_mutations import GapProjectMutation
from cimhouse.graphql.gap_projects import GapProjectQuery
from cimhouse.graphql.households import HouseholdQuery
from cimhouse.graphql.node import NodeQuery
from cimhouse.graphql.operations import OperationsQuery
from cimhouse.graphql.people import PeopleQuery
from cimhouse.graphql.programme import ProgrammeQuery
from cimhouse.graphql.programme_mutations import ProgrammeMutation
from cimhouse.graphql.protection import (
    RequestTransaction,
    SafeErrors,
    limit_extensions,
    log_errors,
)
from cimhouse.graphql.regions import RegionQuery
from cimhouse.graphql.relations_mutations import RelationMutation
from cimhouse.graphql.results import ConflictError, ForbiddenError, InvalidInputError, NotFoundError
from cimhouse.graphql.safety import SafetyMutation, SafetyQuery
from cimhouse.graphql.safety_escalation import SafetyEscalationMutation, SafetyEscalationQuery
from cimhouse.graphql.safety_ingest import SafetyIngestQuery
from cimhouse.graphql.safety_live import SafetySubscription
from cimhouse.graphql.safety_readings import SafetyReadingsQuery
from cimhouse.graphql.search import SearchQuery
from cimhouse.graphql.services import ServicesQuery
from cimhouse.graphql.statistics import StatisticsQuery

SDL_PATH = Path(__file__).with_name("schema.graphql")


def query_types() -> tuple[type[Any], ...]:
    return (NodeQuery, RegionQuery, BuiltQuery, CodeQuery, PeopleQuery, FacilityQuery,
            StatisticsQuery, OperationsQuery, ServicesQuery, SearchQuery, ProgrammeQuery,
            GapProjectQuery, FeedQuery, SafetyQuery, HouseholdQuery, SafetyEscalationQuery,
            SafetyReadingsQuery, SafetyIngestQuery)


def mutation_types() -> tuple[type[Any], ...]:
    return (CodeMutation, RelationMutation, ProgrammeMutation, GapProjectMutation,
            SafetyMutation, SafetyEscalationMutation)


class CimhouseSchema(strawberry.Schema):
    def process_errors(self, errors: list[GraphQLError],
                       execution_context: ExecutionContext | None = None) -> None:
        log_errors(errors)


def build_schema() -> strawberry.Schema:
    query = merge_types("Query", query_types())
    mutation = merge_types("Mutation", mutation_types())
    return CimhouseSchema(
        query=query, mutation=mutation, subscription=SafetySubscription,
        types=[InvalidInputError, NotFoundError, ConflictError, ForbiddenError],
        extensions=[*limit_extensions(), SafeErrors, RequestTransaction])


def export_sdl(path: Path = SDL_PATH) -> Path:
    path.write_text(build_schema().as_str() + "\n", encoding="utf-8")
    return path
