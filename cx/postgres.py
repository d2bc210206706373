"""The PostgreSQL back end of the store: a database many processes and machines share.

Connections come from a psycopg pool, one per database and process. The queries are cx's portable
SQL; this module only adapts what differs between the drivers: placeholders (`?` and `$name`
become `%s` and `%(name)s`), result types (the same pandas dtypes and Arrow types DuckDB gives)
and bulk writes (COPY).

Writers run at once. A rule that depends on other rows locks what it depends on in the
transaction that writes (`lock_visitors`: an advisory lock per visitor, held to commit), so two
processes approving two exchanges of one visitor cannot both succeed.

Defence in depth: the application connects as a role that neither owns the tables nor is a
superuser; the migrations run as the owner (`owner`, `$CX_DB_OWNER`), which also grants the
application's role what it may do and sets the row-level security policies (`SECURITY`). Every
transaction carries the scope of the work it does (`cx.access.acting_as`) in transaction-local
settings (`set_config(..., true)`: a connection back in the pool keeps none), and the policies
let it see only that scope's rows; with no scope a query sees nothing. System work (migrations,
the demo, a copy, sending mail, the figures' in-memory copy) runs on the owner's connection.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import adbc_driver_postgresql.dbapi as adbc
import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.types.string import StrDumper, TextLoader
from psycopg_pool import ConnectionPool, PoolTimeout

from cx import DATA_DIR
from cx.access import CONTACT_COLUMNS, SYSTEM, as_system, current_scope, scope_settings
from cx.errors import CxError
from cx.store import MIGRATIONS, SCHEMA_VERSION, TABLES, Store, _version, _with_parameters, default_location, default_wait

# The SQL's quoted parts, comments and placeholders: placeholders outside quotes become psycopg's,
# and every % is doubled (psycopg reads it as a placeholder's start even inside quotes).
_TOKENS = re.compile(r"""('(?:[^']|'')*')|("(?:[^"]|"")*")|(--[^\n]*)|(\?)|\$([A-Za-z_]\w*)|(%)""")

# PostgreSQL type OIDs and what DuckDB gives for the same column: (numpy dtype, dtype with NULLs).
_INTEGERS = {21: ("int16", "Int16"), 23: ("int32", "Int32"), 20: ("int64", "Int64")}
_FLOATS = {700, 701, 1700}  # real, double precision, numeric (sums and averages)
_BOOL, _DATE, _TIMESTAMPS = 16, 1082, {1114, 1184}


# Row-level security: what a transaction's scope (`cx.role`, `cx.partnerships`, `cx.organisation`,
# set per transaction by `Connection.scope`) may read and write, mirroring cx.access.Viewer:
# officer everything; partnership manager its partnerships' organisations and the exchanges where
# either side is theirs; organisation itself and its exchanges; planner no personal rows. No
# scope, nothing. Organisations' other columns are the programme's directory (hosts to find, the
# other side of an exchange), readable by every role that reads rows; their contacts are not
# readable by the application's role at all but through `organisation_contacts`, which gives those
# the scope holds and those of the other side of its exchanges (whom its steps notify).
_IN_SCOPE = "(SELECT o.id FROM organisations o WHERE cx_holds(o.id, o.partnership_id))"
_PARTIES = f"(cx_role() = 'officer' OR visitor_id IN {_IN_SCOPE} OR host_id IN {_IN_SCOPE})"
_OF_EXCHANGES = "(exchange_id IN (SELECT id FROM exchanges))"
_ANY = "(cx_role() <> '')"
_OFFICER = "(cx_role() = 'officer')"
_MEMBER = f"cx_role() = 'partnership_manager' AND role = 'organisation' AND organisation_id IN {_IN_SCOPE}"
POLICIES = {  # table: (who reads a row, who writes it)
    "partnerships": (_ANY, _OFFICER),
    "organisations": ("(cx_reads_rows())",
                      "(cx_holds(id, partnership_id))"),
    "exchanges": (_PARTIES, _PARTIES),
    "invitations": (_PARTIES, _PARTIES),
    **{table: (_OF_EXCHANGES, _OF_EXCHANGES) for table in
       ("exchange_events", "host_answers", "agenda_days", "signatures", "closing_reports", "evidence", "payments")},
    "missions": ("(cx_role() IN ('officer', 'planner') OR partnership_id = ANY(cx_partnerships()) "
                 "OR id IN (SELECT mission_id FROM exchanges))",
                 "(cx_role() = 'officer' OR partnership_id = ANY(cx_partnerships()))"),
    # Staff logins (whom notifications address) to every scope; an organisation's login to officers
    # and to the scopes that may read its contacts (its own, the other side of its exchanges): whom
    # an exchange's steps tell (`cx.outbox.people`); managers give it to an organisation of their
    # partnerships when they accept its registration.
    "accounts": (f"({_OFFICER} OR ({_ANY} AND role IN ('officer', 'partnership_manager')) OR ({_MEMBER}) "
                 "OR (role = 'organisation' AND organisation_id IN (SELECT id FROM organisation_contacts)))",
                 f"({_OFFICER} OR ({_MEMBER}))"),
    "registrations": (f"({_OFFICER} OR (cx_role() = 'partnership_manager' AND partnership_id = ANY(cx_partnerships())))",) * 2,
    "outbox": (_OFFICER, _OFFICER),  # every scope may write a message (below), officers read them
    "scenarios": (_ANY, _ANY),  # budget scenarios: figures, no people
}
SECURITY = """
    CREATE OR REPLACE FUNCTION cx_role() RETURNS TEXT LANGUAGE sql STABLE
        AS $$ SELECT coalesce(current_setting('cx.role', true), '') $$;
    CREATE OR REPLACE FUNCTION cx_partnerships() RETURNS TEXT[] LANGUAGE sql STABLE
        AS $$ SELECT coalesce(nullif(current_setting('cx.partnerships', true), '')::TEXT[], ARRAY[]::TEXT[]) $$;
    CREATE OR REPLACE FUNCTION cx_organisation() RETURNS TEXT LANGUAGE sql STABLE
        AS $$ SELECT coalesce(current_setting('cx.organisation', true), '') $$;
    -- Whether the scope's role reads rows (not the planner's). PL/pgSQL, so never inlined: the
    -- planner then guesses a third of the rows pass, not almost none, and joins the directory
    -- with the contacts by hash instead of scanning the contacts once per organisation.
    CREATE OR REPLACE FUNCTION cx_reads_rows() RETURNS BOOLEAN LANGUAGE plpgsql STABLE
        AS $$ BEGIN RETURN cx_role() IN ('officer', 'partnership_manager', 'organisation'); END $$;
    -- Whether the scope holds an organisation (its records, contacts included): Viewer._scope.
    CREATE OR REPLACE FUNCTION cx_holds(organisation TEXT, partnership TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE
        AS $$ SELECT CASE cx_role() WHEN 'officer' THEN TRUE
                      WHEN 'partnership_manager' THEN coalesce(partnership = ANY(cx_partnerships()), FALSE)
                      WHEN 'organisation' THEN coalesce(organisation = cx_organisation(), FALSE)
                      ELSE FALSE END $$;
""" + "".join(f"""
    ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
    DROP POLICY IF EXISTS cx_read ON {table};
    DROP POLICY IF EXISTS cx_add ON {table};
    DROP POLICY IF EXISTS cx_change ON {table};
    DROP POLICY IF EXISTS cx_remove ON {table};
    CREATE POLICY cx_read ON {table} FOR SELECT USING {read};
    CREATE POLICY cx_add ON {table} FOR INSERT WITH CHECK {_ANY if table == "outbox" else write};
    CREATE POLICY cx_change ON {table} FOR UPDATE USING {write} WITH CHECK {write};
    CREATE POLICY cx_remove ON {table} FOR DELETE USING {write};""" for table, (read, write) in POLICIES.items()) + f"""
    -- The view runs as its owner (row-level security does not narrow it), so it states the scope.
    CREATE OR REPLACE VIEW organisation_contacts WITH (security_barrier) AS
        SELECT o.id, o.contact_name, o.contact_email FROM organisations o
        WHERE cx_holds(o.id, o.partnership_id)
           OR (cx_role() IN ('partnership_manager', 'organisation') AND o.id IN (  -- one set, not a probe per row
               SELECT e.host_id FROM exchanges e JOIN organisations mine ON mine.id = e.visitor_id
               WHERE cx_holds(mine.id, mine.partnership_id)
               UNION
               SELECT e.visitor_id FROM exchanges e JOIN organisations mine ON mine.id = e.host_id
               WHERE cx_holds(mine.id, mine.partnership_id)));
"""
# The version of SECURITY a database holds, kept as cx_holds's comment: set again when it changes.
SECURITY_VERSION = hashlib.sha256(SECURITY.encode()).hexdigest()[:16]


def grants(app_role: str, organisation_columns: list[str]) -> sql.Composed:
    """What the application's role may do: read and write the tables (row-level security narrows
    it), organisations' columns but the contacts, the contacts' view; no table it owns, no TRUNCATE."""
    role = sql.Identifier(app_role)
    tables = sql.SQL(", ").join(sql.Identifier(t) for t in TABLES if t != "organisations")
    readable = sql.SQL(", ").join(sql.Identifier(c) for c in organisation_columns if c not in CONTACT_COLUMNS)
    return sql.SQL("; ").join([
        sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {} TO {}").format(tables, role),
        sql.SQL("GRANT SELECT ({}) ON organisations TO {}").format(readable, role),
        sql.SQL("GRANT INSERT, UPDATE, DELETE ON organisations TO {}").format(role),
        sql.SQL("GRANT SELECT ON organisation_contacts, schema_version TO {}").format(role),
        sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role),
    ])


@lru_cache(maxsize=1024)
def adapted(query: str) -> str:
    """cx's SQL with psycopg's placeholders."""
    def swap(match: re.Match) -> str:
        if match.group(4):
            return "%s"
        if match.group(5):
            return f"%({match.group(5)})s"
        return match.group(0).replace("%", "%%")
    return _TOKENS.sub(swap, query)


def numbered(query: str) -> str:
    """cx's SQL with libpq's numbered placeholders ($1, $2, ...), as the Arrow driver takes them."""
    count = iter(range(1, 10_000))

    def swap(match: re.Match) -> str:
        if match.group(4):
            return f"${next(count)}"
        if match.group(5):
            raise ValueError("a snapshot's parameters are positional (?)")
        return match.group(0)
    return _TOKENS.sub(swap, query)


def _arrow(table: pa.Table) -> pa.Table:
    """A table read by the Arrow driver as DuckDB gives it: numeric (sums) as double, and
    without the driver's note of each column's PostgreSQL type."""
    fields = [pa.field(f.name, pa.float64() if (f.metadata or {}).get(b"POSTGRESQL:type") == b"numeric" else f.type)
              for f in table.schema]
    return table.cast(pa.schema(fields))


def _value(value):
    """A parameter as psycopg takes it: numpy scalars as Python ones, tuples and arrays as lists."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (tuple, np.ndarray)):
        return [_value(v) for v in value]
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    return value


def _parameters(parameters):
    if isinstance(parameters, dict):
        return {name: _value(value) for name, value in parameters.items()}
    return [_value(value) for value in parameters or []]


def _column(values: list, oid: int):
    """A result column as DuckDB's `.df()` gives it."""
    missing = any(v is None for v in values)
    if oid in _INTEGERS:
        plain, nullable = _INTEGERS[oid]
        return pd.array(values, dtype=nullable) if missing else np.array(values, dtype=plain)
    if oid in _FLOATS:
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    if oid == _BOOL:
        return pd.array(values, dtype="boolean") if missing else np.array(values, dtype=bool)
    if oid == _DATE or oid in _TIMESTAMPS:
        moments = pd.to_datetime(pd.Series(values, dtype=object), utc=oid == 1184)
        return moments.dt.tz_localize(None).astype("datetime64[us]") if oid == 1184 else moments.astype("datetime64[us]")
    if values and isinstance(next((v for v in values if v is not None), None), list):
        return pd.Series([None if v is None else np.array(v, dtype=object) for v in values], dtype=object)
    return pd.Series(values, dtype="str" if any(v is not None for v in values) else object)


class Result:
    """A cursor after `execute`, read the way cx reads DuckDB's results."""

    def __init__(self, cursor: psycopg.Cursor):
        self.cursor = cursor

    def fetchone(self):
        return self.cursor.fetchone()

    def fetchall(self):
        return self.cursor.fetchall()

    def df(self) -> pd.DataFrame:
        description = self.cursor.description or []
        rows = self.cursor.fetchall()
        frame = pd.DataFrame({i: _column([row[i] for row in rows], c.type_code) for i, c in enumerate(description)})
        frame.columns = [c.name for c in description]
        return frame



class Connection:
    """A pooled connection in a transaction, with the `execute` and bulk write the store's callers
    use; each statement runs in the scope of the work it does (`scope`)."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw
        self.settings = scope_settings(None)  # what a new transaction holds: no scope

    def scope(self) -> None:
        """Give the transaction the current scope (`cx.access.acting_as`), when it holds another:
        transaction-local settings, gone at its end, so the pool never hands a scope on."""
        wanted = scope_settings(current_scope())
        if wanted != self.settings:
            self.raw.execute("SELECT set_config('cx.role', %s, true), set_config('cx.partnerships', %s::TEXT, true), "
                             "set_config('cx.organisation', %s, true)",
                             [wanted["cx.role"], wanted["cx.partnerships"], wanted["cx.organisation"]])
            self.settings = wanted

    def execute(self, query: str, parameters: list | dict | None = None) -> Result:
        self.scope()
        cursor = self.raw.cursor()
        cursor.execute(adapted(query), _parameters(parameters))
        return Result(cursor)

    def executemany(self, query: str, rows: list) -> None:
        self.scope()
        with self.raw.cursor() as cursor:
            cursor.executemany(adapted(query), [_parameters(row) for row in rows])

    def sql(self, query: str) -> Result:
        return self.execute(query)

    def insert_frame(self, table: str, frame: pd.DataFrame, update=(), stamp: str | None = None) -> int:
        """COPY the frame into the table, or through a temporary table when it upserts (`update`:
        see `cx.store.insert_frame`) or row-level security applies (COPY refuses a table that has
        it: only system work, on the owner's connection, COPYs straight in). The upsert updates,
        then inserts the new ids: ON CONFLICT's `excluded` would need SELECT on every column it
        sets, and the application's role may not read organisations' contacts."""
        self.scope()
        types = {name: (oid, kind, declared) for name, oid, kind, declared in self.raw.execute(
            "SELECT a.attname, a.atttypid::INTEGER, t.typname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "JOIN pg_type t ON t.oid = a.atttypid WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            [table]).fetchall()}
        target = table
        staged = bool(update) or current_scope() != SYSTEM
        if staged:  # the frame's columns only (LIKE would need SELECT on every column, contacts included)
            target = f"_cx_frame_{table}"
            self.raw.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(target)))
            self.raw.execute(sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
                sql.Identifier(target), sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(c), sql.SQL(types[c][2]))
                                                           for c in frame.columns)))
        columns = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
        values = [_copied(frame[c], types[c][1]) for c in frame.columns]
        with self.raw.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(target), columns)) as copy:
            copy.set_types([types[c][0] for c in frame.columns])
            for row in zip(*values):
                copy.write_row(row)
        if not staged:
            return len(frame)
        name, staging = sql.Identifier(table), sql.Identifier(target)
        if update:
            changes = [sql.SQL("{} = new.{}").format(sql.Identifier(c), sql.Identifier(c)) for c in update]
            changes += [sql.SQL("{} = now()").format(sql.Identifier(stamp))] if stamp else []
            self.raw.execute(sql.SQL("UPDATE {} SET {} FROM {} new WHERE {}.id = new.id").format(
                name, sql.SQL(", ").join(changes), staging, name))
        self.raw.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} new").format(name, columns, columns, staging)
                         + (sql.SQL(" WHERE new.id NOT IN (SELECT id FROM {})").format(name) if update else sql.SQL("")))
        return len(frame)


def _copied(values: pd.Series, udt: str) -> list:
    """A frame's column as the Python values COPY writes into a column of type `udt` (NaN, NaT
    and NA as NULL, as DuckDB's scan of a frame stores them)."""
    def missing(v):
        return v is None or (not isinstance(v, (list, tuple, np.ndarray)) and pd.isna(v))

    if udt == "date":
        return [None if missing(v) else pd.Timestamp(v).date() for v in values]
    if udt.startswith("timestamp"):
        return [None if missing(v) else pd.Timestamp(v).to_pydatetime() for v in values]
    if udt.startswith("_"):
        return [None if missing(v) else [str(e) for e in v] for v in values]
    if udt in ("int2", "int4", "int8"):
        return [None if missing(v) else int(v) for v in values]
    if udt in ("float4", "float8", "numeric"):
        return [None if missing(v) else float(v) for v in values]
    if udt == "bool":
        return [None if missing(v) else bool(v) for v in values]
    return [None if missing(v) else str(v) for v in values]


class ServerUnavailable(CxError):
    """The PostgreSQL server did not give a connection within the wait (down, unreachable, or
    every connection of the pool busy)."""

    exit_code = 3

    def __init__(self, name: str, waited: float):
        super().__init__(f"the database server of {name} gave no connection within {waited:g} s; check that it "
                         "runs and is reachable, then try again (wait longer with --wait or CX_BUSY_SECONDS)")


@contextmanager
def _connection(store: PostgresStore) -> Iterator[psycopg.Connection]:
    """A connection of the store's pool, or ServerUnavailable after the store's wait."""
    try:
        with pool(store.url_now(), store.pool_size).connection(timeout=store.wait) as raw:
            yield raw
    except PoolTimeout:
        raise ServerUnavailable(store.name, store.wait) from None


def _configure(raw: psycopg.Connection) -> None:
    # Python text as `text` (so a list of strings is a text[], as `= ANY(?)` and `&&` need), JSON
    # read as its text (as DuckDB gives it).
    raw.adapters.register_dumper(str, StrDumper)
    raw.adapters.register_loader("json", TextLoader)
    raw.adapters.register_loader("jsonb", TextLoader)


_POOLS: dict[str, ConnectionPool] = {}
_POOLING = threading.Lock()


def pool(url: str, size: int = 8) -> ConnectionPool:
    """This process's pool of connections to the database at `url` (of `size` connections at most,
    when this call makes it)."""
    with _POOLING:
        if url not in _POOLS:
            _POOLS[url] = ConnectionPool(url, min_size=1, max_size=size, kwargs={"autocommit": True},
                                         configure=_configure, open=True, name=f"cx {url}")
        return _POOLS[url]


def close_pool(url: str) -> None:
    """Close this process's connections to the database at `url` (before dropping or copying it)."""
    with _POOLING:
        opened = _POOLS.pop(url, None)
    if opened is not None:
        opened.close()


def close_pools_to(database: str) -> None:
    """Close this process's pools to the database named `database`, as any role."""
    with _POOLING:
        urls = [url for url in _POOLS if psycopg.conninfo.conninfo_to_dict(url).get("dbname") == database]
    for url in urls:
        close_pool(url)


@atexit.register
def close_pools() -> None:
    with _POOLING:
        for opened in _POOLS.values():
            opened.close()
        _POOLS.clear()


class PostgresStore(Store):
    """A cx database on a PostgreSQL server (`postgresql://…`), reached as the application's role
    (`url`) and, for system work and migrations, as the tables' owner (`owner`: default
    `$CX_DB_OWNER`, else `url` itself, as when one role does both). `pool_size`: this process's
    connections to it at most."""

    def __init__(self, url: str | None = None, wait: float | None = None, owner: str | None = None,
                 pool_size: int = 8):
        self.location = self.url = str(url or default_location())
        self.owner = owner or os.environ.get("CX_DB_OWNER") or self.url
        self.pool_size = pool_size
        self.wait = default_wait() if wait is None else wait

    def url_now(self) -> str:
        """The URL the current work connects with: the owner's for system work, else the app's."""
        return self.owner if current_scope() == SYSTEM else self.url

    @property
    def _key(self) -> str:
        return self.url_now()

    def sidecar(self, suffix: str) -> Path:
        """A file of this database in data/cache (a server has no folder of its own to use)."""
        folder = DATA_DIR / "cache"
        folder.mkdir(parents=True, exist_ok=True)
        return folder / (hashlib.sha256(self.url.encode()).hexdigest()[:16] + suffix)

    def row_hash(self, columns) -> str:
        return ("(hash_record_extended(ROW(" + ", ".join(f'"{c}"' for c in columns) + "), 0) "
                "& 9223372036854775807)")

    @contextmanager
    def connect(self, read_only: bool = True) -> Iterator[Connection]:
        held = self._joined_block(read_only)
        if held is not None:
            yield held
            return
        with _connection(self) as raw, raw.transaction():  # the scope holds for one transaction
            yield Connection(raw)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction on a pooled connection: committed when the block ends, rolled back on
        error; the block's queries (`query`, `table`, ...) of this thread run in it, and a nested
        block joins it. The data version is bumped at the end of it and again after the commit,
        so a cached read taken meanwhile is never kept under the new version."""
        held = self._joined_block(read_only=False)
        if held is not None:
            yield held
            return
        with _connection(self) as raw:
            con = Connection(raw)
            with raw.transaction(), self._holding(con, writing=True):
                yield con
                raw.execute("SELECT nextval('cx_data_version')")
            raw.execute("SELECT nextval('cx_data_version')")

    def hold(self, kind: str, keys) -> None:
        """Advisory locks on the keys, taken in one order (so two writers cannot deadlock) and
        released when the transaction ends."""
        held = self._held()
        if held is None or not held[1]:
            return  # a dry run reads only
        ids = sorted({f"{kind} {k}" for k in keys if k is not None and not pd.isna(k)})
        if ids:
            held[0].execute("SELECT count(pg_advisory_xact_lock(hashtextextended(v, 0))) "
                            "FROM (SELECT unnest(?) AS v ORDER BY 1) ids", [ids])

    def data_version(self) -> int:
        with self.connect() as con:
            return int(con.execute("SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END "
                                   "FROM cx_data_version").fetchone()[0])

    def snapshot(self, queries: dict[str, str | tuple[str, list]]) -> dict[str, pa.Table]:
        """The queries' results in one repeatable-read transaction, read by Apache Arrow's
        PostgreSQL driver (ADBC: COPY in binary straight into Arrow columns; measured 3 to 4 times
        faster than making a Python object of every value, in bench/uptake.py --backend postgres)
        on a connection of its own, with the URL of the work at hand (`url_now`: the owner's for
        system work, such as the Uptake copy)."""
        tables = {}
        with adbc.connect(self.url_now()) as con, con.cursor() as cursor:  # not in autocommit: a transaction
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            for name, query in queries.items():
                sql, parameters = _with_parameters(query)
                cursor.execute(numbered(sql), [_value(value) for value in parameters] or None)
                tables[name] = _arrow(cursor.fetch_arrow_table())
            con.rollback()
        return tables

    def migrate(self) -> list[int]:
        """Apply the migrations this database lacks, each in a transaction with its version row,
        then the row-level security and the application role's grants when they are not current;
        as the tables' owner. An advisory lock makes processes starting at once apply each once."""
        with as_system(), _connection(self) as raw:
            con = Connection(raw)
            applied = self._migrations(con)
            self._secure(con)
            return applied

    def _secure(self, con: Connection) -> None:
        """Set SECURITY when the database holds another version of it, and grant the application's
        role (the user of `url`, when it is not the owner) what it may do."""
        app_role = psycopg.conninfo.conninfo_to_dict(self.url).get("user")
        granting = bool(app_role) and con.execute("SELECT current_user <> ?", [app_role]).fetchone()[0]
        stale = con.execute("SELECT obj_description(to_regprocedure('cx_holds(text, text)'), 'pg_proc') "
                            "IS DISTINCT FROM ?", [SECURITY_VERSION]).fetchone()[0]
        if not (stale or granting and not con.execute("SELECT has_column_privilege(?, 'organisations', 'id', 'SELECT')",
                                                       [app_role]).fetchone()[0]):
            return
        with con.raw.transaction():
            con.execute("SELECT pg_advisory_xact_lock(0)")
            con.raw.execute(SECURITY)
            con.raw.execute(sql.SQL("COMMENT ON FUNCTION cx_holds(TEXT, TEXT) IS {}").format(sql.Literal(SECURITY_VERSION)))
            if granting:
                columns = [row[0] for row in con.execute(
                    "SELECT attname FROM pg_attribute WHERE attrelid = 'organisations'::regclass AND attnum > 0 "
                    "AND NOT attisdropped ORDER BY attnum").fetchall()]
                con.raw.execute(grants(app_role, columns))

    def _migrations(self, con: Connection) -> list[int]:
        if _version(con) >= SCHEMA_VERSION:
            return []
        applied = []
        with con.raw.transaction():
            con.execute("SELECT pg_advisory_xact_lock(0)")
            con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
        for version, statements in MIGRATIONS:
            with con.raw.transaction():
                con.execute("SELECT pg_advisory_xact_lock(0)")
                if version <= _version(con):
                    continue
                con.raw.execute(statements)
                con.execute("INSERT INTO schema_version VALUES (?, current_timestamp)", [version])
                applied.append(version)
        return applied
