"""The programme officer's questions, as SQL queries over the store.

Every function takes the `Store` first and returns a DataFrame or a small dict, so the pages only
draw, and every figure can be checked against an independent computation in tests.

Figures (counts, sums, shares per country, partnership or month) are programme-wide and hold no
row of an organisation or exchange, so they take no viewer. The data-quality findings list
exchanges and organisations: they take a `Viewer` and hold only the rows in its scope; the
planner gets none. `dashboard` and `map_layers`, what the pages call, take the viewer too.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from functools import partial, wraps
from typing import Iterator

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from cx.access import ORGANISATION, Viewer, as_system, scoped
from cx.ecosystems import ECOSYSTEMS
from cx.parties import DOCUMENTS
from cx.rules import load_rulebook
from cx.store import ORGANISATION_KINDS, STATUSES, DuckDBStore, Store


@as_system()  # programme figures, the same for every viewer
def overview(store: Store) -> dict:
    """The programme at a glance: organisations, exchanges, and the money committed and paid.

    Committed means every exchange in a status that takes the visitor's one visit (approved to
    paid); paid means the lump sum has been paid."""
    taken = list(load_rulebook().taken_statuses)
    row = store.query(
        """
        SELECT (SELECT count(*) FROM organisations) AS organisations,
               (SELECT count(*) FROM organisations WHERE can_visit) AS visitors,
               (SELECT count(*) FROM organisations WHERE can_host) AS hosts,
               (SELECT count(DISTINCT country) FROM organisations) AS countries,
               (SELECT count(*) FROM partnerships) AS partnerships,
               count(*) AS exchanges,
               count(*) FILTER (WHERE status = 'paid') AS paid_exchanges,
               coalesce(sum(lump_sum_eur) FILTER (WHERE status = ANY(?)), 0) AS committed_eur,
               coalesce(sum(lump_sum_eur) FILTER (WHERE status = 'paid'), 0) AS paid_eur
        FROM exchanges
        """,
        [taken],
    ).iloc[0]
    return {key: int(value) for key, value in row.items()}


@as_system()  # programme figures, the same for every viewer
def organisations_by_kind_and_country(store: Store) -> pd.DataFrame:
    return store.query(
        "SELECT country, kind, count(*) AS organisations FROM organisations GROUP BY country, kind ORDER BY country, kind"
    )


@as_system()  # programme figures, the same for every viewer
def exchanges_by_status(store: Store) -> pd.DataFrame:
    return store.query(
        "SELECT status, count(*) AS exchanges, coalesce(sum(lump_sum_eur), 0)::BIGINT AS lump_sum_eur "
        "FROM exchanges GROUP BY status ORDER BY status"
    )


@as_system()  # programme figures, the same for every viewer
def money_by_month(store: Store) -> pd.DataFrame:
    """Lump sums committed (by month of the stay's start) and paid, cumulated, in whole euros."""
    taken = list(load_rulebook().taken_statuses)
    return store.query(
        """
        SELECT date_trunc('month', start_date) AS month,
               sum(sum(lump_sum_eur) FILTER (WHERE status = ANY(?))) OVER (ORDER BY date_trunc('month', start_date))::BIGINT AS committed_eur,
               sum(coalesce(sum(lump_sum_eur) FILTER (WHERE status = 'paid'), 0)) OVER (ORDER BY date_trunc('month', start_date))::BIGINT AS paid_eur
        FROM exchanges GROUP BY month ORDER BY month
        """,
        [taken],
    )


# --- the officer's filtered views -------------------------------------------------------------

# The workflow's main path; rejected requests stopped at `requested`, cancelled ones after approval.
PIPELINE = ("requested", "approved", "ongoing", "completed", "reported", "paid")
STAGE_REACHED = {**{status: step for step, status in enumerate(PIPELINE)}, "rejected": 0, "cancelled": 1}
COMPLETED = ("completed", "reported", "paid")
WITHDRAWN = ("rejected", "cancelled")
DISTANCE_BIN_KM = 50


@dataclass(frozen=True)
class Filters:
    """What the officer is looking at; empty means everything.

    The period selects exchanges by the first day of the stay and organisations by the day they
    registered. Partnership is the visitor's (an exchange counts towards the visitor's
    partnership); kind is the visitor's kind for exchanges and the organisation's own kind for
    registrations; an ecosystem matches when the visitor or the host works in it."""

    start: dt.date | None = None
    end: dt.date | None = None
    partnerships: tuple[str, ...] = ()
    visitor_countries: tuple[str, ...] = ()
    host_countries: tuple[str, ...] = ()
    ecosystems: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    @classmethod
    def of(cls, value: Filters | dict | None) -> Filters:
        """Filters from themselves, None, or their `as_dict()` (as the cache hands them back)."""
        if isinstance(value, Filters):
            return value
        value = dict(value or {})
        dates = {k: dt.date.fromisoformat(str(value[k])[:10]) if value.get(k) else None for k in ("start", "end")}
        lists = {f.name: tuple(value.get(f.name) or ()) for f in fields(cls) if f.name not in dates}
        return cls(**dates, **lists)

    def as_dict(self) -> dict:
        """JSON-friendly: dates as ISO strings, choices as lists."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: value.isoformat() if isinstance(value, dt.date) else list(value) if isinstance(value, tuple)
                else value for name, value in values.items()}

    def previous(self) -> Filters | None:
        """The same filters over the period of the same length just before (None without a period)."""
        if self.start is None or self.end is None:
            return None
        days = (self.end - self.start).days + 1
        return replace(self, start=self.start - dt.timedelta(days=days), end=self.start - dt.timedelta(days=1))


# --- the joined copy the views read ----------------------------------------------------------

# An exchange's own columns and those of its steps that the views read (the host's answer, the
# signatures, the closing report): a write to the exchange or to one of its steps changes them.
EXCHANGE_COLUMNS = {
    **{name: f"e.{name}" for name in ("id", "visitor_id", "host_id", "start_date", "end_date", "working_days",
                                      "distance_km", "status", "lump_sum_eur", "halved", "updated_at")},
    "host_answer": "a.answer", "answered_at": "a.answered_at", "signatures": "coalesce(sg.signatures, 0)",
    "report_state": "r.state", "report_filed_at": "r.filed_at", "report_decided_at": "r.decided_at",
}
EXCHANGE_ROWS = f"""
    SELECT {", ".join(f"{value} AS {name}" for name, value in EXCHANGE_COLUMNS.items())}
    FROM exchanges e
    LEFT JOIN host_answers a ON a.exchange_id = e.id
    LEFT JOIN (SELECT exchange_id, count(*) AS signatures FROM signatures GROUP BY exchange_id) sg
           ON sg.exchange_id = e.id
    LEFT JOIN closing_reports r ON r.exchange_id = e.id"""
# Every exchange with its visitor's and host's columns (what nearly every view filters and groups),
# and whether it crosses ecosystems (a list comparison per row, paid once per copy, not per query).
FACTS = """
    SELECT x.*,
           v.name AS visitor_name, v.country AS visitor_country, v.city AS visitor_city,
           v.lat AS visitor_lat, v.lon AS visitor_lon, v.kind AS visitor_kind,
           v.partnership_id, v.ecosystems AS visitor_ecosystems,
           h.name AS host_name, h.country AS host_country, h.city AS host_city,
           h.partnership_id AS host_partnership_id,
           h.lat AS host_lat, h.lon AS host_lon, h.ecosystems AS host_ecosystems,
           NOT (v.ecosystems && h.ecosystems) AS crosses_ecosystems
    FROM ({exchanges}) x
    LEFT JOIN organisations v ON v.id = x.visitor_id
    LEFT JOIN organisations h ON h.id = x.host_id"""
ORGANISATION_COLUMNS = ("id", "name", "kind", "country", "city", "lat", "lon", "partnership_id", "ecosystems",
                        "can_host", "can_visit", "registered_on")
KEPT_COPIES = 2  # databases whose joined copy stays in memory (a session looks at one)
# Past this share of the rows (exchanges and organisations) replaced since the copy was built, it
# is built again: a build then costs little more than the refresh, and rows replaced in place
# leave DuckDB's tables with deleted rows that only a new table gives back.
REFRESHED_AT_MOST = 0.1


def _exchange_rows(store: Store) -> str:
    """Each exchange's columns, with their hash: a row whose hash is the copy's is unchanged."""
    return f"SELECT *, {store.row_hash(EXCHANGE_COLUMNS)} AS row_hash FROM ({EXCHANGE_ROWS}) rows"


def _organisation_rows(store: Store) -> str:
    return f"SELECT {', '.join(ORGANISATION_COLUMNS)}, {store.row_hash(ORGANISATION_COLUMNS)} AS row_hash FROM organisations"


# What the copy adds to each table: where an exchange stands, as flags (a list lookup per row, paid
# once here instead of in every query), and each organisation's ecosystems as the number of its
# combination in `ecosystem_sets` (a few hundred lists: an ecosystem filter looks them up there and
# then compares integers, instead of comparing lists on every row).
COPIED = {
    "exchange_facts": """
        SELECT c.*, list_contains($taken, c.status) AS is_taken, list_contains($completed, c.status) AS is_completed,
               c.status NOT IN {withdrawn} AS live,
               v.set_id AS visitor_ecosystem_set, h.set_id AS host_ecosystem_set
        FROM _cx_copy c LEFT JOIN ecosystem_sets v ON v.ecosystems = c.visitor_ecosystems
        LEFT JOIN ecosystem_sets h ON h.ecosystems = c.host_ecosystems""".format(withdrawn=WITHDRAWN),
    "organisations": """
        SELECT c.*, s.set_id AS ecosystem_set FROM _cx_copy c LEFT JOIN ecosystem_sets s ON s.ecosystems = c.ecosystems""",
}
ECOSYSTEM_SETS = """
    CREATE TABLE ecosystem_sets AS
    SELECT ecosystems, row_number() OVER (ORDER BY ecosystems)::INTEGER AS set_id
    FROM (SELECT DISTINCT ecosystems FROM _cx_copy WHERE ecosystems IS NOT NULL)"""
# Combinations met in replaced rows that the copy did not know, numbered after the known ones.
NEW_ECOSYSTEM_SETS = """
    INSERT INTO ecosystem_sets
    SELECT ecosystems, ((SELECT coalesce(max(set_id), 0) FROM ecosystem_sets) + row_number() OVER (ORDER BY ecosystems))::INTEGER
    FROM (SELECT DISTINCT ecosystems FROM (SELECT ecosystems FROM _cx_organisations
                                           UNION ALL SELECT visitor_ecosystems FROM _cx_copy
                                           UNION ALL SELECT host_ecosystems FROM _cx_copy) lists
          WHERE ecosystems IS NOT NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM ecosystem_sets s WHERE s.ecosystems = n.ecosystems)"""


class _Joined(DuckDBStore):
    """An in-memory DuckDB copy of what the Uptake views read, with every exchange joined to its
    two organisations once (`exchange_facts`; `exchanges` is a view of it) instead of in each of
    the dozen queries of a page: the joins were most of their time. The rulebook's lump sum and
    checks, which no filter changes, are applied here once too (`rules_lump_sum_eur`, `breaches`).
    It is read from one snapshot of either back end and answers for the database as it was at
    `version`; when the data changes, `refresh` replaces the rows that changed (`joined`)."""

    def __init__(self, store: Store, version):
        self.path, self.location, self.wait = getattr(store, "path", None), f"joined:{store.location}", 0
        self.version, self.replaced = version, 0
        tables = store.snapshot({"organisations": _organisation_rows(store),
                                 "exchange_facts": FACTS.format(exchanges=_exchange_rows(store)),
                                 "partnerships": "SELECT * FROM partnerships"})
        facts = _rule_columns(tables["exchange_facts"])
        tables["exchange_facts"] = tables["exchange_facts"].append_column(
            "rules_lump_sum_eur", pa.array(_lump_sums(facts)))
        tables["breaches"] = _breaches(facts)
        self._memory = duckdb.connect(":memory:")
        for name, table in tables.items():  # organisations first: their ecosystem sets serve the exchanges
            self._memory.register("_cx_copy", table)
            if name == "organisations":
                self._memory.execute(ECOSYSTEM_SETS)
            self._memory.execute(f"CREATE TABLE {name} AS {COPIED.get(name, 'SELECT * FROM _cx_copy')}",
                                 _copied_parameters(name))
            self._memory.unregister("_cx_copy")
        self._memory.execute("CREATE VIEW exchanges AS SELECT * FROM exchange_facts")

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        cursor = self._memory.cursor()
        try:
            yield cursor
        finally:
            cursor.close()

    def refresh(self, store: Store, version) -> bool:
        """Bring the copy to the store's data by replacing only what changed: the exchanges and
        organisations whose row hash differs from the copy's (or that are new, or gone), the
        exchanges of the changed organisations, and the findings of their visitors (a visitor's
        visits taken count all its exchanges). One transaction: a view reads the copy before or
        after, never half of it. False, changing nothing, when so much changed that a build is due.

        The changed rows are read after their hashes were compared, with their own hashes: a
        write in between shows as a difference at the next refresh."""
        with store.reading(), self.connect() as con:  # one connection to the store for both reads
            hashes = store.snapshot({
                "exchanges": f"SELECT id, row_hash FROM ({_exchange_rows(store)}) x",
                "organisations": f"SELECT id, {store.row_hash(ORGANISATION_COLUMNS)} AS row_hash FROM organisations"})
            organisations = _changed(con, "organisations", hashes["organisations"])
            with _ids(con, "_cx_organisation_ids", organisations):
                exchanges = sorted(set(_changed(con, "exchange_facts", hashes["exchanges"])).union(*con.execute(
                    "SELECT id FROM exchange_facts WHERE visitor_id IN (SELECT id FROM _cx_organisation_ids) "
                    "OR host_id IN (SELECT id FROM _cx_organisation_ids)").fetchnumpy().values()))
            held = con.execute("SELECT (SELECT count(*) FROM exchange_facts) + (SELECT count(*) FROM organisations)"
                               ).fetchone()[0]
            replacing = len(exchanges) + len(organisations)
            if self.replaced + replacing > REFRESHED_AT_MOST * max(held, sum(map(len, hashes.values()))):
                return False
            among = " = ANY(CAST(? AS VARCHAR[]))"
            tables = store.snapshot({
                "partnerships": "SELECT * FROM partnerships",
                "organisations": (f"{_organisation_rows(store)} WHERE id{among}", [organisations]),
                "exchange_facts": (FACTS.format(exchanges=_exchange_rows(store)) + f" WHERE x.id{among}", [exchanges])})
            con.begin()
            try:
                _replace(con, tables, exchanges, organisations)
            except BaseException:
                con.rollback()
                raise
            con.commit()
        self.version, self.replaced = version, self.replaced + replacing
        return True


@contextmanager
def _ids(con, name: str, ids) -> Iterator[None]:
    """`ids` as the one-column table `name` (id) on the copy's connection for the block."""
    con.register(name, pa.table({"id": pa.array(list(ids), pa.string())}))
    try:
        yield
    finally:
        con.unregister(name)


@contextmanager
def _rows(con, table: pa.Table | pd.DataFrame) -> Iterator[None]:
    """`table` as `_cx_copy` on the copy's connection for the block (what COPIED reads)."""
    con.register("_cx_copy", table)
    try:
        yield
    finally:
        con.unregister("_cx_copy")


def _changed(con, table: str, hashes: pa.Table) -> list[str]:
    """The ids whose row hash in the store (`hashes`) differs from the copy's `table`, or that
    only one of them holds."""
    con.register("_cx_hashes", hashes)
    try:
        return [row[0] for row in con.execute(f"""
            SELECT coalesce(n.id, c.id) FROM (SELECT id, row_hash FROM {table}) c
            FULL JOIN _cx_hashes n ON n.id = c.id WHERE c.row_hash IS DISTINCT FROM n.row_hash""").fetchall()]
    finally:
        con.unregister("_cx_hashes")


def _replace(con, tables: dict[str, pa.Table], exchanges: list[str], organisations: list[str]) -> None:
    """In the copy's transaction: the partnerships, and the rows of `exchanges` and `organisations`,
    replaced by those read (`tables`; an id not read is gone), and the findings of every visitor
    they involve made again."""
    con.execute("DELETE FROM partnerships")
    with _rows(con, tables["partnerships"]):
        con.execute("INSERT INTO partnerships BY NAME SELECT * FROM _cx_copy")
    facts = tables["exchange_facts"]
    with _ids(con, "_cx_exchange_ids", exchanges), _ids(con, "_cx_organisation_ids", organisations):
        visitors = set(facts["visitor_id"].to_pylist()).union(*con.execute(
            "SELECT visitor_id FROM exchange_facts WHERE id IN (SELECT id FROM _cx_exchange_ids)").fetchnumpy().values())
        con.execute("DELETE FROM exchange_facts WHERE id IN (SELECT id FROM _cx_exchange_ids)")
        con.execute("DELETE FROM organisations WHERE id IN (SELECT id FROM _cx_organisation_ids)")
        con.execute("DELETE FROM breaches WHERE exchange_id IN (SELECT id FROM _cx_exchange_ids)")
    con.register("_cx_organisations", tables["organisations"])
    with _rows(con, facts.append_column("rules_lump_sum_eur", pa.array(_lump_sums(_rule_columns(facts)),
                                                                      pa.int64()))):
        con.execute(NEW_ECOSYSTEM_SETS)
        con.execute(f"INSERT INTO exchange_facts BY NAME {COPIED['exchange_facts']}", _copied_parameters("exchange_facts"))
    con.unregister("_cx_organisations")
    with _rows(con, tables["organisations"]):
        con.execute(f"INSERT INTO organisations BY NAME {COPIED['organisations']}")
    with _ids(con, "_cx_visitor_ids", visitors):
        involved = _rule_columns(con.sql(f"SELECT {', '.join(RULE_COLUMNS)} FROM exchange_facts "
                                         "WHERE visitor_id IN (SELECT id FROM _cx_visitor_ids)").to_arrow_table())
    with _ids(con, "_cx_exchange_ids", involved["id"]):
        con.execute("DELETE FROM breaches WHERE exchange_id IN (SELECT id FROM _cx_exchange_ids)")
    with _rows(con, _breaches(involved)):
        con.execute("INSERT INTO breaches BY NAME SELECT * FROM _cx_copy")


def _copied_parameters(table: str) -> dict | None:
    return {"taken": _taken(), "completed": list(COMPLETED)} if table == "exchange_facts" else None


# What the rulebook reads of an exchange.
RULE_COLUMNS = ("id", "visitor_id", "status", "visitor_country", "host_country", "start_date", "end_date", "distance_km")


def _rule_columns(facts: pa.Table) -> pd.DataFrame:
    x = facts.select(list(RULE_COLUMNS)).to_pandas()
    return x.assign(start=x["start_date"], end=x["end_date"])


def _lump_sums(x: pd.DataFrame) -> np.ndarray:
    """The lump sum the rulebook gives each exchange (once per copy: no filter changes it)."""
    return load_rulebook().lump_sums(x)["lump_sum_eur"].to_numpy()


def _breaches(x: pd.DataFrame) -> pd.DataFrame:
    """Every rule broken by an exchange going ahead, with the order of its check (the findings
    list them by check, then by exchange id). `x` holds every exchange of its visitors: their
    visits taken count them all."""
    rulebook = load_rulebook()
    taken = x["status"].isin(rulebook.taken_statuses).astype("int64")
    x = x.assign(visits_taken=taken.groupby(x["visitor_id"], dropna=False).transform("sum") - taken)
    x = x[~x["status"].isin(WITHDRAWN)].reset_index(drop=True)  # the findings show those going ahead
    found = rulebook.check_exchanges(x)
    return pd.DataFrame({"exchange_id": pd.Series(x["id"].to_numpy()[found["row"].to_numpy(dtype="int64")], dtype=object),
                         "check_order": found["check"].to_numpy(dtype="int64"),
                         "rule": found["rule"].to_numpy(dtype=object), "message": found["message"].to_numpy(dtype=object)})


_COPIES: OrderedDict = OrderedDict()
_COPYING = threading.Lock()


@as_system()
def joined(store: Store) -> _Joined:
    """The store's joined copy, refreshed when the data has changed since, or built again when
    much has (one at a time: sessions arriving meanwhile wait for it rather than build their own)."""
    if isinstance(store, _Joined):
        return store
    version = store.data_version()
    with _COPYING:
        copy = _COPIES.get(store.location)
        if copy is None or (copy.version != version and not copy.refresh(store, version)):
            _COPIES.pop(store.location, None)  # free the stale copy before building the new one
            copy = _COPIES[store.location] = _Joined(store, version)
        _COPIES.move_to_end(store.location)
        while len(_COPIES) > KEPT_COPIES:
            _COPIES.popitem(last=False)
    return copy


def _on_joined(view):
    """A view that runs on the store's joined copy."""
    @wraps(view)
    def run(store: Store, *args, **kwargs):
        return view(joined(store), *args, **kwargs)
    return run


IN_ECOSYSTEMS = "SELECT set_id FROM ecosystem_sets WHERE list_has_any(ecosystems, $ecosystems)"


def _exchange_scope(filters: Filters, *, since_start: bool = True, name: str = "x",
                    rows_of: Viewer | None = None) -> tuple[str, dict]:
    """A `WITH x AS (...)` clause: the filtered exchanges with both organisations' columns (from
    `exchange_facts`, the joined copy every view reads: see `_Joined`); with `rows_of`, only the
    exchanges in that viewer's scope (for the findings, which list rows).

    With `since_start=False` the period's start is ignored (cumulative figures to its end)."""
    condition, parameters = _exchange_conditions(filters, since_start=since_start, rows_of=rows_of)
    return f"WITH {name} AS (SELECT * FROM exchange_facts WHERE {condition})", parameters


def _exchange_conditions(filters: Filters, *, since_start: bool = True,
                         rows_of: Viewer | None = None) -> tuple[str, dict]:
    """The condition on `exchange_facts` that `_exchange_scope` selects with."""
    conditions, parameters = ["TRUE"], {}

    def where(condition: str, **values):
        conditions.append(condition)
        parameters.update(values)

    if filters.start and since_start:
        where("start_date >= $start", start=filters.start)
    if filters.end:
        where("start_date <= $end", end=filters.end)
    if filters.partnerships:
        where("list_contains($partnerships, partnership_id)", partnerships=list(filters.partnerships))
    if filters.visitor_countries:
        where("list_contains($visitor_countries, visitor_country)", visitor_countries=list(filters.visitor_countries))
    if filters.host_countries:
        where("list_contains($host_countries, host_country)", host_countries=list(filters.host_countries))
    if filters.ecosystems:
        where(f"(visitor_ecosystem_set IN ({IN_ECOSYSTEMS}) OR host_ecosystem_set IN ({IN_ECOSYSTEMS}))",
              ecosystems=list(filters.ecosystems))
    if filters.kinds:
        where("list_contains($kinds, visitor_kind)", kinds=list(filters.kinds))
    if filters.statuses:
        where("list_contains($statuses, status)", statuses=list(filters.statuses))
    if rows_of is not None:
        rows_of.require_rows("see the exchanges behind the data-quality findings")
        condition, values = rows_of.exchange_scope_of("visitor_id", "partnership_id", "host_id", "host_partnership_id")
        where(condition, **values)
    return " AND ".join(conditions), parameters


def _organisation_scope(filters: Filters, countries: tuple[str, ...], *, in_period: bool = True,
                        prefix: str = "o_") -> tuple[str, dict]:
    """Conditions on `organisations o` for the filters; `countries` is the side's country filter.
    Parameters are named with `prefix`, so two scopes can share one query."""
    conditions, parameters = ["TRUE"], {}

    def where(condition: str, name: str, value):
        conditions.append(condition.replace("$", f"${prefix}"))
        parameters[prefix + name] = value

    if in_period and filters.start:
        where("o.registered_on >= $start", "start", filters.start)
    if in_period and filters.end:
        where("o.registered_on <= $end", "end", filters.end)
    for column, values, name in (("o.partnership_id", filters.partnerships, "partnerships"),
                                 ("o.country", countries, "countries"), ("o.kind", filters.kinds, "kinds")):
        if values:
            where(f"list_contains(${name}, {column})", name, list(values))
    if filters.ecosystems:
        where(f"o.ecosystem_set IN ({IN_ECOSYSTEMS})", "ecosystems", list(filters.ecosystems))
    return " AND ".join(conditions), parameters


def _taken() -> list[str]:
    return list(load_rulebook().taken_statuses)


@as_system()  # programme figures, the same for every viewer
def filter_options(store: Store) -> dict:
    """What the filters can choose from, and the span of the stays, for the sidebar."""
    bounds = store.query("SELECT min(start_date) AS first, max(start_date) AS last FROM exchanges").iloc[0]
    return {
        "partnerships": dict(store.query("SELECT id, name FROM partnerships ORDER BY id").itertuples(index=False)),
        "countries": store.query("SELECT DISTINCT country FROM organisations ORDER BY 1")["country"].tolist(),
        "ecosystems": list(ECOSYSTEMS),
        "kinds": list(ORGANISATION_KINDS),
        "statuses": list(STATUSES),
        "first_day": None if pd.isna(bounds["first"]) else pd.Timestamp(bounds["first"]).date(),
        "last_day": None if pd.isna(bounds["last"]) else pd.Timestamp(bounds["last"]).date(),
    }


# Kilometres are added up in a fixed order of the groups, which DuckDB hands over in any order:
# otherwise the last digit of an average could differ between two reads of the same data.
ORDER_OF_GROUPS = " ORDER BY period, status, live, visitor_country, host_country"


def _figures(store: Store, periods: list[Filters]) -> list[dict]:
    """The headline figures of each of `periods` (the same filters over different periods, the
    latest first), in one query of two passes over the exchanges: one counting by partnership what
    is done to each period's end (totals and targets), one counting what started in each period
    by status and countries. The shares, averages and countries come from those few thousand
    groups, not from a dozen conditional aggregates over every exchange."""
    condition, parameters = _exchange_conditions(periods[0], since_start=False)
    to_end, started, to_date, per_partnership, at_target, in_periods, registrations = [], [], [], [], [], [], []
    for i, period in enumerate(periods):
        parameters[f"end{i}"] = period.end or dt.date.max
        since = "TRUE"
        if period.start:
            parameters[f"start{i}"] = period.start
            since = f"start_date >= $start{i}"
        to_end.append(f"start_date <= $end{i} AS to_end{i}")
        started.append(f"WHEN {since} AND start_date <= $end{i} THEN {i}")
        to_date.append(f"""
            coalesce(sum(done) FILTER (WHERE to_end{i}), 0)::BIGINT AS completed_to_date{i},
            coalesce(sum(committed) FILTER (WHERE to_end{i}), 0)::BIGINT AS committed_eur{i},
            coalesce(sum(paid) FILTER (WHERE to_end{i}), 0)::BIGINT AS paid_eur{i}""")
        per_partnership.append(f"sum(done) FILTER (WHERE to_end{i}) AS done{i}")
        at_target.append(f"count(*) FILTER (WHERE coalesce(b.done{i}, 0) >= p.target_exchanges) AS partnerships_at_target{i}")
        inside, going = f"period = {i}", f"period = {i} AND live"

        def share(part: str, known: str, order: str = "") -> str:
            return (f"sum({part}{order}) FILTER (WHERE {going})::DOUBLE "
                    f"/ nullif(sum({known}) FILTER (WHERE {going}), 0)")

        in_periods.append(",".join(f"\n coalesce(sum(n) FILTER (WHERE {inside} AND status = '{s}'), 0)::BIGINT AS {s}{i}"
                                   for s in STATUSES) + f""",
            coalesce(sum(n) FILTER (WHERE {inside} AND NOT live), 0)::BIGINT AS withdrawn{i},
            coalesce(sum(n) FILTER (WHERE {inside}), 0)::BIGINT AS exchanges{i},
            coalesce(sum(n) FILTER (WHERE {going}), 0)::BIGINT AS going_ahead{i},
            {share("halved", "halved_known")} AS halved_share{i},
            {share("sme", "kind_known")} AS sme_share{i},
            {share("days", "days_known")} AS average_working_days{i},
            {share("km", "km_known", ORDER_OF_GROUPS)} AS average_distance_km{i},
            len(list_distinct(list_concat(coalesce(list(DISTINCT visitor_country) FILTER (WHERE {going}), []),
                                          coalesce(list(DISTINCT host_country) FILTER (WHERE {going}), []))))
                AS countries_reached{i},
            {share("crossing", "crossing_known")} AS crossing_share{i}""")
        for side, kind, countries in (("visitors", "can_visit", period.visitor_countries),
                                      ("hosts", "can_host", period.host_countries)):
            organisations, values = _organisation_scope(period, countries, prefix=f"{side}{i}_")
            parameters.update(values)
            registrations.append(f"(SELECT count(*) FROM organisations o WHERE o.{kind} AND {organisations}) "
                                 f"AS {side}_registered{i}")
    ends = ", ".join(f"to_end{i}" for i in range(len(periods)))
    earliest = "TRUE" if periods[-1].start is None else f"start_date >= $start{len(periods) - 1}"
    partnership_filter = "WHERE list_contains($partnerships, p.id)" if periods[0].partnerships else ""
    row = store.query(f"""
        WITH by_partnership AS (
            SELECT partnership_id, {ends}, count(*) FILTER (WHERE is_completed) AS done,
                   sum(lump_sum_eur) FILTER (WHERE is_taken) AS committed,
                   sum(lump_sum_eur) FILTER (WHERE status = 'paid') AS paid
            FROM (SELECT partnership_id, is_completed, is_taken, status, lump_sum_eur, {", ".join(to_end)}
                  FROM exchange_facts WHERE {condition}) AS x
            GROUP BY partnership_id, {ends}),
        to_date AS (SELECT {",".join(to_date)} FROM by_partnership),
        per_partnership AS (SELECT partnership_id, {", ".join(per_partnership)} FROM by_partnership
                            GROUP BY partnership_id),
        at_target AS (SELECT {", ".join(at_target)} FROM partnerships p
                      LEFT JOIN per_partnership b ON b.partnership_id = p.id {partnership_filter}),
        started AS (
            SELECT period, status, live, visitor_country, host_country, count(*) AS n,
                   count(*) FILTER (WHERE halved) AS halved, count(halved) AS halved_known,
                   count(*) FILTER (WHERE visitor_kind = 'SME') AS sme, count(visitor_kind) AS kind_known,
                   sum(working_days) AS days, count(working_days) AS days_known,
                   sum(distance_km) AS km, count(distance_km) AS km_known,
                   count(*) FILTER (WHERE crosses_ecosystems) AS crossing, count(crosses_ecosystems) AS crossing_known
            FROM (SELECT *, CASE {" ".join(started)} END AS period
                  FROM exchange_facts WHERE {condition} AND {earliest}) AS x
            WHERE period IS NOT NULL
            GROUP BY period, status, live, visitor_country, host_country),
        periods AS (SELECT {",".join(in_periods)} FROM started)
        SELECT periods.*, to_date.*, at_target.*, {", ".join(registrations)}
        FROM periods, to_date, at_target""", parameters).to_dict("records")[0]
    return [{key[: -len(str(i))]: None if pd.isna(value) else value
             for key, value in row.items() if key.endswith(str(i))} for i in range(len(periods))]


@_on_joined
def headline(store: Store, filters: Filters | dict | None = None) -> dict:
    """The headline figures for the period and for the period of the same length before it.

    Returns {"current": {...}, "previous": {...} or None}. Counts of registrations and exchanges
    are for the period; `completed_to_date`, `committed_eur`, `paid_eur` and
    `partnerships_at_target` are cumulative to the period's end (they compare with the targets and
    the envelope). Shares and averages are over the exchanges going ahead (not rejected or
    cancelled); they are None when there are none."""
    filters = Filters.of(filters)
    before = filters.previous()
    figures = _figures(store, [filters, before] if before else [filters])
    return {"current": figures[0], "previous": figures[1] if before else None}


@_on_joined
def pipeline(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """For each stage of the workflow: the exchanges that reached it and those at it now."""
    sql, parameters = _exchange_scope(Filters.of(filters))
    now = store.query(f"{sql} SELECT status, count(*) AS exchanges FROM x GROUP BY status", parameters)
    return _funnel(now.set_index("status")["exchanges"].to_dict())


def _funnel(at_status: dict) -> pd.DataFrame:
    """The pipeline from the number of exchanges at each status (an exchange that is paid has
    passed every stage; a rejected one stopped at the request, a cancelled one after approval)."""
    now = pd.Series({status: int(at_status.get(status) or 0) for status in STATUSES})
    steps = pd.Series(STAGE_REACHED).reindex(now.index)
    return pd.DataFrame({
        "stage": list(PIPELINE),
        "reached": [int(now[steps >= step].sum()) for step in range(len(PIPELINE))],
        "now": [int(now[stage]) for stage in PIPELINE],
    })


@_on_joined
def monthly(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Per month of the period: exchanges going ahead by the month their stay starts, completed
    ones, the cumulative completed since the programme began, and the target trajectory
    (the programme target spread evenly over the programme's period)."""
    filters = Filters.of(filters)
    sql, parameters = _exchange_scope(filters, since_start=False)
    first = "$start" if filters.start else "(SELECT min(start_date) FROM x)"
    last = "$end" if filters.end else "(SELECT max(start_date) FROM x)"
    if filters.start:
        parameters["start"] = filters.start
    table = store.query(f"""
        {sql},
        months AS (SELECT unnest(generate_series(date_trunc('month', {first}), date_trunc('month', {last}),
                                                 INTERVAL 1 MONTH))::DATE AS month),
        per_month AS (
            SELECT date_trunc('month', start_date)::DATE AS month,
                   count(*) FILTER (WHERE live) AS exchanges,
                   count(*) FILTER (WHERE is_completed) AS completed
            FROM x GROUP BY 1)
        SELECT m.month, coalesce(p.exchanges, 0) AS exchanges, coalesce(p.completed, 0) AS completed,
               (SELECT count(*) FROM x WHERE start_date < (SELECT min(month) FROM months)
                                        AND is_completed)
               + sum(coalesce(p.completed, 0)) OVER (ORDER BY m.month) AS cumulative_completed
        FROM months m LEFT JOIN per_month p USING (month) ORDER BY m.month
        """, parameters)
    table = table.astype({"exchanges": "int64", "completed": "int64", "cumulative_completed": "int64"})
    table["target_trajectory"] = target_trajectory(table["month"])
    return table


def target_trajectory(months: pd.Series) -> pd.Series:
    """Exchanges the programme should have completed by the end of each month, if the target
    were reached evenly over the programme's period (NaN when the call gives no period)."""
    rulebook = load_rulebook()
    if rulebook.programme_start is None or rulebook.programme_end is None:
        return pd.Series(float("nan"), index=months.index)
    start, end = pd.Timestamp(rulebook.programme_start), pd.Timestamp(rulebook.programme_end)
    month_end = pd.to_datetime(months) + pd.offsets.MonthEnd(0)
    elapsed = ((month_end - start).dt.days + 1) / ((end - start).days + 1)
    return (elapsed.clip(0, 1) * rulebook.target_exchanges).round(1)


@_on_joined
def partnership_progress(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Every partnership's completed exchanges to the period's end against its target, laggards
    first (a partnership with no exchange shows 0)."""
    filters = Filters.of(filters)
    sql, parameters = _exchange_scope(filters, since_start=False)
    return store.query(f"""
        {sql}
        SELECT p.id AS partnership_id, p.name AS partnership, p.target_exchanges,
               count(x.id) AS completed,
               CASE WHEN p.target_exchanges > 0 THEN count(x.id) / p.target_exchanges END AS share_of_target
        FROM partnerships p
        LEFT JOIN x ON x.partnership_id = p.id AND x.is_completed
        {"WHERE list_contains($partnerships, p.id)" if filters.partnerships else ""}
        GROUP BY p.id, p.name, p.target_exchanges ORDER BY share_of_target NULLS LAST, p.id
        """, parameters)


def _live_query(store: Store, filters, select: str, rows_of: Viewer | None = None) -> pd.DataFrame:
    sql, parameters = _exchange_scope(Filters.of(filters), rows_of=rows_of)
    return store.query(f"{sql} {select}", parameters)


@_on_joined
def country_flows(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Exchanges going ahead from each visitor country to each host country, largest first."""
    return _live_query(store, filters, """
        SELECT visitor_country, host_country, count(*) AS exchanges FROM x WHERE live
        GROUP BY ALL ORDER BY exchanges DESC, visitor_country, host_country""")


@_on_joined
def ecosystem_pairs(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Exchanges going ahead by visitor ecosystem and host ecosystem; an exchange counts in every
    pair of its two organisations' ecosystems, so the diagonal is the exchanges within one."""
    # Counted per pair of ecosystem combinations first (integers to group, a few hundred lists to
    # unnest), not per exchange.
    return _live_query(store, filters, """
        , combinations AS (SELECT visitor_ecosystem_set, host_ecosystem_set, count(*) AS exchanges
                           FROM x WHERE live GROUP BY visitor_ecosystem_set, host_ecosystem_set)
        SELECT visitor_ecosystem, host_ecosystem, sum(c.exchanges)::BIGINT AS exchanges
        FROM combinations c
        JOIN ecosystem_sets vs ON vs.set_id = c.visitor_ecosystem_set
        JOIN ecosystem_sets hs ON hs.set_id = c.host_ecosystem_set,
        unnest(vs.ecosystems) AS v(visitor_ecosystem), unnest(hs.ecosystems) AS h(host_ecosystem)
        GROUP BY visitor_ecosystem, host_ecosystem ORDER BY visitor_ecosystem, host_ecosystem""")


@_on_joined
def working_days_histogram(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Exchanges going ahead per number of working days at the host."""
    return _live_query(store, filters, """
        SELECT working_days, count(*) AS exchanges FROM x WHERE live AND working_days IS NOT NULL
        GROUP BY ALL ORDER BY working_days""")


@_on_joined
def distance_histogram(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Exchanges going ahead per band of distance between the organisations (lower bound, km)."""
    return _live_query(store, filters, f"""
        SELECT (floor(distance_km / {DISTANCE_BIN_KM}) * {DISTANCE_BIN_KM})::INTEGER AS distance_km,
               count(*) AS exchanges
        FROM x WHERE live AND distance_km IS NOT NULL GROUP BY ALL ORDER BY distance_km""")


@_on_joined
def place_flows(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Exchanges going ahead between each pair of placed cities (visitor's to host's), for arcs."""
    return _live_query(store, filters, """
        SELECT visitor_city, visitor_country, visitor_lat, visitor_lon,
               host_city, host_country, host_lat, host_lon, count(*) AS exchanges
        FROM x WHERE live AND visitor_lat IS NOT NULL AND visitor_lon IS NOT NULL
                     AND host_lat IS NOT NULL AND host_lon IS NOT NULL
        GROUP BY ALL ORDER BY exchanges DESC, visitor_city, host_city""")


@_on_joined
def places(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Every placed city with the exchanges it sent (visitors) and hosted, going ahead."""
    return _live_query(store, filters, """
        , sides AS (
            SELECT visitor_city AS city, visitor_country AS country, visitor_lat AS lat, visitor_lon AS lon,
                   1 AS sent, 0 AS hosted FROM x WHERE live
            UNION ALL
            SELECT host_city, host_country, host_lat, host_lon, 0, 1 FROM x WHERE live)
        SELECT city, country, lat, lon, sum(sent)::BIGINT AS sent, sum(hosted)::BIGINT AS hosted
        FROM sides WHERE lat IS NOT NULL AND lon IS NOT NULL
        GROUP BY city, country, lat, lon ORDER BY sum(sent) + sum(hosted) DESC, city""")


@_on_joined
def country_activity(store: Store, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Exchanges going ahead sent and hosted by each country."""
    return _live_query(store, filters, """
        , sides AS (SELECT visitor_country AS country, 1 AS sent, 0 AS hosted FROM x WHERE live
                    UNION ALL SELECT host_country, 0, 1 FROM x WHERE live)
        SELECT country, sum(sent)::BIGINT AS sent, sum(hosted)::BIGINT AS hosted
        FROM sides WHERE country IS NOT NULL GROUP BY ALL ORDER BY country""")


# --- data quality ----------------------------------------------------------------------------


# What a finding shows of each of its exchanges, before its own columns: who, where, when, status.
DESCRIBED = """x.id AS exchange_id, x.visitor_name AS visitor, x.visitor_country, x.host_name AS host,
               x.host_country, x.start_date AS start, x.end_date AS "end",
               round(x.distance_km)::INTEGER AS distance_km, x.status"""
DESCRIBED_COLUMNS = ["exchange_id", "visitor", "visitor_country", "host", "host_country", "start", "end",
                     "distance_km", "status"]


@scoped
@_on_joined
def rule_breaches(store: Store, viewer: Viewer, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Every rule broken by an exchange going ahead in the period (the rulebook's checks, made once
    per copy: see `_breaches`); a visitor's other exchanges count whatever their period."""
    return _live_query(store, filters, f"""
        SELECT {DESCRIBED}, b.rule, b.message FROM x JOIN breaches b ON b.exchange_id = x.id
        WHERE x.live ORDER BY b.check_order, b.exchange_id""", rows_of=viewer)


@scoped
@_on_joined
def repeated_visitors(store: Store, viewer: Viewer, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Visitors with more than one exchange that takes their one visit (whatever the period)."""
    filters = replace(Filters.of(filters), start=None, end=None)
    sql, parameters = _exchange_scope(filters, rows_of=viewer)
    return store.query(f"""
        {sql},
        repeated AS (SELECT visitor_id FROM x WHERE is_taken
                     GROUP BY visitor_id HAVING count(*) > 1)
        SELECT visitor_id, any_value(visitor_name) AS visitor, any_value(visitor_country) AS visitor_country,
               count(*) AS exchanges, string_agg(id || ' (' || status || ')', ', ' ORDER BY start_date) AS which
        FROM x JOIN repeated USING (visitor_id) WHERE is_taken
        GROUP BY visitor_id ORDER BY exchanges DESC, visitor_id
        """, parameters)


@scoped
@_on_joined
def unplaced_organisations(store: Store, viewer: Viewer, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Organisations whose city could not be placed on the map (no coordinates), whenever registered."""
    filters = Filters.of(filters)
    countries = tuple(dict.fromkeys(filters.visitor_countries + filters.host_countries))
    conditions, parameters = _organisation_scope(filters, countries, in_period=False)
    viewer.require_rows("see the organisations behind the data-quality findings")
    scope, values = viewer.organisation_scope("o")
    return store.query(f"""
        SELECT o.id AS organisation_id, o.name AS organisation, o.kind, o.country, o.city, o.partnership_id
        FROM organisations o WHERE (o.lat IS NULL OR o.lon IS NULL) AND {conditions} AND {scope} ORDER BY o.id
        """, {**parameters, **values})


@scoped
@_on_joined
def lump_sum_mismatches(store: Store, viewer: Viewer, filters: Filters | dict | None = None) -> pd.DataFrame:
    """Exchanges in the period whose stored lump sum differs from what the rules give."""
    table = _live_query(store, filters, f"""
        SELECT {DESCRIBED}, x.distance_km AS exact_distance_km, lump_sum_eur AS stored_eur
        FROM x WHERE lump_sum_eur IS NOT NULL AND lump_sum_eur <> rules_lump_sum_eur ORDER BY x.id""", rows_of=viewer)
    rulebook = load_rulebook()
    rules = rulebook.lump_sums(table.assign(distance_km=table["exact_distance_km"]))
    differs = (table["stored_eur"].astype("int64") != rules["lump_sum_eur"]).to_numpy()
    table, rules = table[differs].reset_index(drop=True), rules[differs].reset_index(drop=True)
    stored = table["stored_eur"].astype("int64")
    return table[DESCRIBED_COLUMNS].assign(
        stored_eur=stored, rules_eur=rules["lump_sum_eur"], difference_eur=stored - rules["lump_sum_eur"],
        why=rulebook.halving_reasons(rules, table["exact_distance_km"]).where(rules["halved"], "not halved"))


@scoped
@_on_joined
def stalled_exchanges(store: Store, viewer: Viewer, filters: Filters | dict | None = None,
                      today: dt.date | None = None) -> pd.DataFrame:
    """Exchanges of the period stuck at a step past its deadline (call.toml [deadlines]): a request
    the host has not answered, proposed dates the visitor has not taken or left, signatures missing,
    a signed agreement nobody approved, a stay not marked as started or ended, a missing closing
    report, one not validated, an overdue payment. The longest overdue first; a period from the
    programme's start finds every one."""
    rulebook = load_rulebook()
    sql, parameters = _exchange_scope(Filters.of(filters), rows_of=viewer)
    parameters.update(today=today or dt.date.today(), decision=rulebook.decision_days, report=rulebook.report_days,
                      payment=rulebook.payment_days, answer=rulebook.answer_days, signature=rulebook.signature_days,
                      validation=rulebook.validation_days, signatures=sum(map(len, DOCUMENTS.values())))
    table = store.query(f"""
        {sql},
        steps AS (SELECT id, CASE
                    WHEN status = 'requested' AND host_answer IS NULL THEN 'unanswered'
                    WHEN status = 'requested' AND host_answer = 'proposed' THEN 'proposed'
                    WHEN status = 'requested' AND signatures < $signatures THEN 'unsigned'
                    WHEN status = 'reported' AND report_state IS NOT NULL THEN 'report ' || report_state
                    ELSE status END AS step
                  FROM x),
        due AS (SELECT x.*, steps.step, CAST(x.updated_at AS DATE) AS since, CASE steps.step
                         WHEN 'unanswered' THEN CAST(x.updated_at AS DATE) + CAST($answer AS INTEGER)
                         WHEN 'proposed' THEN CAST(x.answered_at AS DATE) + CAST($answer AS INTEGER)
                         WHEN 'unsigned' THEN CAST(x.answered_at AS DATE) + CAST($signature AS INTEGER)
                         WHEN 'requested' THEN CAST(x.updated_at AS DATE) + CAST($decision AS INTEGER)
                         WHEN 'approved' THEN x.start_date
                         WHEN 'ongoing' THEN x.end_date
                         WHEN 'completed' THEN x.end_date + CAST($report AS INTEGER)
                         WHEN 'report filed' THEN CAST(x.report_filed_at AS DATE) + CAST($validation AS INTEGER)
                         WHEN 'report sent back' THEN CAST(x.report_decided_at AS DATE) + CAST($report AS INTEGER)
                         WHEN 'report validated' THEN CAST(x.report_decided_at AS DATE) + CAST($payment AS INTEGER)
                         WHEN 'reported' THEN CAST(x.updated_at AS DATE) + CAST($payment AS INTEGER) END AS due
                FROM x JOIN steps ON steps.id = x.id)
        SELECT {DESCRIBED}, x.step, x.since, x.due, CAST(CAST($today AS DATE) - x.due AS INTEGER) AS days_overdue
        FROM due x WHERE x.due < CAST($today AS DATE) ORDER BY days_overdue DESC, x.id""", parameters)
    why = {
        "unanswered": f"the host has not answered the request within {rulebook.answer_days} days",
        "proposed": f"the visitor has not answered the host's proposed dates within {rulebook.answer_days} days",
        "unsigned": f"signatures still missing {rulebook.signature_days} days after the host accepted",
        "requested": f"signed by all, but no decision on the request within {rulebook.decision_days} days",
        "approved": "the stay should have started; it is not marked ongoing",
        "ongoing": "the stay has ended; it is not marked completed",
        "completed": f"no closing report within {rulebook.report_days} days of the stay's end",
        "report filed": f"the closing report is not validated within {rulebook.validation_days} days",
        "report sent back": f"the closing report sent back is not filed again within {rulebook.report_days} days",
        "report validated": f"the lump sum is not paid within {rulebook.payment_days} days of validation",
        "reported": f"the lump sum is not paid within {rulebook.payment_days} days of the report",
    }
    return table.assign(why=table["step"].map(why)).drop(columns=["step"])


def require_figures(viewer: Viewer) -> None:
    """Programme figures are for officers, partnership managers and planners."""
    viewer.require(viewer.role != ORGANISATION, "see the programme's figures")


@scoped
@_on_joined
def dashboard(store: Store, viewer: Viewer, filters: Filters | dict | None = None, tab: str | None = None) -> dict:
    """What the Uptake page shows, read on one connection (two queries at a time): `headline`
    and `pipeline`, the views by their function's name, and the findings by their FINDINGS key (in
    the viewer's scope; none for a planner, who sees figures only). With `tab` (a TABS key), only
    that tab's views besides the headline: the page reads the tab it shows, not the three hidden."""
    require_figures(viewer)
    views = (headline, monthly, partnership_progress, country_flows, ecosystem_pairs, working_days_histogram,
             distance_histogram)
    wanted = {"headline", *(TABS[tab] if tab else [view.__name__ for view in views] + list(FINDINGS))}
    calls = {view.__name__: partial(view, store, filters) for view in views if view.__name__ in wanted}
    if viewer.reads_rows:
        calls.update({key: partial(query, store, viewer, filters) for key, (_, query) in FINDINGS.items()
                      if key in wanted})
    result = store.read_concurrently(calls)
    result["pipeline"] = _funnel(result["headline"]["current"])
    return result


@scoped
@_on_joined
def map_layers(store: Store, viewer: Viewer, filters: Filters | dict | None = None) -> dict:
    """What the Exchange map draws, read on one connection: arcs, cities and countries."""
    require_figures(viewer)
    with store.reading():
        return {view.__name__: view(store, filters) for view in (place_flows, places, country_activity)}


FINDINGS = {
    "rule_breaches": ("Exchanges that break a rule", rule_breaches),
    "repeated_visitors": ("Visitors with more than one exchange", repeated_visitors),
    "unplaced_organisations": ("Organisations whose city could not be placed", unplaced_organisations),
    "lump_sum_mismatches": ("Lump sums that differ from the rules", lump_sum_mismatches),
    "stalled_exchanges": ("Exchanges stalled past a deadline", stalled_exchanges),
}

# The Uptake page's tabs and the views of `dashboard` each draws (the headline and pipeline, above
# and in the first, come with any; money and group missions are read by cx.money and cx.missions).
TABS = {
    "Pipeline and targets": ("monthly", "partnership_progress"),
    "Money per partnership": (),
    "Flows": ("country_flows", "ecosystem_pairs"),
    "Stays": ("working_days_histogram", "distance_histogram"),
    "Group missions": (),
    "Data quality": tuple(FINDINGS),
}
