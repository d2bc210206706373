"""The Uptake page's money per partnership, per role, run by Streamlit's AppTest on real DuckDB files."""

import json

from streamlit.testing.v1 import AppTest
from test_roles import logged_in
from test_uptake_page import show_tab
from viewers import OFFICER

from cx import PROJECT_ROOT, accounts
from cx.store import Store

CHART = "Money per partnership"
TAB = "Money per partnership"  # the Uptake page draws only the tab shown


def money_numbers(app: AppTest):
    """The numbers behind the money chart, as the page shows them."""
    tables = [frame.value for frame in app.dataframe if "allocated_eur" in frame.value.columns]
    assert len(tables) == 1
    return tables[0]


def chart_titles(app: AppTest) -> list[str]:
    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in app.get("plotly_chart")]


def test_the_officer_sees_every_partnerships_money_and_sets_an_allocation(app_db):
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    app.switch_page("app_pages/uptake.py").run()
    show_tab(app, TAB)
    assert not app.exception, [e.value for e in app.exception]
    assert CHART in chart_titles(app)
    store = Store(app_db)
    shown = money_numbers(app)
    assert shown["partnership_id"].tolist() == store.table("partnerships")["id"].tolist()
    assert any(text.value.startswith("EUR ") and "allocated to" in text.value for text in app.text)

    app.selectbox(key="allocation_partnership").set_value("P02")
    app.number_input(key="allocation_eur").set_value(123_000)
    app.button(key="FormSubmitter:allocation-Save the allocation").click().run()
    assert not app.exception and not app.error
    assert store.query("SELECT allocation_eur FROM partnerships WHERE id = 'P02'").iat[0, 0] == 123_000
    assert money_numbers(app).set_index("partnership_id").at["P02", "allocated_eur"] == 123_000


def test_a_manager_sees_their_partnerships_money_and_cannot_set_it(app_db):
    store = Store(app_db)
    accounts.add_account(store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    accounts.add_account(store, OFFICER, "pia@example.org", "planner")
    app = logged_in("mario@example.org")
    app.switch_page("app_pages/uptake.py").run()
    show_tab(app, TAB)
    assert not app.exception, [e.value for e in app.exception]
    assert money_numbers(app)["partnership_id"].tolist() == ["P01"]
    assert not [box for box in app.selectbox if box.key == "allocation_partnership"]

    planner = logged_in("pia@example.org")
    planner.switch_page("app_pages/uptake.py").run()
    show_tab(planner, TAB)
    assert not planner.exception
    assert len(money_numbers(planner)) == len(store.table("partnerships"))
    assert not [box for box in planner.selectbox if box.key == "allocation_partnership"]
