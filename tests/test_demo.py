"""The demo programme is realistic: it obeys the rules, apart from the deliberate breaks."""

import pandas as pd
import pytest

from conftest import DEMO_DAY
from cx.demo import generate
from cx.geo import gazetteer
from cx.store import ORGANISATION_KINDS, STATUSES
from viewers import OFFICER


def test_demo_is_reproducible_and_realistic(demo_store, rulebook):
    orgs, exchanges = demo_store.organisations(OFFICER), demo_store.exchanges(OFFICER)
    assert set(orgs["kind"]) == set(ORGANISATION_KINDS)
    assert set(orgs["country"]) <= set(rulebook.eligible_countries)
    assert orgs["country"].nunique() >= 25
    assert set(exchanges["status"]) == set(STATUSES)
    assert exchanges["start_date"].min() < pd.Timestamp("2021-01-01")
    assert (orgs["description"].str.len() > 80).all()

    # Real places: every placed organisation sits where the gazetteer puts its city.
    placed = orgs.dropna(subset=["lat"])
    lat, _ = gazetteer().locate_many(placed["city"], placed["country"])
    assert (abs(lat - placed["lat"]) < 1e-6).all()


def test_demo_obeys_the_rules_but_for_a_handful(demo_store, rulebook):
    exchanges = demo_store.exchanges(OFFICER)
    frame = exchanges.assign(start=exchanges["start_date"], end=exchanges["end_date"])
    broken = rulebook.check_exchanges(frame)
    assert 1 <= broken["row"].nunique() <= 5
    assert set(broken["rule"]) == {"same_country", "too_short"}
    recomputed = rulebook.lump_sums(frame)
    differ = (recomputed["lump_sum_eur"] != exchanges["lump_sum_eur"]).sum()
    assert 1 <= differ <= 4  # the deliberate wrong lump sums (and the shortened stay)
    taken = exchanges[exchanges["status"].isin(rulebook.taken_statuses)]
    assert taken["visitor_id"].duplicated().sum() == 1
    assert demo_store.organisations(OFFICER)["lat"].isna().sum() == 2


def test_the_same_seed_gives_the_same_programme():
    first, second = generate(seed=3, organisation_count=120, exchange_count=60), generate(seed=3, organisation_count=120, exchange_count=60)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


@pytest.mark.slow
def test_the_full_size_demo_breaks_only_the_deliberate_rules(rulebook):
    tables = generate(seed=7, today=DEMO_DAY)
    exchanges = tables["exchanges"].merge(
        tables["organisations"][["id", "country"]].add_prefix("visitor_"), on="visitor_id").merge(
        tables["organisations"][["id", "country"]].add_prefix("host_"), on="host_id")
    broken = rulebook.check_exchanges(exchanges.assign(start=exchanges["start_date"], end=exchanges["end_date"]))
    assert set(broken["rule"]) == {"same_country", "too_short"}
    assert len(broken) == 2
