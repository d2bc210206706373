"""Downloads are written only when clicked (a callable given to st.download_button): in headless
chromium, the file a click brings holds what the database holds."""

import io
import zipfile

import pandas as pd
import pytest
from conftest import settle

from cx import io as cio
from cx.store import Store

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _open(page, server: str, path: str) -> None:
    page.goto(server)
    page.get_by_text("ClusterXchange at a glance").wait_for(timeout=60_000)
    page.goto(f"{server}/{path}")


def test_the_whole_database_export_is_written_on_click(streamlit_server, offline_page, demo_db):
    page = offline_page
    _open(page, streamlit_server, "data")
    page.get_by_role("tab", name="Export").click()
    button = page.get_by_role("button", name="Download cx-csv.zip")
    button.wait_for(timeout=60_000)
    with page.expect_download(timeout=60_000) as download:
        button.click()
    archive = zipfile.ZipFile(download.value.path())
    counts = Store(demo_db).counts()
    assert sorted(archive.namelist()) == sorted(f"{kind}.csv" for kind in cio.KINDS)
    for name in archive.namelist():
        table = pd.read_csv(io.BytesIO(archive.read(name)))
        assert len(table) == counts[name.removesuffix(".csv")] > 0, name
    assert "contact_email" not in pd.read_csv(io.BytesIO(archive.read("organisations.csv"))).columns
    assert page.blocked == []


def test_an_uptake_table_downloads_as_csv(streamlit_server, offline_page):
    page = offline_page
    _open(page, streamlit_server, "uptake")
    page.get_by_text("Visitors registered").wait_for(timeout=60_000)
    numbers = page.get_by_test_id("stExpander").filter(has_text="The numbers behind Partnerships against their targets")
    numbers.get_by_text("The numbers behind").click()
    csv = numbers.get_by_test_id("stDownloadButton").filter(has_text="CSV")
    csv.wait_for(timeout=60_000)
    settle(page)  # a click while the script still runs reaches a button the next run replaces
    with page.expect_download(timeout=60_000) as download:
        csv.click()
    assert download.value.suggested_filename == "partnerships-against-their-targets.csv"
    table = pd.read_csv(download.value.path())
    assert {"partnership_id", "completed"} <= set(table.columns) and len(table) > 0
    assert page.blocked == []
