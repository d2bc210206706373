"""The Uptake and Exchange map pages in headless chromium with every request off 127.0.0.1 blocked:
the map must draw its country shapes, arcs and cities from the project's own data."""

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MAP_STATE = """() => {
    const plot = document.querySelector('.js-plotly-plot');
    const map = plot && plot._fullLayout && plot._fullLayout.map && plot._fullLayout.map._subplot
        && plot._fullLayout.map._subplot.map;
    if (!map || !map.loaded() || !map.isStyleLoaded()) return null;
    const rendered = {};
    for (const feature of map.queryRenderedFeatures()) {
        rendered[feature.layer.type] = (rendered[feature.layer.type] || 0) + 1;
    }
    return {traces: plot._fullData.map(t => t.type + ':' + t.name), rendered: rendered,
            svgPaths: plot.querySelectorAll('svg path').length, canvases: plot.querySelectorAll('canvas').length};
}"""


def _pixels_like(image: Image.Image, colour: tuple[int, int, int], tolerance: int = 40) -> int:
    pixels = np.asarray(image.convert("RGB"), dtype="int16")
    return int((np.abs(pixels - np.array(colour)) <= tolerance).all(axis=-1).sum())


def _open(page, server: str, path: str) -> None:
    """Open the app first: a server whose first visit is a deep link runs the page alone (Streamlit's
    pages-folder mode) until the entry script has called st.navigation."""
    page.goto(server)
    page.get_by_text("ClusterXchange at a glance").wait_for(timeout=60_000)
    page.goto(f"{server}/{path}")


def test_the_map_draws_offline(streamlit_server, offline_page, tmp_path):
    page = offline_page
    _open(page, streamlit_server, "map")
    page.get_by_text("Shade countries by exchanges").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    state = page.wait_for_function(MAP_STATE, timeout=60_000).json_value()
    page.wait_for_timeout(1000)  # let MapLibre paint the last frame before the screenshot
    page.screenshot(path=tmp_path / "map.png", full_page=True)
    page.locator(".js-plotly-plot").first.screenshot(path=tmp_path / "map-plot.png")

    traces = state["traces"]
    assert traces[:2] == ["choroplethmap:countries", "choroplethmap:exchanges hosted"]
    assert any(t.startswith("scattermap:") and "exchange" in t for t in traces)  # the arcs
    assert {"scattermap:hosts", "scattermap:visitors"} <= set(traces)
    # MapLibre drew the shapes (fill), the arcs (line) and the cities (circle) on its canvas.
    assert state["rendered"].get("fill", 0) > 30
    assert state["rendered"].get("line", 0) > 10
    assert state["rendered"].get("circle", 0) > 20
    assert state["canvases"] >= 1 and state["svgPaths"] > 5  # the legend and colour bar are SVG paths
    plot = Image.open(tmp_path / "map-plot.png")
    assert _pixels_like(plot, (240, 240, 240), 6) > 10_000  # countries without exchanges, light grey
    assert _pixels_like(plot, (64, 89, 122), 40) > 500  # the busiest countries, cividis' dark blue at 75% on white
    assert _pixels_like(plot, (230, 140, 90), 45) > 200  # the orange arcs
    assert "No exchange matches" not in page.inner_text("body")
    assert page.blocked == [], "the map asked the internet for something"


def test_a_shared_link_opens_the_filtered_uptake_page(streamlit_server, offline_page, tmp_path):
    page = offline_page
    _open(page, streamlit_server, "uptake")
    page.get_by_text("Visitors registered").wait_for(timeout=60_000)
    everyone = page.locator('[data-testid="stMetric"]').first.inner_text()
    _open(page, streamlit_server, "uptake?visitor_country=DE&visitor_country=FR&shade=sent")
    page.get_by_text("Visitors registered").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=tmp_path / "uptake.png", full_page=True)

    chosen = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').nth(1).inner_text()
    assert "DE" in chosen and "FR" in chosen
    assert page.locator('[data-testid="stMetric"]').first.inner_text() != everyone
    assert "visitor_country=DE" in page.url
    assert page.locator(".js-plotly-plot").count() >= 3
    assert page.blocked == [], "the page asked the internet for something"


def test_filters_from_a_shared_link_carry_over_to_the_map(streamlit_server, offline_page):
    page = offline_page
    _open(page, streamlit_server, "uptake?visitor_country=DE&visitor_country=FR")
    page.get_by_text("Visitors registered").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    page.get_by_role("link", name="Exchange map").click()
    page.get_by_text("Shade countries by exchanges").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    chosen = page.locator('[data-testid="stSidebar"] [data-testid="stMultiSelect"]').nth(1).inner_text()
    assert "DE" in chosen and "FR" in chosen
    assert "The link asked for" not in page.inner_text("body")
    assert page.blocked == []


def test_a_link_may_choose_the_programme_s_period_and_hears_when_a_value_is_refused(streamlit_server, offline_page):
    page = offline_page
    _open(page, streamlit_server, "uptake?period=2020-01-01&period=2022-12-31&visitor_country=ZZ")
    page.get_by_text("Visitors registered").wait_for(timeout=60_000)
    page.wait_for_timeout(1500)
    assert "01 Jan 2020 to 31 Dec 2022" in page.inner_text("body")
    assert "visitor_country=ZZ" in page.locator('[data-testid="stSidebar"]').inner_text()
    assert page.blocked == []
