"""Writers from several processes on one database: status changes and imports per second from 1, 2,
4 (and 8) processes, how many had to wait for another process or were refused as busy, and that no
visitor was approved twice.

Every visitor has two requested exchanges (at a host in Lyon and one in Porto). Each process
approves its own visitors' Lyon stays and, interleaved, the next process's visitors' Porto stays,
so two processes race for every visitor and exactly one approval per visitor may win. Then each
process imports files that move its Lyon stays along.

On DuckDB every write holds the file's write lock for its transaction, so writers take turns; on
PostgreSQL (`--backend postgres`: a throwaway cluster of Debian's postgresql package) writers run
at once and lock only the visitors they check. The baseline is one process of the same back end,
measured in the same run.

    .venv/bin/python bench/concurrency.py [--backend duckdb|postgres] [--visitors 400] [--imports 10]
                                          [--rows 20] [--wait 30] [--processes 1 2 4 8]
"""

import argparse
import datetime as dt
import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cx import io as cio  # noqa: E402
from cx import store as cx_store  # noqa: E402
from cx.errors import BrokenRules, CxError, DatabaseBusy  # noqa: E402
from cx.exchanges import change_status  # noqa: E402
from cx.parties import DOCUMENTS  # noqa: E402
from cx.access import Viewer  # noqa: E402

OFFICER = Viewer.local()

FIRST_DAY, LAST_DAY = dt.date(2027, 3, 1), dt.date(2027, 3, 5)


def programme(db, visitors: int) -> None:
    """Visitors in Berlin, each with a requested exchange at a host in Lyon (X-) and one in Porto (Y-)."""
    store = cx_store.open_store(db)
    ids = [f"V{n:05d}" for n in range(visitors)]
    organisations = pd.DataFrame({"id": ids + ["H1", "H2"], "name": ids + ["Lyon host", "Porto host"],
                                  "kind": "cluster organisation", "country": ["DE"] * visitors + ["FR", "PT"],
                                  "city": ["Berlin"] * visitors + ["Lyon", "Porto"],
                                  "lat": [52.52] * visitors + [45.76, 41.15], "lon": [13.40] * visitors + [4.84, -8.61]})
    exchanges = pd.DataFrame({"id": [f"{side}-{v}" for side in "XY" for v in ids], "visitor_id": ids * 2,
                              "host_id": ["H1"] * visitors + ["H2"] * visitors,
                              "start_date": FIRST_DAY, "end_date": LAST_DAY, "status": "requested"})
    events = pd.DataFrame({"exchange_id": exchanges["id"], "from_status": None, "to_status": "requested",
                           "changed_by": "bench"}).astype(object)
    store.replace_all(pd.DataFrame({"id": ["P1"], "name": ["Bench"], "target_exchanges": [1]}),
                      organisations, exchanges, events)
    with store.transaction() as con:  # each host accepted and every party signed: approval may go ahead
        con.executemany("INSERT INTO host_answers (exchange_id, answer) VALUES (?, 'accepted')",
                        [[i] for i in exchanges["id"]])
        con.executemany("INSERT INTO signatures (exchange_id, document, party, signed_by) VALUES (?, ?, ?, 'bench')",
                        [[i, document, party] for i in exchanges["id"]
                         for document, parties in DOCUMENTS.items() for party in parties])


def worker(db: str, folder: str, visitors: list[str], rivals: list[str], imports: int, rows: int, wait: float,
           start_at: float, results) -> None:
    """Approve this process's visitors' Lyon stays and its rivals' Porto stays one by one,
    interleaved, then import files that move the Lyon stays on (approved -> ongoing -> ...),
    `rows` exchanges a file."""
    store = cx_store.Store(db, wait=wait)
    steps = ["ongoing", "completed", "reported", "paid"]
    files = []
    for number in range(imports):
        chunk = visitors[(number * rows) % len(visitors):][:rows]
        status = steps[min(number * rows // len(visitors), len(steps) - 1)]
        path = Path(folder) / f"import-{number}.csv"
        pd.DataFrame({"id": [f"X-{v}" for v in chunk], "visitor_id": chunk, "host_id": "H1", "start_date": FIRST_DAY,
                      "end_date": LAST_DAY, "status": status}).to_csv(path, index=False)
        files.append(path)
    busy = {"changes": 0, "imports": 0}
    time.sleep(max(0.0, start_at - time.time()))
    started = time.perf_counter()
    for exchange_id in [f"{side}-{v}" for pair in zip(visitors, rivals) for side, v in zip("XY", pair)]:
        try:
            change_status(store, OFFICER, exchange_id, "approved")
        except DatabaseBusy:
            busy["changes"] += 1
        except BrokenRules:  # the rival process approved this visitor's other stay first
            pass
    changes_done = time.perf_counter()
    for path in files:
        try:
            cio.import_path(store, OFFICER, "exchanges", path, mode="valid")
        except DatabaseBusy:
            busy["imports"] += 1
        except CxError as error:
            print(f"import refused: {error}", file=sys.stderr)
    results.put({"changes_s": changes_done - started, "imports_s": time.perf_counter() - changes_done,
                 "started": started, "ended": time.perf_counter(), "busy": busy, "waits": dict(cx_store.waits)})


def measure(processes: int, args, cluster=None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-"))
    db = cluster.create_database(f"bench_{processes}") if cluster else folder / "bench.duckdb"
    programme(db, args.visitors)
    ids = [f"V{n:05d}" for n in range(args.visitors)]
    share = args.visitors // processes
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    start_at = time.time() + 4.0  # every process imported cx and wrote its files by then
    workers = []
    for number in range(processes):
        (folder / str(number)).mkdir()
        rival = (number + 1) % processes
        workers.append(context.Process(target=worker, args=(str(db), str(folder / str(number)),
                                                            ids[number * share:(number + 1) * share],
                                                            ids[rival * share:(rival + 1) * share], args.imports,
                                                            args.rows, args.wait, start_at, results)))
    for process in workers:
        process.start()
    outcomes = [results.get() for _ in workers]
    for process in workers:
        process.join()
    store = cx_store.Store(db)
    taken = store.query("SELECT visitor_id, count(*) AS n FROM exchanges WHERE status NOT IN ('requested', 'rejected', "
                        "'cancelled') GROUP BY visitor_id")
    twice = int((taken["n"] > 1).sum())
    assert len(taken) == share * processes and twice == 0, (len(taken), twice)
    # Writers take turns, so throughput is the total work over the time from the first start to the last end.
    span = lambda key: max(o["started"] + o[key] for o in outcomes) - min(o["started"] for o in outcomes)  # noqa: E731
    changes_wall = span("changes_s")
    imports_wall = max(o["ended"] for o in outcomes) - min(o["started"] + o["changes_s"] for o in outcomes)
    return {"processes": processes,
            "changes_per_s": 2 * share * processes / changes_wall,
            "approved": len(taken), "twice": twice,
            "imports_per_s": args.imports * processes / imports_wall,
            "waited": sum(o["waits"]["lock"] + o["waits"]["file"] for o in outcomes),
            "busy": sum(o["busy"]["changes"] + o["busy"]["imports"] for o in outcomes),
            "writes": (2 * share + args.imports) * processes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visitors", type=int, default=400, help="exchanges approved one by one, split over processes")
    parser.add_argument("--imports", type=int, default=10, help="import files per process")
    parser.add_argument("--rows", type=int, default=20, help="exchanges per import file")
    parser.add_argument("--wait", type=float, default=30, help="seconds a writer waits before giving up as busy")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--backend", choices=["duckdb", "postgres"], default="duckdb")
    args = parser.parse_args()
    cluster = None
    if args.backend == "postgres":
        from cx.pgcluster import Cluster

        cluster = Cluster(tempfile.mkdtemp(prefix="cx-bench-postgres-")).start()
    print(f"{'PostgreSQL' if cluster else 'DuckDB'}: {2 * args.visitors} approvals of {args.visitors} visitors "
          f"(two stays each, raced by two processes) split over the processes, then {args.imports} imports of "
          f"{args.rows} rows per process; writers wait up to {args.wait:g} s")
    baseline = None
    try:
        for processes in args.processes:
            figures = measure(processes, args, cluster)
            baseline = baseline or figures
            report(processes, figures, baseline, counts_waits=cluster is None)
    finally:
        if cluster:
            cluster.stop()
            shutil.rmtree(cluster.folder, ignore_errors=True)


def report(processes: int, figures: dict, baseline: dict, counts_waits: bool) -> None:
    """One line per number of processes; waits for the write lock are DuckDB's (PostgreSQL writers
    wait only on a visitor's advisory lock, which is not counted)."""
    waited = (f"{figures['waited']:,} of {figures['writes']:,} writes waited for another process"
              if counts_waits else f"{figures['writes']:,} writes")
    print(f"{processes} process{'es' if processes > 1 else '  '}: "
          f"{figures['changes_per_s']:7.1f} status changes/s ({figures['changes_per_s'] / baseline['changes_per_s']:.2f}x), "
          f"{figures['imports_per_s']:6.2f} imports/s ({figures['imports_per_s'] / baseline['imports_per_s']:.2f}x); "
          f"{waited}, "
          f"{figures['busy']:,} refused as busy; {figures['approved']:,} visitors approved, "
          f"{figures['twice']} twice")


if __name__ == "__main__":
    main()
