"""A small hand-built programme whose every row is known: the uptake tests' fixture."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cx.geo import distance_km
from cx.store import Store, open_store

D = dt.date
PARTNERSHIPS = pd.DataFrame({
    "id": ["P1", "P2", "P3"], "name": ["Digital twins", "Health valleys", "Tourism routes (no exchange yet)"],
    "ecosystems": [["Digital"], ["Health"], ["Tourism"]], "target_exchanges": [2, 3, 1]})
# id, kind, country, city, lat, lon, partnership, ecosystems, can_host, can_visit, registered_on
ORGANISATIONS = [
    ("O1", "cluster organisation", "DE", "Berlin", 52.52, 13.40, "P1", ["Digital"], True, True, D(2025, 2, 1)),
    ("O2", "SME", "FR", "Lyon", 45.76, 4.84, "P1", ["Digital", "Health"], True, True, D(2025, 6, 10)),
    ("O3", "SME", "PT", "Porto", 41.15, -8.61, "P2", ["Health"], True, True, D(2026, 1, 15)),
    ("O4", "scaling-up support organisation", "IT", "Milan", 45.46, 9.19, "P2", ["Health", "Digital"], True, True, D(2026, 3, 1)),
    ("O5", "other", "IT", "Turin", 45.07, 7.69, "P2", ["Tourism"], True, False, D(2026, 4, 1)),
    ("O6", "cluster organisation", "DE", "Munich", 48.14, 11.58, "P1", ["Digital"], True, True, D(2024, 12, 1)),
    ("O7", "SME", "AT", "Raaba-Grambach", None, None, "P2", ["Tourism"], False, True, D(2026, 5, 5)),
    ("O8", "SME", "FR", "Strasbourg", 48.57, 7.75, "P2", ["Health"], True, True, D(2026, 2, 2)),
    ("O9", "cluster organisation", "DE", "Freiburg", 47.99, 7.85, "P1", ["Health"], True, True, D(2025, 9, 9)),
]
# id, visitor, host, first day, last day, status: with a stay too short (X06), a host in the visitor's
# country (X07), visitors with two exchanges going ahead (O2, O6), a visitor that cannot be placed (X10),
# a stay under 200 km (X05) and a lump sum that differs from the rules (X12).
EXCHANGES = [
    ("X01", "O1", "O4", D(2025, 3, 3), D(2025, 3, 7), "paid"),
    ("X02", "O2", "O1", D(2025, 5, 5), D(2025, 5, 16), "paid"),
    ("X03", "O3", "O2", D(2025, 12, 1), D(2025, 12, 5), "completed"),
    ("X04", "O4", "O3", D(2026, 2, 2), D(2026, 2, 13), "reported"),
    ("X05", "O8", "O9", D(2026, 3, 2), D(2026, 3, 6), "paid"),
    ("X06", "O6", "O5", D(2026, 4, 7), D(2026, 4, 8), "approved"),
    ("X07", "O9", "O1", D(2026, 5, 4), D(2026, 5, 8), "completed"),
    ("X08", "O2", "O4", D(2026, 6, 1), D(2026, 6, 5), "paid"),
    ("X09", "O3", "O6", D(2026, 7, 6), D(2026, 7, 10), "rejected"),
    ("X10", "O7", "O1", D(2026, 8, 3), D(2026, 8, 7), "requested"),
    ("X11", "O1", "O8", D(2026, 9, 7), D(2026, 9, 18), "cancelled"),
    ("X12", "O6", "O2", D(2026, 10, 5), D(2026, 10, 9), "paid"),
]


def hand_built_programme(path, rulebook) -> Store:
    """The hand-built programme in a real DuckDB file, with working days, distances and lump sums
    as the rules give them (then one lump sum made wrong)."""
    store = open_store(path)
    orgs = pd.DataFrame(ORGANISATIONS, columns=["id", "kind", "country", "city", "lat", "lon", "partnership_id",
                                                "ecosystems", "can_host", "can_visit", "registered_on"])
    orgs["name"] = orgs["city"] + " " + orgs["kind"]
    exchanges = pd.DataFrame(EXCHANGES, columns=["id", "visitor_id", "host_id", "start_date", "end_date", "status"])
    place = orgs.set_index("id")
    exchanges["distance_km"] = distance_km(place.loc[exchanges["visitor_id"], "lat"], place.loc[exchanges["visitor_id"], "lon"],
                                           place.loc[exchanges["host_id"], "lat"], place.loc[exchanges["host_id"], "lon"])
    money = rulebook.lump_sums(pd.DataFrame({"host_country": place.loc[exchanges["host_id"], "country"].to_numpy(),
                                             "start": exchanges["start_date"], "end": exchanges["end_date"],
                                             "distance_km": exchanges["distance_km"]}))
    exchanges[["working_days", "halved", "lump_sum_eur"]] = money[["working_days", "halved", "lump_sum_eur"]]
    exchanges.loc[exchanges["id"] == "X12", "lump_sum_eur"] += 100
    store.replace_all(PARTNERSHIPS, orgs, exchanges)
    return store
