"""The Data page in the Streamlit runtime: upload, sheet choice, report, modes, export, templates."""

import io

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from cx import PROJECT_ROOT
from cx import io as cio
from cx.store import Store, open_store
from viewers import OFFICER

APP = str(PROJECT_ROOT / "app.py")


@pytest.fixture
def empty_db(tmp_path, monkeypatch):
    path = tmp_path / "page.duckdb"
    open_store(path)
    monkeypatch.setenv("CX_DB", str(path))
    return Store(path)


def data_page():
    app = AppTest.from_file(APP, default_timeout=120).run()
    return app.switch_page("app_pages/data.py").run()


def upload(app, kind, name, data, button="import_go", mode=None):
    app.selectbox(key="import_kind").set_value(kind)
    app.file_uploader(key="import_file").upload(name, data)
    app.run()
    if mode:
        app.radio(key="import_mode").set_value(mode).run()
    app.button(key=button).click().run()
    assert not app.exception, app.exception
    return app


def test_an_empty_database_offers_import_and_templates(empty_db):
    app = data_page()
    assert not app.exception
    assert app.info[0].value.startswith("Choose a file to check")
    assert any(i.value == "Nothing to export yet: the database is empty." for i in app.info)
    assert [b.label for b in app.download_button] == ["partnerships.csv", "organisations.csv", "missions.csv",
                                                          "exchanges.csv"]
    assert [t.value["column"].tolist() for t in app.table] == [
        [f"`{spec.name}`" for spec in cio.FIELDS[kind]] for kind in cio.KINDS]


def test_importing_the_templates_fills_the_database(empty_db):
    app = data_page()
    for kind in cio.KINDS:
        upload(app, kind, f"{kind}.csv", cio.template_path(kind).read_bytes())
        assert app.success[0].value.startswith(f"Imported {len(cio.template_path(kind).read_text().splitlines()) - 1} {kind}")
    assert empty_db.counts()["exchanges"] == 2
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Added": "2", "Updated": "0", "Unchanged": "0", "Rejected": "0", "Flagged": "0"}


def test_rejected_rows_are_reported_and_downloadable_and_all_or_nothing_writes_nothing(empty_db):
    app = data_page()
    upload(app, "partnerships", "partnerships.csv", cio.template_path("partnerships").read_bytes())
    data = b"id;name;target_exchanges\nP03;Tourism;50\nP04;Health;-5\nP05;;40\n"
    upload(app, "partnerships", "more.csv", data, mode="all")
    assert app.error[0].value.startswith("Nothing imported: 2 of 3 partnerships rows in more.csv rejected")
    report = app.dataframe[0].value
    assert report[["row", "column", "rule"]].values.tolist() == [[3, "target_exchanges", "not_negative"],
                                                                 [4, "name", "required"]]
    assert app.download_button(key="import_report_download").label == "Download the report (CSV)"
    assert empty_db.counts()["partnerships"] == 2
    app.radio(key="import_mode").set_value("valid").run()
    app.button(key="import_go").click().run()
    assert app.warning[0].value.startswith("Imported 3 partnerships rows in more.csv: 1 added")
    assert empty_db.counts()["partnerships"] == 3


def test_excel_sheets_are_offered_and_a_bad_file_is_one_sentence(empty_db):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Read me"
    sheet = workbook.create_sheet("Partnerships")
    sheet.append(["id", "name", "target_exchanges"])
    sheet.append(["P09", "Textile Partnership", 90])
    buffer = io.BytesIO()
    workbook.save(buffer)
    app = data_page()
    app.file_uploader(key="import_file").upload("p.xlsx", buffer.getvalue())
    app.run()
    assert app.selectbox(key="import_sheet").options == ["Read me", "Partnerships"]
    app.selectbox(key="import_sheet").set_value("Partnerships").run()
    app.button(key="import_check").click().run()
    assert app.info[0].value.startswith("Dry run, nothing written: 1 partnerships row in p.xlsx would give 1 added")
    assert empty_db.counts()["partnerships"] == 0
    app.file_uploader(key="import_file").clear()
    upload(app, "partnerships", "p.csv", b"", button="import_check")
    assert app.error[0].value == "The file was not read: p.csv is empty: it needs a header row and at least one row"


def test_export_of_a_filtered_view(app_db):
    store = Store(app_db)
    paid = int((store.exchanges(OFFICER)["status"] == "paid").sum())
    app = data_page()
    assert app.download_button(key="export_download").label == "Download cx-csv.zip"
    app.radio(key="export_scope").set_value("filtered").run()
    app.multiselect(key="export_statuses").set_value(["paid"]).run()
    app.selectbox(key="export_format").set_value("xlsx").run()
    assert not app.exception
    assert app.download_button(key="export_download").label == "Download exchanges.xlsx"
    assert any(c.value.startswith(f"{paid:,} exchanges. Cells starting with =") for c in app.caption)


def test_tiles_show_what_was_written(empty_db):
    app = data_page()
    upload(app, "partnerships", "partnerships.csv", cio.template_path("partnerships").read_bytes())
    data = b"id;name;target_exchanges\nP03;Tourism;50\nP04;Health;-5\nP05;;40\n"
    upload(app, "partnerships", "more.csv", data, mode="all")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Added": "0", "Updated": "0", "Unchanged": "0", "Rejected": "2", "Flagged": "0"}
    assert "1 row passed" in next(m for m in app.metric if m.label == "Added").help
    upload(app, "partnerships", "more.csv", data, button="import_check", mode="valid")
    metrics = {m.label: m.value for m in app.metric}
    assert metrics == {"Would add": "1", "Would update": "0", "Unchanged": "0", "Rejected": "2", "Flagged": "0"}


def test_importing_the_same_rows_again_is_information(empty_db):
    app = data_page()
    for kind in cio.KINDS:
        upload(app, kind, f"{kind}.csv", cio.template_path(kind).read_bytes())
    for kind in cio.KINDS:
        upload(app, kind, f"{kind}.csv", cio.template_path(kind).read_bytes())
        assert not app.error and not app.warning, kind
        assert app.info[0].value.startswith("Nothing to change"), kind


def test_unchanged_rows_beside_rejected_ones_are_not_an_error(empty_db):
    app = data_page()
    template = cio.template_path("partnerships").read_bytes()
    upload(app, "partnerships", "partnerships.csv", template)
    upload(app, "partnerships", "again.csv", template + b"P09,,40\n", mode="valid")
    assert not app.error
    assert app.warning[0].value.startswith("Nothing imported: every one of 3 partnerships rows")


def test_other_names_of_ecosystems_are_reported_as_information(empty_db):
    app = data_page()
    upload(app, "partnerships", "partnerships.csv", cio.template_path("partnerships").read_bytes())
    upload(app, "partnerships", "eu.csv", b"id,name,ecosystems,target_exchanges\nP07,Sun,Renewable Energy,10\n")
    assert app.success[0].value.startswith("Imported 1 partnerships row")
    assert app.info[0].value == ("Stored under the names cx uses (the file's are other names of the same ecosystem "
                                 "or kind): 'Renewable Energy' → 'Energy – Renewables' (1 row).")


def test_an_excel_export_that_would_cut_a_cell_says_which_before_the_download(app_db):
    """Excel holds 32,767 characters a cell: the page names the table, row and column that would be
    cut and offers no Excel download of it; CSV takes it whole."""
    store = Store(app_db)
    organisation = store.organisations(OFFICER)["id"].iloc[3]
    with store.transaction() as con:  # longer than an import takes now: stored before the limits
        con.execute("UPDATE organisations SET description = ? WHERE id = ?", ["x" * 40_000, organisation])
    row = cio.export_frame(store, OFFICER, "organisations").reset_index(drop=True).query("id == @organisation").index[0] + 2
    app = data_page()
    assert not app.warning and not app.download_button(key="export_download").disabled
    app.selectbox(key="export_format").set_value("xlsx").run()
    assert not app.exception
    assert [w.value for w in app.warning] == [
        f"Excel would cut a value: organisations, row {row} (column description): 40,000 characters, more than the "
        "32,767 an Excel cell holds; export as CSV or Parquet, which keep every value whole."]
    assert app.download_button(key="export_download").disabled


def test_an_officer_restores_the_evidence_of_a_whole_export(empty_db, tmp_path):
    from steps import PDF

    from cx import closing
    from cx import exchanges as workflow

    source = open_store(tmp_path / "source.duckdb")
    for kind in cio.KINDS:
        cio.import_path(source, OFFICER, kind, cio.template_path(kind))
    for status in ("ongoing", "completed"):
        workflow.change_status(source, OFFICER, "EX-X1", status)
    sha = closing.add_evidence(source, OFFICER, "EX-X1", PDF, "boarding-pass.pdf")
    archive = cio.export_view(source, OFFICER, file_format="csv")["data"]
    for kind in cio.KINDS:
        cio.import_path(empty_db, OFFICER, kind, cio.template_path(kind))
    app = data_page()
    app.file_uploader(key="evidence_archive").upload("cx-csv.zip", archive)
    app.run()
    app.button(key="evidence_restore").click().run()
    assert not app.exception and app.success[-1].value == "1 evidence files restored, 0 already in cx."
    assert closing.evidence_file(empty_db, OFFICER, "EX-X1", sha)[2] == PDF
