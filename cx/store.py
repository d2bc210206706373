"""The store: one interface, two back ends.

`Store(location)` is a DuckDB file (the default: one file, no server) or, for a location such as
`postgresql://…` (or `$CX_DB` set to one), a PostgreSQL database shared by many processes and
machines. Queries are written once, in SQL both engines run (`= ANY(?)`, `&&`, explicit GROUP BY
columns, explicit casts); a back end only adapts placeholders, gives results the same pandas
dtypes (dates datetime64, numbers int/float) and bulk-writes (DuckDB scans a frame, PostgreSQL
COPYs it).

The schema is built by numbered migrations recorded in `schema_version`, the same on both back
ends, so opening an old database brings it up to date and opening a current one changes nothing.
Every query is parameterised; every write runs in a transaction, so a failure leaves the
database as it was.

DuckDB: a connection is opened per unit of work and closed after it, since DuckDB locks the file
for the process that holds it open and the command line must be able to import while the app is
idle. Reads are read-only connections; writes hold the write lock (a lock file all processes
share) for their whole transaction. PostgreSQL: connections come from a pool; writers run at
once, and a rule that depends on other rows locks what it depends on inside its transaction
(`lock_visitors`).
"""

from __future__ import annotations

import contextvars
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import filelock
import pandas as pd
import pyarrow as pa

from cx import DATA_DIR
from cx.access import Viewer, as_system, scoped
from cx.errors import CxError, DamagedDatabase, DatabaseBusy, ReadOnlyDatabase

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
            ecosystems TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
            target_exchanges INTEGER NOT NULL CHECK (target_exchanges >= 0)
        );
        CREATE TABLE organisations (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            country VARCHAR(2) NOT NULL,
            city VARCHAR,
            lat DOUBLE PRECISION,
            lon DOUBLE PRECISION,
            partnership_id VARCHAR,
            ecosystems TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
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
            distance_km DOUBLE PRECISION,
            objectives VARCHAR,
            activities TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
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
    (2, """
        CREATE TABLE accounts (
            login VARCHAR PRIMARY KEY,  -- an e-mail address or an identity provider's subject
            role VARCHAR NOT NULL,
            partnerships TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
            organisation_id VARCHAR,
            active BOOLEAN NOT NULL DEFAULT TRUE,
            added_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            added_by VARCHAR NOT NULL
        );
    """),
    (3, """
        CREATE SEQUENCE registration_ids;
        CREATE TABLE registrations (
            id BIGINT PRIMARY KEY DEFAULT nextval('registration_ids'),
            login VARCHAR NOT NULL,  -- who registered: the identity provider's e-mail or subject
            partnership_id VARCHAR NOT NULL,  -- the partnership it registers through, which assesses it
            name VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,
            country VARCHAR(2) NOT NULL,
            city VARCHAR NOT NULL,
            lat DOUBLE PRECISION,
            lon DOUBLE PRECISION,
            member_of VARCHAR,  -- the cluster organisation it is a member of
            ecosystems TEXT[] NOT NULL DEFAULT ARRAY[]::TEXT[],
            sectors VARCHAR,
            description VARCHAR,
            motivation VARCHAR,
            preferences VARCHAR,
            can_visit BOOLEAN NOT NULL,
            can_host BOOLEAN NOT NULL,
            contact_name VARCHAR NOT NULL,
            contact_email VARCHAR NOT NULL,
            state VARCHAR NOT NULL DEFAULT 'pending',  -- pending, accepted, refused
            submitted_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            decided_at TIMESTAMP,
            decided_by VARCHAR,
            reason VARCHAR,
            organisation_id VARCHAR  -- the organisation made on acceptance
        );
        CREATE INDEX registrations_login ON registrations (login);
    """),
    (4, """
        CREATE SEQUENCE outbox_ids;
        CREATE TABLE outbox (
            id BIGINT PRIMARY KEY DEFAULT nextval('outbox_ids'),
            recipient VARCHAR NOT NULL,
            subject VARCHAR NOT NULL,
            body VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            created_by VARCHAR NOT NULL,  -- whose step wrote it
            state VARCHAR NOT NULL DEFAULT 'pending',  -- pending, sent, failed (given up; kept, retried on request)
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            last_error VARCHAR,
            log VARCHAR NOT NULL DEFAULT '',  -- one line per attempt: when, and what the server said
            sent_at TIMESTAMP
        );
    """),
    (5, """
        -- Each partnership's allocation in whole euros (NULL: none given yet); cx.money checks it.
        ALTER TABLE partnerships ADD COLUMN allocation_eur BIGINT;
    """),
    (6, """
        -- What a visitor is looking for, in its own words, and which hosts may read it
        -- (cx.invitations.SHOWN_TO); hosts find visitors by it and invite them.
        ALTER TABLE organisations ADD COLUMN looking_for VARCHAR;
        ALTER TABLE organisations ADD COLUMN looking_for_shown_to VARCHAR DEFAULT 'nobody';
        CREATE TABLE invitations (
            id VARCHAR PRIMARY KEY,
            host_id VARCHAR NOT NULL,
            visitor_id VARCHAR NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE NOT NULL,
            message VARCHAR,
            invited_by VARCHAR NOT NULL,
            invited_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            answer VARCHAR,  -- NULL while open, then 'accepted' or 'declined'
            answered_by VARCHAR,
            answered_at TIMESTAMP,
            exchange_id VARCHAR  -- the exchange an accepted invitation requested
        );
    """),
    (7, """
        -- A group mission: several visitors of one partnership travel together to one region, each
        -- in an exchange of its own (its host, lump sum and visit-once check), with a shared agenda.
        CREATE TABLE missions (
            id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            partnership_id VARCHAR NOT NULL,
            start_date DATE NOT NULL,
            end_date DATE NOT NULL,
            agenda VARCHAR,
            created_by VARCHAR NOT NULL,
            created_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        ALTER TABLE exchanges ADD COLUMN mission_id VARCHAR;
    """),
    (8, """
        -- What happens between a request and a payment (cx/agreement.py, cx/closing.py). An audit
        -- event that is not a status change keeps the status on both sides and says what it was.
        ALTER TABLE exchange_events ADD COLUMN action VARCHAR;
        ALTER TABLE exchange_events ADD COLUMN note VARCHAR;
        CREATE TABLE host_answers (
            exchange_id VARCHAR PRIMARY KEY,
            answer VARCHAR NOT NULL CHECK (answer IN ('accepted', 'proposed')),
            proposed_start DATE,
            proposed_end DATE,
            answered_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
        CREATE TABLE agenda_days (
            exchange_id VARCHAR NOT NULL,
            day DATE NOT NULL,
            plan VARCHAR NOT NULL,
            PRIMARY KEY (exchange_id, day)
        );
        CREATE TABLE signatures (
            exchange_id VARCHAR NOT NULL,
            document VARCHAR NOT NULL CHECK (document IN ('quality', 'financial')),
            party VARCHAR NOT NULL,
            signed_by VARCHAR NOT NULL,
            signed_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (exchange_id, document, party)
        );
        CREATE TABLE closing_reports (
            exchange_id VARCHAR PRIMARY KEY,
            done VARCHAR NOT NULL,
            results VARCHAR NOT NULL,
            follow_ups VARCHAR NOT NULL,
            host_rating INTEGER NOT NULL CHECK (host_rating BETWEEN 1 AND 5),
            state VARCHAR NOT NULL CHECK (state IN ('filed', 'validated', 'sent back')),
            filed_by VARCHAR NOT NULL,
            filed_at TIMESTAMP NOT NULL,
            decided_by VARCHAR,
            decided_at TIMESTAMP,
            reason VARCHAR
        );
        CREATE TABLE evidence (
            exchange_id VARCHAR NOT NULL,
            sha256 VARCHAR NOT NULL,
            file_name VARCHAR NOT NULL,
            media_type VARCHAR NOT NULL,
            size_bytes BIGINT NOT NULL,
            uploaded_by VARCHAR NOT NULL,
            uploaded_at TIMESTAMP NOT NULL DEFAULT current_timestamp,
            PRIMARY KEY (exchange_id, sha256)
        );
        CREATE TABLE payments (
            exchange_id VARCHAR PRIMARY KEY,
            paid_on DATE NOT NULL,
            amount_eur INTEGER NOT NULL CHECK (amount_eur >= 0),
            reason VARCHAR,
            recorded_by VARCHAR NOT NULL,
            recorded_at TIMESTAMP NOT NULL DEFAULT current_timestamp
        );
    """),
    # Bumped after every write transaction: what PostgreSQL readers key their caches on.
    (9, "CREATE SEQUENCE cx_data_version"),
    (10, "ALTER TABLE organisations ADD COLUMN member_of VARCHAR"),  # the cluster it belongs to (rules.check_participant)
    (11, """
        -- The contacts, read apart from the rest of an organisation: on PostgreSQL the application's
        -- role may not read these two columns of `organisations`, and this view gives them only for
        -- the organisations the scope holds and the other side of its exchanges (cx/postgres.py).
        CREATE VIEW organisation_contacts AS SELECT id, contact_name, contact_email FROM organisations;
    """),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]

# The columns of `organisations`, in the table's order (test_store checks it against the table).
ORGANISATION_FIELDS = ("id", "name", "kind", "country", "city", "lat", "lon", "partnership_id", "ecosystems", "sectors",
                       "description", "can_host", "can_visit", "contact_name", "contact_email", "registered_on",
                       "looking_for", "looking_for_shown_to", "member_of")
# The organisations with their contacts, as a table expression: the contacts come from
# `organisation_contacts`, so on PostgreSQL a viewer reads only the contacts its scope holds.
ORGANISATION_RECORDS = ("(SELECT " + ", ".join(f"c.{f}" if f in ("contact_name", "contact_email") else f"o.{f}"
                                               for f in ORGANISATION_FIELDS)
                        + " FROM organisations o LEFT JOIN organisation_contacts c ON c.id = o.id)")

# What the people of an exchange record on its way from request to payment, one table per step.
EXCHANGE_STEPS = ("host_answers", "agenda_days", "signatures", "closing_reports", "evidence", "payments")
TABLES = ("partnerships", "organisations", "exchanges", "exchange_events", "scenarios", "accounts", "registrations",
          "outbox", "invitations", "missions", *EXCHANGE_STEPS)

# The longest text each column holds, in characters: room for any real name or profile, and a bound
# on what one row costs to store, show, match and export (an Excel cell holds 32,767). Forms,
# imports and the domain functions refuse longer text with `text_too_long`'s sentence.
TEXT_LIMITS = {
    "id": 64, "visitor_id": 64, "host_id": 64, "partnership_id": 64,
    "name": 300, "city": 120, "contact_name": 200, "contact_email": 254, "changed_by": 200,
    "sectors": 2_000, "ecosystems": 1_000, "activities": 2_000,
    "description": 10_000, "objectives": 10_000, "member_of": 300, "motivation": 10_000, "preferences": 10_000,
    "reason": 2_000, "looking_for": 10_000, "message": 10_000, "agenda": 10_000,
    "note": 2_000, "plan": 2_000, "done": 10_000, "results": 10_000, "follow_ups": 10_000, "file_name": 255,
}


def text_too_long(column: str, value) -> str | None:
    """Why `value` is too long for `column` (None when it fits or the column has no limit)."""
    limit = TEXT_LIMITS.get(column)
    if limit is None or not isinstance(value, str) or len(value) <= limit:
        return None
    return f"{column} has {len(value):,} characters; the limit is {limit:,} (shorten it)"


# Bidirectional control characters: in a name they show text reversed ("\u202eLyon" reads "noyL",
# an evidence file "invoice\u202efdp.exe" reads "invoiceexe.pdf"), so names lose them on input.
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(value: str) -> str:
    """A name, city or file name as typed, without bidirectional control characters."""
    return BIDI_CONTROLS.sub("", value) if isinstance(value, str) else value


def is_url(location) -> bool:
    """Whether `location` names a PostgreSQL database rather than a DuckDB file."""
    return isinstance(location, str) and location.startswith(("postgresql://", "postgres://"))


def default_location() -> str:
    """The database: `$CX_DB` when set (a file or a postgresql:// URL), else `data/cx.duckdb`."""
    return os.environ.get("CX_DB") or str(DEFAULT_DB)


def default_path() -> Path:
    """The database file: `$CX_DB` when set, else `data/cx.duckdb` in the project."""
    return Path(default_location())


def default_wait() -> float:
    """Seconds to wait for a database another process holds: `$CX_BUSY_SECONDS`, else 10."""
    return float(os.environ.get("CX_BUSY_SECONDS") or 10)


class WriteLock:
    """The lock every writer of one database holds for its whole transaction, across processes:
    a rule that depends on other rows (visit once, one status change at a time) is checked and
    written under it, so no other process can slip a write in between.

    For DuckDB it is a lock file beside the database (`cx.duckdb.lock`); one instance per file
    and process, reentrant within a thread, exclusive between threads and processes. A server
    back end would implement the same `hold` with its own lock (PostgreSQL: an advisory lock
    taken inside the transaction)."""

    def __init__(self, path: Path):
        self.path = Path(f"{path}.lock")
        self._lock = filelock.FileLock(self.path, is_singleton=True, poll_interval=0.01)

    @contextmanager
    def hold(self, wait: float, database: Path) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self._lock.is_locked:  # this thread's first hold, not a nested one
            self._let_waiting_writers_in()
        try:
            self._lock.acquire(timeout=0)
        except filelock.Timeout:
            waits["lock"] += 1
            marker = Path(f"{self.path}.waiting.{os.getpid()}.{threading.get_ident()}")
            marker.touch()
            try:
                self._lock.acquire(timeout=wait)
            except filelock.Timeout:
                raise DatabaseBusy(database, wait) from None
            finally:
                marker.unlink(missing_ok=True)
        try:
            yield
        finally:
            self._lock.release()

    def _let_waiting_writers_in(self, longest: float = 1.0) -> None:
        """Let writers that are already waiting go first. A waiting writer polls the lock (every
        10 ms); a process writing in a loop would take it back sooner and starve the other one
        past its wait. Waiters leave a marker file until they hold the lock; a marker left by a
        killed process delays a write by `longest` seconds at most."""
        deadline = time.monotonic() + longest
        while time.monotonic() < deadline and any(self.path.parent.glob(f"{self.path.name}.waiting.*")):
            time.sleep(0.01)


# DuckDB refuses a connection while another process holds the file, or while this process holds
# it in the other mode (read-only vs read-write): both mean "busy, try again shortly".
_BUSY_MESSAGES = ("Could not set lock on file", "different configuration than existing connections")
_DAMAGED_MESSAGES = ("not a valid DuckDB database file", "Could not read enough bytes", "Corrupt", "checksum")
_open = threading.local()  # the connection a block holds open, per thread and database file
# How often this process found the write lock taken, or the file held, and waited (bench/concurrency.py).
waits = {"lock": 0, "file": 0}


class Store:
    """A cx database: the interface both back ends implement, and what is written once for both.

    `Store(location)` gives the back end the location names: a DuckDB file (a path; the default
    `$CX_DB`, else data/cx.duckdb) or a PostgreSQL database (a postgresql:// URL). A back end
    implements `connect`, `transaction`, `migrate`, `snapshot`, `data_version` and `write_frame`;
    the readers and writers here only use those, so they run on either."""

    def __new__(cls, location=None, wait: float | None = None, **options):
        if cls is Store:
            if is_url(str(location or default_location())):
                from cx.postgres import PostgresStore
                cls = PostgresStore
            else:
                cls = DuckDBStore
        return super().__new__(cls)

    @classmethod
    def open(cls, location=None, wait: float | None = None, **options) -> Store:
        """The store at `location` (or the default), migrated to the current schema. `options` are
        the back end's (PostgreSQL: `owner`, the URL as the tables' owner)."""
        store = cls(location, wait, **options)
        store.migrate()
        return store

    location: str  # the file's resolved path or the database's URL: a key for caches

    def __repr__(self):
        return f"{type(self).__name__}({self.name!r})"

    @property
    def name(self) -> str:
        """The database as people read it (never a password)."""
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", self.location)

    @property
    def _key(self) -> str:
        return self.location

    def _held(self):
        """The connection this thread holds open on this database, and whether it is a transaction."""
        return getattr(_open, "connections", {}).get(self._key)

    @contextmanager
    def _holding(self, con, writing: bool = False) -> Iterator:
        """Make `con` the connection this thread's queries on this database use until the block ends."""
        if not hasattr(_open, "connections"):
            _open.connections = {}
        key = self._key
        _open.connections[key] = (con, writing)
        try:
            yield con
        finally:
            del _open.connections[key]

    def _joined_block(self, read_only: bool):
        """The connection of this thread's block on this database, or None outside any."""
        held = self._held()
        if held is not None and not (read_only or held[1]):
            raise RuntimeError("a write or transaction cannot start inside a reading block")
        return None if held is None else held[0]

    # --- what each back end implements -----------------------------------------------------

    def connect(self, read_only: bool = True):
        raise NotImplementedError

    def transaction(self):
        raise NotImplementedError

    def migrate(self) -> list[int]:
        raise NotImplementedError

    def data_version(self):
        """A value that changes whenever the data does: what cached reads are checked against."""
        raise NotImplementedError

    def snapshot(self, queries: dict[str, str | tuple[str, list]]) -> dict[str, pa.Table]:
        """Each query's result (a query, or a query and its parameters) as an Arrow table, all
        read from one snapshot of the database."""
        raise NotImplementedError

    def sidecar(self, suffix: str) -> Path:
        """A file that belongs to this database (e.g. the saved host matcher)."""
        raise NotImplementedError

    def files(self) -> tuple[Path, ...]:
        """The files that are the database, which an export must never overwrite."""
        return ()

    def row_hash(self, columns) -> str:
        """SQL for a non-negative 64-bit hash of a row's `columns` (the one function the engines
        name differently): what the host matcher's fingerprint sums."""
        raise NotImplementedError

    def lock_visitors(self, visitor_ids) -> None:
        """Inside a transaction: hold these visitors until it ends, so a rule on their exchanges
        (visit once) is checked and written without another writer in between."""
        self.hold("visitor", visitor_ids)

    def hold(self, kind: str, keys) -> None:
        """Inside a transaction: hold these keys of a kind ("visitor", "login") until it ends, for a
        rule over other rows of that key. DuckDB's write lock already serialises whole
        transactions, so only a server back end does something."""

    # --- reading ---------------------------------------------------------------------------

    @property
    def exists(self) -> bool:
        return True

    def schema_version(self) -> int:
        with self.connect() as con:
            return _version(con)

    @contextmanager
    def reading(self) -> Iterator[Store]:
        """Run the `query` calls of a block on one connection: opening one costs tens of
        milliseconds, which adds up over the dozen queries a page makes."""
        with self.connect() as con, self._holding(con):
            yield self

    def read_concurrently(self, calls: dict[str, Callable[[], object]], workers: int = 2) -> dict[str, object]:
        """Run independent reading functions `workers` at a time (each on a connection of its own)."""
        with ThreadPoolExecutor(workers) as pool:
            futures = {name: pool.submit(contextvars.copy_context().run, call) for name, call in calls.items()}
            return {name: future.result() for name, future in futures.items()}

    def query(self, sql: str, parameters: list | dict | None = None) -> pd.DataFrame:
        """A read-only query's result as a DataFrame (for cx modules; pages call those)."""
        with self.connect() as con:
            return con.execute(sql, parameters or []).df()

    def table(self, name: str) -> pd.DataFrame:
        """A whole table, unscoped (system work): for cx's own checks and the tests. What people
        see goes through the readers that take a `Viewer`."""
        if name not in TABLES:
            raise ValueError(f"no table {name!r}; cx has {', '.join(TABLES)}")
        with as_system():
            return self.query(f'SELECT * FROM "{name}" ORDER BY 1')

    @scoped
    def organisations(self, viewer: Viewer) -> pd.DataFrame:
        """The organisations whose records, contacts included, the viewer may read."""
        viewer.require_rows("see organisations' records")
        scope, parameters = viewer.organisation_scope("o")
        return self.query(f"SELECT * FROM {ORGANISATION_RECORDS} o WHERE {scope} ORDER BY o.id", parameters)

    def partnerships(self) -> pd.DataFrame:
        """The partnerships (public: names, ecosystems and targets; no people, no money: a
        partnership's allocation is read through `cx.money`, which scopes it)."""
        return self.query("SELECT id, name, ecosystems, target_exchanges FROM partnerships ORDER BY id")

    @scoped
    def exchanges(self, viewer: Viewer) -> pd.DataFrame:
        """The exchanges the viewer may see (its scope's visitors' and hosts'), with the visitor's
        and host's country, city, kind and partnership."""
        viewer.require_rows("see exchanges")
        scope, parameters = viewer.exchange_scope("v", "h")
        return self.query(f"""
            SELECT e.*,
                   v.name AS visitor_name, v.country AS visitor_country, v.city AS visitor_city,
                   v.kind AS visitor_kind, v.partnership_id AS partnership_id,
                   h.name AS host_name, h.country AS host_country, h.city AS host_city, h.kind AS host_kind
            FROM exchanges e
            LEFT JOIN organisations v ON v.id = e.visitor_id
            LEFT JOIN organisations h ON h.id = e.host_id
            WHERE {scope}
            ORDER BY e.start_date, e.id
        """, parameters)

    def counts(self) -> dict[str, int]:
        """Rows per table (programme figures: system work)."""
        with as_system(), self.connect() as con:
            return {t: int(con.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0]) for t in TABLES}

    # --- writing ---------------------------------------------------------------------------

    def replace_all(self, partnerships: pd.DataFrame, organisations: pd.DataFrame,
                    exchanges: pd.DataFrame, events: pd.DataFrame | None = None,
                    missions: pd.DataFrame | None = None, steps: dict[str, pd.DataFrame] | None = None) -> None:
        """Replace the programme's data in one transaction (the demo generator uses this: system work);
        `steps` holds rows of the exchanges' step tables (EXCHANGE_STEPS) by table name."""
        with as_system(), self.transaction() as con:
            for table in (*EXCHANGE_STEPS, "exchange_events", "exchanges", "missions", "invitations", "organisations",
                          "partnerships"):
                con.execute(f"DELETE FROM {table}")
            if missions is not None and len(missions):
                insert_frame(con, "missions", missions)
            insert_frame(con, "partnerships", partnerships)
            insert_frame(con, "organisations", organisations)
            insert_frame(con, "exchanges", exchanges)
            if events is not None and len(events):
                insert_frame(con, "exchange_events", events)
            for table, frame in (steps or {}).items():
                if len(frame):
                    insert_frame(con, table, frame)


class DuckDBStore(Store):
    """A cx database file.

    Reads open read-only connections (many processes may read at once, and a read-only file
    serves every read); writes take the write lock, then a read-write connection. Opening waits
    while another process holds the file, up to `wait` seconds, then raises DatabaseBusy."""

    def __init__(self, path: Path | str | None = None, wait: float | None = None):
        self.path = Path(path) if path is not None else default_path()
        self.location = str(self.path.resolve())
        self.wait = default_wait() if wait is None else wait
        self.write_lock = WriteLock(self.path.resolve())

    @property
    def exists(self) -> bool:
        return self.path.exists()

    @property
    def name(self) -> str:
        return str(self.path)

    def modified(self) -> float:
        """When the file (or its write-ahead log) last changed."""
        times = [p.stat().st_mtime_ns for p in (self.path, Path(f"{self.path}.wal")) if p.exists()]
        return max(times, default=0)

    def data_version(self) -> tuple:
        """The file's and its write-ahead log's time and size: they change with every commit, and
        reading them costs a stat, not a connection (tens of milliseconds), on every cached read."""
        sizes = [p.stat().st_size if p.exists() else -1 for p in (self.path, Path(f"{self.path}.wal"))]
        return self.modified(), *sizes

    def sidecar(self, suffix: str) -> Path:
        return self.path.with_name(self.path.name + suffix)

    def files(self) -> tuple[Path, ...]:
        return self.path, self.write_lock.path

    def row_hash(self, columns) -> str:
        return "hash(" + ", ".join(f'"{c}"' for c in columns) + ")"

    def _require_writable(self) -> None:
        if self.path.exists() and not os.access(self.path, os.W_OK):
            raise ReadOnlyDatabase(self.path)

    @contextmanager
    def connect(self, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the file, closed when the block ends; inside a `reading` or
        `transaction` block of this thread, that block's connection."""
        held = self._joined_block(read_only)
        if held is not None:
            yield held
            return
        con = self._open(read_only)
        try:
            yield con
        finally:
            con.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        if read_only and not self.path.exists():
            self.migrate()  # a new file: create it with the schema, so every read finds its tables
        if not read_only:
            self._require_writable()
        deadline, pause, waited = time.monotonic() + self.wait, 0.005, False
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as error:
                message = str(error)
                if any(m in message for m in _DAMAGED_MESSAGES):
                    raise DamagedDatabase(self.path, message.split(": ", 1)[-1].split(" See also")[0]) from None
                if "Permission denied" in message or "Read-only file system" in message:
                    raise ReadOnlyDatabase(self.path) from None
                if not any(m in message for m in _BUSY_MESSAGES):
                    raise
                if time.monotonic() >= deadline:
                    raise DatabaseBusy(self.path, self.wait) from None
                waits["file"] += not waited  # once per connection that had to wait
                waited = True
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 0.2)

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection in a transaction, under the write lock: committed when the
        block ends, rolled back on error. Queries of this thread on this file inside the block
        (`query`, `table`, ...) run in the transaction, so the rules they check see exactly what
        the write will change. Inside another transaction of this thread on this file, the block
        joins it."""
        held = self._joined_block(read_only=False)
        if held is not None:
            yield held
            return
        self._require_writable()
        with self.write_lock.hold(self.wait, self.path), self.connect(read_only=False) as con, \
                self._holding(con, writing=True):
            con.begin()
            try:
                yield con
            except BaseException:
                con.rollback()
                raise
            con.commit()

    def migrate(self) -> list[int]:
        """Apply the migrations this file lacks; returns the versions applied (none when current).

        A current file is only read, so a read-only file opens; each migration is a transaction
        with its version row, under the write lock."""
        if self.path.exists():
            with self.connect() as con:
                if _version(con) >= SCHEMA_VERSION:
                    return []
        applied = []
        self._require_writable()
        with self.write_lock.hold(self.wait, self.path), self.connect(read_only=False) as con:
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

    def read_concurrently(self, calls: dict[str, Callable[[], object]], workers: int = 2) -> dict[str, object]:
        """Run independent reading functions two at a time, each thread on a cursor of one
        connection: DuckDB runs a small query on one core, so this keeps both cores busy."""
        cursors: list[duckdb.DuckDBPyConnection] = []
        with self.connect() as con:

            def open_cursor():
                cursor = con.cursor()  # this thread's own: two initialisers run at once
                cursors.append(cursor)
                _open.connections = {self._key: (cursor, False)}

            try:
                with ThreadPoolExecutor(workers, initializer=open_cursor) as pool:
                    futures = {name: pool.submit(contextvars.copy_context().run, call) for name, call in calls.items()}
                    return {name: future.result() for name, future in futures.items()}
            finally:
                for cursor in cursors:
                    cursor.close()

    def snapshot(self, queries: dict[str, str | tuple[str, list]]) -> dict[str, pa.Table]:
        with self.connect() as con:
            con.begin()  # one snapshot of every table read
            try:
                tables = {}
                for name, query in queries.items():
                    sql, parameters = _with_parameters(query)
                    tables[name] = con.sql(sql, params=parameters or None).to_arrow_table()
                return tables
            finally:
                con.rollback()


def _with_parameters(query: str | tuple[str, list]) -> tuple[str, list]:
    """A snapshot's query as (SQL, parameters)."""
    return (query, []) if isinstance(query, str) else query


def insert_frame(con, table: str, frame: pd.DataFrame, update: tuple[str, ...] | list[str] = (),
                 stamp: str | None = None) -> int:
    """Insert a DataFrame's columns into a table of the same column names in the connection's
    transaction, as one bulk write (never string-built SQL): DuckDB scans the frame, PostgreSQL
    COPYs it. With `update`, an upsert on id: a row whose id is stored takes these columns from
    the frame (and `stamp`, a timestamp column, the time of the write)."""
    if not isinstance(con, duckdb.DuckDBPyConnection):
        return con.insert_frame(table, frame, update, stamp)
    columns = ", ".join(f'"{c}"' for c in frame.columns)
    changes = [f'"{c}" = excluded."{c}"' for c in update] + ([f'"{stamp}" = now()'] if stamp else [])
    on_conflict = f"ON CONFLICT (id) DO UPDATE SET {', '.join(changes)}" if update else ""
    # On failure the registration stays until the connection closes: unregistering inside an
    # aborted transaction would hide the real error.
    con.register("_cx_frame", frame)
    con.execute(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM _cx_frame {on_conflict}')
    con.unregister("_cx_frame")
    return len(frame)


# The tables whose ids a sequence numbers, and the sequence.
NUMBERED = {"exchange_events": "exchange_event_ids", "registrations": "registration_ids", "outbox": "outbox_ids"}


def copy_programme(source: Store, target: Store) -> dict[str, int]:
    """Copy every table of `source` into `target`, an empty cx database of either back end, in
    one transaction of the target (bulk writes: COPY on PostgreSQL), with the evidence files its
    rows name (`cx.evidence.copy_files`, each checked by its hash); returns the rows per table.
    The target's counts are checked against the source's before the commit, so a copy is whole or
    not made at all."""
    from cx import evidence  # it keeps files for a store: it imports this module

    with as_system(), source.reading():
        frames = {table: source.table(table) for table in TABLES}
    with as_system(), target.transaction() as con:
        held = {table: int(con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]) for table in TABLES}
        if any(held.values()):
            raise CxError(f"{target.name} already holds "
                          + ", ".join(f"{n:,} {table}" for table, n in held.items() if n)
                          + "; copy into a new, empty database")
        for table, frame in frames.items():
            if len(frame):
                insert_frame(con, table, frame)
        # New numbered rows come after the copied ones (setval is PostgreSQL's only).
        for table, sequence in NUMBERED.items():
            last = int(con.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"').fetchall()[0][0])
            if last:
                con.execute(f"SELECT count(nextval('{sequence}')) FROM generate_series(1, ?)", [last]).fetchall()
        copied = {table: int(con.execute(f'SELECT count(*) FROM "{table}"').fetchall()[0][0]) for table in TABLES}
        expected = {table: len(frame) for table, frame in frames.items()}
        if copied != expected:
            raise CxError(f"the copy into {target.name} holds {copied}, not the source's {expected}; "
                          "nothing was written")
        evidence.copy_files(source, target, frames["evidence"]["sha256"])
    return copied


def _version(con: duckdb.DuckDBPyConnection) -> int:
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_version'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0]


def open_store(location: Path | str | None = None, wait: float | None = None, **options) -> Store:
    """The store at `location` (a DuckDB file or a postgresql:// URL; default `$CX_DB`, else
    data/cx.duckdb), migrated to the current schema; `wait` seconds for a database another
    process holds (default `$CX_BUSY_SECONDS`, else 10)."""
    return Store.open(location, wait, **options)
