"""GraphQL queries compiled into ONE SQL statement that returns the response's ``data`` JSON.

Where to start: :mod:`~cimhouse.graphql.compiled.fastpath` (the ASGI middleware that answers
compiled queries without strawberry's executor: cached principal re-checked in the
statement, one statement on an async connection of
:mod:`~cimhouse.graphql.compiled.connections`), then :mod:`~cimhouse.graphql.compiled.edge`
(the strawberry router behind it, which tries this path first, else the resolvers), then
:mod:`~cimhouse.graphql.compiled.service` (parse and validate once, the plan cache, binding,
running). The compiler itself:

- :mod:`~cimhouse.graphql.compiled.compiler` — state of one compilation: bound parameters,
  guards on variable values, field collection (fragments, @skip/@include), arguments;
- :mod:`~cimhouse.graphql.compiled.roots` — Query fields: connections, ``region(s)``;
  :mod:`~cimhouse.graphql.compiled.lookup` — ``lookup(code)``;
- :mod:`~cimhouse.graphql.compiled.objects` — estate/building/house/region objects, nested
  lists and references as LATERAL subqueries; :mod:`~cimhouse.graphql.compiled.people` —
  persons and relations, masking in SQL;
- :mod:`~cimhouse.graphql.compiled.sqlparts` — scope predicates, ids, GeoJSON;
- :mod:`~cimhouse.graphql.compiled.reveal` — full numbers: audit rows committed first;
- :mod:`~cimhouse.graphql.compiled.cost` — the cost estimate run before any SQL.

The resolver path stays the reference: ``tests/test_graphql_compiled_oracle.py`` draws
queries and principals and checks both paths return the same ``data`` and errors.

Example (what a request goes through)::

    prepared = reads.document(query, operation_name)        # cached parse + validate
    bound = reads.bind(query, prepared, variables, principal)  # None: resolver path
    body = b'{"data":' + reads.run(bound, session, timeout_ms).encode() + b'}'
"""
