"""A lump sum above the host country's ceiling: refused on import, unless an officer keeps it and
says why (issue 11), recorded in the exchange's audit trail; on both back ends and per role."""

import subprocess
import sys

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT
from cx import io as cio
from cx.access import NotAllowed, Viewer
from cx.errors import CxError
from cx.export import to_csv_bytes
from cx.store import TEXT_LIMITS, Store
from racers import FIRST_DAY, LAST_DAY, race_programme
from viewers import OFFICER, PLANNER, manager, organisation

BACKENDS = ["duckdb", "postgres"]
ABOVE = 1_600  # France's ceiling is EUR 1,100 (data/rules/countries.csv)
REASON = "the host's second site in Grenoble doubles the travel; approved by the unit head on 2027-02-01"


def above_ceiling_file(amount: int = ABOVE) -> bytes:
    return to_csv_bytes(pd.DataFrame([{"id": "A-V001", "visitor_id": "V001", "host_id": "H1", "start_date": FIRST_DAY,
                                       "end_date": LAST_DAY, "status": "approved", "lump_sum_eur": amount}]))


def imported(store, viewer=OFFICER, **options):
    return cio.import_file(store, viewer, "exchanges", above_ceiling_file(), "x.csv", **options)


def lump_sum(store) -> tuple:
    return tuple(store.query("SELECT status, lump_sum_eur FROM exchanges WHERE id = 'A-V001'").iloc[0])


def override_events(store) -> pd.DataFrame:
    return store.query("SELECT from_status, to_status, changed_by, action, note FROM exchange_events "
                       "WHERE exchange_id = 'A-V001' AND action IS NOT NULL ORDER BY id")


def test_without_an_override_the_lump_sum_above_the_ceiling_is_refused(store):
    race_programme(store, 1)
    report = imported(store)
    assert not report.written and report.rejected == 1
    finding = report.findings.iloc[0]
    assert (finding["rule"], finding["outcome"]) == ("above_ceiling", "rejected")
    assert finding["message"] == ("the file says EUR 1,600, above the ceiling for FR (EUR 1,100); a lump sum may not "
                                  "exceed it (an officer may keep it, giving the reason)")
    assert lump_sum(store)[0] == "requested" and override_events(store).empty


def test_an_officer_keeps_it_with_a_reason_recorded_in_the_audit_trail(store):
    race_programme(store, 1)
    report = imported(store, override_ceiling=f"  {REASON} ")
    assert report.written and report.rejected == 0 and report.flagged == 1
    finding = report.findings.iloc[0]
    assert (finding["rule"], finding["outcome"]) == ("above_ceiling", "flagged")
    assert finding["message"].endswith(f"(EUR 1,100); kept by {OFFICER.identity}: {REASON}")
    assert lump_sum(store) == ("approved", ABOVE)
    events = override_events(store)
    assert events.values.tolist() == [["approved", "approved", f"{OFFICER.identity} (import of x.csv)",
                                       "lump sum kept above the ceiling",
                                       f"EUR 1,600 kept above the ceiling for FR (EUR 1,100): {REASON}"]]
    trail = store.query("SELECT to_status FROM exchange_events WHERE exchange_id = 'A-V001' ORDER BY id")
    assert trail["to_status"].tolist() == ["requested", "approved", "approved"]  # the status change, then why


def test_the_kept_amount_imports_back_unchanged_without_a_new_override(store):
    race_programme(store, 1)
    imported(store, override_ceiling=REASON)
    again = imported(store)
    assert again.rejected == 0 and again.unchanged == 1 and not again.written
    assert again.findings["message"].iloc[0].endswith("; cx holds that amount already (kept by an officer)")
    higher = cio.import_file(store, OFFICER, "exchanges", above_ceiling_file(ABOVE + 1), "y.csv")
    assert higher.rejected == 1 and lump_sum(store) == ("approved", ABOVE)
    assert len(override_events(store)) == 1


@pytest.mark.parametrize("reason", ["", "   ", "r" * (TEXT_LIMITS["reason"] + 1)])
def test_an_override_needs_a_reason_that_fits(store, reason):
    race_programme(store, 1)
    with pytest.raises(CxError, match=r"needs a reason|the limit is 2,000"):
        imported(store, override_ceiling=reason)
    assert lump_sum(store)[0] == "requested" and override_events(store).empty


def test_only_an_exchanges_import_takes_the_override(store):
    with pytest.raises(CxError, match="^only exchanges have lump sums; organisations take no override"):
        cio.import_path(store, OFFICER, "organisations", cio.template_path("organisations"), override_ceiling=REASON)
    assert store.table("organisations").empty


@pytest.mark.parametrize("viewer, refused", [
    (manager("P1"), "keep a lump sum above the host country's ceiling"),  # a manager imports P1's exchanges
    (organisation("V001"), "import exchanges"), (PLANNER, "import exchanges")], ids=lambda v: getattr(v, "role", ""))
def test_only_an_officer_may_keep_a_lump_sum_above_the_ceiling(store, viewer, refused):
    race_programme(store, 1)
    with pytest.raises(NotAllowed, match=f"may not {refused}$"):
        imported(store, viewer, override_ceiling=REASON)
    assert lump_sum(store)[0] == "requested" and override_events(store).empty
    assert not cio.CeilingOverride.allowed(viewer) and cio.CeilingOverride.allowed(OFFICER)


def test_the_command_line_keeps_it_only_with_the_option(tmp_path):
    store = race_programme(tmp_path / "cx.duckdb", 1)
    path = tmp_path / "x.csv"
    path.write_bytes(above_ceiling_file())

    def cx_import(*options):
        return subprocess.run([sys.executable, "-m", "cx", "import", "exchanges", str(path), "--db", str(store.path),
                               *options], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)

    refused = cx_import()
    assert refused.returncode == 1 and "[above_ceiling, rejected]" in refused.stdout
    empty = cx_import("--override-ceiling", " ")
    assert empty.returncode == 2 and empty.stderr.startswith("error: keeping a lump sum above the ceiling needs a reason")
    kept = cx_import("--override-ceiling", REASON)
    assert kept.returncode == 0, kept.stderr
    assert f"kept by {Viewer.local().identity}: {REASON} [above_ceiling, flagged]" in kept.stdout
    assert lump_sum(store) == ("approved", ABOVE) and len(override_events(store)) == 1


@pytest.fixture
def programme_db(tmp_path, monkeypatch):
    store = race_programme(tmp_path / "page.duckdb", 1)
    monkeypatch.setenv("CX_DB", str(store.path))
    return store


def data_page_with_the_file(secrets=None, user=None) -> AppTest:
    app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120)
    if secrets:
        app.secrets, app.user = secrets, user
    app.run().switch_page("app_pages/data.py").run()
    app.selectbox(key="import_kind").set_value("exchanges")
    app.file_uploader(key="import_file").upload("x.csv", above_ceiling_file())
    return app.run()


def test_the_data_page_offers_the_override_to_an_officer_and_records_it(programme_db):
    app = data_page_with_the_file()
    app.text_input(key="import_override_ceiling").input(REASON)
    app.button(key="import_go").click().run()
    assert not app.exception, app.exception
    assert app.success[0].value.startswith("Imported 1 exchanges row in x.csv: 0 added, 1 updated")
    assert lump_sum(programme_db) == ("approved", ABOVE)
    assert override_events(programme_db)["note"].tolist() == [
        f"EUR 1,600 kept above the ceiling for FR (EUR 1,100): {REASON}"]


def test_the_data_page_offers_no_override_to_a_partnership_manager(programme_db):
    from cx import accounts
    from test_roles import AUTH

    accounts.add_account(Store(programme_db.path), OFFICER, "mario@example.org", "partnership_manager",
                         partnerships=["P1"])
    app = data_page_with_the_file(AUTH, {"is_logged_in": True, "email": "mario@example.org",
                                         "sub": "mario@example.org"})
    assert not [t for t in app.text_input if t.key == "import_override_ceiling"]
    app.button(key="import_go").click().run()
    assert not app.exception, app.exception
    assert app.error[0].value.startswith("Nothing imported: 1 of 1 exchanges row in x.csv rejected")
    assert lump_sum(programme_db)[0] == "requested"
