"""Logging in for real: a local OpenID Connect provider (oidc-provider-mock, which accepts any user
name: for tests only), Streamlit with a test `[auth]` secrets file, and headless chromium logging in
as an officer, a partnership manager and an organisation, checking what each sees, and logging out.

Every request off the machine is blocked; the provider's pages ask for a stylesheet from a CDN,
and that aborted request is the only one allowed."""

import contextlib
import os
import subprocess
from pathlib import Path

import pytest
from conftest import offline_context
from viewers import OFFICER

from cx import PROJECT_ROOT, accounts
from cx.local_servers import app_command, free_port, provider_command, wait_for, write_login_secrets
from cx.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PROVIDER_STYLESHEET = "https://cdn.jsdelivr.net/npm/@picocss/pico@2/css/pico.min.css"
SCREENSHOTS = os.environ.get("CX_SCREENSHOTS")  # a folder to keep the screenshots in, to look at them


def started(args, log_path, **env) -> subprocess.Popen:
    return subprocess.Popen(args, cwd=PROJECT_ROOT, env={**os.environ, **env}, stdout=open(log_path, "w"),
                            stderr=subprocess.STDOUT)


@contextlib.contextmanager
def serving_with_logins(db: Path, folder: Path):
    """The provider and the app with logins on, on database file `db`, each on its own port of
    127.0.0.1 (logging into `folder`); yields the app's URL."""
    provider_port, app_port = free_port(), free_port()
    provider = f"http://127.0.0.1:{provider_port}"
    secrets = write_login_secrets(folder / "secrets.toml", app_port, provider, "cx-test")
    processes = [
        started(provider_command(provider_port), folder / "provider.log"),
        started(app_command(app_port, "--secrets.files", str(secrets)), folder / "streamlit.log", CX_DB=str(db)),
    ]
    try:
        wait_for(f"{provider}/.well-known/openid-configuration", processes[0], folder / "provider.log")
        wait_for(f"http://127.0.0.1:{app_port}/_stcore/health", processes[1], folder / "streamlit.log")
        yield f"http://127.0.0.1:{app_port}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=20)


@pytest.fixture
def app_with_logins(demo_db, tmp_path):
    """The app with logins on (`serving_with_logins`) on a copy of the demo programme with an officer,
    a partnership manager of P01 and a member organisation of P02; yields (app URL, the member's name)."""
    db = tmp_path / "logins.duckdb"
    db.write_bytes(demo_db.read_bytes())
    store = Store(db)
    store.migrate()
    organisations = store.table("organisations").set_index("id", drop=False)
    visitors = store.table("exchanges")["visitor_id"]
    member = organisations.loc[visitors[visitors.map(organisations["partnership_id"]) == "P02"].iloc[0]]
    accounts.add_account(store, OFFICER, "olga@example.org", "officer")
    accounts.add_account(store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    accounts.add_account(store, OFFICER, "member@example.org", "organisation", organisation_id=member["id"])
    with serving_with_logins(db, tmp_path) as url:
        yield url, member["name"]


def log_in(browser, url: str, login: str, screenshots, name: str, expect: str | None = None):
    """A fresh browser session that logs in as `login` through the provider's form, once the app
    shows `expect` (default: the line naming who is logged in)."""
    context, page = offline_context(browser, {"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_role("button", name="Log in").click()
    page.locator("input[name=sub]").fill(login)
    page.screenshot(path=screenshots / f"{name}-provider.png")
    page.get_by_role("button", name="Authorize").click()
    page.get_by_text(expect or f"Logged in as {login}").first.wait_for(timeout=60_000)
    return context, page


def log_out(page, url: str) -> None:
    page.get_by_role("button", name="Log out").click()
    end_session = page.get_by_role("button", name="End session")  # the provider's confirmation, if it asks
    try:
        end_session.wait_for(timeout=5_000)
        end_session.click()
    except Exception:  # noqa: BLE001 - no confirmation asked: already back at the app
        pass
    page.goto(url)
    page.get_by_role("button", name="Log in").wait_for(timeout=60_000)


def navigation(page) -> list[str]:
    """The page titles in the sidebar (each link's text is its icon's name, then its title)."""
    return [text.strip().splitlines()[-1] for text in page.locator("[data-testid=stSidebarNav] a").all_inner_texts()]


def test_officer_manager_and_organisation_log_in_see_their_pages_and_log_out(app_with_logins, browser, tmp_path):
    url, member_name = app_with_logins
    screenshots = Path(SCREENSHOTS or tmp_path / "screenshots")
    screenshots.mkdir(parents=True, exist_ok=True)

    context, page = log_in(browser, url, "olga@example.org", screenshots, "officer")
    page.get_by_text("ClusterXchange at a glance").wait_for(timeout=60_000)
    assert {"At a glance", "Uptake", "Budget scenarios", "Data", "Exchanges", "Accounts"} <= set(navigation(page))
    page.get_by_role("link", name="Accounts").click()
    page.get_by_role("button", name="Save the account").wait_for(timeout=60_000)
    page.wait_for_timeout(1000)  # let the accounts table draw before the screenshot
    page.screenshot(path=screenshots / "officer.png")
    log_out(page, url)
    blocked = page.blocked
    context.close()

    context, page = log_in(browser, url, "mario@example.org", screenshots, "manager")
    assert "Accounts" not in navigation(page) and "Budget scenarios" not in navigation(page)
    page.get_by_role("link", name="Exchanges").click()
    page.get_by_text("Move an exchange on").wait_for(timeout=60_000)
    page.screenshot(path=screenshots / "manager.png")
    assert "partnership manager of P01" in page.inner_text("body")
    log_out(page, url)
    blocked += page.blocked
    context.close()

    context, page = log_in(browser, url, "member@example.org", screenshots, "organisation")
    page.get_by_text("Our exchanges").wait_for(timeout=60_000)
    page.locator("[data-testid=stDataFrame]").wait_for(timeout=60_000)  # its exchanges, as visitor
    page.locator("[data-testid=stStatusWidget]").wait_for(state="hidden", timeout=60_000)
    page.wait_for_timeout(1000)  # let the table draw before the screenshot
    assert navigation(page) == ["Our organisation", "Find a host", "Find a visitor", "Exchange steps"]
    assert page.get_by_role("heading", name=member_name).count() == 1
    page.screenshot(path=screenshots / "organisation.png")
    log_out(page, url)
    page.screenshot(path=screenshots / "logged-out.png")
    blocked += page.blocked
    context.close()

    assert set(blocked) <= {PROVIDER_STYLESHEET}, blocked
