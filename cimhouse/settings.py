"""Settings, read from the environment when asked (never at import time).

Every variable starts with ``CIMHOUSE_``:

========================  ==============================================================
``DATABASE_URL``          SQLAlchemy URL of an existing PostgreSQL 15 + PostGIS 3 server.
                          Unset: the embedded cluster under ``VAR_DIR/pg`` is used.
``VAR_DIR``               Runtime state (embedded cluster, secret key, reports). ``./var``.
``PG_BINDIR``             Directory holding ``initdb``/``pg_ctl``; found automatically.
``SECRET_KEY``            Base64 32-byte master key for personal data. Unset: read from (or
                          generated into) ``VAR_DIR/secret.key``.
``METRIC_CRS``            EPSG code of the metric CRS (CGCS2000 3-degree GK), ``4549``.
``STATEMENT_TIMEOUT_MS``  Per-request statement timeout of the API, ``5000``.
``MAX_PAGE_SIZE``         Largest page a GraphQL connection returns, ``200``.
``MAX_QUERY_COST``        Most objects a GraphQL query may return by its estimate
                          (page sizes multiplied along the nesting), ``10000000``.
``GRAPHQL_COMPILED``      ``0`` serves every query through the resolvers (no compiled SQL).
``DEV``                   ``1`` turns on GraphiQL and verbose errors in logs (never in replies).
``MAP_TILE_URL``          Raster tiles under the map (``https://tiles.example/{z}/{x}/{y}.png``);
                          unset: the map draws the region boundaries as its base.
``MQTT_URL``              An existing MQTT broker (``mqtt://user:password@host:1883``) for
                          device readings. Unset: the embedded mosquitto under
                          ``VAR_DIR/mqtt`` (``cimhouse broker start``).
``MQTT_PORT``             Port of the embedded broker on 127.0.0.1, ``1883``.
``READING_RETENTION``     Months of device readings kept (whole monthly partitions older
                          than this are dropped by ``cimhouse safety maintain``), ``13``.
========================  ==============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

STORAGE_SRID = 4490  # CGCS2000 geographic, lon/lat order
DEFAULT_METRIC_SRID = 4549  # CGCS2000 / 3-degree Gauss-Kruger CM 120E


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    var_dir: Path = field(default_factory=lambda: Path("var").resolve())
    pg_bindir: Path | None = None
    secret_key_b64: str | None = None
    metric_srid: int = DEFAULT_METRIC_SRID
    statement_timeout_ms: int = 5000
    max_page_size: int = 200
    max_query_cost: int = 10_000_000
    graphql_compiled: bool = True
    dev: bool = False
    database_name: str = "cimhouse"
    map_tile_url: str | None = None
    mqtt_url: str | None = None
    mqtt_port: int = 1883
    reading_retention_months: int = 13

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ

        def get(name: str) -> str | None:
            value = env.get(f"CIMHOUSE_{name}")
            return value if value else None

        var_dir = Path(get("VAR_DIR") or "var").resolve()
        bindir = get("PG_BINDIR")
        return cls(
            database_url=get("DATABASE_URL"),
            var_dir=var_dir,
            pg_bindir=Path(bindir) if bindir else None,
            secret_key_b64=get("SECRET_KEY"),
            metric_srid=int(get("METRIC_CRS") or DEFAULT_METRIC_SRID),
            statement_timeout_ms=int(get("STATEMENT_TIMEOUT_MS") or 5000),
            max_page_size=int(get("MAX_PAGE_SIZE") or 200),
            max_query_cost=int(get("MAX_QUERY_COST") or 10_000_000),
            graphql_compiled=(get("GRAPHQL_COMPILED") or "1") not in ("0", "false", "no"),
            dev=(get("DEV") or "0") not in ("0", "false", "no"),
            map_tile_url=get("MAP_TILE_URL") or None,
            mqtt_url=get("MQTT_URL"),
            mqtt_port=int(get("MQTT_PORT") or 1883),
            reading_retention_months=int(get("READING_RETENTION") or 13),
        )

    def with_changes(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    @property
    def pg_dir(self) -> Path:
        return self.var_dir / "pg"

    @property
    def secret_key_path(self) -> Path:
        return self.var_dir / "secret.key"

    @property
    def mqtt_dir(self) -> Path:
        return self.var_dir / "mqtt"

    @property
    def reports_dir(self) -> Path:
        return self.var_dir / "reports"
