"""The uptake page's figures computed again with pandas alone, from the raw tables.

Independent of cx.uptake's SQL: the tests compare the two on a hand-built programme, and
bench/uptake.py times the two on a large one. Filters have the meaning cx.uptake.Filters gives."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from cx.rules import load_rulebook
from cx.store import STATUSES
from cx.uptake import COMPLETED, PIPELINE, STAGE_REACHED, WITHDRAWN, Filters


def load(store) -> dict[str, pd.DataFrame]:
    """The raw tables, read once (the bench keeps them in memory, as a pandas app would)."""
    return {name: store.table(name) for name in ("partnerships", "organisations", "exchanges")}


def joined(tables) -> pd.DataFrame:
    orgs = tables["organisations"][["id", "name", "country", "city", "lat", "lon", "kind", "partnership_id", "ecosystems"]]
    x = tables["exchanges"].merge(orgs.add_prefix("visitor_"), how="left", left_on="visitor_id", right_on="visitor_id")
    x = x.merge(orgs.add_prefix("host_"), how="left", left_on="host_id", right_on="host_id")
    x = x.rename(columns={"visitor_partnership_id": "partnership_id"})
    x["start_date"] = pd.to_datetime(x["start_date"])
    x["live"] = ~x["status"].isin(WITHDRAWN)
    return x


def _has_any(lists: pd.Series, wanted) -> pd.Series:
    wanted = set(wanted)
    return lists.map(lambda values: bool(wanted & set(values if values is not None else ())))


def select(x: pd.DataFrame, f: Filters, since_start: bool = True) -> pd.DataFrame:
    keep = pd.Series(True, index=x.index)
    if f.start and since_start:
        keep &= x["start_date"] >= pd.Timestamp(f.start)
    if f.end:
        keep &= x["start_date"] <= pd.Timestamp(f.end)
    for column, values in (("partnership_id", f.partnerships), ("visitor_country", f.visitor_countries),
                           ("host_country", f.host_countries), ("visitor_kind", f.kinds), ("status", f.statuses)):
        if values:
            keep &= x[column].isin(values)
    if f.ecosystems:
        keep &= _has_any(x["visitor_ecosystems"], f.ecosystems) | _has_any(x["host_ecosystems"], f.ecosystems)
    return x[keep]


def select_organisations(orgs: pd.DataFrame, f: Filters, countries, in_period: bool = True) -> pd.DataFrame:
    keep = pd.Series(True, index=orgs.index)
    registered = pd.to_datetime(orgs["registered_on"])
    if in_period and f.start:
        keep &= registered >= pd.Timestamp(f.start)
    if in_period and f.end:
        keep &= registered <= pd.Timestamp(f.end)
    for column, values in (("partnership_id", f.partnerships), ("country", countries), ("kind", f.kinds)):
        if values:
            keep &= orgs[column].isin(values)
    if f.ecosystems:
        keep &= _has_any(orgs["ecosystems"], f.ecosystems)
    return orgs[keep]


def _mean(values: pd.Series):
    return None if values.empty or values.isna().all() else float(values.mean())


def figures(tables, x: pd.DataFrame, f: Filters) -> dict:
    taken = list(load_rulebook().taken_statuses)
    to_date = select(x, f, since_start=False)
    period = select(x, f)
    going = period[period["live"]]
    orgs = tables["organisations"]
    done = to_date[to_date["status"].isin(COMPLETED)]
    partnerships = tables["partnerships"]
    if f.partnerships:
        partnerships = partnerships[partnerships["id"].isin(f.partnerships)]
    per_partnership = done.groupby("partnership_id").size().reindex(partnerships["id"]).fillna(0).to_numpy()
    shared = [bool(set(v) & set(h)) for v, h in zip(going["visitor_ecosystems"], going["host_ecosystems"])]
    result = {status: int((period["status"] == status).sum()) for status in STATUSES}
    result.update(
        withdrawn=int((~period["live"]).sum()),
        visitors_registered=len(select_organisations(orgs[orgs["can_visit"]], f, f.visitor_countries)),
        hosts_registered=len(select_organisations(orgs[orgs["can_host"]], f, f.host_countries)),
        exchanges=len(period),
        completed_to_date=len(done),
        committed_eur=int(to_date.loc[to_date["status"].isin(taken), "lump_sum_eur"].fillna(0).sum()),
        paid_eur=int(to_date.loc[to_date["status"] == "paid", "lump_sum_eur"].fillna(0).sum()),
        partnerships_at_target=int((per_partnership >= partnerships["target_exchanges"].to_numpy()).sum()),
        going_ahead=len(going),
        halved_share=_mean(going["halved"].astype("float")),
        sme_share=_mean((going["visitor_kind"] == "SME").astype("float")),
        average_working_days=_mean(going["working_days"].astype("float")),
        average_distance_km=_mean(going["distance_km"].astype("float")),
        countries_reached=len(set(going["visitor_country"].dropna()) | set(going["host_country"].dropna())),
        crossing_share=_mean(pd.Series([0.0 if s else 1.0 for s in shared], dtype="float")),
    )
    return result


def headline(tables, x, f: Filters) -> dict:
    before = f.previous()
    return {"current": figures(tables, x, f), "previous": figures(tables, x, before) if before else None}


def pipeline(x, f: Filters) -> pd.DataFrame:
    period = select(x, f)
    reached = period["status"].map(STAGE_REACHED)
    return pd.DataFrame({"stage": list(PIPELINE),
                         "reached": [int((reached >= step).sum()) for step in range(len(PIPELINE))],
                         "now": [int((period["status"] == stage).sum()) for stage in PIPELINE]})


def monthly(x, f: Filters) -> pd.DataFrame:
    to_date = select(x, f, since_start=False)
    first = pd.Timestamp(f.start) if f.start else to_date["start_date"].min()
    last = pd.Timestamp(f.end) if f.end else to_date["start_date"].max()
    months = pd.date_range(first.to_period("M").to_timestamp(), last.to_period("M").to_timestamp(), freq="MS")
    month = to_date["start_date"].dt.to_period("M").dt.to_timestamp()
    done = to_date["status"].isin(COMPLETED)
    table = pd.DataFrame({"month": months})
    table["exchanges"] = to_date[to_date["live"]].groupby(month).size().reindex(months, fill_value=0).to_numpy()
    table["completed"] = to_date[done].groupby(month).size().reindex(months, fill_value=0).to_numpy()
    table["cumulative_completed"] = int((done & (to_date["start_date"] < months[0])).sum()) + table["completed"].cumsum()
    return table


def partnership_progress(tables, x, f: Filters) -> pd.DataFrame:
    to_date = select(x, f, since_start=False)
    done = to_date[to_date["status"].isin(COMPLETED)].groupby("partnership_id").size()
    table = tables["partnerships"].rename(columns={"id": "partnership_id", "name": "partnership"})
    if f.partnerships:
        table = table[table["partnership_id"].isin(f.partnerships)]
    table = table[["partnership_id", "partnership", "target_exchanges"]].copy()
    table["completed"] = table["partnership_id"].map(done).fillna(0).astype("int64")
    table["share_of_target"] = np.where(table["target_exchanges"] > 0,
                                        table["completed"] / table["target_exchanges"].where(table["target_exchanges"] > 0), np.nan)
    return table.sort_values(["share_of_target", "partnership_id"], na_position="last").reset_index(drop=True)


def _going(x, f):
    period = select(x, f)
    return period[period["live"]]


def country_flows(x, f: Filters) -> pd.DataFrame:
    table = _going(x, f).groupby(["visitor_country", "host_country"]).size().rename("exchanges").reset_index()
    return table.sort_values(["exchanges", "visitor_country", "host_country"], ascending=[False, True, True]).reset_index(drop=True)


def ecosystem_pairs(x, f: Filters) -> pd.DataFrame:
    going = _going(x, f)
    pairs = [(v, h) for vs, hs in zip(going["visitor_ecosystems"], going["host_ecosystems"]) for v in vs for h in hs]
    table = pd.DataFrame(pairs, columns=["visitor_ecosystem", "host_ecosystem"])
    return table.groupby(["visitor_ecosystem", "host_ecosystem"]).size().rename("exchanges").reset_index()


def working_days_histogram(x, f: Filters) -> pd.DataFrame:
    going = _going(x, f).dropna(subset=["working_days"])
    return going.groupby("working_days").size().rename("exchanges").reset_index()


def distance_histogram(x, f: Filters, band: int) -> pd.DataFrame:
    going = _going(x, f).dropna(subset=["distance_km"])
    bands = (np.floor(going["distance_km"] / band) * band).astype("int64").rename("distance_km")
    return going.groupby(bands).size().rename("exchanges").reset_index()


def place_flows(x, f: Filters) -> pd.DataFrame:
    going = _going(x, f).dropna(subset=["visitor_lat", "visitor_lon", "host_lat", "host_lon"])
    keys = ["visitor_city", "visitor_country", "visitor_lat", "visitor_lon", "host_city", "host_country", "host_lat", "host_lon"]
    return going.groupby(keys).size().rename("exchanges").reset_index()


def places(x, f: Filters) -> pd.DataFrame:
    going = _going(x, f)
    sides = pd.concat([
        going[["visitor_city", "visitor_country", "visitor_lat", "visitor_lon"]].set_axis(["city", "country", "lat", "lon"], axis=1).assign(sent=1, hosted=0),
        going[["host_city", "host_country", "host_lat", "host_lon"]].set_axis(["city", "country", "lat", "lon"], axis=1).assign(sent=0, hosted=1),
    ]).dropna(subset=["lat", "lon"])
    return sides.groupby(["city", "country", "lat", "lon"])[["sent", "hosted"]].sum().reset_index()


def country_activity(x, f: Filters) -> pd.DataFrame:
    going = _going(x, f)
    sent = going.groupby("visitor_country").size()
    hosted = going.groupby("host_country").size()
    table = pd.DataFrame({"sent": sent, "hosted": hosted}).fillna(0).astype("int64")
    return table.rename_axis("country").reset_index()


def repeated_visitors(x, f: Filters) -> pd.DataFrame:
    taken = load_rulebook().taken_statuses
    chosen = select(x, replace(f, start=None, end=None))
    chosen = chosen[chosen["status"].isin(taken)]
    counts = chosen.groupby("visitor_id").size()
    return counts[counts > 1].rename("exchanges").reset_index()


def unplaced_organisations(tables, f: Filters) -> pd.DataFrame:
    countries = tuple(dict.fromkeys(f.visitor_countries + f.host_countries))
    orgs = select_organisations(tables["organisations"], f, countries, in_period=False)
    return orgs[orgs["lat"].isna() | orgs["lon"].isna()]


def rule_breaches(x, f: Filters) -> pd.DataFrame:
    rulebook = load_rulebook()
    taken = x["status"].isin(rulebook.taken_statuses)
    visits = taken.groupby(x["visitor_id"]).transform("sum") - taken.astype("int64")
    going = _going(x, f)
    going = going.assign(visits_taken=visits.loc[going.index], start=going["start_date"], end=going["end_date"])
    breaches = rulebook.check_exchanges(going)
    return pd.DataFrame({"exchange_id": going.loc[breaches["row"], "id"].to_numpy(), "rule": breaches["rule"].to_numpy()})


def lump_sum_mismatches(x, f: Filters) -> pd.DataFrame:
    chosen = select(x, f).dropna(subset=["lump_sum_eur"])
    rules = load_rulebook().lump_sums(chosen.assign(start=chosen["start_date"], end=chosen["end_date"]))
    differs = chosen["lump_sum_eur"].astype("int64") != rules["lump_sum_eur"]
    return pd.DataFrame({"exchange_id": chosen.loc[differs, "id"], "rules_eur": rules.loc[differs, "lump_sum_eur"]})


def stalled_exchanges(x, f: Filters, today) -> pd.DataFrame:
    rulebook = load_rulebook()
    chosen = select(x, f)
    since = pd.to_datetime(chosen["updated_at"]).dt.normalize()
    start, end = pd.to_datetime(chosen["start_date"]), pd.to_datetime(chosen["end_date"])
    days = pd.to_timedelta
    due = pd.Series(pd.NaT, index=chosen.index, dtype="datetime64[us]")
    # Requests here have no host answer yet (the steps after one are tested in test_todo.py).
    for status, when in (("requested", since + days(rulebook.answer_days, unit="D")), ("approved", start),
                         ("ongoing", end), ("completed", end + days(rulebook.report_days, unit="D")),
                         ("reported", since + days(rulebook.payment_days, unit="D"))):
        mine = chosen["status"] == status
        due[mine] = when[mine]
    overdue = (pd.Timestamp(today) - due).dt.days
    late = overdue > 0
    return pd.DataFrame({"exchange_id": chosen.loc[late, "id"], "days_overdue": overdue[late].astype("int64")})
