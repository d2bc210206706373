"""Text people typed is shown as text on every page: an organisation, partnership or scenario named
with Markdown image syntax shows the syntax and makes the browser fetch nothing."""

import datetime as dt
import re
from pathlib import Path

import pytest

from conftest import settle
from steps import PDF
from test_login_browser import PROVIDER_STYLESHEET, log_in, log_out, serving_with_logins
from viewers import OFFICER

from cx import accounts, agreement, budget, closing, invitations, missions, registrations
from cx import exchanges as workflow
from cx import io as cio
from cx.exchanges import request_exchange
from cx.parties import DOCUMENTS
from cx.rules import load_rulebook
from cx.store import open_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMAGE = "![x](http://203.0.113.5/x.png)"
PAGES = ["", "uptake", "map", "find_a_host", "budget", "data", "exchanges"]


@pytest.fixture
def hostile_db(demo_db, tmp_path) -> Path:
    """The demo programme re-imported with an image link in every name, city, description, sector
    and visitor's "looking for" note (shared with every host), and a saved scenario named with one."""
    path = tmp_path / "hostile.duckdb"
    path.write_bytes(demo_db.read_bytes())
    store = open_store(path)
    for kind, columns in (("partnerships", ["name"]), ("organisations", ["name", "city", "description", "sectors"])):
        frame = cio.export_frame(store, OFFICER, kind)
        for column in columns:
            frame[column] = frame[column].fillna("").astype(str) + f" {IMAGE} *bold* <b>tag</b>"
        if kind == "organisations":
            visits = frame["can_visit"].astype(bool)
            frame["looking_for"] = frame["looking_for"].astype(object).where(~visits, f"digital tools for textile {IMAGE}")
            frame["looking_for_shown_to"] = frame["looking_for_shown_to"].astype(object).where(~visits, "all")
        # Organisations the demo could not place keep their names: their new city cannot be placed either.
        report = cio.import_file(store, OFFICER, kind, frame.to_csv(index=False).encode(), f"{kind}.csv", mode="valid")
        assert report.updated >= 0.99 * len(frame), report.findings
    budget.save_scenario(store, budget.uniform_scenario(name=f"Spring {IMAGE}"))
    return path


@pytest.fixture
def hostile_server(hostile_db, serve):
    return serve(hostile_db)


def visit(page, url, ready):
    page.goto(url)
    page.get_by_role("heading", name=ready).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # let the page's elements and charts finish drawing


def test_typed_text_never_makes_the_browser_fetch(hostile_server, offline_page):
    page = offline_page
    for path, heading in zip(PAGES, ["ClusterXchange at a glance", "Uptake", "Exchange map", "Find a host",
                                     "Budget scenarios", "Data", "Exchanges"]):
        visit(page, f"{hostile_server}/{path}", heading)
        assert page.locator("img[src*='203.0.113.5']").count() == 0, path

    visit(page, f"{hostile_server}/uptake", "Uptake")  # the findings list names, in a tab of their own
    page.get_by_role("tab", name="Data quality").click()
    page.get_by_text("Exchanges that break a rule").first.click()
    page.wait_for_timeout(2000)
    assert page.locator("img[src*='203.0.113.5']").count() == 0

    visit(page, f"{hostile_server}/find_a_host", "Find a host")
    page.get_by_label("Objectives").fill("digital innovation and software")
    page.get_by_role("button", name="Find hosts").click()
    page.get_by_text("hosts for").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    assert page.blocked == [], "a host's name made the browser ask the internet for something"
    body = page.inner_text("body")
    assert f"{IMAGE} *bold* <b>tag</b>" in body  # the name as typed, in the host's heading

    visit(page, f"{hostile_server}/budget", "Budget scenarios")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Saved scenario").locator("input").click()
    page.get_by_role("option", name=f"Spring {IMAGE}").click()
    page.get_by_test_id("stBaseButton-secondary").filter(has_text="Open").click()
    page.get_by_text("Basis: uniform").wait_for(timeout=60_000)
    page.get_by_role("button", name="Run the simulation").click()
    page.get_by_text("Affordable (95%)").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    assert page.get_by_label("Name", exact=True).input_value() == f"Spring {IMAGE}"

    assert page.locator("img[src*='203.0.113.5']").count() == 0
    assert page.blocked == [], "typed text made the browser ask the internet for something"


def typed_steps(store) -> dict:
    """Every step of issue 14 taken with an image link in what people type: an exchange paid with a
    differing amount (objectives, agenda, evidence file name, report and payment reason), one whose
    report was sent back (the reason), one declined (the reason), an invitation's message, a group
    mission's name and agenda, and a registration waiting. Returns the ids the pages open."""
    rulebook, typed = load_rulebook(), f"{IMAGE} *bold* <b>tag</b>"
    organisations = store.table("organisations")
    busy = set(store.table("exchanges")["visitor_id"])
    free = organisations[organisations["can_visit"] & organisations["lat"].notna() & ~organisations["id"].isin(busy)
                         & (organisations["partnership_id"] == "P01") & (organisations["country"] != "DE")]
    visitors = list(free["id"][:5])
    hosts = organisations[organisations["can_host"] & organisations["lat"].notna() & (organisations["country"] == "DE")]
    host = hosts["id"].iloc[0]
    start = rulebook.quiet_week(dt.date.today() + dt.timedelta(days=28))
    end = start + dt.timedelta(days=4)
    invitations.invite(store, OFFICER, host_id=host, visitor_id=visitors[0], start=start + dt.timedelta(days=14),
                       end=end + dt.timedelta(days=14), message=f"Come and see {typed}")

    def requested(visitor: str) -> str:
        exchange = request_exchange(store, OFFICER, visitor_id=visitor, host_id=host, start=start, end=end,
                                    objectives=f"Objectives {typed}", activities=["networking"])
        agreement.accept_request(store, OFFICER, exchange)
        agreement.set_agenda(store, OFFICER, exchange, {start: f"Welcome {typed}"})
        for document, parties in DOCUMENTS.items():
            for party in parties:
                agreement.sign(store, OFFICER, exchange, document, party)
        workflow.change_status(store, OFFICER, exchange, "approved")
        for status, today in (("ongoing", start), ("completed", end)):
            workflow.change_status(store, OFFICER, exchange, status, today=today)
        closing.add_evidence(store, OFFICER, exchange, PDF, f"boarding pass {IMAGE}.pdf")
        closing.file_report(store, OFFICER, exchange, done=f"Done {typed}", results=f"Results {typed}",
                            follow_ups=f"Follow-ups {typed}", host_rating=5)
        return exchange

    paid, sent_back = requested(visitors[0]), requested(visitors[1])
    closing.validate_report(store, OFFICER, paid)
    closing.record_payment(store, OFFICER, paid, paid_on=dt.date.today(), amount_eur=1, reason=f"Part {typed}")
    closing.send_back(store, OFFICER, sent_back, f"Missing {typed}")
    declined = request_exchange(store, OFFICER, visitor_id=visitors[2], host_id=host, start=start, end=end)
    agreement.decline_request(store, OFFICER, declined, f"Full {typed}")
    missions.create_mission(store, OFFICER, name=f"Mission {typed}", partnership_id="P01", start=start, end=end,
                            members=[(visitors[3], host), (visitors[4], host)], agenda=f"Agenda {typed}")
    registrations.submit(store, "rita@example.org", registrations.Registration(
        partnership_id="P01", name=f"Hub {typed}", kind="cluster organisation", country="PT", city="Porto",
        member_of=typed, can_visit=True, can_host=True, ecosystems=("Digital",), sectors=typed, description=typed,
        motivation=typed, preferences=typed, contact_name=f"Rita {typed}", contact_email="rita@example.org"))
    return {"paid": paid, "sent back": sent_back, "declined": declined, "visitor": visitors[0]}


def test_typed_text_in_the_exchange_steps_missions_invitations_and_registrations(hostile_db, browser, tmp_path):
    """The pages of issue 14, as the officer who sees them all and as the visitor on its own page."""
    store = open_store(hostile_db)
    ids = typed_steps(store)
    accounts.add_account(store, OFFICER, "olga@example.org", "officer")
    accounts.add_account(store, OFFICER, "vera@example.org", "organisation", organisation_id=ids["visitor"])
    blocked = []
    with serving_with_logins(hostile_db, tmp_path) as url:
        context, page = log_in(browser, url, "olga@example.org", tmp_path, "officer")
        typed = f"{IMAGE} *bold* <b>tag</b>"
        for exchange, shown in ((ids["paid"], [f"Objectives: Objectives {typed}", f"What was done: Done {typed}",
                                               f"(Part {typed})."]),
                                (ids["sent back"], [f"Sent back: Missing {typed}"]),
                                (ids["declined"], [": rejected."])):  # its reason is in the trail's table
            visit(page, f"{url}/exchange", "Exchange steps")
            page.get_by_role("combobox", name="Exchange").click()
            page.keyboard.type(exchange)
            page.get_by_role("option", name=re.compile(exchange)).click()
            page.get_by_text(f"History of {exchange}").click()
            page.get_by_text(shown[0]).first.wait_for(timeout=60_000)
            settle(page)
            assert page.locator("img[src*='203.0.113.5']").count() == 0, exchange
            assert all(text in page.inner_text("body") for text in shown), exchange
        for path, heading in (("missions", "Group missions"), ("find_a_visitor", "Find a visitor"),
                              ("registrations", "Registrations"), ("accounts", "Accounts")):
            visit(page, f"{url}/{path}", heading)
            assert page.locator("img[src*='203.0.113.5']").count() == 0, path
        visit(page, f"{url}/registrations", "Registrations")
        assert f"Motivation: {IMAGE} *bold* <b>tag</b>" in page.inner_text("body")
        log_out(page, url)
        blocked += page.blocked
        context.close()

        context, page = log_in(browser, url, "vera@example.org", tmp_path, "visitor")
        page.get_by_role("heading", name="Invitations").wait_for(timeout=60_000)
        settle(page)
        assert page.locator("img[src*='203.0.113.5']").count() == 0
        assert IMAGE in page.get_by_role("heading", level=1).inner_text()  # the organisation's name, as typed
        assert page.get_by_label("What we are looking for in a host").input_value() == f"digital tools for textile {IMAGE}"
        visit(page, f"{url}/exchange", "Exchange steps")
        page.get_by_text(f"Objectives: Objectives {IMAGE}").wait_for(timeout=60_000)
        settle(page)
        assert page.locator("img[src*='203.0.113.5']").count() == 0
        assert page.get_by_role("button", name=f"Download boarding pass {IMAGE}.pdf").count() == 1
        log_out(page, url)
        blocked += page.blocked
        context.close()
    assert set(blocked) <= {PROVIDER_STYLESHEET}, blocked
