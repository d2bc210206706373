"""One exchange from the host's answer to the payment, clicked through the Exchange steps page in
headless Debian chromium, offline, by the local officer (who may take every party's step: the
per-role views are tested with AppTest in test_exchange_page.py)."""

import datetime as dt

import pytest
from conftest import settle
from playwright.sync_api import expect
from steps import PDF
from test_access import X1, X2
from viewers import OFFICER

from cx import exchanges as workflow
from cx import io as cio
from cx.store import open_store

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def x2_alone(path):
    """The template programme at `path` with X2 (requested, from 27 May 2030) alone, so the page opens on it."""
    store = open_store(path)
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    with store.transaction() as con:
        con.execute("DELETE FROM exchanges WHERE id = ?", [X1])
    return store


def test_answer_agenda_signatures_approval_report_validation_and_payment(serve, offline_page, tmp_path):
    store = x2_alone(tmp_path / "path.duckdb")
    page = offline_page
    page.goto(serve(store.path))
    page.get_by_role("link", name="Exchange steps").click()
    page.get_by_role("button", name="Accept").click()
    page.get_by_text(f"You accepted {X2}").wait_for(timeout=60_000)
    settle(page)  # text typed into a form that a rerun is still drawing can be lost
    page.get_by_label("Mon 27 May").fill("Welcome and tour of the test lab")
    page.get_by_role("button", name="Save the agenda").click()
    page.get_by_text("The agenda is saved.").wait_for(timeout=60_000)
    signs = page.get_by_role("button", name="Sign the")
    for left in range(5, -1, -1):  # the four parties on the Commitment to Quality, two on the financial agreement
        signs.first.click()
        expect(signs).to_have_count(left, timeout=60_000)
    page.screenshot(path=tmp_path / "signed.png", full_page=True)
    page.get_by_role("button", name="Approve the exchange").click()
    page.get_by_text(f"{X2} is approved; its lump sum is frozen.").wait_for(timeout=60_000)

    for status in ("ongoing", "completed"):  # the stay (on the Exchanges page, tested there)
        workflow.change_status(store, OFFICER, X2, status, today=dt.date(2030, 6, 7))  # the stay's last day
    page.reload()
    page.get_by_text("Closing report").first.wait_for(timeout=60_000)
    settle(page)
    evidence = tmp_path / "boarding-pass.pdf"
    evidence.write_bytes(PDF)
    page.locator("input[type=file]").set_input_files(evidence)
    page.get_by_role("button", name="Add this file").click()
    page.get_by_text("boarding-pass.pdf is added.").wait_for(timeout=60_000)
    settle(page)
    page.get_by_label("What was done").fill("Three lab visits")
    page.get_by_label("Results").fill("A joint proposal")
    page.get_by_label("Follow-ups").fill("A return visit in spring")
    page.get_by_role("button", name="File the closing report").click()
    page.get_by_text("The closing report is filed").wait_for(timeout=60_000)
    page.get_by_role("button", name="Validate the report").click()
    page.get_by_text("The report is validated: the payment is due.").wait_for(timeout=60_000)
    page.get_by_role("button", name="Record the payment").click()
    page.get_by_text("is recorded.").wait_for(timeout=60_000)
    page.get_by_text("Paid EUR").wait_for(timeout=60_000)
    page.screenshot(path=tmp_path / "paid.png", full_page=True)

    assert store.query("SELECT status FROM exchanges WHERE id = ?", [X2]).iloc[0, 0] == "paid"
    actions = workflow.history(store, OFFICER, X2)["action"].dropna().tolist()
    assert actions[:3] == ["host accepted", "agenda written", "signed the Commitment to Quality"]
    assert actions[-3:] == ["closing report filed", "closing report validated", "payment recorded"]
    assert page.blocked == []  # nothing was fetched from outside 127.0.0.1
