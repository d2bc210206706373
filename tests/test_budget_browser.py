"""The Budget scenarios page in headless Debian chromium, with every request off the machine blocked."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_budget_page_runs_a_scenario_offline(streamlit_server, offline_page, tmp_path):
    page = offline_page
    page.goto(streamlit_server)
    page.get_by_text("ClusterXchange at a glance").wait_for(timeout=60_000)
    page.get_by_role("link", name="Budget scenarios").click()
    page.get_by_text("Ceilings and host-country mix").wait_for(timeout=60_000)
    page.get_by_role("button", name="Run the simulation").click()
    page.get_by_text("Affordable (95%)").wait_for(timeout=60_000)
    plots = page.locator(".js-plotly-plot")
    plots.nth(1).wait_for(timeout=60_000)
    plots.first.scroll_into_view_if_needed()
    page.wait_for_timeout(1500)  # let plotly finish drawing before the screenshot
    page.screenshot(path=tmp_path / "budget.png")

    body = page.inner_text("body")
    for text in ("Expected total", "Over the envelope", "Indicative ceilings",
                 "Results as CSV", "Results as Excel"):
        assert text in body
    # The distribution and the bars drew their marks, not only empty frames.
    assert plots.first.locator("g.point").count() > 10
    assert plots.nth(1).locator("g.point").count() > 10
    assert (tmp_path / "budget.png").stat().st_size > 20_000
    assert page.blocked == []  # the map and everything else came from 127.0.0.1
