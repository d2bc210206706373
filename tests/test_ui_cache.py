"""The pages' shared reads (cx.ui.cached): one object for every session until the database
changes, the stale one released after a write, and never changed by the pages that read it."""

import datetime as dt
import gc
import json
import pickle
import weakref

import pandas as pd
from streamlit.testing.v1 import AppTest

import cx.charts
import cx.ui
import cx.uptake
from cx import PROJECT_ROOT
from cx.store import Store
from cx.access import Viewer
from cx.ui import cached
from viewers import OFFICER

BACKENDS = ("duckdb", "postgres")


def test_a_read_is_shared_until_a_write_replaces_it(demo_store):
    first = cached(Store.partnerships, demo_store, None)
    assert cached(Store.partnerships, demo_store, None) is first  # no copy, no second query
    stale = weakref.ref(first)
    with demo_store.transaction() as con:
        con.execute("UPDATE partnerships SET name = 'Renamed Partnership' WHERE id = ?", [first["id"].iloc[0]])
    del first
    renamed = cached(Store.partnerships, demo_store, None)
    assert renamed["name"].iloc[0] == "Renamed Partnership"
    gc.collect()
    assert stale() is None  # the stale read left the cache instead of piling up beside the new one


def test_the_data_version_moves_with_every_write_and_only_then(demo_store):
    """What the shared reads are checked against: reads leave it as it is; a write transaction
    moves it; a failed one leaves the data and may only move it on (never back)."""
    version = demo_store.data_version()
    demo_store.exchanges(OFFICER)
    assert demo_store.data_version() == version
    with demo_store.transaction() as con:
        con.execute("UPDATE partnerships SET target_exchanges = target_exchanges + 1")
    moved = demo_store.data_version()
    assert moved != version
    try:
        with demo_store.transaction() as con:
            con.execute("UPDATE partnerships SET target_exchanges = 0")
            raise RuntimeError("killed halfway")
    except RuntimeError:
        pass
    assert demo_store.partnerships()["target_exchanges"].min() > 0
    assert cached(Store.partnerships, demo_store, None)["target_exchanges"].min() > 0


def _same(left, right, where: str) -> None:
    if isinstance(left, pd.DataFrame):
        pd.testing.assert_frame_equal(left, right, obj=where)
    elif isinstance(left, pd.Series):
        pd.testing.assert_series_equal(left, right, obj=where)
    elif isinstance(left, dict):
        assert left.keys() == right.keys(), where
        for key in left:
            _same(left[key], right[key], f"{where}[{key!r}]")
    elif isinstance(left, (list, tuple)):
        assert len(left) == len(right), where
        for number, (a, b) in enumerate(zip(left, right)):
            _same(a, b, f"{where}[{number}]")
    else:
        assert left == right or (left != left and right != right), where


def test_the_pages_leave_the_shared_reads_as_they_found_them(app_db, monkeypatch):
    """Pages get the cached objects themselves: run every page (with a filter and a search)
    and compare each object they were given with a fresh read of the same query."""
    given = []
    shared = cx.ui._shared_call

    def recording(function, path, viewer, arguments):
        reading = shared(function, path, viewer, arguments)
        given.append((function, path, viewer, arguments, reading))
        return reading

    monkeypatch.setattr(cx.ui, "_shared_call", recording)
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120).run()
    for page in ("app_pages/uptake.py", "app_pages/map.py", "app_pages/exchanges.py", "app_pages/data.py"):
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
    app.switch_page("app_pages/uptake.py").run()
    app.multiselect(key="visitor_country").set_value(["DE"]).run()
    app.switch_page("app_pages/find_a_host.py").run()
    app.text_input(key="visitor_search").input("a").run()
    app.text_area(key="objectives").input("medical devices and biotechnology")
    app.date_input(key="start").set_value(dt.date(2026, 3, 2))
    app.date_input(key="end").set_value(dt.date(2026, 3, 6))
    app.button(key="find").click().run()
    assert not app.exception, app.exception
    functions = {function for function, *_ in given}
    assert {"cx.uptake:dashboard", "cx.uptake:overview", "cx.visitors:visitor_choices"} <= functions
    for function, path, viewer, arguments, reading in given:
        if reading.version == Store(path).data_version():  # not a read a later write has replaced
            before = () if json.loads(viewer) is None else (Viewer(**json.loads(viewer)),)
            _same(reading.value, cx.ui.resolve(function)(Store(path), *before, **json.loads(arguments)), function)


def test_every_page_runs_on_postgresql(postgres_templates, postgres_database, monkeypatch):
    """The app with CX_DB=postgresql://… (the demo programme): every page draws without an error,
    and a status change made on the Exchanges page's store shows at the next run."""
    url = postgres_database(postgres_templates["cx_demo"])
    monkeypatch.setenv("CX_DB", url)
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120).run()
    assert not app.exception, app.exception
    for page in ("app_pages/uptake.py", "app_pages/map.py", "app_pages/exchanges.py", "app_pages/data.py",
                 "app_pages/find_a_host.py", "app_pages/budget.py"):
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
    store = Store(url)
    assert cx.ui.current_store().location == url
    paid = int(store.query("SELECT count(*) AS n FROM exchanges WHERE status = 'paid'")["n"][0])
    assert cached(cx.uptake.overview, store, None)["paid_exchanges"] == paid
    with store.transaction() as con:
        con.execute("UPDATE exchanges SET status = 'paid' WHERE status = 'reported'")
    assert cached(cx.uptake.overview, store, None)["paid_exchanges"] > paid


def test_a_chart_is_built_once_per_table_and_arguments_and_the_oldest_go_first():
    from cx.ui.widgets import _Charts

    built = []

    def bars(table, colour, place=None):
        built.append((len(table), colour))
        return cx.charts.go.Figure(cx.charts.go.Bar(x=table["n"], marker_color=colour))

    def made():  # a table made the same way on every run, as a page makes it
        return pd.DataFrame({"n": [1, 2], "who": [["a"], ["b"]]})  # a column of lists, as suggestions have

    one_chart = len(pickle.dumps(bars(made(), "red"), protocol=5))
    built.clear()
    charts = _Charts(budget=2 * one_chart + one_chart // 2)  # room for two charts
    table = made()
    first = charts.built(bars, table, ("red", (45.0, 9.0)))
    assert charts.built(bars, made(), ("red", (45.0, 9.0))) is first  # the same content: shared
    assert len(built) == 1
    charts.built(bars, table.assign(who=[["a"], ["c"]]), ("red", (45.0, 9.0)))  # another value
    charts.built(bars, table, ("blue", (45.0, 9.0)))  # another argument
    assert len(built) == 3 and len(charts.charts) == 2 and charts.size <= charts.budget
    charts.built(bars, table, ("red", (45.0, 9.0)))  # the first was the oldest of three: gone
    assert len(built) == 4
    outlines, copy = {"type": "FeatureCollection"}, {"type": "FeatureCollection"}
    charts.built(bars, table, ("red", outlines))
    charts.built(bars, table, ("red", outlines))
    charts.built(bars, table, ("red", copy))  # an object argument is known by its identity
    assert len(built) == 6


def test_the_pages_draw_shared_charts_without_changing_them(app_db):
    from cx.ui.widgets import _charts

    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120).run()
    app.switch_page("app_pages/uptake.py").run()
    drawn = [chart.proto.spec for chart in app.get("plotly_chart")]
    shared = {key: chart.to_json() for key, (chart, *_) in _charts().charts.items()}
    assert len(drawn) == 3 and len(shared) >= 3
    app.switch_page("app_pages/uptake.py").run()  # drawn again from the shared charts
    assert [chart.proto.spec for chart in app.get("plotly_chart")] == drawn
    assert {key: _charts().charts[key][0].to_json() for key in shared} == shared
