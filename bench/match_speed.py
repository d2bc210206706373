"""How fast does the matcher fit, follow changed profiles and answer?

1. Fit time at 2,000, 10,000 and 100,000 synthetic hosts: `HostMatcher.fit` against the fit
   before issue 16 (CountVectorizer's per-text analysers and per-text normalising) and the fit
   that found, with each profile's labels, the words evoking them (`taxonomy.host_evidence`), run
   in the same run from those commits' sources (`git archive`, in a subprocess on the same hosts);
   elapsed and processor seconds, since on a shared machine the elapsed ones follow the load.
2. On a DuckDB file of `--store-size` hosts: `cx match` (`matcher_cache.current`) with no saved
   matcher (fit and save) and with one (load); the time from a profile edit to a search that sees
   it (`Keeper`: update of the changed row) against a full refit and search (what the cache keyed
   on the file's modification time did after every write); and the fits a status change causes.
3. `suggest` p50 and p95 over `--queries` queries at each size, against scikit-learn's
   `cosine_similarity` and a full `argsort` on the same fitted matrix (ranking only: no
   eligibility, no reasons, no table, so the ratio understates the gain).
Synthetic hosts are written from the 14 ecosystems' vocabularies like the demo's profiles.

    python bench/match_speed.py [--sizes 2000 10000 100000] [--store-size 10000] [--queries 200]
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.metrics.pairwise import cosine_similarity

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cx import matcher_cache  # noqa: E402
from cx.access import Viewer  # noqa: E402
from cx.ecosystems import ECOSYSTEMS, OBJECTIVES  # noqa: E402
from cx.matcher_cache import Keeper, matcher_path  # noqa: E402
from cx.matching import HostMatcher, normalise  # noqa: E402
from cx.rules import load_rulebook  # noqa: E402
from cx.store import Store, insert_frame, open_store  # noqa: E402

OPENINGS = ("A cluster organisation bringing together companies and research in {terms}.",
            "An SME developing products and services in {terms}.",
            "We support start-ups and SMEs to scale up in {terms}, with labs, testbeds and coaching.",
            "A technology centre working with cluster members on {terms}.")
CLOSINGS = ("Our members want to {objective}.", "We are open to visitors who want to {objective}.",
            "We host exchanges and help visitors {objective}.")
OFFICER = Viewer.local()
KINDS = ("cluster organisation", "SME", "scaling-up support organisation", "other")


def synthetic_hosts(count: int, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    names, countries = list(ECOSYSTEMS), load_rulebook().eligible_countries
    rows = []
    for number in range(count):
        ecosystems = sorted(set(rng.choice(names, size=rng.integers(1, 3))))
        terms = list(dict.fromkeys(t for e in ecosystems for t in rng.choice(ECOSYSTEMS[e], size=2, replace=False)))
        rows.append({
            "id": f"S{number:06d}",
            "name": f"{terms[0].title()} {rng.choice(('Cluster', 'Hub', 'Ltd', 'Centre'))} {number}",
            "country": countries[rng.integers(len(countries))],
            "kind": KINDS[rng.integers(len(KINDS))],
            "ecosystems": ecosystems,
            "sectors": "; ".join(terms),
            "description": OPENINGS[rng.integers(len(OPENINGS))].format(terms=", ".join(terms)) + " "
                           + CLOSINGS[rng.integers(len(CLOSINGS))].format(objective=rng.choice(OBJECTIVES)),
            "lat": rng.uniform(36, 66), "lon": rng.uniform(-9, 30),
            "can_host": rng.random() < 0.85,
        })
    return pd.DataFrame(rows)


def queries(count: int, seed: int = 9) -> list[str]:
    rng = np.random.default_rng(seed)
    vocabulary = [t for terms in ECOSYSTEMS.values() for t in terms]
    asked = []
    for _ in range(count):
        text = f"{rng.choice(OBJECTIVES)}: {' and '.join(rng.choice(vocabulary, size=rng.integers(1, 3)))}"
        if rng.random() < 0.3:  # a typo: two letters swapped
            i = int(rng.integers(1, len(text) - 2))
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        asked.append(text)
    return asked


def timings(function, arguments) -> np.ndarray:
    times = []
    for argument in arguments:
        started = time.perf_counter()
        function(argument)
        times.append(time.perf_counter() - started)
    return np.array(times) * 1000


QUERY = "adopt digital twins in our injection-moulding plant"
BASELINE_COMMITS = {"7c6a8c5": "before issue 16",  # with issue 15's taxonomy
                    "b18126f": "labels with their words"}  # each profile's evoking words found at fit
BASELINE_FIT = """
import pickle, sys, time
sys.path.insert(0, sys.argv[1])
from cx.matching import HostMatcher
hosts = pickle.load(open(sys.argv[2], "rb"))
HostMatcher().fit(hosts.head(50))  # imports and caches warm, as in the run it is compared with
started, cpu = time.perf_counter(), time.process_time()
HostMatcher().fit(hosts)
print(time.perf_counter() - started, time.process_time() - cpu)
"""


def baseline_fit_seconds(hosts: pd.DataFrame, folder: Path, commit: str) -> tuple[float, float]:
    """The fit of an earlier commit on the same hosts, in a subprocess on that commit's source:
    seconds elapsed and of processor time (NaN when the commit is not in the repository)."""
    source = folder / f"baseline-{commit}"
    if not source.exists():
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "cx", "data"],
                                 capture_output=True)
        if archive.returncode:
            return np.nan, np.nan
        source.mkdir()
        subprocess.run(["tar", "-x", "-C", str(source)], input=archive.stdout, check=True)
    frame = folder / "hosts.pickle"
    frame.write_bytes(pickle.dumps(hosts))
    run = subprocess.run([sys.executable, "-c", BASELINE_FIT, str(source), str(frame)], capture_output=True,
                         text=True, check=True)
    wall, cpu = run.stdout.split()[-2:]
    return float(wall), float(cpu)


def seconds(function) -> tuple[float, object]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def fit_times(sizes: list[int], folder: Path) -> dict[int, HostMatcher]:
    """Fit seconds elapsed and of processor time (which other work on a shared machine disturbs less)."""
    print("fit seconds elapsed / of processor time, now and at earlier commits (ratio = then / now)")
    print(f"{'hosts':>8} {'now s':>13} " + " ".join(f"{f'{c} {what}':>30} {'ratios':>11}"
                                                     for c, what in BASELINE_COMMITS.items()))
    fitted = {}
    HostMatcher().fit(synthetic_hosts(50))
    for size in sizes:
        hosts = synthetic_hosts(size)
        before = [baseline_fit_seconds(hosts, folder, commit) for commit in BASELINE_COMMITS]
        cpu = time.process_time()
        wall, fitted[size] = seconds(lambda: HostMatcher().fit(hosts))
        cpu = time.process_time() - cpu
        print(f"{size:>8,} {f'{wall:.2f} / {cpu:.2f}':>13} " + " ".join(
            f"{f'{then:.2f} / {then_cpu:.2f}':>30} {f'{then / wall:.1f}x/{then_cpu / cpu:.1f}x':>11}"
            for then, then_cpu in before))
    return fitted


def store_of(size: int, folder: Path) -> Store:
    """A database of `size` synthetic hosts (and one exchange between two of them)."""
    store = open_store(folder / f"match_speed_{size}.duckdb")
    hosts = synthetic_hosts(size).assign(can_visit=True)
    with store.transaction() as con:
        con.execute("DELETE FROM exchanges")
        con.execute("DELETE FROM organisations")
        insert_frame(con, "organisations", hosts)
        con.execute("INSERT INTO exchanges (id, visitor_id, host_id, start_date, end_date, status) "
                    "VALUES ('X-1', ?, ?, DATE '2027-03-01', DATE '2027-03-05', 'requested')",
                    [hosts["id"].iloc[0], hosts["id"].iloc[1]])
    matcher_path(store).unlink(missing_ok=True)
    return store


def following_the_profiles(size: int, folder: Path) -> None:
    store = store_of(size, folder)
    print(f"\non a database of {size:,} hosts")
    cold, _ = seconds(lambda: matcher_cache.current(store))
    warm, matcher = seconds(lambda: matcher_cache.current(store))
    megabytes = matcher_path(store).stat().st_size / 1e6
    print(f"cx match's matcher: fit and save {cold:.2f} s, load the saved one ({megabytes:.0f} MB) {warm:.2f} s "
          f"({cold / warm:.1f}x)")

    keeper = Keeper(store)
    keeper.matcher().suggest(QUERY)  # a matcher that has served searches, as in a running app
    keeper.wait()
    hosts = store.organisations(OFFICER)
    edited, model = hosts.iloc[size // 2], hosts.iloc[size // 3]  # a host takes another's (known) wording
    with store.transaction() as con:
        con.execute("UPDATE organisations SET name = ?, sectors = ?, description = ? WHERE id = ?",
                    [model["name"], model["sectors"], model["description"], edited["id"]])

    def search(matcher):
        found = matcher.suggest(model["description"], k=10)["id"].tolist()
        assert edited["id"] in found, "the edited profile was not found"

    now, _ = seconds(lambda: search(keeper.matcher()))
    before, _ = seconds(lambda: search(HostMatcher().fit(store.organisations(OFFICER))))
    print(f"profile edit to a search that sees it: update and search {now:.2f} s, refit and search {before:.2f} s "
          f"({before / now:.1f}x); fits {keeper.fits}, drifted {keeper.matcher().drifted()}")

    fits = keeper.fits
    with store.transaction() as con:
        con.execute("UPDATE exchanges SET status = 'approved' WHERE id = 'X-1'")
    after, same = seconds(keeper.matcher)
    print(f"status change: the next search's matcher in {after * 1000:.0f} ms, fits {keeper.fits - fits}, "
          f"same matcher {same is keeper.matcher()}")
    unchanged, _ = seconds(keeper.matcher)
    profiles, _ = seconds(lambda: matcher_cache.fingerprint(store))
    print(f"no write since: the next search's matcher in {unchanged * 1000:.2f} ms (reading the profiles' "
          f"fingerprint, which a write makes it do, {profiles * 1000:.0f} ms)")


def suggest_times(fitted: dict[int, HostMatcher], asked: list[str]) -> None:
    print(f"\n{'hosts':>8} {'suggest p50 ms':>15} {'p95':>7} {'baseline p50 ms':>16} {'p95':>7} {'p50 ratio':>10}")
    for size, matcher in fitted.items():
        share = matcher.word_share
        spaces = [np.sqrt(share) * matcher.word_columns_, np.sqrt(1 - share) * matcher.char_columns_]
        matrix = sp.hstack(spaces, format="csr")  # the two spaces side by side: one cosine mixes them

        def baseline(text):
            word, char = matcher._query(normalise(text))
            query = sp.hstack([np.sqrt(share) * word, np.sqrt(1 - share) * char], format="csr")
            return np.argsort(-cosine_similarity(query, matrix).ravel())[:10]

        matcher.suggest(asked[0], visitor_country="DE")  # warm caches (stop words, rulebook)
        ours = timings(lambda text: matcher.suggest(text, visitor_country="DE", k=10), asked)
        theirs = timings(baseline, asked)
        print(f"{size:>8,} {np.percentile(ours, 50):>15.1f} {np.percentile(ours, 95):>7.1f} "
              f"{np.percentile(theirs, 50):>16.1f} {np.percentile(theirs, 95):>7.1f} "
              f"{np.percentile(theirs, 50) / np.percentile(ours, 50):>9.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 10_000, 100_000])
    parser.add_argument("--store-size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        fitted = fit_times(args.sizes, Path(folder))
        following_the_profiles(args.store_size, Path(folder))
    suggest_times(fitted, queries(args.queries))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
