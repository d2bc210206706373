"""The Budget scenarios page, run by Streamlit's AppTest against real DuckDB files."""

import pytest
from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT, budget
from cx.store import open_store

PAGE = "app_pages/budget.py"


def open_page():
    return AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=90).switch_page(PAGE).run()


def texts(elements):
    return [element.value for element in elements]


def test_empty_database_offers_a_uniform_scenario(tmp_path, monkeypatch):
    monkeypatch.setenv("CX_DB", str(tmp_path / "empty.duckdb"))
    at = open_page()
    assert not at.exception
    assert "no exchanges yet" in at.info[0].value
    assert at.button(key="from_history").disabled
    at.button(key="uniform").click().run()
    assert not at.exception
    assert any("uniform mix" in caption for caption in texts(at.caption))


def test_runs_a_scenario_from_history(app_db):
    at = open_page()
    assert not at.exception
    assert at.text_input(key="name").value == "From history"
    at.slider(key="scale").set_value(10)
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Expected total"].startswith("EUR ")
    assert metrics["Affordable (95%)"] == f"{at.session_state['budget_result'].affordable:,}"
    result = at.session_state["budget_result"]
    assert result.scenario.ceiling_scale == pytest.approx(1.1)
    assert f"{result.exchanges:,} exchanges, 10,000 runs, seed 1." in texts(at.caption)
    # The same scenario through the library gives the same figures as the page.
    expected = budget.simulate(budget.scenario_from_history(open_store(app_db)).replace(ceiling_scale=1.1))
    assert result.expected_total_eur == expected.expected_total_eur


@pytest.mark.parametrize("widget, value, words", [
    ("envelope", -5, "the envelope is EUR -5; it cannot be negative"),
    ("runs", 0, "the number of runs is 0; the simulation needs at least 1"),
    ("runs", 1_000_000, "the number of runs is 1,000,000; cx runs at most 100,000"),
])
def test_bad_input_is_named(app_db, widget, value, words):
    at = open_page()
    at.number_input(key=widget).set_value(value).run()
    assert words in at.error[0].value
    assert at.button(key="run").disabled


def test_shares_that_do_not_add_up_can_be_normalised(app_db):
    at = open_page()
    scenario = budget.Scenario.from_json(at.session_state["budget_scenario"])
    at.session_state["budget_scenario"] = scenario.replace(
        host_mix={code: share / 2 for code, share in scenario.host_mix.items()}).to_json()
    at.run()
    assert "host-country shares add up to 50.0%, not 100%" in at.error[0].value
    at.button(key="normalise").click().run()
    assert not at.error
    fixed = budget.Scenario.from_json(at.session_state["budget_scenario"])
    assert sum(fixed.host_mix.values()) == pytest.approx(1)


def test_empty_mix_is_named(app_db):
    at = open_page()
    scenario = budget.Scenario.from_json(at.session_state["budget_scenario"])
    at.session_state["budget_scenario"] = scenario.replace(host_mix={}).to_json()
    at.run()
    assert "the host-country mix is empty" in at.error[0].value


def test_saves_and_compares_scenarios(app_db):
    at = open_page()
    at.text_input(key="name").set_value("Today").run()
    at.button(key="save").click().run()
    assert "Saved 'Today'." in texts(at.success)
    at.text_input(key="name").set_value("Halve under 300 km")
    at.slider(key="halve_km").set_value(300)
    at.button(key="save").click().run()
    assert sorted(budget.list_scenarios(open_store(app_db))["name"]) == ["Halve under 300 km", "Today"]
    at.multiselect(key="compare").set_value(["Today", "Halve under 300 km"]).run()
    assert not at.exception
    table = at.dataframe[-1].value
    assert table.columns.tolist() == ["Today", "Halve under 300 km"]
    assert table.at["Halved under", "Halve under 300 km"] == "5 working days or 300 km"
    assert int(table.at["Halved lump sums", "Halve under 300 km"].rstrip("%").replace(".", "")) > \
        int(table.at["Halved lump sums", "Today"].rstrip("%").replace(".", ""))


def test_opens_a_saved_scenario(app_db):
    """The Open button reads the chosen name, not the compare list drawn later in the page."""
    budget.save_scenario(open_store(app_db), budget.uniform_scenario(name="Spring call").replace(halve_under_km=300))
    at = open_page()
    at.selectbox(key="saved_choice").set_value("Spring call").run()
    at.button(key="open_saved").click().run()
    assert not at.exception, at.exception
    assert at.text_input(key="name").value == "Spring call"
    assert at.slider(key="halve_km").value == 300


def test_a_new_scenario_starts_from_its_own_settings(app_db):
    at = open_page()
    at.text_input(key="name").set_value("Ten percent more")
    at.slider(key="scale").set_value(10)
    at.slider(key="halve_km").set_value(300).run()
    at.button(key="uniform").click().run()
    assert not at.exception, at.exception
    uniform = budget.uniform_scenario()
    assert at.text_input(key="name").value == uniform.name
    assert at.slider(key="scale").value == 0
    assert at.slider(key="halve_km").value == int(uniform.halve_under_km)
    at.button(key="run").click().run()
    result = at.session_state["budget_result"]
    assert (result.scenario.name, result.scenario.ceiling_scale) == (uniform.name, 1.0)
    assert "Results as CSV" in [button.proto.label for button in at.get("download_button")]


def test_saving_over_a_scenario_of_the_same_name_asks_first(app_db):
    store = open_store(app_db)
    budget.save_scenario(store, budget.uniform_scenario(name="Kept").replace(halve_under_km=300))
    at = open_page()
    at.text_input(key="name").set_value("Kept").run()
    at.button(key="save").click().run()
    assert not at.exception, at.exception
    assert budget.load_scenario(store, "Kept").halve_under_km == 300  # not overwritten
    assert any("'Kept' is saved already" in w.value for w in at.warning)
    at.checkbox(key="replace_saved").check().run()
    at.button(key="save").click().run()
    assert budget.load_scenario(store, "Kept").halve_under_km == 200
    assert "Saved 'Kept'." in texts(at.success)


def test_the_ceilings_table_follows_the_change_slider(app_db):
    def ceilings(at):
        return next(frame.value for frame in at.dataframe if "scaled_ceiling_eur" in frame.value.columns)

    at = open_page()
    before = ceilings(at).set_index("country")
    at.slider(key="scale").set_value(10).run()
    after = ceilings(at).set_index("country")
    assert (after["scaled_ceiling_eur"] == (before["ceiling_eur"] * 1.1).round().astype(int)).all()
    assert (after["ceiling_eur"] == before["ceiling_eur"]).all()


def test_the_short_stays_share_follows_the_halving_threshold(app_db):
    at = open_page()
    scenario = budget.Scenario.from_json(at.session_state["budget_scenario"])
    at.slider(key="halve_days").set_value(3).run()
    assert at.slider(key="short_share").value == round(100 * scenario.replace(halve_under_working_days=3).short_share())
