"""How fast exchanges import, and re-import unchanged, at 10,000 and 100,000 rows.

A demo programme (cx/demo.py, half as many organisations as exchanges) is exported as the import
templates' CSV files, imported into a fresh database (partnerships, organisations, then exchanges)
and the exchanges file imported again unchanged: once with cx's comparison of stored and new
values (one merge on id, one comparison per column) and once with the previous row-by-row
comparison, kept below as the baseline, in the same run. Aim: re-importing 100,000 unchanged rows
under 8 s.

Run: python bench/io.py [--sizes 10000 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

from cx import io as cio  # noqa: E402
from cx.demo import generate  # noqa: E402
from cx.store import open_store  # noqa: E402
from cx.access import Viewer  # noqa: E402

OFFICER = Viewer.local()

TODAY = dt.date(2026, 11, 25)


# --- the previous comparison, cell by cell (the baseline) ----------------------------------------

def _canonical(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(str(v) for v in value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return pd.Timestamp(value).date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return round(float(value), 6)
    return str(value)


def row_by_row_changes(kind: str, rows: pd.DataFrame, stored: pd.DataFrame, columns: list[str]) -> pd.Series:
    outcome = pd.Series("added", index=rows.index, dtype=object)
    stored = stored.set_index("id")
    for row, record in rows.iterrows():
        if record["id"] not in stored.index:
            continue
        old = stored.loc[record["id"]]
        same = all(_canonical(record[c]) == _canonical(old[c]) for c in columns if c != "id")
        outcome[row] = "unchanged" if same else "updated"
    return outcome


def timed_import(store, kind: str, data: bytes) -> tuple[float, cio.ImportReport]:
    started = time.perf_counter()
    report = cio.import_file(store, OFFICER, kind, data, f"{kind}.csv", mode="valid")
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-io-"))
    print(f"{'exchanges':>10}{'import':>16}{'re-import':>12}{'row by row':>12}{'ratio':>8}")
    for size in args.sizes:
        source = open_store(folder / f"source-{size}.duckdb")
        tables = generate(seed=5, organisation_count=size // 2, exchange_count=size, today=TODAY)
        source.replace_all(tables["partnerships"], tables["organisations"], tables["exchanges"],
                           missions=tables["missions"])
        files = {kind: cio.export_bytes({kind: cio.export_frame(source, OFFICER, kind, with_contacts=True)}, "csv")[1]
                 for kind in cio.KINDS}
        store = open_store(folder / f"import-{size}.duckdb")
        for kind in ("partnerships", "organisations", "missions"):
            timed_import(store, kind, files[kind])
        first, report = timed_import(store, "exchanges", files["exchanges"])
        assert report.written and report.added > 0.99 * size, report.summary()
        again, report = timed_import(store, "exchanges", files["exchanges"])
        assert (report.added, report.updated, report.unchanged) == (0, 0, size - report.rejected), report.summary()
        current = cio._changes
        cio._changes = row_by_row_changes
        try:
            baseline, old_report = timed_import(store, "exchanges", files["exchanges"])
        finally:
            cio._changes = current
        assert old_report.unchanged == report.unchanged
        print(f"{size:>10,}{first:>7.1f} s ({size / first:,.0f}/s){again:>10.1f} s{baseline:>10.1f} s"
              f"{baseline / again:>7.1f}x   re-import {'under' if again < 8 else 'OVER'} the 8 s aim")


if __name__ == "__main__":
    main()
