"""Text people typed is shown as text on every page: an organisation, partnership or scenario named
with Markdown image syntax shows the syntax and makes the browser fetch nothing."""

import pandas as pd
import pytest

from cx import budget
from cx import io as cio
from cx.store import open_store
from viewers import OFFICER

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMAGE = "![x](http://203.0.113.5/x.png)"
PAGES = ["", "uptake", "map", "find_a_host", "budget", "data", "exchanges"]


@pytest.fixture
def hostile_server(demo_db, tmp_path, serve):
    """The demo programme re-imported with an image link in every name, city, description and
    sector, and a saved scenario named with one."""
    path = tmp_path / "hostile.duckdb"
    path.write_bytes(demo_db.read_bytes())
    store = open_store(path)
    for kind, columns in (("partnerships", ["name"]), ("organisations", ["name", "city", "description", "sectors"])):
        frame = cio.export_frame(store, OFFICER, kind)
        for column in columns:
            frame[column] = frame[column].fillna("").astype(str) + f" {IMAGE} *bold* <b>tag</b>"
        # Organisations the demo could not place keep their names: their new city cannot be placed either.
        report = cio.import_file(store, OFFICER, kind, frame.to_csv(index=False).encode(), f"{kind}.csv", mode="valid")
        assert report.updated >= 0.99 * len(frame), report.findings
    budget.save_scenario(store, budget.uniform_scenario(name=f"Spring {IMAGE}"))
    return serve(path)


def visit(page, url, ready):
    page.goto(url)
    page.get_by_role("heading", name=ready).first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)  # let the page's elements and charts finish drawing


def test_typed_text_never_makes_the_browser_fetch(hostile_server, offline_page):
    page = offline_page
    for path, heading in zip(PAGES, ["ClusterXchange at a glance", "Uptake", "Exchange map", "Find a host",
                                     "Budget scenarios", "Data", "Exchanges"]):
        visit(page, f"{hostile_server}/{path}", heading)
        assert page.locator("img[src*='203.0.113.5']").count() == 0, path

    visit(page, f"{hostile_server}/uptake", "Uptake")  # the findings list names, in a tab of their own
    page.get_by_role("tab", name="Data quality").click()
    page.get_by_text("Exchanges that break a rule").first.click()
    page.wait_for_timeout(2000)
    assert page.locator("img[src*='203.0.113.5']").count() == 0

    visit(page, f"{hostile_server}/find_a_host", "Find a host")
    page.get_by_label("Objectives").fill("digital innovation and software")
    page.get_by_role("button", name="Find hosts").click()
    page.get_by_text("hosts for").first.wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    assert page.blocked == [], "a host's name made the browser ask the internet for something"
    body = page.inner_text("body")
    assert f"{IMAGE} *bold* <b>tag</b>" in body  # the name as typed, in the host's heading

    visit(page, f"{hostile_server}/budget", "Budget scenarios")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Saved scenario").locator("input").click()
    page.get_by_role("option", name=f"Spring {IMAGE}").click()
    page.get_by_test_id("stBaseButton-secondary").filter(has_text="Open").click()
    page.get_by_text("Basis: uniform").wait_for(timeout=60_000)
    page.get_by_role("button", name="Run the simulation").click()
    page.get_by_text("Affordable (95%)").wait_for(timeout=60_000)
    page.wait_for_timeout(2000)
    assert page.get_by_label("Name", exact=True).input_value() == f"Spring {IMAGE}"

    assert page.locator("img[src*='203.0.113.5']").count() == 0
    assert page.blocked == [], "typed text made the browser ask the internet for something"
