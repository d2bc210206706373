"""How fast does the matcher answer? `suggest` at 10,000 and 100,000 synthetic hosts.

For each size: the time to fit, then p50 and p95 over 200 queries of
- `HostMatcher.suggest` (eligibility for a visitor in DE, top 10, reasons, result table), and
- the baseline, measured in the same run on the same fitted matrix: scikit-learn's
  `cosine_similarity` of the query with the full matrix and a full `argsort` of every host (ranking
  only: no eligibility, no reasons, no table), so the ratio understates the gain.
Synthetic hosts are written from the 14 ecosystems' vocabularies like the demo's profiles.

    python bench/match_speed.py [--sizes 10000 100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics.pairwise import cosine_similarity

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cx.ecosystems import ECOSYSTEMS, OBJECTIVES  # noqa: E402
from cx.matching import HostMatcher, normalise  # noqa: E402
from cx.rules import load_rulebook  # noqa: E402

OPENINGS = ("A cluster organisation bringing together companies and research in {terms}.",
            "An SME developing products and services in {terms}.",
            "We support start-ups and SMEs to scale up in {terms}, with labs, testbeds and coaching.",
            "A technology centre working with cluster members on {terms}.")
CLOSINGS = ("Our members want to {objective}.", "We are open to visitors who want to {objective}.",
            "We host exchanges and help visitors {objective}.")
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    asked = queries(args.queries)
    print(f"{'hosts':>8} {'fit s':>7} {'suggest p50 ms':>15} {'p95':>7} {'baseline p50 ms':>16} {'p95':>7} "
          f"{'p50 ratio':>10}")
    for size in args.sizes:
        hosts = synthetic_hosts(size)
        started = time.perf_counter()
        matcher = HostMatcher().fit(hosts)
        fit_seconds = time.perf_counter() - started
        matrix = matcher.matrix_.tocsr()

        def baseline(text):
            _, query = matcher._query(normalise(text))
            return np.argsort(-cosine_similarity(query, matrix).ravel())[:10]

        matcher.suggest(asked[0], visitor_country="DE")  # warm caches (stop words, rulebook)
        ours = timings(lambda text: matcher.suggest(text, visitor_country="DE", k=10), asked)
        theirs = timings(baseline, asked)
        print(f"{size:>8,} {fit_seconds:>7.1f} {np.percentile(ours, 50):>15.1f} {np.percentile(ours, 95):>7.1f} "
              f"{np.percentile(theirs, 50):>16.1f} {np.percentile(theirs, 95):>7.1f} "
              f"{np.percentile(theirs, 50) / np.percentile(ours, 50):>9.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
