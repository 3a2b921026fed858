"""Distribute the migrated schema on a Citus cluster (``cimhouse db distribute``).

The large tables are hash-distributed by ``county`` and co-located with ``estate``, so every
join along estate -> building -> house -> person_house stays on one shard; regions, persons and
the small operational tables become reference tables (a copy on every node). The function is
idempotent: tables already distributed (or already reference tables) are skipped, so it runs
after every ``db upgrade``.

Before the first call it checks what Citus needs (measured on Citus 13.0.5): the extension and
its version, at least one registered worker, no triggers on the tables to distribute, and that
every primary key and unique constraint of a distributed table includes the distribution
column. ``citus.enable_local_reference_table_foreign_keys`` is switched off for the calls:
when the coordinator is in the metadata, ``create_reference_table('region')`` would otherwise
turn every table with a foreign key to ``region`` into a Citus-local table, and
``create_distributed_table`` then fails on their identity columns.

Example::

    >>> with engine.connect() as conn:
    ...     distribute(conn)
    DistributionReport(citus_version='13.0.5', workers=2, created=['region', ...], skipped=[],
                       local=['alembic_version', 'procrastinate_events', ...])
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from cimhouse.errors import ConfigurationError
from cimhouse.i18n import _

SUPPORTED_MAJOR = 13  # the rules below were measured on 13.0.5
# Reference tables, in foreign-key order (region first: every region_code points to it).
REFERENCE_TABLES = ("region", "person", "api_principal", "job", "import_run",
                    # the future-community programme: a few thousand projects, joined to
                    # regions and read by every county's scope
                    "future_project", "future_project_region", "future_project_scenario",
                    "change_feed_mark",
                    # outbound deliveries and feed webhooks: a row per batch, joined to job
                    "delivery", "webhook")
# (table, distribution column), the first one is the co-location anchor of the others.
DISTRIBUTED_TABLES = (
    ("estate", "county"),
    ("building", "county"),
    ("storey", "county"),
    ("house", "county"),
    ("space", "county"),
    ("person_house", "county"),
    ("household", "county"),
    ("household_member", "county"),
    ("facility", "county"),
    ("code_registry", "county"),
    ("code_counter", "county"),
    ("code_lineage", "county"),
    ("change_log", "county"),
    ("future_project_estate", "county"),
    ("gap_project", "county"),
    ("service_index_survey", "county"),
    ("device", "county"),
    ("device_reading", "county"),
    ("safety_alert", "county"),
    ("reading_ingest_count", "county"),
    ("reading_reject", "county"),
    ("safety_contact", "county"),
    ("safety_alert_event", "county"),
    ("safety_delivery", "county"),
    ("safety_notification", "county"),
)
# Append-only, never joined: spread by id, in its own co-location group.
AUDIT_TABLE = ("audit_log", "id")
# Everything else stays a plain table on the coordinator: the procrastinate queue (its
# functions lock and update rows in ways Citus does not distribute), alembic_version and
# PostGIS's spatial_ref_sys. distribute() lists them in its report.


@dataclass
class DistributionReport:
    citus_version: str
    workers: int
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    local: list[str] = field(default_factory=list)  # left on the coordinator, not in the plan


def citus_version(conn: Connection) -> str | None:
    """The installed Citus version of this database (``'13.0.5'``), or None without Citus."""
    installed = conn.execute(text(
        "SELECT 1 FROM pg_extension WHERE extname = 'citus'")).scalar()
    if not installed:
        return None
    full = str(conn.execute(text("SELECT citus_version()")).scalar())
    return full.split()[1] if full.startswith("Citus ") else full  # 'Citus 13.0.5 on x86_64...'


def _check(conn: Connection) -> tuple[str, int]:
    version = citus_version(conn)
    if version is None:
        raise ConfigurationError(
            _("the citus extension is not installed in this database: CREATE EXTENSION citus on "
              "the coordinator (and the workers) first"))
    if int(version.split(".")[0]) != SUPPORTED_MAJOR:
        raise ConfigurationError(_("Citus {version} is not supported (needs {supported_major}.x)",
                                   version=version, supported_major=SUPPORTED_MAJOR))
    workers = int(conn.execute(text(
        "SELECT count(*) FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' "
        "AND isactive")).scalar() or 0)
    if workers == 0:
        raise ConfigurationError(
            _("no Citus worker is registered: SELECT citus_add_node(host, port) for each worker"))
    tables = [t for t, _ in DISTRIBUTED_TABLES] + [AUDIT_TABLE[0]]
    missing = [t for t in (*REFERENCE_TABLES, *tables)
               if conn.execute(text("SELECT to_regclass(:t)"), {"t": t}).scalar() is None]
    if missing:
        raise ConfigurationError(_("run the migrations first: missing tables {missing}",
                                   missing=missing))
    triggers = conn.execute(text(
        "SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger "
        "WHERE NOT tgisinternal AND tgrelid::regclass::text = ANY(:t)"),
        {"t": tables}).scalars().all()
    if triggers:
        raise ConfigurationError(_("Citus rejects triggers on distributed tables: {triggers}",
                                   triggers=triggers))
    column_of = dict([*DISTRIBUTED_TABLES, AUDIT_TABLE])
    bad = conn.execute(text("""
        SELECT c.conname FROM pg_constraint c JOIN unnest(CAST(:t AS text[]), CAST(:c AS text[]))
               AS d(tbl, col) ON c.conrelid = d.tbl::regclass
        WHERE c.contype IN ('p', 'u') AND NOT EXISTS (
            SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.conrelid
               AND a.attnum = ANY(c.conkey) AND a.attname = d.col)"""),
        {"t": list(column_of), "c": list(column_of.values())}).scalars().all()
    if bad:
        raise ConfigurationError(
            _("unique constraints without the distribution column: {bad}", bad=sorted(bad)))
    return version, workers


def _check_done(conn: Connection) -> None:
    """A rerun finds the tables distributed before as the plan says, or stops: a table
    distributed by another column, or out of ``estate``'s co-location group, would make the
    county joins fan out or fail, and cannot be fixed by skipping it."""
    column_of = dict(DISTRIBUTED_TABLES)
    rows = conn.execute(text(
        "SELECT logicalrelid::regclass::text, column_to_column_name(logicalrelid, partkey), "
        "colocationid, partmethod::text FROM pg_dist_partition")).all()
    anchor = next((c for t, _, c, _ in rows if t == DISTRIBUTED_TABLES[0][0]), None)
    wrong = sorted(
        table for table, column, colocation, method in rows
        if (table in column_of and (method != "h" or column != column_of[table]
                                    or colocation != anchor))
        or (table in REFERENCE_TABLES and method != "n"))
    if wrong:
        raise ConfigurationError(_(
            "tables distributed otherwise than the plan says: {wrong} (undistribute_table "
            "them, then run again)", wrong=", ".join(map(str, wrong))))


def distribute(conn: Connection, *, shard_count: int | None = None) -> DistributionReport:
    """Make the reference and distributed tables; skip those that already are (idempotent).

    Runs on one connection and commits per table (Citus creates the shards in their own
    transactions on the workers). ``shard_count`` overrides ``citus.shard_count`` for new
    co-location groups.
    """
    version, workers = _check(conn)
    report = DistributionReport(citus_version=version, workers=workers)
    done: dict[str, str] = dict(conn.execute(text(
        "SELECT logicalrelid::regclass::text, partmethod::text || repmodel::text "
        "FROM pg_dist_partition")
    ).all())
    _check_done(conn)
    report.local = list(conn.execute(text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition "
        "AND NOT EXISTS (SELECT 1 FROM pg_dist_partition p WHERE p.logicalrelid = c.oid) "
        "AND c.relname <> ALL(:planned) ORDER BY 1"),
        {"planned": [*REFERENCE_TABLES, *(t for t, _ in DISTRIBUTED_TABLES), AUDIT_TABLE[0]]}
    ).scalars())
    conn.execute(text("SET citus.enable_local_reference_table_foreign_keys = off"))
    # Shards of tables with a foreign key to a reference table are created over one
    # connection per node, else Citus refuses the DDL ("cannot execute parallel DDL").
    conn.execute(text("SET citus.multi_shard_modify_mode = 'sequential'"))
    if shard_count:
        conn.execute(text(f"SET citus.shard_count = {int(shard_count)}"))
    for table in REFERENCE_TABLES:
        if done.get(table) == "nt":  # partmethod 'n' + replication 't' = reference table
            report.skipped.append(table)
            continue
        conn.execute(text("SELECT create_reference_table(:t)"), {"t": table})
        conn.commit()
        report.created.append(table)
    anchor = DISTRIBUTED_TABLES[0][0]
    for table, column in (*DISTRIBUTED_TABLES, AUDIT_TABLE):
        if (done.get(table) or "").startswith("h"):
            report.skipped.append(table)
            continue
        colocate = "default" if table in (anchor, AUDIT_TABLE[0]) else anchor
        conn.execute(text("SELECT create_distributed_table(:t, :c, colocate_with => :w)"),
                     {"t": table, "c": column, "w": colocate})
        conn.commit()
        report.created.append(table)
    conn.execute(text("RESET citus.enable_local_reference_table_foreign_keys"))
    conn.execute(text("RESET citus.shard_count"))
    conn.execute(text("RESET citus.multi_shard_modify_mode"))
    conn.commit()
    return report
