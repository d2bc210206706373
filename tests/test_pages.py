"""Every page runs in the real Streamlit runtime (AppTest) without an exception."""

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT, summaries, uptake
from cx.store import Store

APP = str(PROJECT_ROOT / "app.py")
PAGES = re.findall(r'st\.Page\("(app_pages/[^"]+)"', Path(APP).read_text())
OFFICER_PAGES = [page for page in PAGES if page != "app_pages/profile.py"]  # an organisation's (test_roles)


def test_every_page_is_in_the_navigation():
    assert sorted(PAGES) == sorted(f"app_pages/{p.name}" for p in (PROJECT_ROOT / "app_pages").glob("*.py"))


@pytest.mark.parametrize("page", OFFICER_PAGES)
def test_page_runs_on_the_demo_programme(app_db, page):
    app = AppTest.from_file(APP, default_timeout=120).run()
    app.switch_page(page).run()
    assert not app.exception, app.exception
    assert app.title, f"{page} shows no title"
    assert len(app.text) >= len(app.get("plotly_chart")), f"{page} has a chart without its sentence"


def test_home_shows_the_programme_from_the_database(app_db):
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    figures = {metric.label: metric.value for metric in app.metric}
    assert figures["Organisations"] == "400"
    assert figures["Exchanges"] == "300"
    assert figures["Lump sums paid"].startswith("EUR ")
    sentences = [text.value for text in app.text]
    assert summaries.exchanges_by_status(uptake.exchanges_by_status(Store(app_db))) in sentences
    assert [e.label for e in app.expander] == ["The numbers behind Exchanges by status",
                                               "The numbers behind Lump sums committed and paid",
                                               "The numbers behind Organisations by country and kind"]


def test_home_on_an_empty_database_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("CX_DB", str(tmp_path / "empty.duckdb"))
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    assert "database is empty" in app.info[0].value
    assert not app.metric
