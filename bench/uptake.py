"""How fast the Uptake page's queries are at programme scale, as a curve up to 1,000,000 exchanges.

Times every query the Uptake page runs (headline figures for the period and the one before,
pipeline, months, partnerships, flows, ecosystems, histograms and the four data-quality findings)
in DuckDB against the same results computed with pandas from in-memory frames (tests/uptake_oracle.py),
in the same run, checks that both agree, and prints both times and their ratio. Then times one
full AppTest run of the Uptake page at 100,000 exchanges.

The programme comes from the demo generator (cx/demo.py) at each size of the curve: 10,000 and
100,000 exchanges, and 1,000,000 with --million (its pandas comparison is left out by default: it
takes minutes). Aim: the whole dashboard under 300 ms at 100,000 exchanges and under 1 s at 1,000,000.

With `--backend postgres` the same programme is also copied into a PostgreSQL database of a
throwaway cluster (Debian's postgresql package) and every figure is timed there too, beside DuckDB's
and pandas', in the same run: the joined copy the views read (built from a snapshot of either back
end), the dashboard on it, and the queries that read the store directly (overview, status, money by
month, registrations, filter options), checked to agree.

With `--against REV` the headline and what the page reads when it opens (headline and first tab)
are also timed with cx/uptake.py as it is at git revision REV (each on its own joined copy of the
same store), checked to give the same headline, and the ratio printed: a change to the views is
measured against the code it replaces, in the same run.

Run: python bench/uptake.py [--sizes 10000 100000] [--million] [--repeat 5] [--backend postgres] [--against main]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import uptake_oracle as oracle  # noqa: E402
from cx import uptake  # noqa: E402
from cx.demo import generate  # noqa: E402
from cx.store import Store, copy_programme, open_store  # noqa: E402
from cx.access import Viewer  # noqa: E402

OFFICER = Viewer.local()  # the findings list rows; the officer's are all of them
TODAY = dt.date(2026, 11, 25)


def programme(organisations: int, exchanges: int, seed: int = 1):
    """A large seeded programme from the demo generator (vectorised: seconds, not minutes)."""
    tables = generate(seed=seed, organisation_count=organisations, exchange_count=exchanges, today=TODAY)
    return tables["partnerships"], tables["organisations"], tables["exchanges"]


def pandas_queries(tables, filters: uptake.Filters) -> dict:
    x = oracle.joined(tables)
    return {
        "headline": oracle.headline(tables, x, filters),
        "pipeline": oracle.pipeline(x, filters),
        "monthly": oracle.monthly(x, filters),
        "partnership_progress": oracle.partnership_progress(tables, x, filters),
        "country_flows": oracle.country_flows(x, filters),
        "ecosystem_pairs": oracle.ecosystem_pairs(x, filters),
        "working_days_histogram": oracle.working_days_histogram(x, filters),
        "distance_histogram": oracle.distance_histogram(x, filters, uptake.DISTANCE_BIN_KM),
        "rule_breaches": oracle.rule_breaches(x, filters),
        "repeated_visitors": oracle.repeated_visitors(x, filters),
        "unplaced_organisations": oracle.unplaced_organisations(tables, filters),
        "lump_sum_mismatches": oracle.lump_sum_mismatches(x, filters),
        "stalled_exchanges": oracle.stalled_exchanges(x, filters, dt.date.today()),
    }


def agree(sql: dict, pandas: dict) -> None:
    """The two computations give the same figures (else the timing compares different work)."""
    for period in ("current", "previous"):
        for key, value in pandas["headline"][period].items():
            got = sql["headline"][period][key]
            assert (got is None and value is None) or abs(got - value) <= 1e-9 * max(1, abs(value)), (period, key)
    for name in pandas:
        if name != "headline":
            assert len(sql[name]) == len(pandas[name]), name
    for name, column in (("pipeline", "reached"), ("monthly", "cumulative_completed"), ("country_flows", "exchanges"),
                         ("working_days_histogram", "exchanges"), ("partnership_progress", "completed")):
        assert sorted(sql[name][column].tolist()) == sorted(pandas[name][column].tolist()), name


def timed(function, repeat: int) -> tuple[float, object]:
    """The best of `repeat` runs (as timeit advises: slower runs measure the machine's other work,
    and this machine is shared), and the result."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return min(times), result


def cases() -> dict[str, uptake.Filters]:
    return {
        "last 12 months, no filter": uptake.Filters(start=dt.date(2025, 11, 26), end=TODAY),
        "whole programme, no filter": uptake.Filters(start=dt.date(2020, 1, 1), end=TODAY),
        "whole programme, SMEs in Health": uptake.Filters(start=dt.date(2020, 1, 1), end=TODAY, kinds=("SME",),
                                                          ecosystems=("Health",)),
        "last 12 months, 3 visitor countries": uptake.Filters(start=dt.date(2025, 11, 26), end=TODAY,
                                                              visitor_countries=("DE", "FR", "IT")),
    }


def stored_programme(folder: Path, exchanges: int):
    """The programme at this size (half as many organisations as exchanges) in a fresh file."""
    started = time.perf_counter()
    partnerships, orgs, table = programme(exchanges // 2, exchanges)
    store = open_store(folder / f"uptake-{exchanges}.duckdb")
    store.replace_all(partnerships, orgs, table)
    print(f"\nprogramme: {len(orgs):,} organisations, {len(table):,} exchanges, {len(partnerships)} partnerships "
          f"(generated and stored in {time.perf_counter() - started:.1f} s, "
          f"{store.path.stat().st_size / 1e6:.0f} MB)")
    return store


STORE_QUERIES = (uptake.overview, uptake.exchanges_by_status, uptake.money_by_month,
                 uptake.organisations_by_kind_and_country, uptake.filter_options)


def rows_then_arrow(postgres: Store, queries: dict[str, str]) -> dict:
    """The PostgreSQL snapshot as it was read before (the baseline): psycopg makes a Python object
    of every value, then Arrow columns are made of them."""
    import pyarrow as pa

    with postgres.connect() as con, con.raw.transaction():
        con.raw.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        tables = {}
        for name, query in queries.items():
            cursor = con.raw.cursor()
            cursor.execute(query)
            rows = cursor.fetchall()
            tables[name] = pa.table({c.name: pa.array([row[i] for row in rows]) for i, c in enumerate(cursor.description)})
        return tables


def snapshot_speed(postgres: Store, repeat: int) -> None:
    """The joined copy's reads from PostgreSQL: Arrow's driver against the former row-by-row read."""
    queries = {"organisations": uptake._organisation_rows(postgres),
               "exchange_facts": uptake.FACTS.format(exchanges=uptake._exchange_rows(postgres)),
               "partnerships": "SELECT * FROM partnerships"}
    before, _ = timed(lambda: rows_then_arrow(postgres, queries), max(1, repeat // 2))
    after, tables = timed(lambda: postgres.snapshot(queries), max(1, repeat // 2))
    print(f"the copy's snapshot from PostgreSQL ({len(tables['exchange_facts']):,} exchanges): Arrow driver "
          f"{after:.2f} s, row by row (before) {before:.2f} s: {before / after:.1f}x")


def curve(store: Store, repeat: int, with_pandas: bool, postgres: Store | None = None) -> None:
    """Every case's dashboard time in DuckDB (every tab's views, and what the page reads when it
    opens: the headline and the first tab's), on PostgreSQL when given (checked to agree), and
    against pandas (checked to agree) when asked."""
    if with_pandas:
        started = time.perf_counter()
        tables = oracle.load(store)
        print(f"pandas: tables read into memory once in {time.perf_counter() - started:.2f} s (not counted below)")
    for name, each in (("duckdb", store), ("postgres", postgres)):
        if each is not None:
            started = time.perf_counter()
            uptake.joined(each)
            print(f"joined copy built from {name} in {time.perf_counter() - started:.2f} s (once per change of the "
                  f"data; {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB peak memory so far)")
    print(f"all the Uptake page's queries, best of {repeat} runs (pandas: of {max(1, repeat // 2)})")
    first_tab = next(iter(uptake.TABS))
    print(f"{'case':<38}{'duckdb':>10}" + (f"{'postgres':>10}{'pg/duckdb':>11}" if postgres else "")
          + f"{'pandas':>10}{'pandas/duckdb':>15}{'first tab':>11}")
    for label, filters in cases().items():
        duck_time, sql = timed(lambda: uptake.dashboard(store, OFFICER, filters.as_dict()), repeat)
        tab_time, _ = timed(lambda: uptake.dashboard(store, OFFICER, filters.as_dict(), tab=first_tab), repeat)
        line = f"{label:<38}{duck_time * 1000:>8.0f}ms"
        if postgres is not None:
            pg_time, pg_sql = timed(lambda: uptake.dashboard(postgres, OFFICER, filters.as_dict()), repeat)
            agree(pg_sql, sql)
            line += f"{pg_time * 1000:>8.0f}ms{pg_time / duck_time:>10.2f}x"
        if with_pandas:
            panda_time, frames = timed(lambda: pandas_queries(tables, filters), max(1, repeat // 2))
            agree(sql, frames)
            line += f"{panda_time * 1000:>8.0f}ms{panda_time / duck_time:>14.1f}x"
        else:
            line += " " * 25
        print(f"{line}{tab_time * 1000:>9.0f}ms")
    if postgres is not None:
        print("queries that read the store directly, best of runs: " + ", ".join(
            f"{query.__name__} duckdb {timed(lambda: query(store), repeat)[0] * 1000:.0f} ms / postgres "
            f"{timed(lambda: query(postgres), repeat)[0] * 1000:.0f} ms" for query in STORE_QUERIES))
        for query in STORE_QUERIES[:1] + STORE_QUERIES[4:]:
            assert query(store) == query(postgres), query.__name__


def per_query(store: Store, repeat: int) -> None:
    filters = cases()["whole programme, no filter"].as_dict()
    with store.reading():
        times = {name: timed(lambda: query(store, filters=filters), repeat)[0] for name, query in (
            ("headline", uptake.headline), ("pipeline", uptake.pipeline), ("monthly", uptake.monthly),
            ("partnership_progress", uptake.partnership_progress), ("country_flows", uptake.country_flows),
            ("ecosystem_pairs", uptake.ecosystem_pairs), ("working_days_histogram", uptake.working_days_histogram),
            ("distance_histogram", uptake.distance_histogram),
            *((name, lambda store, filters, finding=query: finding(store, OFFICER, filters))
              for name, (_, query) in uptake.FINDINGS.items()))}
    print("per query, whole programme, one connection (duckdb, best of runs): "
          + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in times.items()))
    started = time.perf_counter()
    store.query("SELECT 1")
    print(f"(opening a connection to the file: {(time.perf_counter() - started) * 1000:.0f} ms, paid once per page)")


# Writes as the app makes them, each undone by the next run of it (so every run changes rows):
# a decision on one exchange, an edited profile of the organisation with the most exchanges, and
# an import that changes 1,000 exchanges.
WRITES = {
    "one status change": "WHERE id = (SELECT min(id) FROM exchanges WHERE status IN ('approved', 'cancelled'))",
    "1,000 status changes": "WHERE id IN (SELECT id FROM exchanges WHERE status IN ('approved', 'cancelled') "
                            "ORDER BY id LIMIT 1000)",
}
BUSIEST = """(SELECT visitor_id FROM (SELECT visitor_id FROM exchanges UNION ALL SELECT host_id FROM exchanges) o
              GROUP BY visitor_id ORDER BY count(*) DESC, visitor_id LIMIT 1)"""


def after_a_write(store: Store, repeat: int) -> None:
    """What a write costs the next Uptake page (the headline and first tab, whole programme): the
    joined copy refreshed (only the rows the write changed) against built again as before, best
    of `repeat` writes each, in the same run and on the same data; then the page's queries."""
    filters, first_tab = cases()["whole programme, no filter"].as_dict(), next(iter(uptake.TABS))
    statements = {label: "UPDATE exchanges SET status = CASE WHEN status = 'approved' THEN 'cancelled' ELSE 'approved' "
                         f"END, updated_at = current_timestamp {where}" for label, where in WRITES.items()}
    statements["one profile edited"] = f"UPDATE organisations SET description = coalesce(description, '') || '.', " \
                                       f"name = name || '.' WHERE id = {BUSIEST}"

    def copy_ready(build: bool):
        if build:
            uptake._COPIES.clear()  # what every write cost before: the copy built again
        uptake.joined(store)

    uptake.joined(store)
    for label, statement in statements.items():
        times = {}
        for build in (False, True):
            runs = []
            for _ in range(repeat):
                with store.transaction() as con:
                    con.execute(statement)
                runs.append(timed(lambda: copy_ready(build), 1)[0])
            times[build] = min(runs)
        print(f"{label}, then the copy: refreshed {times[False] * 1000:,.0f} ms, built again "
              f"{times[True] * 1000:,.0f} ms: {times[True] / times[False]:.1f}x")
    page, _ = timed(lambda: uptake.dashboard(store, OFFICER, filters, tab=first_tab), repeat)
    print(f"then the page's queries on the copy: {page * 1000:,.0f} ms")


def uptake_at(revision: str):
    """cx/uptake.py as it is at git `revision`, as a module of its own (its own joined copies)."""
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:cx/uptake.py"], check=True,
                            capture_output=True, text=True).stdout
    name = f"uptake_at_{revision}".replace("-", "_").replace("/", "_").replace(".", "_")
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader=None))
    sys.modules[name] = module  # dataclasses look their module up
    exec(compile(source, f"{revision}:cx/uptake.py", "exec"), module.__dict__)
    return module


def against(store: Store, revision: str, repeat: int) -> None:
    """The headline, and the headline with the first tab, with this tree's code and with
    `revision`'s, case by case in the same run (runs alternating, best of `repeat` each)."""
    before, first_tab = uptake_at(revision), next(iter(uptake.TABS))
    print(f"against {revision} (now / {revision}), best of {repeat} runs twice")
    print(f"{'case':<38}{'headline':>23}{'headline + first tab':>25}")
    for label, filters in cases().items():
        filters = filters.as_dict()
        assert uptake.headline(store, filters) == before.headline(store, filters), label
        times = {}
        for name, module in (("now", uptake), ("before", before)) * 2:  # alternating: load shifts hit both
            for view, call in (("headline", lambda: module.headline(store, filters)),
                               ("first tab", lambda: module.dashboard(store, OFFICER, filters, tab=first_tab))):
                seconds, _ = timed(call, repeat)
                times[name, view] = min(seconds, times.get((name, view), seconds))
        print(f"{label:<38}" + "".join(
            f"{times['now', view] * 1000:>7.0f} ms /{times['before', view] * 1000:>4.0f} ms "
            f"{times['before', view] / times['now', view]:>5.2f}x" for view in ("headline", "first tab")))


def page_run(store: Store) -> None:
    from streamlit.testing.v1 import AppTest

    os.environ["CX_DB"] = str(store.path)
    app = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    started = time.perf_counter()
    app.switch_page("app_pages/uptake.py").run()
    cold = time.perf_counter() - started
    assert not app.exception, [e.value for e in app.exception]
    started = time.perf_counter()
    app.multiselect(key="visitor_country").set_value(["DE"]).run()
    changed = time.perf_counter() - started
    started = time.perf_counter()
    app.multiselect(key="visitor_country").set_value([]).run()
    cached_run = time.perf_counter() - started
    print(f"AppTest, Uptake page at this size: first run {cold:.2f} s (cold cache), after a filter change "
          f"{changed:.2f} s, back to a cached view {cached_run:.2f} s; {len(app.metric)} figures, "
          f"{len(app.get('plotly_chart'))} charts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000],
                        help="numbers of exchanges (with half as many organisations)")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 exchanges (about a minute to build)")
    parser.add_argument("--pandas-up-to", type=int, default=100_000,
                        help="compare with pandas (and check agreement) up to this many exchanges")
    parser.add_argument("--page-at", type=int, default=100_000, help="time an AppTest run at this size")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", metavar="REV", help="time the opening views against cx/uptake.py at REV")
    parser.add_argument("--backend", choices=["duckdb", "postgres"], default="duckdb",
                        help="postgres: time the same figures on a PostgreSQL copy too")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-"))
    cluster = None
    if args.backend == "postgres":
        from cx.pgcluster import Cluster

        cluster = Cluster(tempfile.mkdtemp(prefix="cx-bench-postgres-")).start()
    try:
        for size in args.sizes + ([1_000_000] if args.million else []):
            store, postgres = stored_programme(folder, size), None
            if cluster:
                started = time.perf_counter()
                postgres = open_store(cluster.create_database(f"uptake_{size}"))
                copy_programme(store, postgres)
                print(f"copied to PostgreSQL in {time.perf_counter() - started:.1f} s")
            curve(store, args.repeat, size <= args.pandas_up_to, postgres)
            if postgres is not None:
                snapshot_speed(postgres, args.repeat)
            for each in (store, postgres):
                if each is not None:
                    print(f"on {type(each).__name__}:")
                    after_a_write(each, args.repeat)
            per_query(store, args.repeat)
            if args.against:
                against(store, args.against, args.repeat)
            if size == args.page_at:
                page_run(store)
    finally:
        if cluster:
            cluster.stop()
            shutil.rmtree(cluster.folder, ignore_errors=True)


if __name__ == "__main__":
    main()
