"""What several test modules share, and nothing that pytest should collect.

- ``database``: on which cluster the suite runs (``ON_CITUS``, skip markers) and database clones.
- ``keys``: the suite's secret key and the PII vault built from it.
- ``coding_world``: small uncoded worlds for the house-code tests.
- ``graphql_world``: the committed multi-county world behind the GraphQL tests.
- ``graphql_examples``: the example queries of docs/graphql.md and values to run them with.
- ``services_world``: the hand-checkable world of the community-services tests.
- ``ifc_model``: the IFC samples and the models built with ifcopenshell.api.
- ``register_rows`` / ``register_conflicts``: register files written for the importer tests.
- ``cli``: the ``cimhouse`` CLI run as a subprocess.
- ``ports``: a free loopback port for servers the tests start.

Fixtures stay in ``tests/conftest.py``; these modules hold plain functions and data.
"""
