"""The partnership managers' Exchanges page in the Streamlit runtime: exchanges by status, moved
on through the workflow, refused transitions with the reason."""

from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT
from cx import exchanges as workflow
from cx.store import Store
from viewers import OFFICER

from cx.access import Viewer

APP = str(PROJECT_ROOT / "app.py")


def exchanges_page():
    app = AppTest.from_file(APP, default_timeout=120).run()
    return app.switch_page("app_pages/exchanges.py").run()


def test_lists_the_partnership_s_exchanges_by_status(app_db):
    app = exchanges_page()
    assert not app.exception
    partnership = app.selectbox(key="manager_partnership").value
    expected = workflow.partnership_exchanges(Store(app_db), OFFICER, partnership)
    control = app.segmented_control(key="manager_status")
    assert control.options == [s for s in workflow.ORDER if s in set(expected["status"])]
    control.set_value("paid").run()
    shown = next(table.value for table in app.dataframe if "id" in table.value.columns)  # after the chart's numbers
    assert shown["id"].tolist() == expected.loc[expected["status"] == "paid", "id"].tolist()


def test_moves_an_exchange_on_offering_only_the_allowed_statuses(app_db):
    store = Store(app_db)
    app = exchanges_page()
    partnership = app.selectbox(key="manager_partnership").value
    requested = workflow.partnership_exchanges(store, OFFICER, partnership)
    requested = requested[requested["status"] == "requested"]["id"].tolist()
    app.segmented_control(key="manager_status").set_value("requested").run()
    app.selectbox(key="manager_exchange").set_value(requested[0]).run()
    assert app.selectbox(key="manager_to_status").options == ["approved", "rejected", "cancelled"]
    app.selectbox(key="manager_to_status").set_value("rejected").run()
    app.button(key="manager_move").click().run()
    assert not app.exception
    local = Viewer.local().identity  # no [auth] in the test: the page acts as the local officer
    assert app.success[0].value == f"{requested[0]} is now rejected (recorded as changed by {local})."
    last = workflow.history(store, OFFICER, requested[0]).iloc[-1]
    assert (last["from_status"], last["to_status"], last["changed_by"]) == ("requested", "rejected", local)


def test_without_partnerships_it_points_to_the_data_page(tmp_path, monkeypatch):
    monkeypatch.setenv("CX_DB", str(tmp_path / "empty.duckdb"))
    app = exchanges_page()
    assert not app.exception
    assert app.info[0].value.startswith("There are no partnerships yet")


def test_the_audit_trail_names_who_changed_it_whichever_partnership_is_chosen(app_db):
    """The person is recorded (here the local officer), also after another partnership was shown."""
    store = Store(app_db)
    app = exchanges_page()
    first = app.selectbox(key="manager_partnership").value
    other = store.partnerships()["id"].iloc[-1]
    assert other != first
    app.selectbox(key="manager_partnership").set_value(other).run()
    exchanges = workflow.partnership_exchanges(store, OFFICER, other)
    status = next(s for s in workflow.ORDER if workflow.allowed_next(s) and s in set(exchanges["status"]))
    app.segmented_control(key="manager_status").set_value(status).run()
    exchange = app.selectbox(key="manager_exchange").value
    app.selectbox(key="manager_to_status").set_value("cancelled").run()
    app.button(key="manager_move").click().run()
    assert not app.exception and not app.error
    assert workflow.history(store, OFFICER, exchange).iloc[-1]["changed_by"] == Viewer.local().identity


def test_a_final_status_offers_no_change_and_lists_the_latest_stays_first(app_db):
    app = exchanges_page()
    app.segmented_control(key="manager_status").set_value("paid").run()
    assert app.selectbox(key="manager_to_status").options == []
    assert app.button(key="manager_move").disabled
    first_days = next(t.value for t in app.dataframe if "start_date" in t.value.columns)["start_date"].tolist()
    assert len(first_days) > 1 and first_days == sorted(first_days, reverse=True)


def test_a_stay_that_has_not_started_cannot_be_marked_ongoing(app_db):
    import datetime as dt

    import pandas as pd

    store = Store(app_db)
    exchanges = store.table("exchanges")
    future = exchanges[(exchanges["status"] == "approved")
                       & (exchanges["start_date"] > pd.Timestamp(dt.date.today()))]["id"].tolist()
    app = exchanges_page()
    partnership = next(p for p in store.partnerships()["id"]
                       if set(future) & set(workflow.partnership_exchanges(store, OFFICER, p)["id"]))
    app.selectbox(key="manager_partnership").set_value(partnership).run()
    app.segmented_control(key="manager_status").set_value("approved").run()
    exchange = next(i for i in app.selectbox(key="manager_exchange").options if i.split(" · ")[0] in future)
    exchange = exchange.split(" · ")[0]
    app.selectbox(key="manager_exchange").set_value(exchange).run()
    app.selectbox(key="manager_to_status").set_value("ongoing").run()
    app.button(key="manager_move").click().run()
    assert app.error[0].value.startswith(f"Refused: exchange {exchange} starts on ")
    assert "it can be ongoing from that day" in app.error[0].value
    assert store.query("SELECT status FROM exchanges WHERE id = ?", [exchange]).iloc[0, 0] == "approved"
