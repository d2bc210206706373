"""A seeded, realistic demo programme: partnerships, organisations in real cities of the eligible
countries, and exchanges from 2020 to today that obey the rulebook, plus a handful of deliberate
rule breaks so that the data-quality views have something to find.

Demo data is for trying the app; tests of real behaviour build their own small fixtures.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cx.ecosystems import ACTIVITIES, ECOSYSTEMS, OBJECTIVES
from cx.geo import Gazetteer, distance_km, gazetteer
from cx.rules import Rulebook, load_rulebook, public_holidays
from cx.store import Store

KIND_SHARES = {"cluster organisation": 0.33, "SME": 0.42, "scaling-up support organisation": 0.15, "other": 0.10}
HOST_SHARES = {"cluster organisation": 0.95, "SME": 0.6, "scaling-up support organisation": 0.9, "other": 1.0}
LEGAL_FORMS = {"DE": "GmbH", "AT": "GmbH", "FR": "SAS", "IT": "S.r.l.", "ES": "S.L.", "PT": "Lda.",
               "PL": "sp. z o.o.", "NL": "B.V.", "BE": "BV", "SE": "AB", "DK": "ApS", "FI": "Oy",
               "CZ": "s.r.o.", "SK": "s.r.o.", "RO": "S.R.L.", "HU": "Kft.", "GR": "IKE", "TR": "Ltd. Şti."}
SUPPORT_KINDS = ("Digital Innovation Hub", "Technology Centre", "Fab Lab", "Accelerator", "Research Institute",
                 "Incubator", "Creative Hub")
OTHER_KINDS = ("University of {city}", "{city} Regional Development Agency", "{city} Chamber of Commerce",
               "{name} Group", "{city} Vocational Training Centre")
SYLLABLES = ("al", "be", "cor", "da", "el", "fa", "gen", "hy", "in", "jo", "ka", "lu", "mar", "no", "or",
             "pra", "qui", "ro", "sa", "te", "ul", "ve", "wo", "xa", "ze", "tek", "via", "lux", "nova", "tri")
PARTNERSHIP_PREFIXES = ("EuroCluster", "ClusterXchange", "ECCP", "Interregional", "Twin Transition", "Value Chain")
FIRST_DAY = np.datetime64("2020-01-06")


def _pick(rng, items, size=None, p=None):
    items = list(items)
    chosen = rng.choice(len(items), size=size, p=p)
    return [items[i] for i in chosen] if size is not None else items[chosen]


def _company(rng) -> str:
    return "".join(_pick(rng, SYLLABLES, rng.integers(2, 4))).capitalize()


def partnerships(rng, count: int) -> pd.DataFrame:
    names = list(ECOSYSTEMS)
    rows = []
    for number in range(1, count + 1):
        ecosystems = sorted(set(_pick(rng, names, rng.integers(1, 4))))
        focus = ecosystems[0].split(" – ")[0].split(" & ")[0]
        rows.append({
            "id": f"P{number:02d}",
            "name": f"{_pick(rng, PARTNERSHIP_PREFIXES)} {focus} Partnership {number}",
            "ecosystems": ecosystems,
            "target_exchanges": int(rng.integers(8, 13)) * 10,
        })
    return pd.DataFrame(rows)


def _profile(rng, kind, city, country_name, ecosystems) -> tuple[str, str]:
    """A description and a sectors list written from the ecosystems' vocabulary."""
    terms = []
    for ecosystem in ecosystems:
        terms += _pick(rng, ECOSYSTEMS[ecosystem], 2)
    terms = list(dict.fromkeys(terms))
    objective = _pick(rng, OBJECTIVES)
    openings = {
        "cluster organisation": f"A cluster organisation in {city}, {country_name}, bringing together companies, "
                                f"research and public partners in {', '.join(terms[:-1]) or terms[0]}"
                                + (f" and {terms[-1]}" if len(terms) > 1 else "") + ".",
        "SME": f"An SME based in {city} ({country_name}) developing products and services in {terms[0]}"
               + (f" with know-how in {', '.join(terms[1:])}" if len(terms) > 1 else "") + ".",
        "scaling-up support organisation": f"We support start-ups and SMEs in {city} to scale up in "
                                           f"{' and '.join(terms[:2])}, with labs, testbeds and coaching.",
        "other": f"Based in {city}, {country_name}, we work with cluster members on {' and '.join(terms[:2])}.",
    }
    ecosystem_text = " and ".join(e.lower() for e in ecosystems)
    closing = _pick(rng, (
        f"Our members want to {objective} across the {ecosystem_text} ecosystem.",
        f"We are open to visitors who want to {objective} and see {terms[-1]} in practice.",
        f"We host exchanges on {terms[0]} and help visitors {objective}.",
    ))
    return f"{openings[kind]} {closing}", "; ".join(terms)


def organisations(rng, count: int, partnership_table: pd.DataFrame, rulebook: Rulebook,
                  places: Gazetteer, today: dt.date) -> pd.DataFrame:
    countries = rulebook.eligible_countries
    cities = places.cities[places.cities["country"].isin(countries)]
    # Towns of 40,000+ (or a small country's three largest) named as places, not districts ("Paris 03 Temple").
    cities = cities[~cities["name"].str.contains(r"\d")]
    largest = cities.groupby("country")["population"].rank(ascending=False) <= 3
    cities = cities[(cities["population"] >= 40_000) | largest]
    size = cities.groupby("country")["population"].sum().reindex(countries).fillna(1e5)
    weights = np.sqrt(size.to_numpy())
    country_of = _pick(rng, countries, count, p=weights / weights.sum())
    kinds = _pick(rng, KIND_SHARES, count, p=list(KIND_SHARES.values()))
    ecosystem_names = list(ECOSYSTEMS)
    by_country = {c: g for c, g in cities.groupby("country")}
    rows = []
    days_open = (np.datetime64(today) - FIRST_DAY).astype(int)
    for number, (country, kind) in enumerate(zip(country_of, kinds), start=1):
        local = by_country[country]
        p = local["population"].to_numpy(dtype=float) ** 0.7
        place = local.iloc[rng.choice(len(local), p=p / p.sum())]
        partnership = partnership_table.iloc[rng.integers(len(partnership_table))]
        ecosystems = list(partnership["ecosystems"][: rng.integers(1, 3)])
        if rng.random() < 0.3:
            ecosystems.append(_pick(rng, ecosystem_names))
        ecosystems = sorted(set(ecosystems))
        city, country_name = place["name"], rulebook.country_name(country)
        main_term = _pick(rng, ECOSYSTEMS[ecosystems[0]])
        name = {
            "cluster organisation": f"{city} {main_term.title()} Cluster",
            "SME": f"{_company(rng)} {LEGAL_FORMS.get(country, 'Ltd')}",
            "scaling-up support organisation": f"{city} {_pick(rng, SUPPORT_KINDS)}",
            "other": _pick(rng, OTHER_KINDS).format(city=city, name=_company(rng)),
        }[kind]
        description, sectors = _profile(rng, kind, city, country_name, ecosystems)
        rows.append({
            "id": f"O{number:05d}",
            "name": name,
            "kind": kind,
            "country": country,
            "city": city,
            "lat": float(place["lat"]),
            "lon": float(place["lon"]),
            "partnership_id": partnership["id"],
            "ecosystems": ecosystems,
            "sectors": sectors,
            "description": description,
            "can_host": bool(rng.random() < HOST_SHARES[kind]),
            "can_visit": kind != "other",
            "contact_name": f"Contact {number}",
            "contact_email": f"contact{number}@example.org",
            "registered_on": (FIRST_DAY + int(rng.integers(0, days_open))).astype(dt.date),
        })
    return pd.DataFrame(rows)


def _start_days(rng, count: int, today: dt.date) -> np.ndarray:
    """Stay starts from 2020 to a few months ahead, growing over time, with the pandemic dip."""
    span = (np.datetime64(today) + 120 - FIRST_DAY).astype(int)
    offsets = np.sort(rng.random(count * 3) ** 0.7 * span).astype(int)
    days = FIRST_DAY + offsets
    pandemic = (days >= np.datetime64("2020-03-15")) & (days < np.datetime64("2021-07-01"))
    keep = ~pandemic | (rng.random(len(days)) < 0.25)
    days = rng.permutation(days[keep])[:count]
    return np.busday_offset(days, 0, roll="forward")


def _status(rng, start: pd.Timestamp, end: pd.Timestamp, today: dt.date) -> str:
    today = pd.Timestamp(today)
    if start > today:
        return _pick(rng, ("requested", "approved", "cancelled", "rejected"), p=(0.4, 0.5, 0.05, 0.05))
    if end >= today:
        return "ongoing"
    age = (today - end).days
    if age < 14:
        return _pick(rng, ("completed", "reported"), p=(0.7, 0.3))
    if age < 45:
        return _pick(rng, ("completed", "reported", "paid"), p=(0.1, 0.4, 0.5))
    return _pick(rng, ("paid", "cancelled", "rejected", "reported", "completed"), p=(0.86, 0.05, 0.05, 0.025, 0.015))


PATHS = {
    "requested": ["requested"],
    "approved": ["requested", "approved"],
    "ongoing": ["requested", "approved", "ongoing"],
    "completed": ["requested", "approved", "ongoing", "completed"],
    "reported": ["requested", "approved", "ongoing", "completed", "reported"],
    "paid": ["requested", "approved", "ongoing", "completed", "reported", "paid"],
    "rejected": ["requested", "rejected"],
    "cancelled": ["requested", "approved", "cancelled"],
}


def _events(rng, exchange) -> list[dict]:
    """The audit trail that led to the exchange's status, with plausible dates."""
    start, end = pd.Timestamp(exchange["start_date"]), pd.Timestamp(exchange["end_date"])
    requested = pd.Timestamp(exchange["created_at"])
    when = {
        "requested": requested,
        "approved": requested + pd.Timedelta(days=int(rng.integers(3, 20))),
        "rejected": requested + pd.Timedelta(days=int(rng.integers(3, 20))),
        "cancelled": min(start - pd.Timedelta(days=2), requested + pd.Timedelta(days=30)),
        "ongoing": start,
        "completed": end + pd.Timedelta(days=1),
        "reported": end + pd.Timedelta(days=int(rng.integers(3, 15))),
    }
    when["paid"] = when["reported"] + pd.Timedelta(days=int(rng.integers(2, 10)))
    path = PATHS[exchange["status"]]
    return [
        {"exchange_id": exchange["id"], "changed_at": when[new] + pd.Timedelta(hours=9 + int(rng.integers(0, 8))),
         "from_status": old, "to_status": new,
         "changed_by": "visitor" if new == "requested" else f"partnership {exchange['partnership_id']}"}
        for old, new in zip([None, *path[:-1]], path)
    ]


def exchanges(rng, count: int, orgs: pd.DataFrame, rulebook: Rulebook, today: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    visitors = orgs[orgs["can_visit"]]
    hosts = orgs[orgs["can_host"]]
    visitor_rows = rng.choice(len(visitors), size=count, replace=count > len(visitors))
    starts = _start_days(rng, count, today)
    ecosystem_names = list(ECOSYSTEMS)
    in_ecosystem = np.array([[name in e for name in ecosystem_names] for e in hosts["ecosystems"]])
    host_countries = hosts["country"].to_numpy()
    rows = []
    for number, (v, start) in enumerate(zip(visitor_rows, starts), start=1):
        visitor = visitors.iloc[v]
        abroad = host_countries != visitor["country"]
        shared = in_ecosystem[:, [ecosystem_names.index(e) for e in visitor["ecosystems"]]].any(axis=1)
        pool = np.flatnonzero(abroad & shared) if rng.random() < 0.75 and (abroad & shared).any() else np.flatnonzero(abroad)
        host = hosts.iloc[rng.choice(pool)]
        days = int(rng.choice([3, 4, 5, 5, 5, 6, 7, 8, 10, 10, 12, 15, 20]))
        holidays = public_holidays(host["country"])
        start = np.busday_offset(start, 0, roll="forward", holidays=holidays)
        end = np.busday_offset(start, days - 1, roll="forward", holidays=holidays)
        # Holidays can stretch a long stay past one month: end it on the last working day within it.
        end = min(end, np.busday_offset(start + rulebook.max_calendar_days - 1, 0, roll="backward", holidays=holidays))
        rows.append({
            "id": f"X{number:05d}",
            "visitor_id": visitor["id"], "host_id": host["id"],
            "start_date": start, "end_date": end,
            "visitor_lat": visitor["lat"], "visitor_lon": visitor["lon"],
            "host_lat": host["lat"], "host_lon": host["lon"], "host_country": host["country"],
            "partnership_id": visitor["partnership_id"],
            "objectives": f"{_pick(rng, OBJECTIVES).capitalize()}: {host['sectors'].split('; ')[0]} "
                          f"with {host['name']}.",
            "activities": sorted(set(_pick(rng, ACTIVITIES, rng.integers(1, 4)))),
        })
    table = pd.DataFrame(rows)
    table[["start_date", "end_date"]] = table[["start_date", "end_date"]].astype("datetime64[s]")
    table["status"] = [_status(rng, s, e, today) for s, e in zip(table["start_date"], table["end_date"])]
    # A visitor visits once: a repeated visitor keeps only requests that did not go ahead.
    repeated = table.duplicated("visitor_id")
    table.loc[repeated, "status"] = _pick(rng, ("rejected", "cancelled"), int(repeated.sum()))
    table["distance_km"] = distance_km(table["visitor_lat"], table["visitor_lon"], table["host_lat"], table["host_lon"])
    money = rulebook.lump_sums(table.assign(start=table["start_date"], end=table["end_date"]))
    table["working_days"] = money["working_days"]
    table["halved"] = money["halved"]
    table["lump_sum_eur"] = money["lump_sum_eur"]
    lead = rng.integers(20, 90, size=count)
    table["created_at"] = pd.to_datetime(table["start_date"]) - pd.to_timedelta(lead, unit="D")
    table["created_at"] = table["created_at"].clip(upper=pd.Timestamp(today))
    events = pd.DataFrame([event for _, row in table.iterrows() for event in _events(rng, row)])
    table["updated_at"] = events.groupby("exchange_id")["changed_at"].max().reindex(table["id"]).to_numpy()
    return table, events


def _break_rules(rng, orgs: pd.DataFrame, table: pd.DataFrame) -> None:
    """A handful of deliberate mistakes, as real programmes' data has them."""
    if len(table) < 20:
        return
    completed = table.index[table["status"].isin(["paid", "completed", "reported"])].to_numpy()
    chosen = rng.choice(completed, size=min(6, len(completed)), replace=False)
    # A host in the visitor's own country.
    same = orgs.set_index("id").loc[table.at[chosen[0], "visitor_id"], "country"]
    local_hosts = orgs[(orgs["country"] == same) & orgs["can_host"] & (orgs["id"] != table.at[chosen[0], "visitor_id"])]
    if len(local_hosts):
        table.at[chosen[0], "host_id"] = local_hosts["id"].iloc[0]
    # A stay of two working days.
    first_day = np.datetime64(table.at[chosen[1], "start_date"], "D")
    table.at[chosen[1], "end_date"] = pd.Timestamp(np.busday_offset(first_day, 1, roll="forward"))
    table.at[chosen[1], "working_days"] = 2
    # A visitor with a second paid exchange.
    table.at[chosen[2], "visitor_id"] = table.at[chosen[3], "visitor_id"]
    # Lump sums that differ from what the rules give.
    for row in chosen[4:6]:
        table.at[row, "lump_sum_eur"] = int(table.at[row, "lump_sum_eur"]) + 150
    # Organisations whose city cannot be placed (a small town and a typo).
    for row, (city, country) in zip(rng.choice(orgs.index, 2, replace=False),
                                    [("Raaba-Grambach", "AT"), ("Stutgart", "DE")]):
        orgs.loc[row, ["city", "country", "lat", "lon"]] = [city, country, np.nan, np.nan]


def generate(seed: int = 7, organisation_count: int = 2000, exchange_count: int = 1500,
             today: dt.date | None = None, rulebook: Rulebook | None = None) -> dict[str, pd.DataFrame]:
    """The demo programme's tables, ready for `Store.replace_all`."""
    rng = np.random.default_rng(seed)
    today = today or dt.date.today()
    rulebook = rulebook or load_rulebook()
    partnership_table = partnerships(rng, max(4, round(exchange_count / 100)))
    orgs = organisations(rng, organisation_count, partnership_table, rulebook, gazetteer(), today)
    table, events = exchanges(rng, exchange_count, orgs, rulebook, today)
    _break_rules(rng, orgs, table)
    columns = ["id", "visitor_id", "host_id", "start_date", "end_date", "working_days", "distance_km",
               "objectives", "activities", "status", "lump_sum_eur", "halved", "created_at", "updated_at"]
    return {"partnerships": partnership_table, "organisations": orgs, "exchanges": table[columns],
            "events": events}


def load_demo(store: Store, seed: int = 7, organisations: int = 2000, exchanges: int = 1500,
              today: dt.date | None = None) -> dict[str, int]:
    """Generate the demo programme and replace the store's data with it, in one transaction."""
    tables = generate(seed, organisations, exchanges, today)
    store.migrate()
    store.replace_all(tables["partnerships"], tables["organisations"], tables["exchanges"], tables["events"])
    return {name: len(frame) for name, frame in tables.items()}
