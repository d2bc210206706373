"""Each chart's facts in one sentence, for readers who do not see the chart (screen readers, print,
colour blindness): pure functions of the same tables the charts in cx.charts draw, named alike."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cx.formats import count, euros, plural, share
from cx.store import STATUSES


def _top(table: pd.DataFrame, label: str, value: str, n: int = 3, write=count) -> str:
    """'DE (45), FR (40) and IT (38)': the n largest by `value` (none when all are 0)."""
    top = table[table[value] > 0].nlargest(n, value, keep="first")
    if top.empty:
        return "none"
    parts = [f"{name} ({write(amount)})" for name, amount in zip(top[label], top[value])]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def exchanges_by_status(table: pd.DataFrame) -> str:
    """In the order of the workflow, as the bars are."""
    shown = table[table["exchanges"] > 0].set_index("status").reindex(STATUSES).dropna(subset=["exchanges"]).reset_index()
    return (f"{plural(shown['exchanges'].sum(), 'exchange')}: "
            + ", ".join(f"{count(n)} {status}" for status, n in zip(shown["status"], shown["exchanges"])) + ".")


def money_over_time(table: pd.DataFrame, envelope_eur: int | None = None) -> str:
    last = table.iloc[-1]
    committed = int(last["committed_eur"] or 0)
    against = f" ({share(committed / envelope_eur)} of the {euros(envelope_eur)} envelope)" if envelope_eur else ""
    return (f"By {pd.Timestamp(last['month']):%b %Y}, {euros(committed)} committed{against} "
            f"and {euros(last['paid_eur'] or 0)} paid.")


def organisations_by_country(table: pd.DataFrame) -> str:
    countries = table.groupby("country", as_index=False)["organisations"].sum()
    return (f"{plural(countries['organisations'].sum(), 'organisation')} in "
            f"{plural(len(countries), 'country', 'countries')}; the most in {_top(countries, 'country', 'organisations')}.")


def pipeline_funnel(table: pd.DataFrame) -> str:
    first, steps = table.iloc[0], table.iloc[1:]
    return (f"Of {plural(first['reached'], 'exchange')} {first['stage']}, "
            + ", ".join(f"{count(n)} {stage}" for stage, n in zip(steps["stage"], steps["reached"])) + ".")


def monthly_progress(table: pd.DataFrame, target: int) -> str:
    busiest = table.loc[table["exchanges"].idxmax()]
    last = table.iloc[-1]
    return (f"{count(last['cumulative_completed'])} exchanges completed to {pd.Timestamp(last['month']):%b %Y} "
            f"against the target of {count(target)}; the busiest month was {pd.Timestamp(busiest['month']):%b %Y} "
            f"with {plural(busiest['exchanges'], 'exchange')} starting.")


def partnership_progress(table: pd.DataFrame) -> str:
    at_target = int((table["share_of_target"].fillna(0) >= 1).sum())
    behind = table.sort_values("share_of_target", na_position="first").iloc[0]
    return (f"{count(at_target)} of {plural(len(table), 'partnership')} at their target; furthest behind: "
            f"{behind['partnership']} ({count(behind['completed'])} of {count(behind['target_exchanges'])} completed).")


def partnership_money(table: pd.DataFrame) -> str:
    """`table` is cx.money's, with or without its forecast."""
    allocated = table.dropna(subset=["allocated_eur"])
    sentence = (f"{euros(allocated['allocated_eur'].sum())} allocated to {plural(len(allocated), 'partnership')}"
                f"{'' if len(allocated) == len(table) else f' ({count(len(table) - len(allocated))} without an allocation)'}; "
                f"{euros(table['committed_eur'].sum())} committed and {euros(table['paid_eur'].sum())} paid.")
    if allocated.empty:
        return sentence
    over = allocated[allocated["remaining_eur"] < 0]
    if len(over):
        sentence += (f" {plural(len(over), 'partnership has', 'partnerships have')} committed beyond the allocation: "
                     f"{_top(over.assign(beyond=-over['remaining_eur']), 'partnership_id', 'beyond', write=euros)}.")
    tightest = allocated.loc[(allocated["remaining_eur"] / allocated["allocated_eur"].where(lambda a: a > 0)).fillna(0).idxmin()]
    sentence += f" The least left: {tightest['partnership_id']} ({euros(tightest['remaining_eur'])}"
    if "more_exchanges" in table and pd.notna(tightest.get("more_exchanges")):
        sentence += (f", enough for about {count(tightest['more_exchanges'])} more exchanges, 90% likely "
                     f"{count(tightest['more_exchanges_low'])} to {count(tightest['more_exchanges_high'])}")
    return sentence + ")."


def country_flows(table: pd.DataFrame) -> str:
    busiest = table.loc[table["exchanges"].idxmax()]
    return (f"{plural(table['exchanges'].sum(), 'exchange')} from {count(table['visitor_country'].nunique())} "
            f"visitor countries to {count(table['host_country'].nunique())} host countries; the busiest route is "
            f"{busiest['visitor_country']} to {busiest['host_country']} ({count(busiest['exchanges'])}).")


def ecosystem_heatmap(table: pd.DataFrame) -> str:
    within = table[table["visitor_ecosystem"] == table["host_ecosystem"]]["exchanges"].sum()
    busiest = table.loc[table["exchanges"].idxmax()]
    return (f"{count(within)} of {count(table['exchanges'].sum())} ecosystem pairings stay within one ecosystem; "
            f"the most frequent pairing is a visitor in {busiest['visitor_ecosystem']} with a host in "
            f"{busiest['host_ecosystem']} ({count(busiest['exchanges'])}).")


def threshold_histogram(table: pd.DataFrame, column: str, threshold: float, unit: str) -> str:
    total = table["exchanges"].sum()
    below = table.loc[table[column] < threshold, "exchanges"].sum()
    common = table.loc[table["exchanges"].idxmax(), column]
    return (f"{count(below)} of {plural(total, 'exchange')} ({share(below / total if total else 0)}) are under "
            f"{threshold:g} {unit}, so their lump sums are halved; the most common is {common:,g} {unit}.")


def cost_by_host_country(table: pd.DataFrame) -> str:
    return (f"{euros(table['cost_eur'].sum())} expected over {count(len(table))} host countries; the most in "
            f"{_top(table, 'name', 'cost_eur', write=euros)}.")


def host_suggestions(table: pd.DataFrame) -> str:
    distances = table["distance_km"].dropna()
    far = (f", {count(distances.min())} to {count(distances.max())} km from the visitor"
           if len(distances) else "")
    return f"{plural(len(table), 'host')} in {count(table['country'].nunique())} countries{far}; each is listed below."


def exchange_map(flows: pd.DataFrame, countries: pd.DataFrame) -> str:
    return (f"{plural(flows['exchanges'].sum(), 'exchange')} between {plural(len(flows), 'pair')} of cities. "
            f"Hosting the most: {_top(countries, 'country', 'hosted')}; sending the most: "
            f"{_top(countries, 'country', 'sent')}.")


def mission_map(missions: pd.DataFrame) -> str:
    countries = {c for text in missions["host_countries"].dropna() for c in text.split(", ")}
    largest = missions.loc[missions["visitors"].idxmax()]
    return (f"{plural(len(missions), 'group mission')} taking {plural(missions['visitors'].sum(), 'visitor')} to "
            f"{plural(missions['hosts'].sum(), 'host')} in {plural(len(countries), 'country', 'countries')}; the largest: "
            f"{largest['name']} ({plural(largest['visitors'], 'visitor')}).")


def findings_by_rule(findings: pd.DataFrame) -> str:
    rows = findings.groupby("outcome")["row"].nunique(dropna=False)
    rules = findings.groupby("rule")["row"].nunique(dropna=False).rename("rows").reset_index()
    return (f"{plural(rows.get('rejected', 0), 'row')} rejected and {count(rows.get('flagged', 0))} flagged; "
            f"the rules broken most often: {_top(rules, 'rule', 'rows')}.")


def budget_distribution(totals: pd.DataFrame, envelope_eur: int) -> str:
    """`totals` has a row per simulated run: scenario, total_eur (the quantiles are cx.budget's)."""
    sentences = []
    for name, runs in totals.groupby("scenario", sort=False)["total_eur"]:
        low, middle, high = np.quantile(runs, [0.05, 0.5, 0.95], method="inverted_cdf")
        sentences.append(f"{name}: 90% of {plural(len(runs), 'run')} cost between {euros(low)} and {euros(high)} "
                         f"(median {euros(middle)}); {(runs > envelope_eur).mean():.1%} exceed the "
                         f"{euros(envelope_eur)} envelope.")
    return " ".join(sentences)
