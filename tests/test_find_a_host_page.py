"""The Find a host page in the Streamlit runtime: objectives in, ranked hosts out, exchange requested."""

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT
from cx.rules import load_rulebook
from cx.store import Store
from viewers import OFFICER

APP = str(PROJECT_ROOT / "app.py")
PAGE = "app_pages/find_a_host.py"


@pytest.fixture
def page(app_db):
    app = AppTest.from_file(APP, default_timeout=120).run()
    return app.switch_page(PAGE).run()


def test_submitting_objectives_lists_ranked_hosts_with_a_map(page, app_db):
    assert "press **Find hosts**" in page.info[0].value
    page.text_area(key="objectives").input("medical devices and biotechnology")
    monday = load_rulebook().quiet_week(dt.date(2030, 3, 4))  # no host country's holiday in that week
    page.date_input(key="start").set_value(monday)
    page.date_input(key="end").set_value(monday + dt.timedelta(days=3))  # Monday to Thursday: a halved lump sum
    page.button(key="find").click().run()
    assert not page.exception, page.exception
    assert not page.warning
    hosts = [m.value for m in page.markdown if m.value.startswith("**")]
    assert len(hosts) == 10 and hosts[0].startswith("**1. ")
    assert page.subheader[0].value.startswith("10 hosts for ")
    matches = [float(bar.proto.text.split(":")[0].removeprefix("match ")) for bar in page.get("progress")]
    assert matches == sorted(matches, reverse=True)
    assert any("biotechnology" in bar.proto.text or "medical devices" in bar.proto.text for bar in page.get("progress"))
    facts = [caption.value for caption in page.caption if "lump sum EUR" in caption.value]
    assert len(facts) == 10
    assert all("4 working days" in fact and "halved because the stay has 4 working days, fewer than 5" in fact
               for fact in facts)
    figure = page.get("plotly_chart")[0].proto.spec
    assert '"white-bg"' in figure and "scattermap" in figure

    visitor = page.selectbox(key="visitor").value
    before = set(Store(app_db).table("exchanges")["id"])
    first_host = next(b for b in page.button if b.key and b.key.startswith("request_"))
    first_host.click().run()
    assert not page.exception, page.exception
    assert page.success and page.success[0].value.startswith("Exchange X-")
    stored = Store(app_db).table("exchanges")
    new = stored[~stored["id"].isin(before)]
    assert len(new) == 1
    assert new.iloc[0][["visitor_id", "host_id", "status"]].tolist() == [
        visitor, first_host.key.removeprefix("request_"), "requested"]


def test_empty_objectives_get_a_message(page):
    page.text_area(key="objectives").input("   ")
    page.button(key="find").click().run()
    assert not page.exception
    assert "Describe in a few words what the visitor wants" in page.warning[0].value


def test_a_visitor_who_travelled_gets_an_explanation(page, app_db):
    exchanges = Store(app_db).table("exchanges")
    travelled = exchanges.loc[exchanges["status"] == "paid", "visitor_id"].iloc[0]
    assert not any(option.endswith("· visited already") for option in page.selectbox(key="visitor").options)
    page.text_input(key="visitor_search").input(travelled.upper()).run()  # an id, in any case
    assert page.selectbox(key="visitor").options[0].endswith("· visited already")
    page.selectbox(key="visitor").select(travelled)
    page.text_area(key="objectives").input("medical devices")
    page.button(key="find").click().run()
    assert not page.exception
    assert "already has 1 approved or completed exchange" in page.info[0].value
    assert not page.get("plotly_chart")


@pytest.mark.parametrize("start, end, words", [
    (dt.date(2030, 3, 11), dt.date(2030, 3, 12), "the stay has 2 weekdays (Monday to Friday); the minimum is 3"),
    (dt.date(2030, 3, 15), dt.date(2030, 3, 11), "the stay ends (2030-03-11) before it starts (2030-03-15)"),
    (dt.date(2030, 3, 1), dt.date(2030, 4, 2), "the stay lasts 33 calendar days; the maximum is one month (31 days)"),
    (dt.date(2020, 3, 2), dt.date(2020, 3, 6), "the stay would start on 2020-03-02, before today"),
])
def test_dates_that_break_the_rules_are_refused_before_hosts_are_listed(page, start, end, words):
    page.text_area(key="objectives").input("medical devices and biotechnology")
    page.date_input(key="start").set_value(start)
    page.date_input(key="end").set_value(end)
    page.button(key="find").click().run()
    assert not page.exception, page.exception
    assert page.error[0].value.startswith("Change the dates: ") and words in page.error[0].value
    assert not [b for b in page.button if b.key and b.key.startswith("request_")]


def test_the_same_request_twice_is_refused_and_the_visitor_sees_its_requests(page, app_db):
    page.text_area(key="objectives").input("medical devices and biotechnology")
    page.button(key="find").click().run()
    request = next(b for b in page.button if b.key and b.key.startswith("request_"))
    request.click().run()
    assert page.success, page.error
    exchange_id = page.success[0].value.split()[1]
    mine = page.dataframe[-1].value
    assert mine["id"].tolist()[0] == exchange_id and mine["status"].iloc[0] == "requested"
    before = len(Store(app_db).table("exchanges"))
    page.button(key=request.key).click().run()
    assert "The exchange was not requested" in page.error[0].value
    assert f"exchange {exchange_id}" in page.error[0].value and "is requested" in page.error[0].value
    assert len(Store(app_db).table("exchanges")) == before


def test_the_default_week_has_no_public_holiday_and_indicative_ceilings_say_so(page, rulebook):
    start = page.date_input(key="start").value
    assert start.weekday() == 0 and start >= dt.date.today() + dt.timedelta(days=28)
    week = rulebook.working_days(rulebook.eligible_countries, [start] * len(rulebook.eligible_countries),
                                 [start + dt.timedelta(days=4)] * len(rulebook.eligible_countries))[0]
    assert (week == 5).all()
    page.text_area(key="objectives").input("medical devices and biotechnology")
    page.button(key="find").click().run()
    facts = [caption.value for caption in page.caption if "lump sum EUR" in caption.value]
    assert facts and all("5 working days" in fact for fact in facts)
    indicative = [fact for fact in facts if "indicative: " in fact]
    assert indicative and all("EUR 1,100" in fact and "ceiling is not published" in fact for fact in indicative)


def test_the_visitor_s_own_country_is_left_out_of_the_preferred_ones(page, app_db):
    visitor = page.selectbox(key="visitor").value
    organisations = Store(app_db).organisations(OFFICER)
    own = organisations.set_index("id").at[visitor, "country"]
    hosts = organisations[organisations["can_host"] & (organisations["country"] != own)]
    other = hosts["country"].value_counts().index[0]  # the country with most hosts: some match
    page.text_area(key="objectives").input("digital innovation")
    page.multiselect(key="countries").set_value([own, other])
    page.button(key="find").click().run()
    assert not page.exception and not page.warning
    assert any("is left out of the preferred countries" in c.value for c in page.caption)
    assert page.session_state["find_a_host.query"]["countries"] == [other]


def test_the_shared_matcher_follows_the_hosts_profiles(demo_store):
    from cx.store import insert_frame
    from cx.ui.matcher import host_matcher, keeper

    first = host_matcher(demo_store)
    assert host_matcher(demo_store) is first  # nothing changed: the same matcher
    newcomer = demo_store.organisations(OFFICER).iloc[[0]].assign(
        id="O-new", name="Kelp Farming Cluster", country="IE", city="Galway", lat=53.27, lon=-9.05, can_host=True,
        description="Seaweed and kelp farming, blue bioeconomy and algae processing.")
    with demo_store.transaction() as con:
        insert_frame(con, "organisations", newcomer)
    updated = host_matcher(demo_store)
    assert updated is not first and "O-new" in updated.hosts_["id"].tolist()
    keeper(str(demo_store.path)).wait()  # new words: refitted in the background
    assert host_matcher(demo_store).suggest("kelp farming", visitor_country="PT")["id"].iloc[0] == "O-new"


def test_sectors_picked_from_the_taxonomy_feed_the_matcher(page):
    page.button(key="find").click().run()
    assert "the objectives are empty" in page.warning[0].value  # nothing asked: nothing to rank by
    sectors = page.multiselect(key="sectors")
    assert {"Medical Devices", "Automotive", "Business Services", "Photonics"} <= set(sectors.options)
    sectors.select("Medical Devices")
    page.button(key="find").click().run()
    assert not page.exception, page.exception
    assert not page.warning, page.warning[0].value
    assert page.subheader[0].value.startswith("10 hosts for ")
    reasons = [bar.proto.text for bar in page.get("progress")]
    assert any("Medical Devices" in text or "medical devices" in text for text in reasons), reasons


def test_the_visitor_picker_offers_the_first_matches_of_a_search(page, app_db):
    """Fifty options at a time, those who may still visit first; a search narrows by name, city or country."""
    visitors = Store(app_db).organisations(OFFICER).query("can_visit")
    picker = page.selectbox(key="visitor")
    assert len(picker.options) == 50 < len(visitors)
    assert any(c.value.startswith(f"50 of {len(visitors):,} visiting organisations shown") for c in page.caption)
    city = visitors["city"].dropna().iloc[0]
    page.text_input(key="visitor_search").input(city.lower()).run()
    expected = visitors[visitors["name"].str.contains(city, case=False, regex=False)
                        | visitors["city"].str.contains(city, case=False, regex=False).fillna(False)
                        | visitors["country"].str.contains(city, case=False, regex=False)]
    assert sorted(o.removesuffix(" · visited already") for o in page.selectbox(key="visitor").options) == sorted(
        f"{row.name} ({row.city if isinstance(row.city, str) else '?'}, {row.country})" for row in expected.itertuples())
    page.text_input(key="visitor_search").input("no such organisation anywhere").run()
    assert page.selectbox(key="visitor").options == []
    page.text_area(key="objectives").input("medical devices")
    page.button(key="find").click().run()
    assert not page.exception
    assert page.warning[0].value.startswith("Pick the visiting organisation first")
