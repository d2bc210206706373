"""Every page names a damaged database, a busy one or a broken rules file in one sentence, never a
traceback; a page's unexpected error shows Streamlit's short message, its details only in the log."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT, cli, rules
from test_integrity import _without_root_override

APP = str(PROJECT_ROOT / "app.py")
PAGES = re.findall(r'st\.Page\("(app_pages/[^"]+)"', Path(APP).read_text())


def run_page(page: str) -> AppTest:
    return AppTest.from_file(APP, default_timeout=120).switch_page(page).run()


@pytest.fixture
def broken_rules(tmp_path, monkeypatch):
    """A copy of the rules whose countries file is missing; the rulebook cache is emptied around it."""
    folder = tmp_path / "rules"
    shutil.copytree(rules.RULES_DIR, folder)
    (folder / "countries.csv").unlink()
    monkeypatch.setattr(rules, "RULES_DIR", folder)
    rules.load_rulebook.cache_clear()
    yield folder
    rules.load_rulebook.cache_clear()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_names_a_damaged_database(tmp_path, monkeypatch, page):
    path = tmp_path / "damaged.duckdb"
    path.write_bytes(b"id,name\nO1,Oulu\n")
    monkeypatch.setenv("CX_DB", str(path))
    at = run_page(page)
    assert not at.exception
    assert at.error[0].value.startswith(f"The database file {path} is damaged or not a cx database")
    assert "python -m cx init" in at.error[0].value


# The Data and Exchanges pages need the rules only to import or change a status, where their own
# message names the file; Registrations and Accounts do not read them.
@pytest.mark.parametrize("page", [p for p in PAGES if p not in ("app_pages/data.py", "app_pages/exchanges.py",
                                                                "app_pages/registrations.py", "app_pages/accounts.py")])
def test_every_page_names_a_missing_rules_file(app_db, broken_rules, page):
    at = run_page(page)
    assert not at.exception
    assert at.error[0].value == (f"The rules file {broken_rules / 'countries.csv'} is missing; correct it, or "
                                 "restore the project's rules (git checkout -- data/rules).")


def test_the_command_line_names_a_missing_or_incomplete_rules_file(broken_rules, capsys):
    assert cli.main(["lump-sum", "--host-country", "PT", "--start", "2026-03-02", "--end", "2026-03-06",
                     "--distance-km", "850"]) == 2
    assert capsys.readouterr().err == (f"error: the rules file {broken_rules / 'countries.csv'} is missing; correct "
                                       "it, or restore the project's rules (git checkout -- data/rules)\n")
    shutil.copy(rules.DATA_DIR / "rules" / "countries.csv", broken_rules)
    call = broken_rules / "call.toml"
    call.write_text(call.read_text().replace("min_working_days = 3\n", ""))
    rules.load_rulebook.cache_clear()
    assert cli.main(["check", "--visitor-country", "DE", "--host-country", "PT", "--start", "2026-03-02",
                     "--end", "2026-03-06"]) == 2
    assert capsys.readouterr().err.startswith(f"error: the rules file {call} lacks 'min_working_days'; correct it")


@pytest.mark.slow
def test_every_page_opens_on_a_read_only_database_and_a_write_says_it_is_read_only(demo_db, tmp_path):
    """Issue 11: a read-only file serves every page; an import on the Data page says the file is
    read-only. The pages run in a process without root's power to write any file."""
    path = tmp_path / "readonly.duckdb"
    shutil.copy(demo_db, path)
    path.chmod(0o444)
    tmp_path.chmod(0o755)
    done = subprocess.run([*_without_root_override(), sys.executable, str(PROJECT_ROOT / "tests" / "read_only_app.py"),
                           str(path)], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout)
    assert found["writable"] is False  # the test means something as root too
    assert set(found["pages"]) == set(PAGES)
    for page, shown in found["pages"].items():
        assert shown["exception"] == [] and shown["error"] == [] and shown["title"], (page, shown)
    assert found["import"]["exception"] == []
    assert found["import"]["error"] == [
        "Nothing was imported: the database readonly.duckdb is read-only: cx can show and export it but not change "
        "it (ask for write access or work on a copy)."]
    assert path.read_bytes() == demo_db.read_bytes()


def test_a_page_that_meets_a_busy_database_says_so(app_db, monkeypatch):
    monkeypatch.setenv("CX_BUSY_SECONDS", "0.3")
    at = run_page("app_pages/home.py")  # migrated and cached before the database gets busy
    holder = duckdb.connect(str(app_db))  # a writer holding the file (in this process: the other mode)
    try:
        at = run_page("app_pages/uptake.py")
    finally:
        holder.close()
    assert not at.exception
    assert at.error[0].value.startswith("The database is in use by another cx process; try again")


def test_home_does_not_show_the_database_path(app_db):
    at = run_page("app_pages/home.py")
    shown = " ".join(str(element.value) for kind in ("caption", "markdown", "title") for element in getattr(at, kind))
    assert str(app_db) not in shown and app_db.name not in shown


def test_an_unexpected_error_shows_a_short_message_without_details(app_db, monkeypatch):
    """The finding: the app showed a red traceback with file paths and a process id."""
    from cx import uptake

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail /srv/cx/data/cx.duckdb pid 4242")

    monkeypatch.setattr(uptake, "overview", broken)
    at = run_page("app_pages/home.py")
    assert len(at.exception) == 1
    shown = at.exception[0]
    assert "secret detail" not in shown.message and not shown.stack_trace


def test_forms_hold_text_to_the_column_limits(app_db):
    from cx.store import TEXT_LIMITS

    assert run_page("app_pages/find_a_host.py").text_area(key="objectives").proto.max_chars == TEXT_LIMITS["objectives"]


def test_the_data_page_refuses_a_workbook_with_a_cell_no_spreadsheet_writes(app_db):
    from test_integrity import _shared_strings_workbook

    at = run_page("app_pages/data.py")
    at.selectbox(key="import_kind").set_value("partnerships")
    at.file_uploader(key="import_file").upload("p.xlsx", _shared_strings_workbook(["id", "name", "P1", "y" * 40_000]))
    at.run()
    assert not at.exception
    assert "holds a cell of more than 32,767 characters" in at.error[0].value
