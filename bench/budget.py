"""10,000 Monte Carlo runs of 2,000 exchanges: `cx.budget.simulate` against a straightforward
Python loop that draws each stay's host country, working days and distance and applies the
halving rule, measured in the same run (on a sample of runs, scaled).

    .venv/bin/python bench/budget.py [--runs 10000] [--exchanges 2000] [--sample-runs 20]
"""

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from cx.budget import simulate, uniform_scenario  # noqa: E402
from cx.rules import load_rulebook  # noqa: E402


def loop_totals(scenario, rulebook, runs: int, seed: int = 1) -> list[int]:
    """The obvious implementation: one Python iteration per stay of every run."""
    variant = scenario.rulebook(rulebook)
    countries = list(scenario.host_mix)
    country_weights = list(scenario.host_mix.values())
    days, day_weights = list(scenario.working_days), list(scenario.working_days.values())
    ceilings = dict(zip(countries, variant.ceilings(countries).tolist()))
    draw = random.Random(seed)
    totals = []
    for _ in range(runs):
        total = 0
        for _ in range(scenario.exchanges):
            country = draw.choices(countries, country_weights)[0]
            working_days = draw.choices(days, day_weights)[0]
            distance = draw.choice(scenario.distances_km[country])
            halved = working_days < variant.halve_under_working_days or distance < variant.halve_under_km
            total += ceilings[country] // 2 if halved else ceilings[country]
        totals.append(total)
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--exchanges", type=int, default=2_000)
    parser.add_argument("--sample-runs", type=int, default=20)
    args = parser.parse_args()

    rulebook = load_rulebook()
    # Building the scenario (gazetteer distances) is not timed; envelope about 2,000 full lump sums.
    scenario = uniform_scenario(rulebook=rulebook, exchanges=args.exchanges, runs=args.runs,
                                envelope_eur=1_000 * args.exchanges)
    simulate(scenario.replace(runs=500), rulebook)  # warm up imports and caches

    started = time.perf_counter()
    result = simulate(scenario, rulebook)
    vectorised = time.perf_counter() - started

    started = time.perf_counter()
    sample = loop_totals(scenario, rulebook, args.sample_runs)
    loop = (time.perf_counter() - started) * args.runs / args.sample_runs

    stays = args.runs * args.exchanges
    print(f"{args.runs:,} runs x {args.exchanges:,} exchanges ({stays:,} stays), "
          f"{len(scenario.host_mix)} host countries")
    print(f"vectorised simulate(): {vectorised:8.2f} s  (also finds the {result.affordable:,} exchanges "
          f"affordable with 95% confidence)")
    print(f"Python loop (scaled from {args.sample_runs} runs): {loop:8.2f} s")
    print(f"ratio: {loop / vectorised:,.0f}x faster")
    print(f"mean total: vectorised EUR {result.expected_total_eur:,}; loop sample EUR {np.mean(sample):,.0f} "
          f"(sd of a run EUR {np.std(result.totals):,.0f})")
    print("aim under 2 s: " + ("met" if vectorised < 2 else "NOT met"))


if __name__ == "__main__":
    main()
