"""What row-level security costs on PostgreSQL: the same scoped readers run as the tables' owner (cx's
own scoping only; the baseline, measured in the same run) and as the application's role `cx_app`
(the scope set in each transaction, the policies checked on every row), for an officer and a
partnership manager; each pair is checked to give the same rows.

A throwaway cluster of Debian's postgresql package; the programme is bench/uptake.py's generator.

    .venv/bin/python bench/row_security.py [--sizes 10000 100000] [--repeat 5]
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from uptake import stored_programme  # noqa: E402

from cx.access import Viewer, acting_as  # noqa: E402
from cx.pgcluster import Cluster  # noqa: E402
from cx.postgres import PostgresStore  # noqa: E402
from cx.store import copy_programme, open_store  # noqa: E402

READERS = {
    "exchanges": lambda store, viewer: store.exchanges(viewer),
    "organisations": lambda store, viewer: store.organisations(viewer),
    "partnerships": lambda store, viewer: store.partnerships(),  # one small query: the per-transaction cost
}


def timed(call, repeat: int) -> tuple[float, pd.DataFrame]:
    """The best of `repeat` runs, in seconds, and the last result."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="cx-bench-rls-"))
    cluster = Cluster(tempfile.mkdtemp(prefix="cx-bench-postgres-")).start()  # its own folder: postgres's
    try:
        cluster.create_roles()
        for size in args.sizes:
            source = stored_programme(folder, size)
            cluster.create_database(f"rls_{size}", owner="cx_owner")
            owner_url, app_url = (cluster.url(f"rls_{size}", user=u) for u in ("cx_owner", "cx_app"))
            copy_programme(source, open_store(app_url, owner=owner_url))
            owner, app = PostgresStore(owner_url), PostgresStore(app_url, owner=owner_url)
            partnership = source.table("partnerships")["id"].iloc[0]
            print(f"{'reader':<16}{'viewer':<30}{'rows':>8}{'owner ms':>10}{'cx_app ms':>11}{'ratio':>7}")
            for name, read in READERS.items():
                for viewer in (Viewer("officer", "bench"), Viewer("partnership_manager", "bench", (partnership,))):
                    with acting_as(viewer):
                        base, expected = timed(lambda: read(owner, viewer), args.repeat)
                        secured, got = timed(lambda: read(app, viewer), args.repeat)
                    assert expected.shape == got.shape and list(expected.iloc[:, 0]) == list(got.iloc[:, 0]), name
                    print(f"{name:<16}{viewer.describe():<30}{len(got):>8,}{base * 1000:>10.1f}{secured * 1000:>11.1f}"
                          f"{secured / base:>7.2f}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
