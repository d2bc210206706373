"""WCAG 2.1 A and AA for every role, checked by axe-core in headless Debian chromium with logins on
(the local OpenID Connect provider of test_login_browser.py): the login prompt, someone registering,
and each role's pages and main states, Exchange steps from the host's answer to the payment among them.
The officer's pages of the local mode are audited in test_accessibility_browser.py. And a registration
and its acceptance by the keyboard alone."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import settle
from steps import agreed, reported
from test_accessibility_browser import audit, focus_is_visible, press, tab_to, verdict
from test_login_browser import (PROVIDER_STYLESHEET, SCREENSHOTS, app_with_logins, log_in,  # noqa: F401
                                log_out, serving_with_logins)
from test_registration_browser import choose
from viewers import OFFICER

from cx import accounts, agreement, closing, registrations
from cx import exchanges as workflow
from cx.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PEOPLE = ("olga@example.org", "mario@example.org", "visitor@example.org", "host@example.org")


@pytest.fixture
def programme(demo_db, tmp_path):
    """A copy of the demo programme with an account per role around one requested exchange whose
    visitor belongs to P01: the officer, P01's manager, the visitor and the host; yields (store, the
    exchange's id, app URL)."""
    db = tmp_path / "roles.duckdb"
    db.write_bytes(demo_db.read_bytes())
    store = Store(db)
    store.migrate()
    requested = store.query(
        "SELECT e.id, e.visitor_id, e.host_id FROM exchanges e JOIN organisations v ON v.id = e.visitor_id "
        "WHERE e.status = 'requested' AND v.partnership_id = 'P01' "
        "AND e.id NOT IN (SELECT exchange_id FROM host_answers) ORDER BY e.id").iloc[0]
    accounts.add_account(store, OFFICER, PEOPLE[0], "officer")
    accounts.add_account(store, OFFICER, PEOPLE[1], "partnership_manager", partnerships=["P01"])
    accounts.add_account(store, OFFICER, PEOPLE[2], "organisation", organisation_id=requested["visitor_id"])
    accounts.add_account(store, OFFICER, PEOPLE[3], "organisation", organisation_id=requested["host_id"])
    with serving_with_logins(db, tmp_path) as url:
        yield store, requested["id"], url


def visit(page, url: str, link: str | None, text: str) -> None:
    """Open the page behind the sidebar's `link` (the role's home without one) and wait until it shows `text`."""
    page.goto(url)
    if link:
        page.get_by_role("link", name=link, exact=True).click()
    page.get_by_text(text).first.wait_for(timeout=60_000)
    settle(page)


def open_steps(page, url: str, exchange_id: str, text: str) -> None:
    """Exchange steps on `exchange_id`, once the page shows `text`."""
    visit(page, url, "Exchange steps", "Exchange steps")
    choose(page, "Exchange", exchange_id)
    page.get_by_text(text).first.wait_for(timeout=60_000)
    settle(page)


def test_every_role_s_pages_and_states_meet_wcag_21_aa(programme, browser, tmp_path):
    store, exchange, url = programme
    screenshots = Path(SCREENSHOTS or tmp_path / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    found, contexts = {}, []

    def shot(name: str) -> None:
        page.screenshot(path=screenshots / f"axe-{name}.png", full_page=True)

    def person(login: str, expect: str | None = None):
        context, page = log_in(browser, url, login, screenshots, login.split("@")[0], expect)
        contexts.append(context)
        return page

    # Logged out, then someone without an account registering through P01.
    page = person("ana@example.org", "Register your organisation")
    settle(page)
    audit(page, "Registration form", found)
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Choose the partnership, the kind and the country.").wait_for(timeout=60_000)
    settle(page)
    audit(page, "Registration form · refused", found)
    choose(page, "Partnership you register through", "P01")
    page.get_by_label("Organisation name").fill("Porto Digital Hub")
    choose(page, "Kind", "cluster organisation")
    choose(page, "Country where it is registered", "Portugal (PT)")
    page.get_by_label("City").fill("Porto")
    page.get_by_label("Contact person").fill("Ana Silva")
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Your registration is waiting").wait_for(timeout=60_000)
    settle(page)
    audit(page, "Registration waiting", found)
    log_out(page, url)
    settle(page)
    audit(page, "Login prompt", found)
    shot("login")
    page.evaluate("document.querySelector('[data-testid=stMain]').append(document.createElement('img'))")
    probe = {}
    audit(page, "an image without a text", probe)  # the audit sees what is on the page
    assert ("image-alt", "critical") in {violation[:2] for violation in probe["an image without a text"]}

    # The partnership manager of P01.
    page = manager = person(PEOPLE[1])
    visit(page, url, None, "What waits on me")
    audit(page, "Manager · At a glance", found)
    visit(page, url, "Registrations", "1 waiting, oldest first.")
    audit(page, "Manager · Registrations", found)
    shot("registrations")
    page.get_by_role("button", name="Accept").click()
    page.get_by_text("Porto Digital Hub is registered as").wait_for(timeout=60_000)
    settle(page)
    audit(page, "Manager · Registrations · accepted", found)
    visit(page, url, "Uptake", "Visitors registered")
    for tab in ("Money per partnership", "Group missions"):
        page.get_by_role("tab", name=tab).click()
        page.get_by_text(re.compile("Each partnership's allocation|group missions? in")).first.wait_for(timeout=60_000)
        settle(page)
        audit(page, f"Manager · Uptake · {tab}", found)
    visit(page, url, "Group missions", "Plan a mission")
    audit(page, "Manager · Group missions", found)
    visit(page, url, "Find a visitor", "Find a visitor")
    audit(page, "Manager · Find a visitor", found)

    # The officer.
    page = officer = person(PEOPLE[0])
    visit(page, url, "Accounts", "Save the account")
    audit(page, "Officer · Accounts", found)
    visit(page, url, "Registrations", "Decided")
    audit(page, "Officer · Registrations (none waiting)", found)
    visit(page, url, "Uptake", "Visitors registered")
    page.get_by_role("tab", name="Money per partnership").click()
    page.get_by_role("button", name="Save the allocation").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_text(re.compile("^The numbers behind")).first.click()
    settle(page)
    audit(page, "Officer · Uptake · Money per partnership", found)
    shot("money")
    visit(page, url, "Exchange map", "Shade countries by exchanges")
    page.locator(".js-plotly-plot").nth(1).wait_for(timeout=60_000)  # the group missions' map
    page.get_by_text("The numbers behind Group missions").click()
    settle(page)
    audit(page, "Officer · Exchange map with group missions", found)

    # The visitor and the host of the requested exchange.
    page = visitor = person(PEOPLE[2], "What waits on me")
    settle(page)
    audit(page, "Visitor · Our organisation", found)
    shot("our-organisation")
    visit(page, url, "Find a host", "Pick the visiting organisation")
    audit(page, "Visitor · Find a host", found)
    open_steps(page, url, exchange, exchange)
    audit(page, "Visitor · Exchange steps · requested", found)
    page = host = person(PEOPLE[3], "What waits on me")
    visit(page, url, "Find a visitor", "Find a visitor")
    audit(page, "Host · Find a visitor", found)
    open_steps(page, url, exchange, "Answer the request")
    audit(page, "Host · Exchange steps · the host answers", found)
    shot("host-answers")
    open_steps(manager, url, exchange, exchange)
    audit(manager, "Manager · Exchange steps · requested", found)

    # The exchange along its steps (taken by cx, as test_exchange_path_browser.py takes them by clicks).
    agreement.accept_request(store, OFFICER, exchange)  # the agenda and every signature still open
    open_steps(visitor, url, exchange, "Save the agenda")
    audit(visitor, "Visitor · Exchange steps · agenda and signatures", found)
    open_steps(host, url, exchange, "Sign the")
    audit(host, "Host · Exchange steps · signatures", found)
    agreed(store, exchange)
    open_steps(manager, url, exchange, "Approve the exchange")
    audit(manager, "Manager · Exchange steps · approval", found)
    last_day = pd.Timestamp(store.query("SELECT end_date FROM exchanges WHERE id = ?", [exchange]).iloc[0, 0]).date()
    for status in ("approved", "ongoing", "completed"):
        workflow.change_status(store, OFFICER, exchange, status, today=last_day)
    open_steps(visitor, url, exchange, "File the closing report")
    audit(visitor, "Visitor · Exchange steps · evidence and report", found)
    page = visitor
    shot("report")
    reported(store, exchange)
    open_steps(manager, url, exchange, "Validate the report")
    audit(manager, "Manager · Exchange steps · validation", found)
    closing.validate_report(store, OFFICER, exchange)
    open_steps(officer, url, exchange, "Record the payment")
    audit(officer, "Officer · Exchange steps · payment", found)
    page = officer
    shot("payment")
    amount = int(store.query("SELECT lump_sum_eur FROM exchanges WHERE id = ?", [exchange]).iloc[0, 0])
    closing.record_payment(store, OFFICER, exchange, paid_on=dt.date.today(), amount_eur=amount, reason="")
    open_steps(visitor, url, exchange, "Paid EUR")
    visitor.get_by_text(f"History of {exchange}").click()
    audit(visitor, "Visitor · Exchange steps · paid, with its history", found)

    blocked = [url for context in contexts for page in context.pages for url in getattr(page, "blocked", [])]
    for context in contexts:
        context.close()
    failing = verdict(found, tmp_path)
    assert not failing, "\n".join(failing)
    assert set(blocked) <= {PROVIDER_STYLESHEET}, blocked


def test_someone_registers_and_the_manager_accepts_with_the_keyboard_alone(app_with_logins, browser, tmp_path):
    """The provider's login form is clicked (it is not cx's); everything on cx's pages is done by keyboard."""
    url, _ = app_with_logins
    context, page = log_in(browser, url, "kira@example.org", tmp_path, "applicant", "Register your organisation")
    settle(page)
    for label, text in (("Partnership you register through", "P01"), ("Organisation name", "Tallinn Wood Cluster"),
                        ("Kind", "cluster organisation"), ("Country where it is registered", "Estonia"),
                        ("City", "Tallinn"), ("Contact person", "Kira Tamm")):
        tab_to(page, lambda f: f["tag"] == "INPUT" and f["label"] == label)
        assert focus_is_visible(page), label
        page.keyboard.type(text)
        if label in ("Partnership you register through", "Kind", "Country where it is registered"):
            page.keyboard.press("Enter")  # the first option the typing leaves
    press(page, "Register")
    page.get_by_text("Your registration is waiting").wait_for(timeout=60_000)
    settle(page)
    assert "Tallinn Wood Cluster registered on" in page.inner_text("body")
    blocked = page.blocked
    context.close()

    context, page = log_in(browser, url, "mario@example.org", tmp_path, "manager")
    settle(page)
    tab_to(page, lambda f: f["tag"] == "A" and f["text"].endswith("Registrations"))
    page.keyboard.press("Enter")
    page.get_by_text("1 waiting, oldest first.").wait_for(timeout=60_000)
    settle(page)
    press(page, "Accept")
    page.get_by_text("Tallinn Wood Cluster is registered as").wait_for(timeout=60_000)
    blocked += page.blocked
    context.close()
    kept = registrations.registration_of(Store(tmp_path / "logins.duckdb"), "kira@example.org")
    assert (kept["state"], kept["partnership_id"], kept["kind"], kept["country"], kept["city"]) == (
        registrations.ACCEPTED, "P01", "cluster organisation", "EE", "Tallinn")
    assert set(blocked) <= {PROVIDER_STYLESHEET}, blocked
