"""A seeded, realistic demo programme: partnerships, organisations in real cities of the eligible
countries, and exchanges from 2020 to today that obey the rulebook, plus a handful of deliberate
rule breaks so that the data-quality views have something to find.

Shaped on what the scheme has published (cited so that a budget scenario learnt from the demo's
history is plausible):
- Most exchanges are group missions: a cluster takes several of its members to one host region
  together, e.g. a partnership's "CXC mission to Portugal" (clamtex.eu/faq-page) or EXTRATEX's
  mission of 22 people from 5 countries visiting 7 companies around one Czech cluster
  (tex4im.eu, September 2021). Here 3 in 4 exchanges travel in a mission of 2 to 8 visitors of one
  partnership, mostly from one country, to hosts in one city; the rest are individual stays.
- Missions last three to four working days, the minimum of "at least three full working days at the
  host" (clamtex.eu/clusterxchange); the published lump sums are EUR 390 for 3 days and EUR 780 for
  5 (clamtex.eu/faq-page), so most lump sums are halved. Individual stays run longer, up to a month.
- Physical exchanges began in mid-2021, after a year of virtual ones that earned no lump sum
  (80 virtual exchanges by June 2021, clustercollaboration.eu webinar recap of 9 June 2021): the
  pandemic months hold few stays. About 100 exchanges per partnership (domain.md), 13 partnerships
  in the pilot (clustercollaboration.eu, December 2021).
- At the default size (1,500 exchange requests from 2020 to a few months ahead, at a steady pace)
  about 1,150 exchanges are completed and EUR 835,000 committed, an average lump sum near EUR 700;
  the call's period 2020-2022 (target 600, envelope EUR 660,000) holds about 350 of them and
  EUR 250,000, the pandemic having slowed the pilot; later years stand for the scheme's next
  phases (bench/demo.py prints these figures). Requests that do not go ahead (rejected, cancelled,
  a member dropping out of a mission) are kept, as real data has them.

Everything is drawn with whole-array numpy operations (per country or per status at most), so
100,000 exchanges build in seconds. Demo data is for trying the app; tests of real behaviour build
their own small fixtures.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from cx.access import as_system
from cx.ecosystems import ACTIVITIES, ECOSYSTEMS, OBJECTIVES
from cx.geo import Gazetteer, distance_km, gazetteer
from cx.rules import Rulebook, load_rulebook, public_holidays
from cx.parties import DOCUMENTS
from cx.store import EXCHANGE_STEPS, Store

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
# The pandemic months, when exchanges were virtual (no lump sum): few physical stays start then.
PANDEMIC = (np.datetime64("2020-03-15"), np.datetime64("2021-07-01"))

MAX_PARTNERSHIPS = 30
ALLOCATION_PER_EXCHANGE_EUR = 1_100
# Share of exchanges travelling in a group mission, the missions' sizes, and working days at the host.
MISSION_SHARE = 0.75
MISSION_SIZES = {2: 0.15, 3: 0.25, 4: 0.25, 5: 0.15, 6: 0.1, 8: 0.1}
MISSION_DAYS = {3: 0.5, 4: 0.38, 5: 0.12}
INDIVIDUAL_DAYS = {3: 0.1, 4: 0.1, 5: 0.3, 6: 0.05, 8: 0.1, 10: 0.15, 15: 0.12, 20: 0.08}
# Within a mission: the share of visitors at the lead host, the others at another host of its city.
AT_LEAD_HOST = 0.5


def _pick(rng, items, size=None, p=None):
    items = list(items)
    chosen = rng.choice(len(items), size=size, p=p)
    return [items[i] for i in chosen] if size is not None else items[chosen]


def _choice(rng, shares: dict, size: int) -> np.ndarray:
    return rng.choice(np.array(list(shares)), size=size, p=np.array(list(shares.values())) / sum(shares.values()))


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
    table = pd.DataFrame(rows)
    # Allocations around what the target costs at the top lump sum (EUR 1,100), some tight: drawn
    # from a generator of their own, so the rest of the programme is the same with or without them.
    spread = np.random.default_rng(rng.bit_generator.seed_seq.spawn(1)[0]).uniform(0.55, 1.05, count)
    table["allocation_eur"] = (np.round(table["target_exchanges"] * ALLOCATION_PER_EXCHANGE_EUR * spread / 5_000)
                               * 5_000).astype("int64")
    return table


class _Draws:
    """Uniform draws made in one array, read row by row: text built per organisation costs no
    generator call per word."""

    def __init__(self, rng, rows: int, per_row: int):
        self.values, self.column = rng.random((rows, per_row)), 0
        self.row = self.values[0]

    def at(self, row: int) -> _Draws:
        self.row, self.column = self.values[row], 0
        return self

    def pick(self, items):
        value = self.row[self.column % len(self.row)]
        self.column += 1
        return items[int(value * len(items))]


def _numbered(prefix: str, count: int) -> np.ndarray:
    """Ids such as O00042, as wide as the largest number needs, so that they sort in order."""
    return np.char.add(prefix, np.char.zfill(np.arange(1, count + 1).astype(str), max(5, len(str(count)))))


def _company(draw: _Draws) -> str:
    return "".join(draw.pick(SYLLABLES) for _ in range(draw.pick((2, 3)))).capitalize()


def _profile(draw: _Draws, kind, city, country_name, ecosystems) -> tuple[str, str]:
    """A description and a sectors list written from the ecosystems' vocabulary."""
    terms = list(dict.fromkeys(draw.pick(ECOSYSTEMS[e]) for e in ecosystems for _ in range(2)))
    objective = draw.pick(OBJECTIVES)
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
    closing = draw.pick((
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
    # Only the place a city's name finds (of two towns of one name, the larger): imports locate it again.
    cities = cities[places.locate_many(cities["name"], cities["country"])[0] == cities["lat"]].reset_index(drop=True)
    size = cities.groupby("country")["population"].sum().reindex(countries).fillna(1e5)
    weights = np.sqrt(size.to_numpy())
    country_of = np.array(countries)[rng.choice(len(countries), count, p=weights / weights.sum())]
    place = np.zeros(count, dtype="int64")
    for country, local in cities.groupby("country"):
        rows = np.flatnonzero(country_of == country)
        p = local["population"].to_numpy(dtype=float) ** 0.7
        place[rows] = local.index.to_numpy()[rng.choice(len(local), len(rows), p=p / p.sum())]
    kinds = _choice(rng, KIND_SHARES, count)
    partnership = rng.integers(len(partnership_table), size=count)
    kept = rng.integers(1, 3, count)
    extra = np.where(rng.random(count) < 0.3, rng.integers(len(ECOSYSTEMS), size=count), -1)
    ecosystem_names = list(ECOSYSTEMS)
    of_partnership = partnership_table["ecosystems"].tolist()
    ecosystems = [sorted(set(of_partnership[p][:k] + ([ecosystem_names[e]] if e >= 0 else [])))
                  for p, k, e in zip(partnership, kept, extra)]
    city = cities["name"].to_numpy()[place]
    country_names = {c: rulebook.country_name(c) for c in countries}
    draw = _Draws(rng, count, 16)
    names, descriptions, sectors, clusters = [], [], [], []
    for row, (kind, town, country, chosen) in enumerate(zip(kinds, city, country_of, ecosystems)):
        draw.at(row)
        main_term = draw.pick(ECOSYSTEMS[chosen[0]])
        names.append({
            "cluster organisation": lambda: f"{town} {main_term.title()} Cluster",
            "SME": lambda: f"{_company(draw)} {LEGAL_FORMS.get(country, 'Ltd')}",
            "scaling-up support organisation": lambda: f"{town} {draw.pick(SUPPORT_KINDS)}",
            "other": lambda: draw.pick(OTHER_KINDS).format(city=town, name=_company(draw)),
        }[kind]())
        # The kinds that take part as cluster members name theirs (no draw: the rest stays as it was).
        clusters.append(f"{town} {main_term.title()} Cluster" if kind in rulebook.member_kinds else None)
        description, terms = _profile(draw, kind, town, country_names[country], chosen)
        descriptions.append(description)
        sectors.append(terms)
    number = np.arange(1, count + 1).astype(str)
    days_open = int((np.datetime64(today) - FIRST_DAY).astype(int))
    return pd.DataFrame({
        "id": _numbered("O", count),
        "name": names,
        "kind": kinds,
        "country": country_of,
        "city": city,
        "lat": cities["lat"].to_numpy(dtype=float)[place],
        "lon": cities["lon"].to_numpy(dtype=float)[place],
        "partnership_id": partnership_table["id"].to_numpy()[partnership],
        "member_of": clusters,
        "ecosystems": ecosystems,
        "sectors": sectors,
        "description": descriptions,
        "can_host": rng.random(count) < pd.Series(kinds).map(HOST_SHARES).to_numpy(),
        "can_visit": kinds != "other",
        "contact_name": np.char.add("Contact ", number),
        "contact_email": np.char.add(np.char.add("contact", number), "@example.org"),
        "registered_on": (FIRST_DAY + rng.integers(0, days_open, count)).astype("datetime64[s]"),
    })


def _start_days(rng, count: int, today: dt.date) -> np.ndarray:
    """Stay starts from 2020 to a few months ahead at a steady, slowly growing pace, with few
    during the pandemic."""
    span = (np.datetime64(today) + 120 - FIRST_DAY).astype(int)
    days = FIRST_DAY + (rng.random(count * 3) ** 0.85 * span).astype(int)
    pandemic = (days >= PANDEMIC[0]) & (days < PANDEMIC[1])
    keep = ~pandemic | (rng.random(len(days)) < 0.25)
    return np.busday_offset(days[keep][:count], 0, roll="forward")


def _by_country(countries: np.ndarray):
    """(country, row positions) for each distinct country."""
    codes, uniques = pd.factorize(pd.Series(countries))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(uniques) + 1))
    return [(country, order[bounds[i]:bounds[i + 1]]) for i, country in enumerate(uniques)]


def _stays(starts: np.ndarray, days: np.ndarray, host_countries: np.ndarray,
           rulebook: Rulebook) -> tuple[np.ndarray, np.ndarray]:
    """First and last day at the host: `days` working days of the host country, ending early on the
    last working day within one month where holidays would stretch the stay past it."""
    first, last = np.empty_like(starts), np.empty_like(starts)
    for country, rows in _by_country(host_countries):
        holidays = public_holidays(country)
        first[rows] = np.busday_offset(starts[rows], 0, roll="forward", holidays=holidays)
        end = np.busday_offset(first[rows], days[rows] - 1, roll="forward", holidays=holidays)
        within = np.busday_offset(first[rows] + rulebook.max_calendar_days - 1, 0, roll="backward", holidays=holidays)
        last[rows] = np.minimum(end, within)
    return first, last


def _missions(rng, count: int) -> np.ndarray:
    """The mission number of each exchange; an individual stay is a mission of one."""
    mean = np.average(list(MISSION_SIZES), weights=list(MISSION_SIZES.values()))
    # A draw is a mission with the probability that puts MISSION_SHARE of exchanges in missions.
    chance = MISSION_SHARE / (mean * (1 - MISSION_SHARE) + MISSION_SHARE)
    sizes = np.where(rng.random(count) < chance, _choice(rng, MISSION_SIZES, count), 1)
    return np.repeat(np.arange(count), sizes)[:count]


def _hosts_abroad(rng, host: np.ndarray, visitor_country: np.ndarray, hosts: pd.DataFrame) -> np.ndarray:
    """Hosts drawn again, from all hosts, wherever the host is in the visitor's country."""
    country = hosts["country"].to_numpy()
    while (same := country[host] == visitor_country).any():
        host[same] = rng.integers(len(hosts), size=int(same.sum()))
    return host


def _lead_hosts(rng, visitors: pd.DataFrame, hosts: pd.DataFrame) -> np.ndarray:
    """A host per mission (given its first visitor): 3 in 4 share one of the visitor's ecosystems."""
    host = rng.integers(len(hosts), size=len(visitors))
    first_ecosystem = np.array([e[int(u * len(e))] for e, u in zip(visitors["ecosystems"], rng.random(len(visitors)))])
    shared = rng.random(len(visitors)) < 0.75
    host_ecosystems = hosts["ecosystems"].tolist()
    for ecosystem in ECOSYSTEMS:
        pool = np.array([i for i, e in enumerate(host_ecosystems) if ecosystem in e])
        rows = np.flatnonzero(shared & (first_ecosystem == ecosystem))
        if len(pool) and len(rows):
            host[rows] = pool[rng.integers(len(pool), size=len(rows))]
            # Abroad within the ecosystem where a few draws allow it; else abroad at all.
            for _ in range(5):
                same = hosts["country"].to_numpy()[host[rows]] == visitors["country"].to_numpy()[rows]
                host[rows[same]] = pool[rng.integers(len(pool), size=int(same.sum()))]
    return _hosts_abroad(rng, host, visitors["country"].to_numpy(), hosts)


def _hosts_in_city(rng, lead: np.ndarray, hosts: pd.DataFrame) -> np.ndarray:
    """For each lead host, the lead itself or another host of its city (one region per mission)."""
    city = pd.factorize(hosts["country"] + "|" + hosts["city"].fillna(""))[0]
    order = np.argsort(city, kind="stable")
    start = np.searchsorted(city[order], city)
    size = np.bincount(city)[city]
    other = order[start[lead] + (rng.random(len(lead)) * size[lead]).astype(int)]
    return np.where(rng.random(len(lead)) < AT_LEAD_HOST, lead, other)


def demo_now(today: dt.date) -> pd.Timestamp:
    """The moment the demo's history ends: eight in the morning of its today, before the day's work."""
    return pd.Timestamp(today) + pd.Timedelta(hours=8)


def _statuses(rng, start: np.ndarray, end: np.ndarray, today: dt.date) -> np.ndarray:
    """Where each exchange stands today: requests ahead, stays under way, and older ones mostly paid,
    some rejected or cancelled."""
    today = np.datetime64(today)
    age = (today - end).astype(int)
    size = len(start)
    return np.select(
        [start > today, end >= today, age < 14, age < 45],
        [rng.choice(["requested", "approved", "cancelled", "rejected"], size, p=(0.4, 0.5, 0.05, 0.05)),
         "ongoing",
         rng.choice(["completed", "reported"], size, p=(0.7, 0.3)),
         rng.choice(["completed", "reported", "paid"], size, p=(0.1, 0.4, 0.5))],
        rng.choice(["paid", "cancelled", "rejected", "reported", "completed"], size, p=(0.82, 0.07, 0.07, 0.025, 0.015)))


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


def _events(rng, table: pd.DataFrame, now: pd.Timestamp) -> pd.DataFrame:
    """The audit trail that led to each exchange's status, with plausible dates, built per step of
    the workflow over all exchanges at once. Nothing is dated after `now`: a trail whose plausible
    dates would run past it is pressed, in order, into the time between its request and `now`."""
    count = len(table)
    day = pd.to_timedelta(1, unit="D")
    requested = pd.to_datetime(table["created_at"]).to_numpy()
    start, end = table["start_date"].to_numpy(), table["end_date"].to_numpy()
    decided = requested + rng.integers(3, 20, count) * day
    reported = end + rng.integers(3, 15, count) * day
    when = {
        "requested": requested, "approved": decided, "rejected": decided,
        "cancelled": np.minimum(start - 2 * day, requested + 30 * day),
        "ongoing": start, "completed": end + day, "reported": reported,
        "paid": reported + rng.integers(2, 10, count) * day,
    }
    status = table["status"].to_numpy()
    by = np.char.add("partnership ", table["partnership_id"].to_numpy().astype(str))
    steps = []
    for final, path in PATHS.items():
        rows = np.flatnonzero(status == final)
        for step, (old, new) in enumerate(zip([None, *path[:-1]], path)):
            steps.append(pd.DataFrame({
                "exchange_id": table["id"].to_numpy()[rows],
                "changed_at": when[new][rows] + rng.integers(9, 17, len(rows)) * pd.to_timedelta(1, unit="h"),
                "from_status": old, "to_status": new,
                "changed_by": "visitor" if new == "requested" else by[rows],
                "_row": rows, "_step": step,
            }))
    events = pd.concat(steps, ignore_index=True).sort_values(["_row", "_step"], kind="stable")
    events = events.drop(columns=["_row", "_step"]).reset_index(drop=True)
    trail = events.groupby("exchange_id")["changed_at"]
    first, last = trail.transform("min"), trail.transform("max")
    pressed = ((now - first) / (last - first)).where(last > now, 1.0)
    events["changed_at"] = (first + (events["changed_at"] - first) * pressed).dt.floor("s")
    return events


def exchanges(rng, count: int, orgs: pd.DataFrame, rulebook: Rulebook, today: dt.date) -> tuple[pd.DataFrame, pd.DataFrame]:
    visitors = orgs[orgs["can_visit"]].reset_index(drop=True)
    hosts = orgs[orgs["can_host"]].reset_index(drop=True)
    # Visitors in the order of their partnership and country, so that consecutive exchanges, and so
    # a mission, are mostly one partnership's members from one country.
    visitor = rng.choice(len(visitors), size=count, replace=count > len(visitors))
    visitor = visitor[np.lexsort((rng.random(count), visitors["country"].to_numpy()[visitor],
                                  visitors["partnership_id"].to_numpy()[visitor]))]
    mission = _missions(rng, count)
    missions = int(mission.max()) + 1
    first_of = np.searchsorted(mission, np.arange(missions))
    lead = _lead_hosts(rng, visitors.iloc[visitor[first_of]].reset_index(drop=True), hosts)[mission]
    visitor_country = visitors["country"].to_numpy()[visitor]
    host = _hosts_abroad(rng, _hosts_in_city(rng, lead, hosts), visitor_country, hosts)
    host_country = hosts["country"].to_numpy()[host]

    alone = np.bincount(mission) == 1
    days = np.where(alone, _choice(rng, INDIVIDUAL_DAYS, missions), _choice(rng, MISSION_DAYS, missions))
    starts = _start_days(rng, missions, today)
    # However small the demo, every partnership has a mission awaiting its decision, and one mission
    # is under way today.
    shuffled = rng.permutation(missions)
    organiser = visitors["partnership_id"].to_numpy()[visitor[first_of]]
    awaiting = shuffled[np.unique(organiser[shuffled], return_index=True)[1]]
    starts[awaiting] = np.datetime64(today) + rng.integers(30, 90, len(awaiting))
    others = np.setdiff1d(shuffled, awaiting)
    if len(others):
        starts[rng.choice(others)] = np.busday_offset(np.datetime64(today), -1, roll="backward")
    # A mission's members share its dates (in working days of their host's country).
    start, end = _stays(starts[mission], days[mission], host_country, rulebook)

    table = pd.DataFrame({
        "visitor_id": visitors["id"].to_numpy()[visitor], "host_id": hosts["id"].to_numpy()[host],
        "start_date": start.astype("datetime64[s]"), "end_date": end.astype("datetime64[s]"),
        "host_country": host_country, "partnership_id": visitors["partnership_id"].to_numpy()[visitor],
        "distance_km": distance_km(visitors["lat"].to_numpy()[visitor], visitors["lon"].to_numpy()[visitor],
                                   hosts["lat"].to_numpy()[host], hosts["lon"].to_numpy()[host]),
    })
    objective = np.array([o.capitalize() for o in OBJECTIVES])[rng.integers(len(OBJECTIVES), size=count)]
    first_sector = hosts["sectors"].str.split("; ").str[0].to_numpy()[host]
    table["objectives"] = pd.Series(objective) + ": " + first_sector + " with " + hosts["name"].to_numpy()[host] + "."
    chosen, kept = rng.integers(len(ACTIVITIES), size=(count, 3)), rng.integers(1, 4, count)
    table["activities"] = [sorted({ACTIVITIES[i] for i in row[:k]}) for row, k in zip(chosen.tolist(), kept)]
    table["status"] = np.where(np.isin(mission, awaiting), "requested", _statuses(rng, start, end, today))
    # A member may drop out of a mission; a visitor visits once, so a repeated visitor keeps only
    # requests that did not go ahead.
    dropped = (rng.random(count) < 0.03) & ~alone[mission]
    repeated = pd.Series(visitor).duplicated().to_numpy() | dropped
    table.loc[repeated, "status"] = rng.choice(["rejected", "cancelled"], int(repeated.sum()))
    money = rulebook.lump_sums(table.assign(start=table["start_date"], end=table["end_date"]))
    table["working_days"] = money["working_days"]
    table["halved"] = money["halved"]
    table["lump_sum_eur"] = money["lump_sum_eur"]
    # Each member requests on its own day, some weeks before the mission.
    lead_days = rng.integers(20, 90, size=count)
    yesterday = pd.Timestamp(today) - pd.Timedelta(days=1)
    table["created_at"] = (table["start_date"] - pd.to_timedelta(lead_days, unit="D")).clip(upper=yesterday)
    table["mission_id"] = np.where(alone[mission], None, np.char.add("M", np.char.zfill((mission + 1).astype(str), 4)))
    # Numbered in the order of the requests, as a registry numbers them.
    table = table.sort_values("created_at", kind="stable").reset_index(drop=True)
    table.insert(0, "id", _numbered("X", count))
    events = _events(rng, table, now=demo_now(today))
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


# Which hosts may read a visitor's "looking for" note, and how often demo visitors choose each.
SHOWN_TO_SHARES = {"all": 0.5, "partnership": 0.3, "nobody": 0.2}
WITH_NOTE = 0.6  # share of visitors that wrote one


def _looking_for(rng, orgs: pd.DataFrame) -> None:
    """A "looking for" note for most visitors, in their own words, and whom it is shown to: drawn
    from a generator of its own, so the rest of the programme is the same with or without them."""
    count = len(orgs)
    writes = orgs["can_visit"].to_numpy() & (rng.random(count) < WITH_NOTE)
    names = list(ECOSYSTEMS)
    notes = []
    for row, ecosystems in enumerate(orgs["ecosystems"]):
        if not writes[row]:
            notes.append(None)
            continue
        # Mostly its own ecosystem, sometimes another: visitors look beyond their field too.
        field = ecosystems[0] if len(ecosystems) and rng.random() < 0.7 else names[rng.integers(len(names))]
        first, second = (ECOSYSTEMS[field][i] for i in rng.choice(len(ECOSYSTEMS[field]), 2, replace=False))
        notes.append(f"{OBJECTIVES[rng.integers(len(OBJECTIVES))].capitalize()}: we look for a host working on "
                     f"{first} and {second}.")
    orgs["looking_for"] = notes
    orgs["looking_for_shown_to"] = np.where(writes, _choice(rng, SHOWN_TO_SHARES, count), "nobody")


def _mission_table(table: pd.DataFrame, orgs: pd.DataFrame) -> pd.DataFrame:
    """A row per group mission: named after its organiser (the first visitor's partnership) and the
    region it visits, over the days of its members' stays, with a shared agenda."""
    members = table.dropna(subset=["mission_id"]).merge(
        orgs[["id", "city", "country"]].rename(columns={"id": "host_id"}), on="host_id")
    first = members.sort_values("created_at", kind="stable").groupby("mission_id").first()
    spans = members.groupby("mission_id").agg(start_date=("start_date", "min"), end_date=("end_date", "max"),
                                              created_at=("created_at", "min"))
    missions = first[["partnership_id", "city", "country"]].join(spans).reset_index()
    return pd.DataFrame({
        "id": missions["mission_id"],
        "name": missions["partnership_id"] + " mission to " + missions["city"] + " (" + missions["country"] + ")",
        "partnership_id": missions["partnership_id"],
        "start_date": missions["start_date"], "end_date": missions["end_date"],
        "agenda": "Day 1: welcome by the host cluster and its members. Day 2: company visits and B2B meetings. "
                  "Day 3: workshop on joint projects.",
        "created_by": "demo", "created_at": missions["created_at"],
    })


# What an agenda day holds, in the order of a stay's days (the last plan repeats for longer stays).
AGENDA_PLANS = ("Welcome by the host and its members; presentation of both organisations.",
                "Company visits and B2B meetings.", "Workshop on joint projects.", "Visit of a lab or testbed.",
                "Follow-up meetings and joint project planning.")
# The share of "reported" exchanges filed in the last RECENT days whose report is validated, the payment
# still to record. An older report waits for its validation (a stall officers see), not for a payment
# the ten days to pay would have long passed.
VALIDATED_SHARE, RECENT = 0.4, np.timedelta64(30, "D")
APPROVED_OR_LATER = ("approved", "ongoing", "completed", "reported", "paid", "cancelled")


def _between(rng, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """A moment strictly between two arrays of timestamps, drawn for each row."""
    span = (last - first).astype("timedelta64[s]").astype("int64")
    return first + (rng.uniform(0.1, 0.9, len(first)) * span).astype("timedelta64[s]")


def _manager(partnership_ids: np.ndarray) -> np.ndarray:
    """The address a partnership's manager signs with (as tests/viewers.py names them)."""
    return np.char.add(np.char.add("manager.", np.char.lower(partnership_ids.astype(str))), "@example.org")


def _steps(rng, table: pd.DataFrame, events: pd.DataFrame, orgs: pd.DataFrame,
           now: pd.Timestamp) -> dict[str, pd.DataFrame]:
    """The steps each exchange's history went through (cx/agreement.py, cx/closing.py), timed within
    its audit trail: the host's answer between request and decision; for exchanges approved (and
    later), an agenda by day and the six signatures before the approval; for reported ones a filed
    closing report, some validated; for paid ones a validated report and the payment of the lump
    sum on the day of the paid event. Nothing after `now`. No evidence files: the demo keeps none."""
    at = events.pivot(index="exchange_id", columns="to_status", values="changed_at").reindex(table["id"])
    contact = orgs.set_index("id")["contact_email"]
    partnership = orgs.set_index("id")["partnership_id"]
    status = table["status"].to_numpy()
    answered_rows = np.flatnonzero(np.isin(status, APPROVED_OR_LATER))
    ids = table["id"].to_numpy()[answered_rows]
    requested, approved = (at[s].to_numpy()[answered_rows] for s in ("requested", "approved"))
    answered = _between(rng, requested, approved)
    answers = pd.DataFrame({"exchange_id": ids, "answer": "accepted", "answered_at": answered})

    start = table["start_date"].to_numpy().astype("datetime64[D]")[answered_rows]
    length = (table["end_date"].to_numpy().astype("datetime64[D]")[answered_rows] - start).astype(int) + 1
    row = np.repeat(np.arange(len(answered_rows)), length)
    day = start[row] + (np.arange(len(row)) - np.repeat(np.cumsum(length) - length, length))
    working = np.is_busday(day)
    row, day = row[working], day[working]
    order = np.arange(len(row)) - np.searchsorted(row, row)
    agenda = pd.DataFrame({"exchange_id": ids[row], "day": day.astype("datetime64[s]"),
                           "plan": np.array(AGENDA_PLANS)[np.minimum(order, len(AGENDA_PLANS) - 1)]})

    visitor, host = table["visitor_id"].to_numpy()[answered_rows], table["host_id"].to_numpy()[answered_rows]
    signer = {"visitor": contact.reindex(visitor).to_numpy(), "host": contact.reindex(host).to_numpy(),
              "visitor_partnership": _manager(partnership.reindex(visitor).to_numpy()),
              "host_partnership": _manager(partnership.reindex(host).to_numpy())}
    signatures = pd.concat([pd.DataFrame({"exchange_id": ids, "document": document, "party": party,
                                          "signed_by": signer[party], "signed_at": _between(rng, answered, approved)})
                            for document, parties in DOCUMENTS.items() for party in parties], ignore_index=True)

    closed = np.flatnonzero(np.isin(status, ("reported", "paid")))
    filed_at = at["reported"].to_numpy()[closed]
    validated = (status[closed] == "paid") | ((rng.random(len(closed)) < VALIDATED_SHARE)
                                              & (filed_at > now.to_datetime64() - RECENT))
    decided_until = np.where(status[closed] == "paid", at["paid"].to_numpy()[closed],
                             np.minimum(filed_at + np.timedelta64(3, "D"), now.to_datetime64()))
    visitor_of_closed = table["visitor_id"].to_numpy()[closed]
    reports = pd.DataFrame({
        "exchange_id": table["id"].to_numpy()[closed],
        "done": "Visited the host and its members as the agenda planned; company visits and B2B meetings held.",
        "results": np.array(["Two members agreed on a joint pilot.", "A joint project proposal is being written.",
                             "New suppliers found among the host's members."])[rng.integers(3, size=len(closed))],
        "follow_ups": "A return visit of the host's members and a joint call for proposals.",
        "host_rating": rng.integers(3, 6, len(closed)),
        "state": np.where(validated, "validated", "filed"),
        "filed_by": contact.reindex(visitor_of_closed).to_numpy(), "filed_at": filed_at,
        "decided_by": np.where(validated, _manager(partnership.reindex(visitor_of_closed).to_numpy()), None),
        "decided_at": pd.Series(_between(rng, filed_at, decided_until)).where(validated).to_numpy(),
    })
    paid = np.flatnonzero(status == "paid")
    paid_at = at["paid"].to_numpy()[paid]
    payments = pd.DataFrame({
        "exchange_id": table["id"].to_numpy()[paid], "paid_on": paid_at.astype("datetime64[D]").astype("datetime64[s]"),
        "amount_eur": table["lump_sum_eur"].to_numpy()[paid].astype("int64"),
        "recorded_by": _manager(partnership.reindex(table["visitor_id"].to_numpy()[paid]).to_numpy()),
        "recorded_at": paid_at,
    })
    return {"host_answers": answers, "agenda_days": agenda, "signatures": signatures, "closing_reports": reports,
            "payments": payments}


def generate(seed: int = 7, organisation_count: int = 2000, exchange_count: int = 1500,
             today: dt.date | None = None, rulebook: Rulebook | None = None) -> dict[str, pd.DataFrame]:
    """The demo programme's tables, ready for `Store.replace_all`."""
    rng = np.random.default_rng(seed)
    today = today or dt.date.today()
    rulebook = rulebook or load_rulebook()
    # About 100 exchanges per partnership, but a programme of dozens of partnerships, not thousands.
    partnership_table = partnerships(rng, min(MAX_PARTNERSHIPS, max(4, round(exchange_count / 100))))
    orgs = organisations(rng, organisation_count, partnership_table, rulebook, gazetteer(), today)
    table, events = exchanges(rng, exchange_count, orgs, rulebook, today)
    _break_rules(rng, orgs, table)
    _looking_for(np.random.default_rng([seed, 2]), orgs)
    columns = ["id", "visitor_id", "host_id", "start_date", "end_date", "working_days", "distance_km",
               "objectives", "activities", "status", "lump_sum_eur", "halved", "created_at", "updated_at", "mission_id"]
    return {"partnerships": partnership_table, "organisations": orgs, "exchanges": table[columns],
            "events": events, "missions": _mission_table(table, orgs),
            **_steps(np.random.default_rng([seed, 3]), table, events, orgs, demo_now(today))}


@as_system()
def load_demo(store: Store, seed: int = 7, organisations: int = 2000, exchanges: int = 1500,
              today: dt.date | None = None) -> dict[str, int]:
    """Generate the demo programme and replace the store's data with it, in one transaction."""
    tables = generate(seed, organisations, exchanges, today)
    store.migrate()
    store.replace_all(tables["partnerships"], tables["organisations"], tables["exchanges"], tables["events"],
                      tables["missions"], {step: tables[step] for step in EXCHANGE_STEPS if step in tables})
    return {name: len(frame) for name, frame in tables.items()}
