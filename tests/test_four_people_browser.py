"""One exchange from registration to payment, driven in headless chromium by the four people it
involves, each logging in for real through a local OpenID Connect provider, one after another:
a new organisation registers and its partnership's manager accepts it; as the visitor it finds a
host and requests a stay; the host accepts, writes the agenda and signs; the visitor signs both
documents; the host's partnership signs; the visitor's partnership signs both and approves; after
the stay the visitor files the report with a boarding pass; its partnership validates it and
records the payment. Each opens the exchange from their list of what waits on them, and each is
checked not to see or be offered something their role may not have.

The stay itself is the calendar's: the test moves the exchange to ongoing and completed with the
stay's dates as `today` (moving it on the Exchanges page is tested there). The host and its
partnership's manager get their accounts once the visitor has chosen the host (an officer's step
on the Accounts page, tested there). Screenshots of each person's key step go to the test's
folder (or CX_SCREENSHOTS); the clicks each step took are written to `clicks.json` beside them."""

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from conftest import settle
from playwright.sync_api import expect
from steps import PDF
from test_login_browser import PROVIDER_STYLESHEET, SCREENSHOTS, log_in, log_out, navigation, serving_with_logins
from viewers import OFFICER, manager

from cx import accounts, closing
from cx import exchanges as workflow
from cx.formats import plural
from cx.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VISITOR, VISITOR_MANAGER = "ana@example.org", "mario@example.org"  # a new organisation registering through P01
HOST, HOST_MANAGER = "hana@example.org", "henrik@example.org"  # a host of another partnership, and its manager
NAME = "Porto Textile Digital Hub"


class Person:
    """One person's browser session, counting the clicks each of their steps takes (a click
    waits for the page to settle first: Streamlit reruns after every widget change)."""

    def __init__(self, browser, url: str, login: str, screenshots: Path, clicks: dict, expect_text: str | None = None):
        self.url, self.login, self.screenshots, self.clicks = url, login, screenshots, clicks
        self.context, self.page = log_in(browser, url, login, screenshots, login.split("@")[0], expect_text)
        settle(self.page)
        self.step = None

    def doing(self, step: str) -> "Person":
        self.step = step
        self.clicks.setdefault(step, 0)
        return self

    def click(self, locator) -> None:
        settle(self.page)
        locator.click()
        self.clicks[self.step] += 1

    def choose(self, label: str, option: str) -> None:
        """Pick an option of a select box by typing it (two clicks: the box, then the option)."""
        self.click(self.page.get_by_role("combobox", name=label))
        self.page.keyboard.type(option)
        self.click(self.page.get_by_role("option", name=option).first)

    def button(self, name: str) -> None:
        self.click(self.page.get_by_role("button", name=name, exact=True))

    def sees(self, text: str) -> None:
        self.page.get_by_text(text).first.wait_for(timeout=60_000)
        settle(self.page)

    def open_from_todo(self, exchange_id: str, step: str) -> None:
        """Open the exchange's steps from the home's list of what waits on this person, where `step` is listed."""
        self.sees("What waits on me")
        # The grids draw on a canvas; their rows are also tables for screen readers, read here (the
        # payments due above the steps name no step).
        rows = self.page.get_by_test_id("stDataFrame").locator("tr", has_text=exchange_id)
        expect(rows.filter(has_text=step)).to_have_count(1, timeout=60_000)
        self.choose("Open an exchange", exchange_id)
        self.button("Open its steps")
        self.sees(f"History of {exchange_id}")

    def shot(self, name: str) -> None:
        """The whole page: the window grows to the height of Streamlit's scrolling main area for it."""
        settle(self.page)
        viewport = self.page.viewport_size
        height = self.page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
        self.page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
        self.page.wait_for_timeout(500)
        self.page.screenshot(path=self.screenshots / f"{name}.png")
        self.page.set_viewport_size(viewport)

    def leave(self) -> list[str]:
        log_out(self.page, self.url)
        blocked = self.page.blocked
        self.context.close()
        return blocked


def sign_buttons(page):
    return page.get_by_role("button", name=re.compile(r"^Sign the "))


@pytest.fixture
def programme(demo_db, tmp_path):
    """The demo programme with a manager account for P01 (the partnership the newcomer registers through)."""
    db = tmp_path / "four.duckdb"
    db.write_bytes(demo_db.read_bytes())
    store = Store(db)
    store.migrate()
    accounts.add_account(store, OFFICER, VISITOR_MANAGER, "partnership_manager", partnerships=["P01"])
    return store


def test_registration_to_payment_as_the_four_people_see_it(programme, browser, tmp_path):
    store = programme
    screenshots = Path(SCREENSHOTS or tmp_path / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)
    clicks, blocked = {}, []
    with serving_with_logins(store.path, tmp_path) as url:
        def person(login: str, expect_text: str | None = None) -> Person:
            return Person(browser, url, login, screenshots, clicks, expect_text)

        # The newcomer registers; until accepted it sees its registration only, never the programme.
        ana = person(VISITOR, "Register your organisation").doing("register the organisation")
        assert navigation(ana.page) == []
        ana.choose("Partnership you register through", "P01")
        ana.page.get_by_label("Organisation name").fill(NAME)
        ana.choose("Kind", "cluster organisation")
        ana.choose("Country where it is registered", "Portugal (PT)")
        ana.page.get_by_label("City").fill("Porto")
        ana.click(ana.page.get_by_text("Visit a host abroad"))
        ana.page.get_by_label("What the organisation does").fill(
            "A cluster of textile and clothing companies adopting digital tools: software, sensors and data.")
        ana.page.get_by_label("Contact person").fill("Ana Silva")
        ana.button("Register")
        ana.sees("Your registration is waiting")
        ana.shot("1-visitor-registration-waiting")
        blocked += ana.leave()

        # The partnership's manager accepts it from the Registrations page.
        mario = person(VISITOR_MANAGER).doing("accept the registration")
        assert "Accounts" not in navigation(mario.page)  # an officer's page
        mario.click(mario.page.get_by_role("link", name="Registrations", exact=True))
        mario.sees(f"{NAME} · cluster organisation · Porto, PT")
        mario.shot("2-visitor-manager-registration")
        mario.button("Accept")
        mario.sees(f"{NAME} is registered as")
        blocked += mario.leave()

        # The visitor finds a host of another partnership, placed on the map (its lump sum is known), and asks.
        ana = person(VISITOR, NAME).doing("find a host and request")
        assert navigation(ana.page) == ["Our organisation", "Find a host", "Find a visitor", "Exchange steps"]
        visitor_id = store.query("SELECT id FROM organisations WHERE name = ?", [NAME]).iloc[0, 0]
        ana.click(ana.page.get_by_role("link", name="Find a host"))
        ana.page.get_by_label("Objectives").fill("digital tools and software for textile and clothing companies")
        ana.button("Find hosts")
        ana.sees("hosts for")
        listed = [re.search(r"st-key-host_(\S+)", c).group(1)
                  for c in ana.page.locator("[class*='st-key-host_']").evaluate_all("els => els.map(e => e.className)")]
        hosts = store.table("organisations").set_index("id").loc[listed]
        host_id = hosts[(hosts["partnership_id"] != "P01") & hosts["lat"].notna()].index[0]
        host_name, host_partnership = hosts.at[host_id, "name"], hosts.at[host_id, "partnership_id"]
        ana.click(ana.page.locator(f".st-key-host_{host_id}").get_by_role("button", name="Request this exchange"))
        ana.sees("requested with")
        exchange_id = re.search(r"Exchange (X-\w+) requested", ana.page.inner_text("body")).group(1)
        ana.shot("3-visitor-request")
        blocked += ana.leave()

        exchange = store.query("SELECT * FROM exchanges WHERE id = ?", [exchange_id]).iloc[0]
        assert (exchange["visitor_id"], exchange["host_id"], exchange["status"]) == (visitor_id, host_id, "requested")
        start, end = pd.Timestamp(exchange["start_date"]).date(), pd.Timestamp(exchange["end_date"]).date()
        accounts.add_account(store, OFFICER, HOST, "organisation", organisation_id=host_id)
        accounts.add_account(store, OFFICER, HOST_MANAGER, "partnership_manager", partnerships=[host_partnership])

        # The host answers from its to-do list, writes the agenda with the visitor's objectives in view, and signs.
        hana = person(HOST, host_name).doing("answer, write the agenda, sign")
        assert "Exchanges" not in navigation(hana.page)  # a partnership's page
        hana.open_from_todo(exchange_id, "answer the request")
        hana.button("Accept")
        hana.sees(f"You accepted {exchange_id}")
        hana.page.get_by_label(f"{start:%a %d %b}").fill("Welcome, tour of the members' digital workshop")
        hana.button("Save the agenda")
        hana.sees("The agenda is saved.")
        hana.button("Sign the Commitment to Quality as the host")
        hana.sees("Signed the Commitment to Quality.")
        expect(sign_buttons(hana.page)).to_have_count(0)  # three signatures missing, none of them the host's
        hana.shot("4-host-signed")
        blocked += hana.leave()

        # The visitor signs both documents; approving is not the visitor's step.
        ana = person(VISITOR, NAME).doing("sign both documents")
        ana.open_from_todo(exchange_id, "sign the financial agreement")
        ana.button("Sign the Commitment to Quality as the visitor")
        ana.sees("Signed the Commitment to Quality.")
        ana.button("Sign the financial agreement as the visitor")
        ana.sees("Signed the financial agreement.")
        expect(sign_buttons(ana.page)).to_have_count(0)
        assert ana.page.get_by_role("button", name="Approve the exchange").count() == 0
        ana.shot("5-visitor-signed")
        blocked += ana.leave()

        # The host's partnership signs the Commitment to Quality; the financial agreement is not its document.
        henrik = person(HOST_MANAGER).doing("sign as the host's partnership")
        henrik.open_from_todo(exchange_id, "sign the Commitment to Quality")
        henrik.button("Sign the Commitment to Quality as the host's partnership")
        henrik.sees("Signed the Commitment to Quality.")
        expect(sign_buttons(henrik.page)).to_have_count(0)  # the visitor's partnership's two are missing
        assert henrik.page.get_by_role("button", name="Approve the exchange").count() == 0
        henrik.shot("6-host-manager-signed")
        blocked += henrik.leave()

        # The visitor's partnership signs both and approves: the lump sum is frozen.
        mario = person(VISITOR_MANAGER).doing("sign both documents and approve")
        mario.open_from_todo(exchange_id, "sign the financial agreement")
        mario.button("Sign the Commitment to Quality as the visitor's partnership")
        mario.sees("Signed the Commitment to Quality.")
        mario.button("Sign the financial agreement as the visitor's partnership")
        mario.sees("Signed the financial agreement.")
        mario.button("Approve the exchange")
        mario.sees(f"{exchange_id} is approved; its lump sum is frozen.")
        mario.shot("7-visitor-manager-approved")
        blocked += mario.leave()

        for status, today in (("ongoing", start), ("completed", end)):  # the stay, on its own dates
            workflow.change_status(store, OFFICER, exchange_id, status, today=today)

        # After the stay the visitor adds a boarding pass and files the report; validating it is not its step.
        ana = person(VISITOR, NAME).doing("file the report with evidence")
        ana.open_from_todo(exchange_id, "file the closing report with evidence")
        boarding_pass = tmp_path / "boarding-pass.pdf"
        boarding_pass.write_bytes(PDF)
        ana.page.locator("input[type=file]").set_input_files(boarding_pass)
        ana.clicks[ana.step] += 2  # the uploader's button and the file chosen in the system's dialog
        ana.button("Add this file")
        ana.sees("boarding-pass.pdf is added.")
        ana.page.get_by_label("What was done").fill("Visited four member companies and the digital workshop")
        ana.page.get_by_label("Results").fill("Two companies will pilot the same sensors")
        ana.page.get_by_label("Follow-ups").fill("A joint proposal in spring")
        ana.button("File the closing report")
        ana.sees("The closing report is filed")
        assert ana.page.get_by_role("button", name="Validate the report").count() == 0
        ana.shot("8-visitor-report-filed")
        blocked += ana.leave()

        # The visitor's partnership reads the evidence and validates the report; the payment is then
        # due at its home, in its list of payments due and in what waits on it, where it is recorded.
        mario = person(VISITOR_MANAGER).doing("validate the report")
        mario.sees("What waits on me")
        mario.shot("9-visitor-manager-todo")
        mario.open_from_todo(exchange_id, "validate the closing report")
        expect(mario.page.get_by_role("button", name="Download boarding-pass.pdf")).to_be_visible()
        mario.button("Validate the report")
        mario.sees("The report is validated: the payment is due.")
        mario.doing("record the payment").click(mario.page.get_by_role("link", name="At a glance"))
        due = closing.payments_due(store, manager("P01"))  # the demo's validated reports wait too
        assert exchange_id in set(due["exchange_id"])
        mario.sees(f"{plural(len(due), 'payment')} due, the soonest first")
        mario.shot("10-visitor-manager-payment-due")
        mario.open_from_todo(exchange_id, "record the payment")
        mario.button("Record the payment")
        mario.sees("Paid EUR")
        mario.shot("11-visitor-manager-paid")
        blocked += mario.leave()

    (screenshots / "clicks.json").write_text(json.dumps(clicks, indent=1))
    print(json.dumps(clicks, indent=1))
    assert store.query("SELECT status FROM exchanges WHERE id = ?", [exchange_id]).iloc[0, 0] == "paid"
    trail = workflow.history(store, OFFICER, exchange_id).dropna(subset=["action"])
    by = dict(zip(trail["action"] + " " + trail["note"].fillna(""), trail["changed_by"]))
    assert trail.set_index("action")["changed_by"].loc[["host accepted", "agenda written"]].tolist() == [HOST, HOST]
    signers = trail[trail["action"].str.startswith("signed")]
    assert sorted(signers["changed_by"]) == sorted([HOST, VISITOR, VISITOR, HOST_MANAGER, VISITOR_MANAGER,
                                                    VISITOR_MANAGER]), by
    assert trail.set_index("action")["changed_by"].loc[
        ["closing report filed", "closing report validated", "payment recorded"]].tolist() == [
        VISITOR, VISITOR_MANAGER, VISITOR_MANAGER]
    assert set(blocked) <= {PROVIDER_STYLESHEET}, blocked
    assert dt.date.today() < start  # the stay was in the future: only `today` above moved it
