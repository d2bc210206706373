"""How fast the demo programme builds, and how much it looks like the real scheme.

Generates the demo at the given sizes (default: the demo's own 2,000 organisations and 1,500
exchanges, and the programme scale of 50,000 and 100,000), stores it in a fresh DuckDB file, and
prints the build time, the process's peak memory, and the figures a budget planner would check
against the call: the lump sums committed by exchanges that went ahead against the envelope,
completed exchanges against the target, the mean working days, the halved share and the share of
exchanges that travel as a group mission.

Run: python bench/demo.py [--sizes 2000:1500 50000:100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import pandas as pd  # noqa: E402

from cx.demo import generate  # noqa: E402
from cx.rules import load_rulebook  # noqa: E402
from cx.store import open_store  # noqa: E402

TODAY = dt.date(2026, 11, 25)
DONE = ("completed", "reported", "paid")


def realism(tables, rulebook) -> str:
    """The figures to compare with the call's envelope and target."""
    orgs = tables["organisations"].set_index("id")
    x = tables["exchanges"].assign(host_city=lambda x: orgs["city"].reindex(x["host_id"]).to_numpy(),
                                   partnership=lambda x: orgs["partnership_id"].reindex(x["visitor_id"]).to_numpy())
    ahead = x[x["status"].isin(rulebook.taken_statuses)]
    in_call = ahead[ahead["start_date"].between(pd.Timestamp(rulebook.programme_start),
                                                pd.Timestamp(rulebook.programme_end))]
    together = x.groupby(["start_date", "host_city", "partnership"])["id"].transform("size") > 1

    def totals(frame) -> str:
        return (f"committed EUR {frame['lump_sum_eur'].sum():,} (envelope EUR {rulebook.budget_envelope_eur:,}), "
                f"completed {frame['status'].isin(DONE).sum():,} (target {rulebook.target_exchanges:,})")
    return (f"all years: {totals(ahead)}; in the call's period {rulebook.programme_start} to "
            f"{rulebook.programme_end}: {totals(in_call)}\n    went ahead: mean working days "
            f"{ahead['working_days'].mean():.1f}, halved {ahead['halved'].mean():.0%}, mean lump sum EUR "
            f"{ahead['lump_sum_eur'].mean():,.0f}; in a mission (same partnership, start and host city) "
            f"{together.mean():.0%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["2000:1500", "50000:100000"],
                        help="organisations:exchanges pairs")
    args = parser.parse_args()
    rulebook = load_rulebook()
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-demo-"))
    for size in args.sizes:
        organisations, exchanges = (int(n) for n in size.split(":"))
        started = time.perf_counter()
        tables = generate(seed=7, organisation_count=organisations, exchange_count=exchanges, today=TODAY,
                          rulebook=rulebook)
        generated = time.perf_counter() - started
        store = open_store(folder / f"demo-{organisations}-{exchanges}.duckdb")
        store.replace_all(tables["partnerships"], tables["organisations"], tables["exchanges"], tables["events"])
        total = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{organisations:>7,} organisations, {exchanges:>7,} exchanges: generated in {generated:.1f} s, "
              f"stored in {total - generated:.1f} s, total {total:.1f} s, peak memory {peak:,.0f} MB so far")
        print(f"    {realism(tables, rulebook)}")


if __name__ == "__main__":
    main()
