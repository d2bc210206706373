"""What a person sees: the app served by `streamlit run`, opened in headless Debian chromium."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_home_page_shows_the_programme(streamlit_server, offline_page, tmp_path):
    page = offline_page
    page.goto(streamlit_server)
    page.get_by_text("ClusterXchange at a glance").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)  # let plotly finish drawing before the screenshot
    page.screenshot(path=tmp_path / "home.png", full_page=True)

    body = page.inner_text("body")
    for text in ("Organisations", "Lump sums committed", "Lump sums paid", "Exchanges by status",
                 "Uptake", "Exchange map", "Find a host", "Budget scenarios", "Data"):
        assert text in body
    assert page.locator(".js-plotly-plot").count() >= 3
    assert (tmp_path / "home.png").stat().st_size > 10_000
    assert page.blocked == [], "the page asked the internet for something"


def test_a_shared_link_opens_its_page_in_the_app_on_a_fresh_server(streamlit_server, offline_page):
    """A link to a page, as the first request a server sees, still runs app.py's navigation.

    Streamlit runs a page alone (with a sidebar of file names) when a folder named `pages/` sits beside
    the entry script and a deep link arrives before anyone opened `/`: the pages live in `app_pages/`."""
    page = offline_page
    page.goto(f"{streamlit_server}/budget")
    page.get_by_role("heading", name="Budget scenarios").wait_for(timeout=60_000)
    sidebar = page.locator('[data-testid="stSidebarNav"]')
    sidebar.wait_for(timeout=60_000)
    names = sidebar.inner_text()
    assert "At a glance" in names and "Find a host" in names
    assert "find a host" not in names  # no file-name navigation
    assert page.blocked == []
