"""Budget scenarios: the Monte Carlo against exact expectations, the planner's what-ifs, saved
scenarios in a real DuckDB file, costing a planned list, and the `budget` command."""

import json
import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from cx import budget, charts, summaries
from cx.budget import Scenario, simulate
from cx.cli import main
from cx.errors import BadPlan, BadScenario, SharesDoNotSum
from viewers import OFFICER


def small_scenario(**changes) -> Scenario:
    """Three host countries with different ceilings (PT's is the published EUR 780), stays of
    3 to 10 working days, and distances on both sides of 200 km."""
    scenario = Scenario(
        name="small", envelope_eur=120_000, exchanges=120,
        host_mix={"PT": 0.5, "DE": 0.3, "EE": 0.2},
        working_days={3: 0.2, 4: 0.1, 5: 0.3, 10: 0.4},
        distances_km={"PT": [150.0, 250.0, 1800.0], "DE": [199.9, 200.0, 900.0, 1200.0], "EE": [80.0, 1500.0]},
        ceilings_eur={"DE": 1000}, runs=4000, seed=3,
    )
    return scenario.replace(**changes)


def analytic_total(scenario: Scenario, rulebook) -> float:
    """E[total] from the scenario's distributions, summed over every combination as the domain
    states the rule: halved when fewer than N working days and/or less than K km apart."""
    ceilings = dict(zip(scenario.host_mix, scenario.rulebook(rulebook).ceilings(list(scenario.host_mix))))
    per_stay = 0.0
    for country, share in scenario.host_mix.items():
        sample = scenario.distances_km[country]
        for days, p_days in scenario.working_days.items():
            for km in sample:
                halved = days < scenario.halve_under_working_days or km < scenario.halve_under_km
                per_stay += share * p_days / len(sample) * (ceilings[country] // 2 if halved else ceilings[country])
    return scenario.exchanges * per_stay


def test_monte_carlo_mean_converges_to_the_analytic_expectation(rulebook):
    scenario = small_scenario()
    result = simulate(scenario, rulebook)
    expected = analytic_total(scenario, rulebook)
    # The mean of `runs` independent totals has standard error sd/sqrt(runs); 4 standard errors
    # leave a false alarm once in ~16,000 seeds. The alias table's 2**-24 rounding of the
    # probabilities moves the mean by far less than a euro; the whole-euro rounding by 0.5.
    standard_error = result.totals.std(ddof=1) / math.sqrt(scenario.runs)
    assert abs(result.expected_total_eur - expected) <= 4 * standard_error + 1
    # The estimate is not trivially exact: it differs from run to run and from seed to seed.
    assert standard_error > 10
    assert simulate(scenario.replace(seed=4), rulebook).expected_total_eur != result.expected_total_eur


def test_share_halved_matches_the_distributions(rulebook):
    scenario = small_scenario(runs=2000)
    result = simulate(scenario, rulebook)
    p_short = 0.3  # 3 and 4 working days
    p_near = {"PT": 1 / 3, "DE": 1 / 4, "EE": 1 / 2}  # 199.9 km is near, 200.0 km is not
    expected = sum(share * (1 - (1 - p_short) * (1 - p_near[c])) for c, share in scenario.host_mix.items())
    stays = scenario.runs * scenario.exchanges
    assert abs(result.share_halved - expected) <= 4 * math.sqrt(expected * (1 - expected) / stays)
    assert abs(result.share_halved_short - p_short) <= 4 * math.sqrt(p_short * (1 - p_short) / stays)


def test_long_and_far_stays_are_never_halved(rulebook):
    scenario = small_scenario(working_days={5: 0.5, 12: 0.5},
                              distances_km={"PT": [200.0, 900.0], "DE": [250.0], "EE": [1400.0]})
    result = simulate(scenario, rulebook)
    assert result.share_halved == 0
    full = {"PT": 780, "DE": 1000, "EE": 1100}
    per_country = result.by_country.set_index("country")
    for country, ceiling in full.items():
        assert per_country.at[country, "cost_eur"] == pytest.approx(per_country.at[country, "exchanges"] * ceiling,
                                                                    abs=ceiling)
    # The same stays with the threshold moved to 300 km: the 200 and 250 km stays are halved.
    assert simulate(scenario.replace(halve_under_km=300), rulebook).share_halved > 0.3


def test_ceilings_ten_percent_higher_cost_ten_percent_more(rulebook):
    scenario = small_scenario(ceilings_eur={"DE": 1000, "EE": 1100})
    base, higher = simulate(scenario, rulebook), simulate(scenario.replace(ceiling_scale=1.1), rulebook)
    # Every ceiling and half-ceiling here is a whole number of euros after +10%, and the same seed
    # draws the same stays, so every run costs exactly 10% more.
    assert np.array_equal(higher.totals * 10, base.totals * 11)
    assert higher.expected_total_eur == pytest.approx(base.expected_total_eur * 1.1, abs=1)
    assert higher.affordable < base.affordable


def test_ceilings_ten_percent_higher_on_history(demo_store, rulebook):
    scenario = budget.scenario_from_history(demo_store, exchanges=300, runs=2000)
    base, higher = simulate(scenario, rulebook), simulate(scenario.replace(ceiling_scale=1.1), rulebook)
    # Rounding a scaled ceiling or its half to whole euros moves a lump sum by at most EUR 1.
    assert abs(higher.expected_total_eur - 1.1 * base.expected_total_eur) <= scenario.exchanges


def test_same_seed_same_result(rulebook):
    first, again = simulate(small_scenario(), rulebook), simulate(small_scenario(), rulebook)
    assert np.array_equal(first.totals, again.totals)
    assert first.key_figures() == again.key_figures()
    assert not np.array_equal(first.totals, simulate(small_scenario(seed=99), rulebook).totals)


def test_affordable_number_holds_when_simulated_again(rulebook):
    scenario = small_scenario(exchanges=None, envelope_eur=100_000, runs=5000)
    found = simulate(scenario, rulebook)
    assert found.exchanges == found.affordable
    # Re-simulated with other random numbers: exceeding the envelope stays within 5%, up to the
    # sampling error of a proportion over 5,000 runs (3 standard errors).
    check = simulate(scenario.replace(exchanges=found.affordable, seed=77), rulebook)
    assert check.p_exceed <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / scenario.runs)
    # ... and the number is not needlessly cautious: ten more exchanges break the 95%.
    more = simulate(scenario.replace(exchanges=found.affordable + 10, seed=77), rulebook)
    assert more.p_exceed > 0.05


def test_progress_is_reported_per_batch(rulebook):
    seen = []
    simulate(small_scenario(runs=1200), rulebook, progress=lambda done, text: seen.append((done, text)))
    assert [done for done, _ in seen] == pytest.approx([1 / 3, 2 / 3, 1])
    assert seen[-1][1] == "1,200 of 1,200 runs"


@pytest.mark.parametrize("changes, words", [
    ({"envelope_eur": -5}, "the envelope is EUR -5; it cannot be negative"),
    ({"host_mix": {}}, "the host-country mix is empty"),
    ({"runs": 0}, "the number of runs is 0; the simulation needs at least 1"),
    ({"host_mix": {"PT": 0.5, "US": 0.5}}, "'US' is not an eligible host country"),
    ({"ceilings_eur": {"PT": 0}}, "the ceiling of PT is EUR 0"),
])
def test_bad_scenarios_are_named(rulebook, changes, words):
    with pytest.raises(BadScenario, match=words.replace("(", r"\(").replace(")", r"\)")):
        simulate(small_scenario(**changes), rulebook)


def test_shares_not_adding_up_can_be_normalised(rulebook):
    scenario = small_scenario(host_mix={"PT": 0.5, "DE": 0.3, "EE": 0.1})
    with pytest.raises(SharesDoNotSum, match="host-country shares add up to 90.0%, not 100%"):
        simulate(scenario, rulebook)
    fixed = scenario.normalised()
    assert fixed.host_mix == pytest.approx({"PT": 5 / 9, "DE": 3 / 9, "EE": 1 / 9})
    assert simulate(fixed, rulebook).exchanges == 120


def test_planner_variants(rulebook):
    scenario = small_scenario()
    assert scenario.with_short_share(0.5).short_share() == pytest.approx(0.5)
    assert scenario.with_short_share(0.5).working_days[3] == pytest.approx(0.5 * 2 / 3)
    equal = scenario.with_uniform_blend(1.0, rulebook)
    assert set(equal.host_mix) == set(rulebook.eligible_countries)
    assert max(equal.host_mix.values()) == pytest.approx(min(equal.host_mix.values()))
    table = scenario.ceiling_table(rulebook)
    assert table.set_index("country").at["PT", "figure"] == "published"
    assert table.set_index("country").at["AT", "figure"] == "indicative"
    table.loc[table["country"] == "EE", ["ceiling_eur", "share_percent"]] = [900, 40.0]
    edited = scenario.with_table(table)
    assert edited.ceilings_eur == {"DE": 1000, "EE": 900}
    assert edited.host_mix == pytest.approx({"PT": 0.5, "DE": 0.3, "EE": 0.4})


def test_scenario_from_history_learns_the_database(demo_store, rulebook):
    scenario = budget.scenario_from_history(demo_store)
    exchanges = demo_store.exchanges(OFFICER)
    went_ahead = exchanges[exchanges["status"].isin(rulebook.taken_statuses)]
    assert scenario.host_mix["PT"] == pytest.approx((went_ahead["host_country"] == "PT").mean())
    assert sum(scenario.working_days.values()) == pytest.approx(1)
    assert set(scenario.distances_km) >= set(scenario.host_mix)
    assert str(len(went_ahead)) in scenario.basis
    places = budget.scenario_from_history(demo_store, distances="places")
    assert places.distances_km["PT"] != scenario.distances_km["PT"]
    assert "organisations' places" in places.basis


def test_history_needs_exchanges(store):
    with pytest.raises(BadScenario, match="no exchanges that went ahead"):
        budget.scenario_from_history(store)


def test_uniform_scenario_runs_without_a_database(rulebook):
    scenario = budget.uniform_scenario(rulebook=rulebook, runs=500)
    assert set(scenario.distances_km) == set(rulebook.eligible_countries)
    result = simulate(scenario, rulebook)
    assert len(result.by_country) == len(rulebook.eligible_countries)


def test_json_round_trip():
    scenario = small_scenario(exchanges=None, ceiling_scale=1.1)
    assert Scenario.from_json(scenario.to_json()) == scenario


def test_saved_scenarios_round_trip(store):
    scenario = small_scenario(name="Ceilings +10%", ceiling_scale=1.1)
    identifier = budget.save_scenario(store, scenario)
    assert budget.load_scenario(store, "Ceilings +10%") == scenario
    assert budget.list_scenarios(store)["id"].tolist() == [identifier]
    with pytest.raises(BadScenario, match="a scenario named 'Ceilings \\+10%' exists"):
        budget.save_scenario(store, scenario)
    assert budget.save_scenario(store, scenario.replace(runs=50), replace=True) == identifier
    assert budget.load_scenario(store, "Ceilings +10%").runs == 50
    budget.duplicate_scenario(store, "Ceilings +10%", "Copy")
    assert sorted(budget.list_scenarios(store)["name"]) == ["Ceilings +10%", "Copy"]
    budget.delete_scenario(store, "Ceilings +10%")
    assert budget.list_scenarios(store)["name"].tolist() == ["Copy"]
    with pytest.raises(BadScenario, match="no saved scenario is named 'Ceilings \\+10%'"):
        budget.load_scenario(store, "Ceilings +10%")


def test_a_bad_scenario_is_not_saved(store):
    with pytest.raises(BadScenario):
        budget.save_scenario(store, small_scenario(envelope_eur=-1))
    assert budget.list_scenarios(store).empty


def test_compare_reads_side_by_side(rulebook):
    results = [simulate(small_scenario(name="Today"), rulebook),
               simulate(small_scenario(name="Ceilings +10%", ceiling_scale=1.1), rulebook)]
    table = budget.compare(results)
    assert table.columns.tolist() == ["Today", "Ceilings +10%"]
    assert table.at["Expected total", "Today"] == f"EUR {results[0].expected_total_eur:,}"
    assert table.at["Ceilings", "Ceilings +10%"] == "the call's +10%, 1 edited"
    assert table.at["Ceilings", "Today"] == "the call's, 1 edited"


PLAN = """host_country,start,end,distance_km,visitor_city,visitor_country,host_city
PT,2026-03-02,2026-03-06,850,,,
PT,2026-03-02,2026-03-05,850,,,
DE,2026-03-02,2026-03-13,150,,,
ES,2026-03-02,2026-03-06,,Porto,PT,Vigo
"""


def test_a_planned_list_is_costed_line_by_line(tmp_path, rulebook):
    path = tmp_path / "plan.csv"
    path.write_text(PLAN)
    lines = budget.cost_plan(budget.read_plan(path), rulebook)
    assert lines["lump_sum_eur"].tolist() == [780, 390, 550, 550]
    assert lines["working_days"].tolist() == [5, 4, 10, 5]
    assert lines["halving_reason"].tolist()[:3] == [
        "", "the stay has 4 working days, fewer than 5", "the organisations are 150 km apart, less than 200 km"]
    assert 100 < lines.at[3, "distance_km"] < 150  # Porto to Vigo, from the gazetteer
    assert lines.at[3, "halving_reason"].startswith("the organisations are 1")
    # Portugal's ceiling is published; the others are the scheme-wide maximum standing in.
    assert lines["ceiling_figure"].tolist() == ["published", "published", "indicative", "indicative"]
    assert [rulebook.countries.at[c, "indicative"] for c in ("PT", "DE", "ES")] == [False, True, True]
    higher = budget.cost_plan(budget.read_plan(path), small_scenario(ceilings_eur={}, ceiling_scale=1.1).rulebook(rulebook))
    assert higher["lump_sum_eur"].tolist() == [858, 429, 605, 605]


def test_a_bad_plan_names_every_row(rulebook):
    plan = pd.DataFrame({"host_country": ["PT", "QQ", "US", "DE"], "start": ["2026-03-02"] * 4,
                         "end": ["2026-03-06"] * 4, "distance_km": [900, 900, 900, None]})
    with pytest.raises(BadPlan) as caught:
        budget.cost_plan(plan, rulebook)
    assert [row for row, _ in caught.value.problems] == [2, 3, 4]
    assert "row 2: host country: 'QQ' is not a country code" in str(caught.value)
    assert "row 3: host country: US does not take part" in str(caught.value)
    assert "row 4: give distance_km, or visitor_city, visitor_country and host_city" in str(caught.value)


def test_a_plan_with_visitors_is_checked_against_every_rule(rulebook):
    plan = pd.DataFrame({"host_country": ["PT", "FR"], "visitor_country": ["ES", "FR"],
                         "start": ["2026-03-02"] * 2, "end": ["2026-03-06"] * 2, "distance_km": [500, 300]})
    with pytest.raises(BadPlan, match="row 2: the visitor and the host are both in FR"):
        budget.cost_plan(plan, rulebook)
    plan = pd.DataFrame({"host_country": ["PT"], "visitor_country": ["ES"], "start": ["2026-03-02"],
                         "end": ["2026-03-06"], "visitor_city": ["Sevla"], "host_city": ["Lisbon"]})
    with pytest.raises(BadPlan, match="row 1: cannot place the city 'Sevla' in ES; did you mean Sevilla"):
        budget.cost_plan(plan, rulebook)


def test_exports(rulebook):
    result = simulate(small_scenario(runs=300), rulebook)
    csv = budget.results_csv(result).decode()
    assert f"expected_total_eur,{result.expected_total_eur}" in csv
    assert "cost_eur PT (Portugal)" in csv
    sheets = pd.read_excel(__import__("io").BytesIO(budget.results_excel(result)), sheet_name=None)
    assert list(sheets) == ["Key figures", "By host country", "Scenario", "Ceilings and mix", "Runs"]
    assert sheets["Runs"]["total_eur"].tolist() == result.totals.tolist()


def test_exports_never_carry_a_formula(rulebook):
    result = simulate(small_scenario(name="=HYPERLINK(\"http://x\")", runs=100), rulebook)
    sheets = pd.read_excel(__import__("io").BytesIO(budget.results_excel(result)), sheet_name=None)
    scenario = sheets["Scenario"].set_index("setting")["value"]
    assert scenario["name"].startswith("'=HYPERLINK")


def test_charts(rulebook):
    result = simulate(small_scenario(name="a", runs=300), rulebook)
    other = simulate(small_scenario(name="b", runs=200, seed=4), rulebook)
    totals = budget.run_totals([result, other])
    figure = charts.budget_distribution(totals, 120_000)
    assert [trace.name for trace in figure.data] == ["a", "b"]
    assert [len(trace.x) for trace in figure.data] == [300, 200]
    sentence = summaries.budget_distribution(totals, 120_000)
    assert sentence.startswith(f"a: 90% of 300 runs cost between EUR {result.p5_eur:,} and EUR {result.p95_eur:,} "
                               f"(median EUR {result.p50_eur:,}); {result.p_exceed:.1%} exceed the EUR 120,000 envelope. b: ")
    assert charts.cost_by_host_country(result.by_country).data[0].y.tolist()[-1] == result.by_country["name"].iloc[0]
    square = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}
    shapes = {"type": "FeatureCollection",
              "features": [{"type": "Feature", "id": code, "geometry": square} for code in ("PT", "DE", "EE")]}
    figure = charts.cost_by_host_country_map(result.by_country, shapes)
    assert isinstance(figure.data[0], go.Choroplethmap)
    assert figure.layout.map.style == "white-bg"


# --- the command line ----------------------------------------------------------------------


def test_budget_command(demo_db, capsys):
    code = main(["budget", "--db", str(demo_db), "--envelope", "600000", "--exchanges", "600", "--runs", "2000",
                 "--ceiling-scale", "1.1", "--halve-under-km", "300"])
    out = capsys.readouterr().out
    assert code == 0
    assert "600 exchanges, envelope EUR 600,000, 2,000 runs, seed 1" in out
    assert "Ceilings: the call's +10%; halved under 5 working days or 300 km" in out
    assert "Chance of exceeding the envelope:" in out and "Expected cost by host country:" in out


def test_budget_command_json_matches_the_library(demo_db, capsys, rulebook):
    assert main(["budget", "--db", str(demo_db), "--exchanges", "500", "--runs", "1000", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    from cx.store import Store
    scenario = budget.scenario_from_history(Store(demo_db), exchanges=500, runs=1000)
    assert printed["expected_total_eur"] == simulate(scenario, rulebook).expected_total_eur
    assert printed["envelope_eur"] == rulebook.budget_envelope_eur


def test_budget_command_saves_and_reuses(store, capsys):
    assert main(["budget", "--db", str(store.path), "--basis", "uniform", "--runs", "200", "--save", "Flat"]) == 0
    assert "Saved as 'Flat'." in capsys.readouterr().out
    assert main(["budget", "--db", str(store.path), "--scenario", "Flat", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"] == "Flat"


def test_budget_command_costs_a_plan(store, tmp_path, capsys):
    path = tmp_path / "plan.csv"
    path.write_text(PLAN)
    assert main(["budget", "--db", str(store.path), "--basis", "uniform", "--envelope", "2000", "--plan", str(path)]) == 0
    out = capsys.readouterr().out
    assert "   2. PT 2026-03-02 to 2026-03-05, 4 working days, 850 km: EUR 390 (halved: the stay has 4 working days, fewer than 5)" in out
    assert "Total: EUR 2,270 for 4 exchanges; envelope EUR 2,000 (EUR 270 over)" in out


@pytest.mark.parametrize("arguments, words", [
    (["--envelope", "-5"], "error: the envelope is EUR -5; it cannot be negative"),
    (["--runs", "0"], "error: the number of runs is 0; the simulation needs at least 1"),
    (["--scenario", "Nope"], "error: no saved scenario is named 'Nope'"),
])
def test_budget_command_bad_input(store, capsys, arguments, words):
    assert main(["budget", "--db", str(store.path), "--basis", "uniform", *arguments]) == 2
    assert capsys.readouterr().err.startswith(words)


def test_budget_command_names_the_bad_plan_row(store, tmp_path, capsys):
    path = tmp_path / "plan.csv"
    path.write_text("host_country,start,end,distance_km\nPT,2026-03-02,2026-03-06,900\nZZ,2026-03-02,2026-03-06,900\n")
    assert main(["budget", "--db", str(store.path), "--basis", "uniform", "--plan", str(path)]) == 2
    assert capsys.readouterr().err == "error: row 2: host country: 'ZZ' is not a country code cx knows (use ISO-2 codes such as DE, PT, XK)\n"


def test_budget_command_compares_saved_scenarios(store, capsys):
    budget.save_scenario(store, small_scenario(name="Today"))
    budget.save_scenario(store, small_scenario(name="Halve under 300 km", halve_under_km=300))
    assert main(["budget", "--db", str(store.path), "--compare", "Today", "Halve under 300 km"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Today", "Halve", "under", "300", "km"]
    assert lines[4].split()[2:] == ["5", "working", "days", "or", "200", "km", "5", "working", "days", "or", "300", "km"]
