"""cx.uptake's DuckDB queries against an independent pandas computation (tests/uptake_oracle.py)
on a small hand-built programme, over filters that include the edge cases."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import uptake_oracle as oracle
from cx import uptake
from cx.geo import distance_km
from cx.uptake import Filters

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
YEAR_2026 = Filters(start=D(2026, 1, 1), end=D(2026, 12, 31))
CASES = {
    "everything": Filters(),
    "2026 against 2025": YEAR_2026,
    "days that start and end stays": Filters(start=D(2026, 2, 2), end=D(2026, 4, 7)),
    "an empty period": Filters(start=D(2024, 1, 1), end=D(2024, 6, 30)),
    "visitors from Germany": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), visitor_countries=("DE",)),
    "hosts in Italy or France": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), host_countries=("IT", "FR")),
    "Health ecosystem": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), ecosystems=("Health",)),
    "SME visitors": Filters(start=D(2025, 7, 1), end=D(2026, 12, 31), kinds=("SME",)),
    "paid only": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), statuses=("paid",)),
    "partnership P1": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), partnerships=("P1",)),
    "a partnership with no exchanges": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), partnerships=("P3",)),
    "a filter matching nothing": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), host_countries=("XK",)),
    "no period, two filters": Filters(ecosystems=("Digital", "Tourism"), statuses=("paid", "approved", "requested")),
}


@pytest.fixture(scope="module")
def programme(tmp_path_factory, rulebook):
    """The hand-built programme in a real DuckDB file, with working days, distances and lump sums
    as the rules give them (then one lump sum made wrong)."""
    from cx.store import open_store

    store = open_store(tmp_path_factory.mktemp("uptake") / "programme.duckdb")
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
    tables = oracle.load(store)
    return store, tables, oracle.joined(tables)


def same(sql: pd.DataFrame, pandas: pd.DataFrame, keys: list[str]) -> None:
    """Equal whatever the row order and integer widths; both sides must have every column."""
    columns = list(pandas.columns)
    left = sql[columns].sort_values(keys).reset_index(drop=True)
    right = pandas[columns].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False, check_exact=False)


@pytest.mark.parametrize("case", CASES)
def test_headline_figures_match_pandas(programme, case):
    store, tables, x = programme
    filters = CASES[case]
    result = uptake.headline(store, filters.as_dict())
    expected = oracle.headline(tables, x, filters)
    assert (result["previous"] is None) == (expected["previous"] is None)
    for period in ("current", "previous"):
        if expected[period] is None:
            continue
        assert set(result[period]) == set(expected[period])
        for key, value in expected[period].items():
            assert result[period][key] == (pytest.approx(value) if value is not None else None), (period, key)


@pytest.mark.parametrize("case", CASES)
def test_every_view_matches_pandas(programme, case):
    store, tables, x = programme
    f = CASES[case]
    same(uptake.pipeline(store, f), oracle.pipeline(x, f), ["stage"])
    same(uptake.partnership_progress(store, f), oracle.partnership_progress(tables, x, f), ["partnership_id"])
    same(uptake.country_flows(store, f), oracle.country_flows(x, f), ["visitor_country", "host_country"])
    same(uptake.ecosystem_pairs(store, f), oracle.ecosystem_pairs(x, f), ["visitor_ecosystem", "host_ecosystem"])
    same(uptake.working_days_histogram(store, f), oracle.working_days_histogram(x, f), ["working_days"])
    same(uptake.distance_histogram(store, f), oracle.distance_histogram(x, f, uptake.DISTANCE_BIN_KM), ["distance_km"])
    same(uptake.place_flows(store, f), oracle.place_flows(x, f), ["visitor_city", "host_city"])
    same(uptake.places(store, f), oracle.places(x, f), ["city", "country"])
    same(uptake.country_activity(store, f), oracle.country_activity(x, f), ["country"])
    same(uptake.repeated_visitors(store, f), oracle.repeated_visitors(x, f), ["visitor_id"])
    assert (sorted(uptake.unplaced_organisations(store, f)["organisation_id"])
            == sorted(oracle.unplaced_organisations(tables, f)["id"]))
    same(uptake.rule_breaches(store, f), oracle.rule_breaches(x, f), ["exchange_id", "rule"])
    same(uptake.lump_sum_mismatches(store, f), oracle.lump_sum_mismatches(x, f), ["exchange_id"])
    if f.start or len(oracle.select(x, f, since_start=False)):
        sql = uptake.monthly(store, f)
        same(sql, oracle.monthly(x, f), ["month"])


def test_the_partnership_with_no_exchange_is_listed_with_none(programme):
    store, _, _ = programme
    progress = uptake.partnership_progress(store, YEAR_2026).set_index("partnership_id")
    assert progress.loc["P3", "completed"] == 0
    assert progress.index[0] == "P3"  # the laggards come first


def test_an_empty_period_has_no_figures_to_average(programme):
    store, _, _ = programme
    figures = uptake.headline(store, CASES["an empty period"])["current"]
    assert figures["exchanges"] == 0 and figures["going_ahead"] == 0
    assert figures["halved_share"] is None and figures["average_working_days"] is None
    assert uptake.country_flows(store, CASES["an empty period"]).empty


def test_the_previous_period_is_as_long_and_just_before():
    before = Filters(start=D(2026, 3, 1), end=D(2026, 3, 31), kinds=("SME",)).previous()
    assert (before.start, before.end, before.kinds) == (D(2026, 1, 29), D(2026, 2, 28), ("SME",))
    assert Filters(kinds=("SME",)).previous() is None


def test_filters_survive_the_cache_round_trip():
    filters = CASES["visitors from Germany"]
    assert Filters.of(filters.as_dict()) == filters
    assert Filters.of(None) == Filters()


def test_the_findings_name_the_deliberate_mistakes(programme):
    store, _, _ = programme
    breaches = uptake.rule_breaches(store, Filters())
    found = set(zip(breaches["exchange_id"], breaches["rule"]))
    assert {("X06", "too_short"), ("X07", "same_country"), ("X08", "visited_already")} <= found
    assert not any(exchange == "X09" for exchange, _ in found)  # a rejected request breaks nothing
    assert uptake.repeated_visitors(store, Filters())["visitor_id"].tolist() == ["O2", "O6"]
    assert uptake.unplaced_organisations(store, Filters())["city"].tolist() == ["Raaba-Grambach"]
    wrong = uptake.lump_sum_mismatches(store, Filters())
    assert wrong["exchange_id"].tolist() == ["X12"] and wrong["difference_eur"].tolist() == [100]


def test_the_target_trajectory_runs_across_the_programme(rulebook):
    months = pd.Series(pd.to_datetime([rulebook.programme_start, rulebook.programme_end, "2030-01-01"]))
    trajectory = uptake.target_trajectory(months)
    assert 0 < trajectory.iloc[0] < rulebook.target_exchanges / 12
    assert trajectory.iloc[1] == trajectory.iloc[2] == rulebook.target_exchanges
    assert np.all(np.diff(trajectory) >= 0)
