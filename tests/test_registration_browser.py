"""Registering for real: someone new logs in through a local OpenID Connect provider, registers
their organisation in chromium and sees it waiting; the partnership's manager logs in and accepts
it; the person logs in again and lands on their organisation's page. No request leaves the machine
but the provider's aborted stylesheet."""

from pathlib import Path

import pytest
from test_login_browser import PROVIDER_STYLESHEET, SCREENSHOTS, app_with_logins, log_in, log_out  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def choose(page, label: str, option: str) -> None:
    """Pick an option of a select box by typing it (long lists draw only the options in view)."""
    page.get_by_role("combobox", name=label).click()
    page.keyboard.type(option)
    page.get_by_role("option", name=option).first.click()


def settled(page) -> None:
    """Wait for the run to end and the page to draw (stale elements fade out after a run)."""
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=60_000)
    page.wait_for_timeout(1000)


def test_a_new_organisation_registers_is_accepted_and_logs_in(app_with_logins, browser, tmp_path):
    url, _ = app_with_logins
    screenshots = Path(SCREENSHOTS or tmp_path / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)

    context, page = log_in(browser, url, "ana@example.org", screenshots, "applicant", "Register your organisation")
    choose(page, "Partnership you register through", "P01")
    page.get_by_label("Organisation name").fill("Porto Digital Hub")
    choose(page, "Kind", "SME")
    choose(page, "Country where it is registered", "Portugal (PT)")
    page.get_by_label("City").fill("Porto")
    page.get_by_label("Contact person").fill("Ana Silva")
    page.get_by_role("button", name="Register").click()
    page.get_by_text("visits only as a member of a cluster organisation").wait_for(timeout=60_000)
    settled(page)
    page.screenshot(path=screenshots / "registration-refused-rule.png", full_page=True)
    page.get_by_role("textbox", name="Member of the cluster organisation").fill("Porto Tech Cluster")
    page.get_by_role("button", name="Register").click()
    page.get_by_text("Your registration is waiting").wait_for(timeout=60_000)
    settled(page)
    assert page.get_by_role("textbox", name="Organisation name").count() == 0  # the form is gone
    page.screenshot(path=screenshots / "registration-waiting.png")
    log_out(page, url)
    blocked = page.blocked
    context.close()

    context, page = log_in(browser, url, "mario@example.org", screenshots, "manager-registrations")
    page.get_by_role("link", name="Registrations", exact=True).click()
    page.get_by_text("1 waiting, oldest first.").wait_for(timeout=60_000)
    settled(page)
    page.screenshot(path=screenshots / "registrations-manager.png", full_page=True)
    page.get_by_role("button", name="Accept").click()
    page.get_by_text("Porto Digital Hub is registered as").wait_for(timeout=60_000)
    log_out(page, url)
    blocked += page.blocked
    context.close()

    context, page = log_in(browser, url, "ana@example.org", screenshots, "new-organisation")
    page.get_by_role("heading", name="Porto Digital Hub").wait_for(timeout=60_000)
    settled(page)
    assert "organisation O-" in page.inner_text("body")
    page.screenshot(path=screenshots / "registration-accepted.png")
    log_out(page, url)
    blocked += page.blocked
    context.close()
    assert set(blocked) <= {PROVIDER_STYLESHEET}, blocked
