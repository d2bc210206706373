"""The rulebook: unit examples from the scheme's published figures, and properties that must hold
for any stay."""

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cx.errors import IneligibleCountry, UnknownCountry
from cx.rules import RULES_DIR, Rulebook, load_rulebook, public_holidays

RULEBOOK = load_rulebook()
ELIGIBLE = RULEBOOK.eligible_countries

countries = st.sampled_from(ELIGIBLE)
days = st.dates(min_value=dt.date(2019, 1, 1), max_value=dt.date(2039, 12, 31))
distances = st.floats(min_value=0, max_value=5000, allow_nan=False)


def test_portugal_published_figures():
    """EUR 780 for a full stay in Portugal, EUR 390 when halved (the partnership FAQ)."""
    full = RULEBOOK.lump_sum("PT", "2026-03-02", "2026-03-06", 850)
    assert (full.working_days, full.halved, full.lump_sum_eur, full.ceiling_eur) == (5, False, 780, 780)
    short = RULEBOOK.lump_sum("PT", "2026-03-02", "2026-03-05", 850)
    assert (short.working_days, short.halved, short.lump_sum_eur) == (4, True, 390)
    assert short.reasons == ("the stay has 4 working days, fewer than 5",)


def test_near_and_short_gives_both_reasons():
    result = RULEBOOK.lump_sum("AT", "2026-03-02", "2026-03-04", 120.4)
    assert result.lump_sum_eur == 550
    assert result.reasons == ("the stay has 3 working days, fewer than 5",
                              "the organisations are 120 km apart, less than 200 km")


def test_every_eligible_country_comes_from_the_reference_table_with_a_source():
    reference = pd.read_csv("data/rules/countries.csv")
    assert sorted(ELIGIBLE) == sorted(reference["country_iso2"])
    assert RULEBOOK.countries["source"].str.len().gt(10).all()
    assert RULEBOOK.countries.loc["PT", "indicative"] == False  # noqa: E712 (a published figure)
    assert RULEBOOK.countries.loc["DE", "indicative"] == True  # noqa: E712
    assert RULEBOOK.country_name("DE") == "Germany"
    assert RULEBOOK.country_name("XK") == "Kosovo"


def test_a_public_holiday_in_the_host_country_removes_a_working_day():
    # Friday 1 May 2026 is Labour Day in Germany but a working day in the Netherlands.
    days, holidays = RULEBOOK.working_days(["DE", "NL"], ["2026-04-28", "2026-04-28"], ["2026-05-01", "2026-05-01"])
    assert days.tolist() == [3, 4]
    assert holidays.tolist() == [1, 0]
    assert np.datetime64("2026-05-01") in public_holidays("DE")


def test_weekends_do_not_count():
    days, _ = RULEBOOK.working_days(["FR"], ["2026-03-06"], ["2026-03-09"])  # Friday to Monday
    assert days.tolist() == [2]


def test_check_exchange_returns_every_broken_rule():
    breaches = RULEBOOK.check_exchange("DE", "DE", "2026-03-06", "2026-03-02")
    assert [b.rule for b in breaches] == ["same_country", "end_before_start"]
    assert "both in DE" in breaches[0].message


@pytest.mark.parametrize(
    "visitor, host, start, end, taken, rule",
    [
        ("ZZ", "FR", "2026-03-02", "2026-03-06", 0, "unknown_country"),
        ("DE", "US", "2026-03-02", "2026-03-06", 0, "ineligible_country"),
        ("DE", "FR", "2026-03-02", "2026-03-03", 0, "too_short"),
        ("DE", "FR", "2026-03-02", "2026-04-15", 0, "too_long"),
        ("DE", "FR", "2026-03-02", "2026-03-06", 1, "visited_already"),
        ("DE", "FR", None, "2026-03-06", 0, "missing_dates"),
    ],
)
def test_each_rule_is_named(visitor, host, start, end, taken, rule):
    assert [b.rule for b in RULEBOOK.check_exchange(visitor, host, start, end, visits_taken=taken)] == [rule]


def test_too_short_names_the_public_holiday():
    # Thursday 24 and Friday 25 December 2026 in Germany: Christmas Day is a public holiday.
    (breach,) = RULEBOOK.check_exchange("FR", "DE", "2026-12-24", "2026-12-25")
    assert breach.message == "the stay has 1 working days in DE (1 public holiday); the minimum is 3"


def test_a_fine_exchange_breaks_nothing():
    assert RULEBOOK.check_exchange("DE", "PT", "2026-03-02", "2026-03-06") == []


def test_require_eligible():
    assert RULEBOOK.require_eligible(" pt ") == "PT"
    with pytest.raises(IneligibleCountry):
        RULEBOOK.require_eligible("US")
    with pytest.raises(UnknownCountry):
        RULEBOOK.require_eligible("QQ")


def test_a_new_call_is_a_data_change(tmp_path):
    """Copy the rules folder, change figures in the data, and the rules follow."""
    for name in ("call.toml", "countries.csv"):
        text = (RULES_DIR / name).read_text(encoding="utf-8")
        if name == "call.toml":
            text = text.replace("halve_under_km = 200", "halve_under_km = 300")
        else:
            text = text.replace("PT,Portugal,EU,yes,780", "PT,Portugal,EU,yes,900")
        (tmp_path / name).write_text(text, encoding="utf-8")
    new_call = Rulebook.load(tmp_path)
    assert new_call.halve_under_km == 300
    assert new_call.lump_sum("PT", "2026-03-02", "2026-03-06", 250).lump_sum_eur == 450


@settings(max_examples=300, deadline=None)
@given(countries, days, st.integers(0, 40), distances)
def test_halved_exactly_when_short_or_near_and_never_above_the_ceiling(host, start, length, distance):
    end = start + dt.timedelta(days=length)
    result = RULEBOOK.lump_sum(host, start, end, distance)
    short = result.working_days < RULEBOOK.halve_under_working_days
    near = distance < RULEBOOK.halve_under_km
    assert result.halved == (short or near)
    assert result.lump_sum_eur == (result.ceiling_eur // 2 if result.halved else result.ceiling_eur)
    assert 0 <= result.lump_sum_eur <= result.ceiling_eur
    assert isinstance(result.lump_sum_eur, int)


@settings(max_examples=300, deadline=None)
@given(countries, days, st.integers(-5, 60))
def test_working_days_never_exceed_calendar_days(host, start, length):
    end = start + dt.timedelta(days=length)
    (working,), (holidays,) = RULEBOOK.working_days([host], [start], [end])
    assert 0 <= working <= max(length + 1, 0)
    weekdays = np.busday_count(np.datetime64(start), np.datetime64(end) + 1) if length >= 0 else 0
    assert working + holidays == weekdays


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(countries, days, st.integers(0, 31), distances), min_size=1, max_size=30))
def test_vectorised_lump_sums_equal_one_at_a_time(stays):
    frame = pd.DataFrame(
        [(h, s, s + dt.timedelta(days=n), d) for h, s, n, d in stays],
        columns=["host_country", "start", "end", "distance_km"],
    )
    together = RULEBOOK.lump_sums(frame)
    for row, stay in frame.iterrows():
        alone = RULEBOOK.lump_sum(*stay)
        assert together.at[row, "lump_sum_eur"] == alone.lump_sum_eur
        assert together.at[row, "working_days"] == alone.working_days


@settings(max_examples=100, deadline=None)
@given(st.floats(0.5, 10, allow_nan=False))
def test_ceilings_scale_with_the_rulebook(factor):
    scaled = RULEBOOK.with_ceilings((RULEBOOK.countries["ceiling_eur"] * factor).round().astype(int))
    assert scaled.lump_sum("PT", "2026-03-02", "2026-03-06", 850).lump_sum_eur == round(780 * factor)
    assert dataclasses.replace(RULEBOOK).countries.loc["PT", "ceiling_eur"] == 780  # the original is unchanged


@pytest.mark.parametrize("start, end, rules", [
    ("2030-03-11", "2030-03-13", []),
    ("2030-03-15", "2030-03-18", ["too_short"]),  # Friday to Monday: 2 weekdays
    ("2030-03-18", "2030-03-15", ["end_before_start"]),
    ("2030-03-01", "2030-04-01", ["too_long"]),
    (None, "2030-03-15", ["missing_dates"]),
])
def test_dates_are_checked_for_any_host(rulebook, start, end, rules):
    assert [b.rule for b in rulebook.check_dates(start, end)] == rules


def test_the_quiet_week_has_no_public_holiday_in_any_eligible_country(rulebook):
    after = dt.date(2026, 12, 21)  # Christmas and New Year are ahead
    monday = rulebook.quiet_week(after)
    countries = rulebook.eligible_countries
    days, _ = rulebook.working_days(countries, [monday] * len(countries), [monday + dt.timedelta(days=4)] * len(countries))
    assert monday.weekday() == 0 and monday > dt.date(2027, 1, 1)
    assert (days == 5).all()
    # Every earlier Monday from `after` has a holiday somewhere.
    earlier = [after + dt.timedelta(weeks=w) for w in range((monday - after).days // 7)]
    assert earlier and all((rulebook.working_days(countries, [m] * len(countries),
                                                  [m + dt.timedelta(days=4)] * len(countries))[0] < 5).any()
                           for m in earlier)
