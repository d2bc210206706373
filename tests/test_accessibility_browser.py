"""WCAG 2.1 A and AA, checked by axe-core in headless Debian chromium on every page and each page's
main states; and the Find a host path done with the keyboard alone."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import settle
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from steps import PDF
from test_access import X2
from test_exchange_path_browser import x2_alone
from viewers import OFFICER

from cx import PROJECT_ROOT, agreement, closing
from cx import exchanges as workflow

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE = Axe()

# Nothing is excused. Before this check (Streamlit 1.67) every page had three serious rules: captions at
# 3.9:1 (`color-contrast`; fixed by the theme's text colour), and `list` / `listitem` from Streamlit's
# grouped sidebar navigation (fixed by a flat list of pages in app.py).
FAILING = ("critical", "serious")


def audit(page, state: str, found: dict) -> None:
    """Run axe on what the page shows now; record its violations under `state`."""
    settle(page)  # the script has stopped: no element is about to be replaced or faded
    # and every fade-in has ended: axe measures colours as drawn, mid-animation they are paler
    page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished))")
    results = AXE.run(page, options={"runOnly": {"type": "tag", "values": WCAG_21_AA}, "resultTypes": ["violations"]})
    found[state] = [(violation["id"], violation["impact"], " ".join(node["target"][-1:]),
                     f'{node["html"][:120]} ({node["failureSummary"]})'.replace("\n", " "))
                    for violation in results.response["violations"] for node in violation["nodes"]]


def verdict(found: dict, folder) -> list[str]:
    """Print and keep (in `folder`/axe.txt) each state's counts; the failing violations, one line each."""
    counts = "\n".join(f"{state}: {len({v[0] for v in violations})} rules, {len(violations)} elements "
                       f"({', '.join(sorted({f'{v[0]}/{v[1]}' for v in violations}))})"
                       for state, violations in found.items())
    (folder / "axe.txt").write_text(counts)
    print("\n" + counts)
    return [f"{state}: {rule} ({impact}) at {target}: {html}" for state, violations in found.items()
            for rule, impact, target, html in violations if impact in FAILING]


def _open(page, server: str, path: str, text: str) -> None:
    page.goto(f"{server}/{path}")
    page.get_by_text(text).first.wait_for(timeout=60_000)


def test_every_page_and_state_meets_wcag_21_aa(module_server, offline_page, tmp_path):
    page, found = offline_page, {}
    _open(page, module_server, "", "ClusterXchange at a glance")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_text("The numbers behind Exchanges by status").click()  # a chart's table and downloads
    audit(page, "At a glance", found)

    _open(page, module_server, "uptake", "Visitors registered")
    for tab in ("Pipeline and targets", "Money per partnership", "Flows", "Stays", "Group missions", "Data quality"):
        page.get_by_role("tab", name=tab).click()
        if tab == "Data quality":
            page.get_by_text(re.compile("^Exchanges that break a rule")).first.click()
        audit(page, f"Uptake · {tab}", found)

    _open(page, module_server, "map", "Shade countries by exchanges")
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    audit(page, "Exchange map", found)

    _open(page, module_server, "find_a_host", "Pick the visiting organisation")
    audit(page, "Find a host", found)
    page.get_by_label("Objectives").fill("medical devices and biotechnology")
    page.get_by_role("button", name="Find hosts").click()
    page.get_by_text("10 hosts for").wait_for(timeout=60_000)
    audit(page, "Find a host · results", found)

    _open(page, module_server, "budget", "Ceilings and host-country mix")
    audit(page, "Budget scenarios", found)
    page.get_by_role("button", name="Run the simulation").click()
    page.get_by_text("Affordable (95%)").wait_for(timeout=60_000)
    audit(page, "Budget scenarios · result", found)
    for tab in ("Planned exchanges", "Compare saved scenarios"):
        page.get_by_role("tab", name=tab).click()
        audit(page, f"Budget scenarios · {tab}", found)
    page.get_by_role("tab", name="Scenario", exact=True).click()
    for name in ("Audit one", "Audit two"):
        name_field = page.get_by_label("Name", exact=True)  # not "Name of the copy", once a scenario is saved
        name_field.fill(name)
        name_field.press("Enter")
        page.get_by_role("button", name="Save scenario").click()
        page.get_by_text(f"Saved '{name}'").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Compare saved scenarios").click()
    for name in ("Audit one", "Audit two"):
        page.get_by_label("Saved scenarios to compare (2 to 4)").click()
        page.get_by_role("option", name=name).click()
    page.keyboard.press("Escape")
    page.get_by_text("Audit one: 90% of").wait_for(timeout=120_000)
    audit(page, "Budget scenarios · Compare saved scenarios (two)", found)

    _open(page, module_server, "data", "The file holds")
    audit(page, "Data", found)
    # The import's uploader (an officer's Data page also has one for evidence, which takes .zip).
    page.locator('[data-testid="stFileUploaderDropzoneInput"][accept*=".csv"]').set_input_files(
        PROJECT_ROOT / "data" / "templates" / "exchanges.csv")
    page.get_by_role("button", name="Check only (write nothing)").click()
    page.get_by_text("Rows by broken rule").wait_for(timeout=60_000)
    audit(page, "Data · import report", found)
    for tab in ("Export", "Templates"):
        page.get_by_role("tab", name=tab).click()
        audit(page, f"Data · {tab}", found)

    _open(page, module_server, "exchanges", "Move an exchange on")
    audit(page, "Exchanges", found)

    failing = verdict(found, tmp_path)
    assert not failing, "\n".join(failing)
    assert page.blocked == []


FOCUSED = """() => {
    const element = document.activeElement;
    return {tag: element.tagName, label: element.getAttribute('aria-label') || '',
            text: (element.innerText || '').trim().slice(0, 80)};
}"""


def tab_to(page, matches, presses: int = 200, back: bool = False) -> dict:
    """Press Tab (Shift+Tab with `back`) until the focused element `matches`; the focused element."""
    for _ in range(presses):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focused = page.evaluate(FOCUSED)
        if matches(focused):
            return focused
    raise AssertionError(f"Tab never reached the element; last focused: {focused}")


FOCUSED_BOX = """() => {
    const element = document.activeElement;
    element.scrollIntoView({block: 'center'});
    const box = element.getBoundingClientRect();
    return {x: Math.max(box.x - 6, 0), y: Math.max(box.y - 6, 0), width: box.width + 12, height: box.height + 12};
}"""


def focus_is_visible(page) -> bool:
    """The focused element looks different from itself unfocused (a ring, outline, border or fill)."""
    page.evaluate(FOCUSED_BOX)
    page.wait_for_timeout(300)  # let the page settle where the element is
    clip = page.evaluate(FOCUSED_BOX)
    focused = page.screenshot(clip=clip)
    page.keyboard.press("Shift+Tab")
    page.wait_for_timeout(300)
    unfocused = page.screenshot(clip=clip)
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    return focused != unfocused


def test_a_visitor_finds_and_requests_a_host_with_the_keyboard_alone(module_server, offline_page):
    page = offline_page
    _open(page, module_server, "find_a_host", "Pick the visiting organisation")

    tab_to(page, lambda f: f["tag"] == "INPUT" and "Visiting organisation" in f["label"])
    visitor = page.get_by_role("combobox", name="Visiting organisation")
    first = visitor.input_value()
    page.keyboard.press("ArrowDown")  # opens the list on the chosen visitor
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the next visitor in the list
    chosen = visitor.input_value()
    assert chosen != first

    tab_to(page, lambda f: f["tag"] == "TEXTAREA")
    page.keyboard.type("medical devices and biotechnology")
    assert focus_is_visible(page)

    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Find hosts")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")
    page.get_by_text("10 hosts for").wait_for(timeout=60_000)
    assert page.get_by_role("heading", name="10 hosts for").inner_text().endswith(chosen)

    request = tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == "Request this exchange")
    assert focus_is_visible(page)
    page.keyboard.press("Enter")  # the request is made, or refused with the rule it breaks
    page.get_by_text(re.compile("requested with|The exchange was not requested")).first.wait_for(timeout=60_000)
    assert request["text"] == "Request this exchange"
    assert page.blocked == []


def press(page, button: str) -> None:
    """Once the page has settled (a rerun still drawing moves the focus back to the top), tab to the
    button named `button`, check its focus shows, and press Enter."""
    settle(page)
    tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"] == button)
    assert focus_is_visible(page), button
    page.keyboard.press("Enter")


def test_a_manager_runs_and_saves_a_scenario_imports_and_moves_an_exchange_with_the_keyboard(streamlit_server, offline_page):
    """On a server of its own: the scenarios the page audit saved change the Budget page's tab order."""
    page, module_server = offline_page, streamlit_server
    _open(page, module_server, "budget", "Ceilings and host-country mix")
    press(page, "Run the simulation")
    page.get_by_text("Affordable (95%)").wait_for(timeout=60_000)
    press(page, "Save scenario")
    page.get_by_text("Saved '").wait_for(timeout=60_000)

    _open(page, module_server, "data", "The file holds")
    page.get_by_role("button", name="Upload", exact=True).wait_for(timeout=60_000)
    for attempt in range(3):  # a rerun that lands while tabbing moves the focus back to the page's top
        settle(page)
        tab_to(page, lambda f: f["tag"] == "BUTTON" and f["text"].endswith("Upload"))
        try:
            with page.expect_file_chooser(timeout=20_000) as chooser:
                page.keyboard.press("Enter")
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    chooser.value.set_files(PROJECT_ROOT / "data" / "templates" / "exchanges.csv")
    page.get_by_role("button", name="Check only (write nothing)").wait_for(timeout=60_000)
    press(page, "Check only (write nothing)")
    page.get_by_text("Rows by broken rule").wait_for(timeout=60_000)

    _open(page, module_server, "exchanges", "Move an exchange on")
    tab_to(page, lambda f: f["tag"] == "INPUT" and f["label"] == "New status")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the first status the list offers
    press(page, "Change status")
    page.get_by_text(re.compile("is now|Refused")).first.wait_for(timeout=60_000)
    assert page.blocked == []


def test_an_exchange_goes_from_the_host_s_answer_to_its_payment_with_the_keyboard(serve, offline_page, tmp_path):
    """The local officer, who may take every party's step, takes the host's, a visitor's and the manager's by
    keyboard alone on Exchange steps; the steps between (the other signatures, the stay) are taken by cx."""
    store, page = x2_alone(tmp_path / "keys.duckdb"), offline_page
    url = serve(store.path)
    _open(page, url, "", "ClusterXchange at a glance")
    steps = page.get_by_role("link", name="Exchange steps")
    steps.focus()
    page.keyboard.press("Enter")
    page.get_by_text("Answer the request").wait_for(timeout=60_000)

    def step(button: str, done: str) -> None:
        for attempt in range(3):  # a rerun that lands while tabbing moves the focus back to the page's top
            settle(page)
            try:
                press(page, button)
                break
            except AssertionError:
                if attempt == 2:
                    raise
        page.get_by_text(done).first.wait_for(timeout=60_000)

    step("Accept", f"You accepted {X2}")  # the host
    settle(page)
    tab_to(page, lambda f: f["tag"] == "INPUT" and f["label"].startswith("Mon 27 May"))
    page.keyboard.type("Welcome and tour of the test lab")
    assert focus_is_visible(page)
    step("Save the agenda", "The agenda is saved.")
    step("Sign the Commitment to Quality as the visitor", "Signed the Commitment to Quality.")
    unsigned = agreement.agreement(store, OFFICER, X2)["signatures"].query("signed_by.isna()")
    assert len(unsigned) == 5  # the one signed by keyboard is not among them
    for row in unsigned.itertuples():
        agreement.sign(store, OFFICER, X2, row.document, row.party)
    for status in ("approved", "ongoing", "completed"):
        workflow.change_status(store, OFFICER, X2, status, today=dt.date(2030, 6, 7))  # the stay's last day
    closing.add_evidence(store, OFFICER, X2, PDF, "boarding-pass.pdf")

    page.reload()
    page.get_by_text("File the closing report").wait_for(timeout=60_000)
    settle(page)
    for label, text in (("What was done", "Three lab visits"), ("Results", "A joint proposal"),
                        ("Follow-ups", "A return visit in spring")):
        tab_to(page, lambda f: f["tag"] == "TEXTAREA" and f["label"] == label)
        page.keyboard.type(text)
    assert focus_is_visible(page)
    step("File the closing report", "The closing report is filed")  # the visitor
    step("Validate the report", "The report is validated: the payment is due.")  # the visitor's partnership
    step("Record the payment", "is recorded.")
    assert store.query("SELECT status FROM exchanges WHERE id = ?", [X2]).iloc[0, 0] == "paid"
    report = closing.report(store, OFFICER, X2)
    assert (report["done"], report["follow_ups"]) == ("Three lab visits", "A return visit in spring")
    actions = workflow.history(store, OFFICER, X2)["action"].dropna().tolist()
    assert actions[:3] == ["host accepted", "agenda written", "signed the Commitment to Quality"]
    assert actions[-3:] == ["closing report filed", "closing report validated", "payment recorded"]
    assert page.blocked == []
