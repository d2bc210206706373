"""The DuckDB store: one file, no server.

The schema is built by numbered migrations recorded in `schema_version`, so opening an old file
brings it up to date and opening a current one changes nothing. Every query is parameterised;
every write runs in a transaction, so a failure leaves the file as it was.

A connection is opened per unit of work and closed after it: DuckDB locks the file for the
process that holds it open, and the command line must be able to import while the app is idle.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import pandas as pd

from cx import DATA_DIR

DEFAULT_DB = DATA_DIR / "cx.duckdb"

ORGANISATION_KINDS = (
    "cluster organisation",
    "SME",
    "scaling-up support organisation",
    "other",  # large companies, public authorities, universities, training providers: hosts only
)
STATUSES = ("requested", "approved", "ongoing", "completed", "reported", "paid", "rejected", "cancelled")

# Each migration is applied once, in order, inside one transaction with its version row.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
        CREATE TABLE partnerships (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            ecosystems VARCHAR[] NOT NULL DEFAULT [],
            target_exchanges INTEGER NOT NULL CHECK (target_exchanges >= 0)
        );
        CREATE TABLE organisations (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            country VARCHAR(2) NOT NULL,
            city VARCHAR,
            lat DOUBLE,
            lon DOUBLE,
            partnership_id VARCHAR,
            ecosystems VARCHAR[] NOT NULL DEFAULT [],
            sectors VARCHAR,
            description VARCHAR,
            can_host BOOLEAN NOT NULL DEFAULT TRUE,
            can_visit BOOLEAN NOT NULL DEFAULT TRUE,
            contact_name VARCHAR,
            contact_email VARCHAR,
            registered_on DATE
        );
        CREATE TABLE exchanges (
            id VARCHAR PRIMARY KEY,
            visitor_id VARCHAR NOT NULL,
            host_id VARCHAR NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE NOT NULL,
            working_days INTEGER,
            distance_km DOUBLE,
            objectives VARCHAR,
            activities VARCHAR[] NOT NULL DEFAULT [],
            status VARCHAR NOT NULL,
            lump_sum_eur INTEGER,
            halved BOOLEAN,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            updated_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE SEQUENCE exchange_event_ids;
        CREATE TABLE exchange_events (
            id BIGINT PRIMARY KEY DEFAULT nextval('exchange_event_ids'),
            exchange_id VARCHAR NOT NULL,
            changed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            from_status VARCHAR,
            to_status VARCHAR NOT NULL,
            changed_by VARCHAR NOT NULL
        );
        CREATE TABLE scenarios (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            parameters JSON NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE INDEX exchanges_visitor ON exchanges (visitor_id);
        CREATE INDEX exchanges_host ON exchanges (host_id);
        CREATE INDEX events_exchange ON exchange_events (exchange_id);
    """),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]

TABLES = ("partnerships", "organisations", "exchanges", "exchange_events", "scenarios")


def default_path() -> Path:
    """The database file: `$CX_DB` when set, else `data/cx.duckdb` in the project."""
    return Path(os.environ.get("CX_DB") or DEFAULT_DB)


class Store:
    """A cx database file."""

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path) if path is not None else default_path()
        self._local = threading.local()  # the connection a `reading` block holds, per thread

    def __repr__(self):
        return f"Store({str(self.path)!r})"

    @property
    def exists(self) -> bool:
        return self.path.exists()

    def modified(self) -> float:
        """When the file (or its write-ahead log) last changed: a cache key for readers."""
        times = [p.stat().st_mtime_ns for p in (self.path, Path(f"{self.path}.wal")) if p.exists()]
        return max(times, default=0)

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.path), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection in a transaction: committed when the block ends, rolled back on error."""
        with self.connect() as con:
            con.begin()
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()

    # --- schema ----------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self.connect() as con:
            return _version(con)

    def migrate(self) -> list[int]:
        """Apply the migrations this file lacks; returns the versions applied (none when current)."""
        applied = []
        with self.connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
            for version, sql in MIGRATIONS:
                if version <= _version(con):
                    continue
                con.begin()
                try:
                    con.execute(sql)
                    con.execute("INSERT INTO schema_version VALUES (?, current_timestamp)", [version])
                except BaseException:
                    con.rollback()
                    raise
                con.commit()
                applied.append(version)
        return applied

    # --- reading ---------------------------------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """Run the `query` calls of a block on one connection: opening one costs tens of
        milliseconds, which adds up over the dozen queries a page makes."""
        with self.connect() as con:
            self._local.connection = con
            try:
                yield self
            finally:
                self._local.connection = None

    def read_concurrently(self, calls: dict[str, Callable[[], object]], workers: int = 2) -> dict[str, object]:
        """Run independent reading functions two at a time, each thread on a cursor of one
        connection: DuckDB runs a small query on one core, so this keeps both cores busy."""
        cursors: list[duckdb.DuckDBPyConnection] = []
        with self.connect() as con:

            def open_cursor():
                self._local.connection = con.cursor()
                cursors.append(self._local.connection)

            try:
                with ThreadPoolExecutor(workers, initializer=open_cursor) as pool:
                    futures = {name: pool.submit(call) for name, call in calls.items()}
                    return {name: future.result() for name, future in futures.items()}
            finally:
                for cursor in cursors:
                    cursor.close()

    def query(self, sql: str, parameters: list | dict | None = None) -> pd.DataFrame:
        """A read-only query's result as a DataFrame (for cx modules; pages call those)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            return connection.execute(sql, parameters or []).df()
        with self.connect() as con:
            return con.execute(sql, parameters or []).df()

    def table(self, name: str) -> pd.DataFrame:
        if name not in TABLES:
            raise ValueError(f"no table {name!r}; cx has {', '.join(TABLES)}")
        return self.query(f'SELECT * FROM "{name}" ORDER BY 1')

    def organisations(self) -> pd.DataFrame:
        return self.table("organisations")

    def partnerships(self) -> pd.DataFrame:
        return self.table("partnerships")

    def exchanges(self) -> pd.DataFrame:
        """Exchanges with the visitor's and host's country, city, kind and partnership."""
        return self.query("""
            SELECT e.*,
                   v.name AS visitor_name, v.country AS visitor_country, v.city AS visitor_city,
                   v.kind AS visitor_kind, v.partnership_id AS partnership_id,
                   h.name AS host_name, h.country AS host_country, h.city AS host_city, h.kind AS host_kind
            FROM exchanges e
            LEFT JOIN organisations v ON v.id = e.visitor_id
            LEFT JOIN organisations h ON h.id = e.host_id
            ORDER BY e.start_date, e.id
        """)

    def counts(self) -> dict[str, int]:
        with self.connect() as con:
            return {t: con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in TABLES}

    # --- writing ---------------------------------------------------------------------------

    def replace_all(self, partnerships: pd.DataFrame, organisations: pd.DataFrame,
                    exchanges: pd.DataFrame, events: pd.DataFrame | None = None) -> None:
        """Replace the programme's data in one transaction (the demo generator uses this)."""
        with self.transaction() as con:
            for table in ("exchange_events", "exchanges", "organisations", "partnerships"):
                con.execute(f"DELETE FROM {table}")
            insert_frame(con, "partnerships", partnerships)
            insert_frame(con, "organisations", organisations)
            insert_frame(con, "exchanges", exchanges)
            if events is not None and len(events):
                insert_frame(con, "exchange_events", events)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> int:
    """Insert a DataFrame's columns into a table of the same column names (a DuckDB scan of the
    frame, not string-built SQL)."""
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    # On failure the registration stays until the connection closes: unregistering inside an
    # aborted transaction would hide the real error.
    con.register("_cx_frame", frame)
    con.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM _cx_frame')
    con.unregister("_cx_frame")
    return len(frame)


def _version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def open_store(path: Path | str | None = None) -> Store:
    """The store at `path` (or the default), migrated to the current schema."""
    store = Store(path)
    store.migrate()
    return store
