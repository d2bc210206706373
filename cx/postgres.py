"""The PostgreSQL back end of the store: a database many processes and machines share.

Connections come from a psycopg pool, one per database and process. The queries are cx's portable
SQL; this module only adapts what differs between the drivers: placeholders (`?` and `$name`
become `%s` and `%(name)s`), result types (the same pandas dtypes and Arrow types DuckDB gives)
and bulk writes (COPY).

Writers run at once. A rule that depends on other rows locks what it depends on in the
transaction that writes (`lock_visitors`: an advisory lock per visitor, held to commit), so two
processes approving two exchanges of one visitor cannot both succeed.
"""

from __future__ import annotations

import atexit
import hashlib
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
from cx.errors import CxError
from cx.store import MIGRATIONS, SCHEMA_VERSION, Store, _version, _with_parameters, default_location, default_wait

# The SQL's quoted parts, comments and placeholders: placeholders outside quotes become psycopg's,
# and every % is doubled (psycopg reads it as a placeholder's start even inside quotes).
_TOKENS = re.compile(r"""('(?:[^']|'')*')|("(?:[^"]|"")*")|(--[^\n]*)|(\?)|\$([A-Za-z_]\w*)|(%)""")

# PostgreSQL type OIDs and what DuckDB gives for the same column: (numpy dtype, dtype with NULLs).
_INTEGERS = {21: ("int16", "Int16"), 23: ("int32", "Int32"), 20: ("int64", "Int64")}
_FLOATS = {700, 701, 1700}  # real, double precision, numeric (sums and averages)
_BOOL, _DATE, _TIMESTAMPS = 16, 1082, {1114, 1184}


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
    """A pooled connection, with the `execute` and bulk write the store's callers use."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw

    def execute(self, query: str, parameters: list | dict | None = None) -> Result:
        cursor = self.raw.cursor()
        cursor.execute(adapted(query), _parameters(parameters))
        return Result(cursor)

    def executemany(self, query: str, rows: list) -> None:
        with self.raw.cursor() as cursor:
            cursor.executemany(adapted(query), [_parameters(row) for row in rows])

    def sql(self, query: str) -> Result:
        return self.execute(query)

    def insert_frame(self, table: str, frame: pd.DataFrame, on_conflict: str = "") -> int:
        """COPY the frame into the table (through a temporary table when `on_conflict` upserts)."""
        types = {name: (oid, kind) for name, oid, kind in self.raw.execute(
            "SELECT a.attname, a.atttypid::INTEGER, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
            "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped", [table]).fetchall()}
        target = table
        if on_conflict:
            target = "_cx_frame"
            self.raw.execute(sql.SQL("CREATE TEMPORARY TABLE IF NOT EXISTS _cx_frame "
                                     "(LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP").format(sql.Identifier(table)))
            self.raw.execute("TRUNCATE _cx_frame")
        columns = sql.SQL(", ").join(map(sql.Identifier, frame.columns))
        values = [_copied(frame[c], types[c][1]) for c in frame.columns]
        with self.raw.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(target), columns)) as copy:
            copy.set_types([types[c][0] for c in frame.columns])
            for row in zip(*values):
                copy.write_row(row)
        if on_conflict:
            self.raw.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM _cx_frame ").format(
                sql.Identifier(table), columns, columns) + sql.SQL(on_conflict))
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
        with pool(store.url).connection(timeout=store.wait) as raw:
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


def pool(url: str) -> ConnectionPool:
    """This process's pool of connections to the database at `url`."""
    with _POOLING:
        if url not in _POOLS:
            _POOLS[url] = ConnectionPool(url, min_size=1, max_size=8, kwargs={"autocommit": True},
                                         configure=_configure, open=True, name=f"cx {url}")
        return _POOLS[url]


def close_pool(url: str) -> None:
    """Close this process's connections to the database at `url` (before dropping or copying it)."""
    with _POOLING:
        opened = _POOLS.pop(url, None)
    if opened is not None:
        opened.close()


@atexit.register
def close_pools() -> None:
    with _POOLING:
        for opened in _POOLS.values():
            opened.close()
        _POOLS.clear()


class PostgresStore(Store):
    """A cx database on a PostgreSQL server (`postgresql://…`)."""

    def __init__(self, url: str | None = None, wait: float | None = None):
        self.location = self.url = str(url or default_location())
        self.wait = default_wait() if wait is None else wait

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
        with _connection(self) as raw:
            yield Connection(raw)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A transaction on a pooled connection: committed when the block ends, rolled back on
        error; the block's queries (`query`, `table`, ...) of this thread run in it, and a nested
        block joins it. The data version is bumped at the end of it and again after the commit,
        so a cached read taken meanwhile is never kept under the new version."""
        held = self._held()
        if held is not None:
            if not held[1]:
                raise RuntimeError("a transaction cannot start inside a reading block")
            yield held[0]
            return
        with _connection(self) as raw:
            con = Connection(raw)
            with raw.transaction(), self._holding(con, writing=True):
                yield con
                raw.execute("SELECT nextval('cx_data_version')")
            raw.execute("SELECT nextval('cx_data_version')")

    def lock_visitors(self, visitor_ids) -> None:
        """Advisory locks on the visitors, taken in one order (so two writers cannot deadlock) and
        released when the transaction ends."""
        held = self._held()
        if held is None or not held[1]:
            return  # a dry run reads only
        ids = sorted({str(v) for v in visitor_ids if v is not None and not pd.isna(v)})
        if ids:
            held[0].execute("SELECT count(pg_advisory_xact_lock(hashtextextended('visitor ' || v, 0))) "
                            "FROM (SELECT unnest(?) AS v ORDER BY 1) ids", [ids])

    def data_version(self) -> int:
        with self.connect() as con:
            return int(con.execute("SELECT last_value + CASE WHEN is_called THEN 1 ELSE 0 END "
                                   "FROM cx_data_version").fetchone()[0])

    def snapshot(self, queries: dict[str, str | tuple[str, list]]) -> dict[str, pa.Table]:
        """The queries' results in one repeatable-read transaction, read by Apache Arrow's
        PostgreSQL driver (ADBC: COPY in binary straight into Arrow columns; measured 3 to 4 times
        faster than making a Python object of every value, in bench/uptake.py --backend postgres)
        on a connection of its own."""
        tables = {}
        with adbc.connect(self.url) as con, con.cursor() as cursor:  # not in autocommit: a transaction
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            for name, query in queries.items():
                sql, parameters = _with_parameters(query)
                cursor.execute(numbered(sql), [_value(value) for value in parameters] or None)
                tables[name] = _arrow(cursor.fetch_arrow_table())
            con.rollback()
        return tables

    def migrate(self) -> list[int]:
        """Apply the migrations this database lacks, each in a transaction with its version row;
        an advisory lock makes processes starting at once apply each one once."""
        with self.connect() as con:
            if _version(con) >= SCHEMA_VERSION:
                return []
            applied = []
            with con.raw.transaction():
                con.execute("SELECT pg_advisory_xact_lock(0)")
                con.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                            "applied_at TIMESTAMP)")
            for version, statements in MIGRATIONS:
                with con.raw.transaction():
                    con.execute("SELECT pg_advisory_xact_lock(0)")
                    if version <= _version(con):
                        continue
                    con.raw.execute(statements)
                    con.execute("INSERT INTO schema_version VALUES (?, current_timestamp)", [version])
                    applied.append(version)
            return applied
