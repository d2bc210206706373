"""The Uptake and Exchange map pages run by Streamlit's AppTest on real DuckDB files."""

from __future__ import annotations

import base64
import datetime as dt
import json

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT, uptake
from cx.access import Viewer
from cx.store import Store
from cx.ui.widgets import UPTAKE_TAB
from programme_fixture import hand_built_programme

YEAR = (dt.date(2025, 11, 26), dt.date(2026, 11, 25))  # the demo's last year (its today is 2026-11-25)


def open_page(page: str) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    app.switch_page(page).run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def figures(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def values(array) -> list:
    """A trace's array as plotly sends it: a list, or base64 bytes with their dtype."""
    if isinstance(array, dict):
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def charts(app: AppTest) -> list[dict]:
    return [json.loads(element.proto.spec) for element in app.get("plotly_chart")]


def show_tab(app: AppTest, label: str) -> AppTest:
    """Choose one of the Uptake page's tabs, as a click does (it reruns the page)."""
    app.session_state[UPTAKE_TAB] = label
    return app.run()


def findings(app: AppTest) -> list[str]:
    return [expander.label for expander in app.expander if not expander.label.startswith("The numbers behind")]


def every_tab_charts(app: AppTest) -> list[dict]:
    """The charts of every Uptake tab: each shows only its own."""
    return [chart for label in uptake.TABS for chart in charts(show_tab(app, label))]


@pytest.fixture
def programme_db(tmp_path, monkeypatch, rulebook):
    path = tmp_path / "programme.duckdb"
    hand_built_programme(path, rulebook)
    monkeypatch.setenv("CX_DB", str(path))
    return path


def test_changing_a_filter_changes_the_headline_figures(app_db):
    app = open_page("app_pages/uptake.py")
    app.date_input(key="period").set_value(YEAR).run()
    everyone = figures(app)
    assert len(everyone) >= 18 and len(every_tab_charts(app)) >= 8
    app.multiselect(key="visitor_country").set_value(["DE"]).run()
    assert not app.exception
    germany = figures(app)
    assert germany["Visitors registered"] != everyone["Visitors registered"]
    assert germany["Lump sums committed"] != everyone["Lump sums committed"]
    expected = uptake.headline(Store(app_db), uptake.Filters(start=YEAR[0], end=YEAR[1], visitor_countries=("DE",)))
    assert germany["Visitors registered"] == f"{expected['current']['visitors_registered']:,}"
    assert germany["Countries reached"] == f"{expected['current']['countries_reached']:,}"


def test_the_data_quality_findings_are_counted(app_db):
    whole = (uptake.filter_options(Store(app_db))["first_day"], YEAR[1])
    app = open_page("app_pages/uptake.py")
    app.date_input(key="period").set_value(whole).run()
    assert not findings(app)  # the first tab has none: they are read when their tab is shown
    show_tab(app, "Data quality")
    labels = findings(app)
    counts = [len(query(Store(app_db), Viewer.local(), uptake.Filters(start=whole[0], end=whole[1])))
              for _, query in uptake.FINDINGS.values()]
    assert labels == [f"{title}: {count:,}" for (title, _), count in zip(uptake.FINDINGS.values(), counts)]
    assert all(counts)  # the demo's deliberate mistakes are all found


def test_a_filter_matching_nothing_says_so_instead_of_drawing(programme_db):
    app = open_page("app_pages/uptake.py")
    app.date_input(key="period").set_value((dt.date(2025, 1, 1), dt.date(2026, 12, 31))).run()
    assert charts(app)
    app.multiselect(key="partnership").set_value(["P3"]).run()  # a partnership with no one in it yet
    assert not app.exception
    assert "No exchange or registration matches these filters" in app.info[0].value
    assert not charts(app) and not app.metric


def test_an_empty_database_says_so(store, monkeypatch):
    monkeypatch.setenv("CX_DB", str(store.path))
    for page in ("app_pages/uptake.py", "app_pages/map.py"):
        app = open_page(page)
        assert "There are no exchanges yet" in app.info[0].value
        assert not charts(app)


def test_the_map_shades_hosts_or_senders_and_follows_the_filters(app_db):
    app = open_page("app_pages/map.py")
    app.date_input(key="period").set_value(YEAR).run()
    figure, missions = charts(app)  # the exchanges, then the group missions (tests/test_missions_page.py)
    assert missions["layout"]["title"]["text"] == "Group missions, each drawn once"
    types = [trace["type"] for trace in figure["data"]]
    assert types[:2] == ["choroplethmap", "choroplethmap"] and types.count("scattermap") >= 3
    assert figure["layout"]["map"]["style"] == "white-bg"
    assert "mapbox" not in json.dumps(figure["layout"]) and "tiles" not in json.dumps(figure["layout"]["map"])
    hosted = dict(zip(values(figure["data"][1]["locations"]), values(figure["data"][1]["z"])))
    app.radio(key="shade").set_value("sent").run()
    shaded = charts(app)[0]["data"][1]
    sent = dict(zip(values(shaded["locations"]), values(shaded["z"])))
    activity = uptake.country_activity(Store(app_db), uptake.Filters(start=YEAR[0], end=YEAR[1])).set_index("country")
    assert hosted == activity.loc[activity["hosted"] > 0, "hosted"].to_dict()
    assert sent == activity.loc[activity["sent"] > 0, "sent"].to_dict()
    app.multiselect(key="status").set_value(["rejected"])
    app.multiselect(key="kind").set_value(["other"]).run()  # "other" organisations host, never visit
    assert "No exchange matches these filters" in app.info[0].value and not charts(app)


def test_a_link_s_value_changed_by_hand_is_not_reported_as_refused(app_db):
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=60)
    app.query_params["visitor_country"] = ["DE", "FR", "ZZ"]
    app.switch_page("app_pages/uptake.py").run()
    assert not app.exception
    assert [w.value for w in app.warning] == [
        "The link asked for visitor\\_country=ZZ, which cannot be chosen here; it was left out."]
    app.multiselect(key="visitor_country").set_value(["DE"]).run()
    assert not app.warning


def test_the_default_view_shows_the_pipeline_and_the_money_at_a_glance_shows(app_db):
    """Requested and approved stays mostly start after today: the default period includes them."""
    store = Store(app_db)
    app = open_page("app_pages/uptake.py")
    exchanges = store.table("exchanges")
    shown = figures(app)
    assert int(shown["Requested"].replace(",", "")) == (exchanges["status"] == "requested").sum() > 0
    assert int(shown["Approved"].replace(",", "")) == (exchanges["status"] == "approved").sum() > 0
    committed = next(m for m in app.metric if m.label == "Lump sums committed").help
    assert committed.startswith(f"{uptake.overview(store)['committed_eur'] / 660_000:.0%} of the")


def test_only_the_tab_shown_is_drawn_and_each_draws_its_own(app_db):
    app = open_page("app_pages/uptake.py")
    app.date_input(key="period").set_value(YEAR).run()
    shown = {}
    for label in uptake.TABS:
        show_tab(app, label)
        assert not app.exception, [e.value for e in app.exception]
        shown[label] = [chart["layout"]["title"]["text"] if "title" in chart["layout"] else chart["data"][0]["type"]
                        for chart in charts(app)]
        assert bool(shown[label]) == (label not in ("Group missions", "Data quality")), label  # those list rows
    assert len(figures(app)) >= 18 and findings(app)
    drawn = [tuple(titles) for titles in shown.values() if titles]
    assert len(set(drawn)) == len(drawn)  # no tab repeats another's charts
