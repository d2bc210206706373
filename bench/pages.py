"""How light the pages are at programme scale (50,000 organisations, 100,000 exchanges): a Find
a host rerun, and opening the Data page after a write, served by `streamlit run` and driven over
its websocket protocol (bench/load.py's Server and Session), against a baseline checkout in the
same run. Aims: a Find a host rerun under 1 s, the Data page open under 1.5 s.

Run: python bench/pages.py --baseline DIR [--organisations 50000] [--exchanges 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from load import Server, Session  # noqa: E402
from match_speed import synthetic_hosts  # noqa: E402
from uptake import programme  # noqa: E402

from cx.store import Store, open_store  # noqa: E402


def build(path: Path, organisations: int, exchanges: int) -> None:
    """bench/uptake.py's vectorised programme, with match_speed.py's host profiles to match on."""
    partnerships, orgs, table = programme(organisations, exchanges)
    profiles = synthetic_hosts(len(orgs))
    orgs["description"], orgs["sectors"] = profiles["description"].to_numpy(), profiles["sectors"].to_numpy()
    open_store(path).replace_all(partnerships, orgs, table)


def a_write(store: Store, number: int) -> None:
    """A change that makes every cached read stale, as an import or a status change does."""
    with store.transaction() as con:
        con.execute("UPDATE partnerships SET name = ? WHERE id = (SELECT min(id) FROM partnerships)",
                    [f"Partnership renamed {number}"])


async def visit(url: str, store: Store, repeat: int, timeout: float) -> dict[str, list[tuple[float, int]]]:
    runs = {"Find a host: open after a write": [], "Find a host: rerun": [], "Data: open after a write": []}
    async with Session(url, timeout) as session:
        for page in ("find_a_host", "data", ""):  # the server's first imports are not what is measured
            await session.run(page)
        for number in range(repeat):
            a_write(store, number)
            runs["Find a host: open after a write"].append((await session.run("find_a_host"), session.received))
            runs["Find a host: rerun"].append((await session.run(), session.received))
            a_write(store, number + repeat)
            runs["Data: open after a write"].append((await session.run("data"), session.received))
            await session.run("")
    return runs


def measure(checkout: Path, database: Path, args, folder: Path) -> dict:
    copy = folder / f"{checkout.name}.duckdb"
    shutil.copyfile(database, copy)
    server = Server(checkout, copy, folder / f"{checkout.name}.log")
    try:
        return asyncio.run(visit(server.url, Store(copy), args.repeat, args.timeout))
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="the checkout to compare with")
    parser.add_argument("--organisations", type=int, default=50_000)
    parser.add_argument("--exchanges", type=int, default=100_000)
    parser.add_argument("--db", type=Path, help="an existing database instead of a new programme")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cx-pages-"))
    database = args.db
    if database is None:
        database = folder / "programme.duckdb"
        started = time.perf_counter()
        build(database, args.organisations, args.exchanges)
        print(f"programme: {args.organisations:,} organisations, {args.exchanges:,} exchanges "
              f"({time.perf_counter() - started:.0f} s)")
    before = measure(args.baseline.resolve(), database, args, folder)
    after = measure(ROOT, database, args, folder)
    print(f"\nmedian of {args.repeat}; baseline {args.baseline}, this checkout {ROOT}")
    print(f"{'step':<34}{'baseline':>10}{'this':>9}{'ratio':>8}{'sent, baseline':>16}{'sent, this':>12}")
    for step in after:
        old, new = statistics.median(t for t, _ in before[step]), statistics.median(t for t, _ in after[step])
        old_bytes, new_bytes = statistics.median(b for _, b in before[step]), statistics.median(b for _, b in after[step])
        print(f"{step:<34}{old:>9.2f}s{new:>8.2f}s{old / new:>7.1f}x{old_bytes / 1e3:>14,.0f}kB{new_bytes / 1e3:>10,.0f}kB")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
