"""cimhouse: a CIM data platform for the unified urban-rural house code.

Where to start
--------------
- ``cimhouse.schema``     the relation model (regions, estates, buildings, houses, persons,
                          relations, facilities, code registry, jobs, audit), typed SQLAlchemy 2.
- ``cimhouse.coding``     the 25-character house code: parse, validate, encode, decode, assign.
- ``cimhouse.importers``  bulk loaders (regions, housing registers, IFC models).
- ``cimhouse.graphql``    the GraphQL contract served to other systems.
- ``cimhouse.db``         the one engine factory, the embedded PostgreSQL cluster, migrations.
- ``cimhouse.cli``        the ``cimhouse`` command line (``cimhouse --help``).

Layering: ``schema`` <- ``coding`` / ``importers`` <- ``graphql`` / ``cli``. Domain functions take
a :class:`sqlalchemy.orm.Session`, may flush, and never commit; the edge (CLI command, HTTP
request, worker task) owns the transaction.

Example::

    from cimhouse.settings import Settings
    from cimhouse.db import make_engine, session_scope
    from cimhouse.importers.load_regions import load_regions

    settings = Settings.from_env()
    engine = make_engine(settings)
    with session_scope(engine) as session:
        report = load_regions(session)
    print(report.added)  # 27036 on an empty database
"""

__version__ = "0.1.0"
