"""What a visitor sees on Find a host: served by `streamlit run`, in headless Debian chromium, offline."""

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from cx.store import Store
from cx.visitors import visitor_choices
from viewers import OFFICER

pytestmark = [pytest.mark.browser, pytest.mark.slow]


OUTLINE_GREY = 0xBD  # the country outlines' #bdbdbd (cx.charts.host_suggestions_map)


def test_a_visitor_finds_hosts_sees_the_map_and_requests_an_exchange(streamlit_server, offline_page, tmp_path):
    page = offline_page
    outlines = []  # the status of each fetch of the country outlines, which the app serves itself
    page.on("response", lambda r: outlines.append(r.status) if r.url.endswith("/app/static/countries.geojson") else None)
    page.goto(streamlit_server)
    page.get_by_role("link", name="Find a host").click()
    page.get_by_text("Pick the visiting organisation").wait_for(timeout=60_000)
    page.get_by_label("Objectives").fill("medical devices and biotechnology")
    page.get_by_role("button", name="Find hosts").click()
    page.get_by_text("10 hosts for").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .maplibregl-canvas").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # let MapLibre draw before the screenshot
    page.locator(".js-plotly-plot").first.screenshot(path=tmp_path / "suggestions_map.png")
    page.get_by_text("Request this exchange").first.scroll_into_view_if_needed()
    page.screenshot(path=tmp_path / "find_a_host.png")

    body = page.inner_text("body")
    assert "1. " in body and "lump sum EUR" in body and "km away" in body
    assert page.get_by_role("button", name="Request this exchange").count() == 10
    page.get_by_role("button", name="Request this exchange").first.click()
    page.get_by_text("requested with").wait_for(timeout=60_000)
    assert page.blocked == []  # nothing was fetched from outside 127.0.0.1
    assert (tmp_path / "find_a_host.png").stat().st_size > 20_000
    assert (tmp_path / "suggestions_map.png").stat().st_size > 10_000
    assert outlines and set(outlines) == {200}
    pixels = np.asarray(Image.open(tmp_path / "suggestions_map.png").convert("RGB")).astype(int)
    assert (np.abs(pixels - OUTLINE_GREY).max(axis=2) <= 12).mean() > 0.01  # the outlines are drawn


def test_the_visitor_search_reruns_only_the_picker(streamlit_server, offline_page, demo_db):
    """Typing a search narrows the visitor list (a fragment rerun); the objectives typed meanwhile stay."""
    page = offline_page
    page.goto(streamlit_server)
    page.get_by_role("link", name="Find a host").click()
    page.get_by_text("Pick the visiting organisation").wait_for(timeout=60_000)
    page.get_by_label("Objectives").fill("hydrogen valleys")
    wanted = visitor_choices(Store(demo_db), OFFICER).iloc[-1]  # the last of the list: not among the first 50 shown
    search = page.get_by_label("Search the visiting organisations")
    search.fill(wanted.name)  # its id
    search.press("Enter")
    expect(page.get_by_role("combobox", name="Visiting organisation")).to_have_value(wanted["label"], timeout=60_000)
    assert page.get_by_label("Objectives").input_value() == "hydrogen valleys"
    assert page.blocked == []
