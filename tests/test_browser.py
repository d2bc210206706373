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
