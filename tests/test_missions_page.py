"""Group missions in the app, per role, run by Streamlit's AppTest on real DuckDB files: a manager
plans one on the Group missions page; the Exchange map and Uptake show each mission once."""

import json

from streamlit.testing.v1 import AppTest
from test_find_a_visitor_page import open_as, table_with
from test_uptake_page import show_tab
from viewers import OFFICER, manager

from cx import PROJECT_ROOT, accounts, missions
from cx.store import Store


def test_a_manager_plans_a_mission_for_their_partnerships_visitors(app_db):
    store = Store(app_db)
    accounts.add_account(store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    app = open_as("mario@example.org", "app_pages/missions.py")
    assert app.selectbox(key="mission_partnership").options == [
        f"P01 · {store.partnerships().set_index('id').at['P01', 'name']}"]
    listed = table_with(app, "statuses")
    assert sorted(listed["mission_id"]) == sorted(missions.missions(store, manager("P01"))["mission_id"])
    assert len(listed) < len(store.table("missions"))
    orgs = store.table("organisations")
    fresh = orgs[orgs["can_visit"] & (orgs["partnership_id"] == "P01") & (orgs["country"] != "PT")
                 & ~orgs["id"].isin(store.table("exchanges")["visitor_id"])]["id"].head(2).tolist()
    app.text_input(key="mission_name").input("Textile mission to Portugal")
    app.selectbox(key="mission_country").set_value("PT").run()
    app.multiselect(key="mission_visitors").set_value(fresh).run()
    hosts = missions.hosts_in(store, "PT")["id"].tolist()
    app.selectbox(key=f"mission_host_{fresh[1]}").set_value(hosts[1])
    app.button(key="mission_create").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    created = store.table("missions").query("name == 'Textile mission to Portugal'")
    assert len(created) == 1 and app.success[0].value.startswith(f"Mission {created['id'].iloc[0]} created: 2")
    members = store.table("exchanges").query(f"mission_id == '{created['id'].iloc[0]}'")
    assert sorted(zip(members["visitor_id"], members["host_id"])) == sorted([(fresh[0], hosts[0]), (fresh[1], hosts[1])])


def test_the_map_and_uptake_show_each_mission_once(app_db):
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    app.switch_page("app_pages/map.py").run()
    assert not app.exception, [e.value for e in app.exception]
    specs = [json.loads(chart.proto.spec) for chart in app.get("plotly_chart")]
    mission_map = next(s for s in specs if s["layout"]["title"]["text"] == "Group missions, each drawn once")
    markers = next(t for t in mission_map["data"] if t.get("name") == "missions (hosts' region)")
    period = app.date_input(key="period").value
    store = Store(app_db)
    expected = missions.missions(store, OFFICER, start=period[0], end=period[1]).dropna(
        subset=list(missions.PLACE_COLUMNS))
    assert len(markers["text"]) == len(expected) > 0
    assert any(t.value.startswith(f"{len(expected):,} group missions") for t in app.text)

    app.switch_page("app_pages/uptake.py").run()
    show_tab(app, "Group missions")  # the Uptake page draws only the tab shown
    listed = table_with(app, "statuses")
    period = app.date_input(key="period").value
    assert sorted(listed["mission_id"]) == sorted(missions.missions(store, OFFICER, start=period[0],
                                                                     end=period[1])["mission_id"])
