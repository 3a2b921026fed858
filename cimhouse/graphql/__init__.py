"""The GraphQL contract (strawberry). Start with :func:`cimhouse.graphql.schema.build_schema`.

Types are explicit allow-lists; ORM columns are never exposed automatically. The SDL is
checked in as ``schema.graphql`` and a test fails when the two differ.
"""
