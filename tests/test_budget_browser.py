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


def test_a_new_scenario_replaces_what_the_widgets_held(streamlit_server, offline_page):
    """The browser keeps a widget's value across reruns: a new scenario must overwrite it, not
    only forget it on the server (AppTest has no browser-side state, so this is tested here)."""
    page = offline_page
    page.goto(f"{streamlit_server}/budget")
    name = page.get_by_label("Name", exact=True)
    name.wait_for(timeout=60_000)
    name.fill("Ten percent more")
    name.press("Enter")
    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Ceilings change (%)").locator("input[type=range]")
    thumb.focus()
    for _ in range(10):
        thumb.press("ArrowRight")
    page.wait_for_timeout(1500)
    assert thumb.input_value() == "10"
    page.get_by_role("button", name="Uniform scenario").click()
    page.get_by_text("Basis: uniform").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert page.get_by_label("Name", exact=True).input_value() == "Uniform over eligible countries"
    assert thumb.input_value() == "0"
    assert page.blocked == []
