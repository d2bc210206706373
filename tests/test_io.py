"""Imports and exports on real DuckDB files: every rule names its row, column and value; the
database changes in one transaction or not at all; exports import back to the same rows."""

import datetime as dt
import io
import zipfile

import openpyxl
import pandas as pd
import pytest

from cx import io as cio
from cx.errors import FileTooLarge, UnreadableFile
from cx.export import neutralise, to_csv_bytes, to_excel_bytes
from cx.store import open_store
from viewers import OFFICER

BACKENDS = ("duckdb", "postgres")

ORG_HEADER = "id,name,kind,country,city,partnership_id,ecosystems"


@pytest.fixture
def store_factory(tmp_path):
    numbers = iter(range(1000))
    return lambda: open_store(tmp_path / f"fresh{next(numbers)}.duckdb")


def canonical(frame, kind):
    """Columns as comparable values (lists as joined text, dates as days), as an import compares them."""
    types = {f.name: f.type for f in cio.FIELDS[kind]}
    return {c: cio._comparable(frame[c], types[c]).astype(object).where(frame[c].notna(), None).tolist()
            for c in frame.columns}


@pytest.fixture
def programme(store):
    """An empty database with the templates' partnerships and organisations imported."""
    for kind in ("partnerships", "organisations"):
        report = cio.import_path(store, OFFICER, kind, cio.template_path(kind))
        assert report.written and report.rejected == 0, report.findings
    return store


def rules_of(report):
    return sorted(zip(report.findings["row"].astype(object), report.findings["column"], report.findings["rule"]))


# --- reading ---------------------------------------------------------------------------------

def test_templates_import_cleanly_in_order_and_again_change_nothing(store):
    for kind in cio.KINDS:
        report = cio.import_path(store, OFFICER, kind, cio.template_path(kind))
        assert (report.written, report.rejected, report.added) == (True, 0, report.rows), report.findings
    for kind in cio.KINDS:
        again = cio.import_path(store, OFFICER, kind, cio.template_path(kind))
        assert (again.written, again.added, again.updated, again.unchanged) == (False, 0, 0, again.rows)
        assert again.summary().startswith("Nothing to change")


def test_templates_readme_documents_every_column():
    assert (cio.TEMPLATES_DIR / "README.md").read_text(encoding="utf-8") == cio.templates_readme()
    for kind, fields in cio.FIELDS.items():
        header = cio.template_path(kind).read_text(encoding="utf-8").splitlines()[0].split(",")
        assert set(header) <= {f.name for f in fields}
        assert {f.name for f in fields if f.required} <= set(header)


@pytest.mark.parametrize("encoding, delimiter, expected", [
    ("utf-8", ",", "UTF-8"),
    ("utf-8-sig", ";", "UTF-8 with BOM"),
    ("cp1252", ";", "Windows-1252"),
    ("cp1252", ",", "Windows-1252"),
    ("utf-16-le", ";", "UTF-16"),
])
def test_encodings_and_delimiters_are_detected(programme, encoding, delimiter, expected):
    rows = [ORG_HEADER.split(","),
            ["O9", "Liège Créative Hub", "scaling-up support organisation", "BE", "Liège", "EX-P1", "Digital"],
            ["O10", "Århus Software ApS", "SME", "DK", "Århus", "EX-P1", "Digital"]]
    data = "\r\n".join(delimiter.join(r) for r in rows).encode(encoding)
    report = cio.import_file(programme, OFFICER, "organisations", data, "orgs.csv")
    assert report.details["encoding"] == expected and report.details["delimiter"] == delimiter
    assert report.added == 2, report.findings
    stored = programme.organisations(OFFICER).set_index("id")
    assert stored.at["O9", "name"] == "Liège Créative Hub"
    assert stored.at["O10", "city"] == "Århus" and abs(stored.at["O10", "lat"] - 56.16) < 0.05


def test_decimal_commas_and_day_first_dates_in_semicolon_files(programme):
    data = ("id;name;kind;country;city;lat;lon;registered_on\n"
            "O9;Grambach Lab;SME;AT;Raaba-Grambach;47,0333;15,5;03.02.2025\n").encode()
    report = cio.import_file(programme, OFFICER, "organisations", data, "orgs.csv")
    assert report.added == 1, report.findings
    row = programme.organisations(OFFICER).set_index("id").loc["O9"]
    assert (row["lat"], row["lon"], str(row["registered_on"])[:10]) == (47.0333, 15.5, "2025-02-03")


def test_excel_sheet_is_chosen_and_a_missing_sheet_is_named(programme):
    workbook = openpyxl.Workbook()
    workbook.active.title = "Notes"
    workbook.active.append(["This sheet explains the file"])
    sheet = workbook.create_sheet("Registrations")
    sheet.append(ORG_HEADER.split(","))
    sheet.append(["O9", "Gdańsk Maritime Cluster", "cluster organisation", "PL", "Gdańsk", "EX-P2", "Mobility – Transport – Automotive"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    assert cio.sheet_names(data, "orgs.xlsx") == ["Notes", "Registrations"]
    report = cio.import_file(programme, OFFICER, "organisations", data, "orgs.xlsx", sheet="Registrations")
    assert report.added == 1 and report.details["sheet"] == "Registrations", report.findings
    with pytest.raises(UnreadableFile, match="has no sheet 'Orgs'; it has 'Notes', 'Registrations'"):
        cio.import_file(programme, OFFICER, "organisations", data, "orgs.xlsx", sheet="Orgs")


def test_parquet_with_typed_columns(programme):
    frame = pd.DataFrame({"id": ["O9"], "name": ["Bologna Food Cluster"], "kind": ["cluster organisation"],
                          "country": ["IT"], "city": ["Bologna"], "ecosystems": [["Agri-food", "Retail"]],
                          "can_host": [True], "can_visit": [False], "registered_on": [pd.Timestamp("2024-05-06")]})
    report = cio.import_file(programme, OFFICER, "organisations", cio.to_parquet_bytes(frame), "orgs.parquet")
    assert report.added == 1, report.findings
    row = programme.organisations(OFFICER).set_index("id").loc["O9"]
    assert list(row["ecosystems"]) == ["Agri-food", "Retail"] and not row["can_visit"]


@pytest.mark.parametrize("name, data, words", [
    ("orgs.json", b"{}", "cx reads .csv, .xlsx and .parquet files, not '.json'"),
    ("orgs.csv", b"", "orgs.csv is empty"),
    ("orgs.csv", b"\n\n  \n", "orgs.csv is empty"),
    ("orgs.xlsx", b"id,name\n", "is not an Excel workbook cx can open"),
    ("orgs.parquet", b"PAR1 not really", "is not a Parquet file cx can read"),
    ("orgs.csv", b"id,id\nO1,O2\n", "the column 'id' appears twice"),
    ("orgs.csv", b"id,name,kind\n\n", "orgs.csv has a header but no rows under it"),
    ("orgs.csv", b"\xef\xbb\xbfid,name\nO1,\xff\xfe\n", "starts as UTF-8 with BOM but byte"),
    ("orgs.csv", "id,name\nO1,Liège\nO2,Caf".encode() + b"\xff\n", "line 3 has bytes that are not UTF-8 (byte 0xff) "
                                                                "while the rest of the file is UTF-8"),
    ("orgs.csv", b"id,name\nO1,ab\x00cd\n", "orgs.csv, line 2: a NUL byte; the file is binary"),
])
def test_files_cx_cannot_read_are_refused_with_a_sentence(snapshot, programme, name, data, words):
    before = snapshot(programme)
    with pytest.raises(UnreadableFile) as error:
        cio.import_file(programme, OFFICER, "organisations", data, name)
    assert words in str(error.value)
    assert before == snapshot(programme)


def test_size_limit_is_checked_before_the_file_is_read(programme, tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as file:  # sparse: 60 MB on paper, nothing on disk
        file.truncate(60 * 1024 * 1024)
    with pytest.raises(FileTooLarge, match=r"huge.csv is 62.9 MB; the limit is 52.4 MB"):
        cio.import_path(programme, OFFICER, "organisations", path)


@pytest.mark.parametrize("name", ["orgs.csv", "orgs.parquet", "orgs.xlsx"])
def test_row_limit_refuses_the_file(programme, name):
    frame = pd.DataFrame({"id": [f"O{i}" for i in range(12)], "name": "x", "kind": "SME", "country": "PT",
                          "city": "Porto"})
    data = {"orgs.csv": frame.to_csv(index=False).encode(), "orgs.parquet": cio.to_parquet_bytes(frame),
            "orgs.xlsx": to_excel_bytes(frame)}[name]
    with pytest.raises(FileTooLarge, match="has more than 10 rows, the limit"):
        cio.import_file(programme, OFFICER, "organisations", data, name, limits=cio.Limits(max_rows=10))
    assert cio.import_file(programme, OFFICER, "organisations", data, name, limits=cio.Limits(max_rows=12)).added == 12


# --- rules -----------------------------------------------------------------------------------

def test_every_organisation_rule_names_row_column_value(programme):
    data = "\n".join([
        ORG_HEADER + ",lat,lon,can_visit,contact_email,registered_on",
        "O10,Fine,SME,PT,Lisbon,EX-P1,Digital,,,,,",                                   # row 2: fine
        "O11,Typo,SME,DE,Stutgart,EX-P1,Digital,,,,,",                                # 3 unknown_city
        "O12,,SME,PT,Porto,EX-P1,Digital,,,,,",                                       # 4 required
        "O13,Kind,company,PT,Porto,EX-P1,Digital,,,,,",                               # 5 kind
        "O14,US,SME,US,Boston,EX-P1,Digital,,,,,",                                    # 6 ineligible_country
        "O15,QQ,SME,QQ,Nowhere,EX-P1,Digital,,,,,",                                   # 7 unknown_country
        "O16,Eco,SME,PT,Porto,EX-P1,Digitl,,,,,",                                     # 8 ecosystem
        "O17,Part,SME,PT,Porto,P77,Digital,,,,,",                                   # 9 missing_partnership
        "O10,Dup,SME,PT,Porto,EX-P1,Digital,,,,,",                                    # 10 duplicate_id
        "O18,Lat,SME,PT,Porto,EX-P1,Digital,123,9,,,",                                # 11 latitude
        "O19,Uni,other,PT,Porto,EX-P1,Digital,,,yes,,",                               # 12 host_only
        "O20,Mail,SME,PT,Porto,EX-P1,Digital,,,,not-an-address,",                     # 13 email
        "O21,Date,SME,PT,Porto,EX-P1,Digital,,,,,2025-02-30",                         # 14 date
        "O22,Half,SME,PT,Porto,EX-P1,Digital,41.1,,,,",                               # 15 half_coordinates
        "O23,Short,SME,PT",                                                         # 16 value_count
    ]).encode()
    report = cio.import_file(programme, OFFICER, "organisations", data, "orgs.csv", mode="valid")
    assert rules_of(report) == [
        (3, "city", "unknown_city"), (4, "name", "required"), (5, "kind", "kind"),
        (6, "country", "ineligible_country"), (7, "country", "unknown_country"), (8, "ecosystems", "ecosystem"),
        (9, "partnership_id", "missing_partnership"), (10, "id", "duplicate_id"), (11, "lat", "latitude"),
        (12, "can_visit", "host_only"), (13, "contact_email", "email"), (14, "registered_on", "date"),
        (15, "lon", "half_coordinates"), (16, "", "value_count"),
    ]
    messages = report.findings.set_index("row")["message"]
    assert messages[3].startswith("cannot place the city 'Stutgart' in DE; did you mean Stuttgart")
    assert messages[6] == "US (United States) does not take part in ClusterXchange pilot (COSME)"
    assert messages[8] == "not one of the 14 industrial ecosystems: 'Digitl' (did you mean 'Digital'?)"
    assert messages[10] == "the id 'O10' is already on row 2"
    assert messages[14] == ("registered_on '2025-02-30' is not a date like 2026-03-02 (or 02.03.2026) "
                            "between 1990 and 2100")
    assert report.findings.set_index("row").at[3, "value"] == "Stutgart"
    assert (report.added, report.rejected, report.written) == (1, 14, True)
    assert "O10" in set(programme.organisations(OFFICER)["id"]) and "O11" not in set(programme.organisations(OFFICER)["id"])


def test_a_missing_required_column_rejects_every_row(snapshot, programme):
    before = snapshot(programme)
    report = cio.import_file(programme, OFFICER, "organisations", b"id,name,kind\nO9,A,SME\nO10,B,SME\n", "o.csv",
                             mode="valid")
    assert report.rejected == 2 and not report.written
    missing = report.findings[report.findings["rule"] == "missing_column"]
    assert sorted(missing["column"]) == ["city", "country"] and missing["row"].isna().all()
    assert before == snapshot(programme)


EXCHANGE_HEADER = "id,visitor_id,host_id,start_date,end_date,status,lump_sum_eur"
IMPORT_DAY = dt.date(2026, 2, 2)  # the files below are imported before their stays start


def test_every_exchange_rule_names_row_column_value(programme):
    data = "\n".join([
        EXCHANGE_HEADER,
        "X1,EX-O1,EX-O2,2026-03-02,2026-03-06,approved,",        # 2 fine
        "X2,EX-O1,EX-O4,2026-04-13,2026-04-17,requested,",       # 3 visited_already (EX-O1 has X1); EX-O4 cannot host
        "X3,EX-O4,O00099,2026-03-02,2026-03-06,requested,",       # 4 missing_organisation
        "X4,EX-O4,EX-O3,2026-03-06,2026-03-02,requested,",       # 5 end_before_start
        "X5,EX-O4,EX-O3,2026-03-02,2026-03-03,requested,",       # 6 too_short
        "X6,EX-O4,EX-O3,2026-03-02,2026-04-10,requested,",       # 7 too_long
        "X7,EX-O2,EX-O3,2026-03-02,2026-03-06,requested,900",    # 8 lump_sum_differs (flagged, kept)
        "X8,EX-O2,EX-O3,2026-03-02,2026-03-06,booked,",          # 9 status
    ]).encode()
    report = cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", mode="valid", today=IMPORT_DAY)
    assert rules_of(report) == [
        (3, "host_id", "may_not_host"), (3, "visitor_id", "visited_already"),
        (4, "host_id", "missing_organisation"), (5, "end_date", "end_before_start"),
        (6, "end_date", "too_short"), (7, "end_date", "too_long"), (8, "lump_sum_eur", "lump_sum_differs"),
        (9, "status", "status"),
    ]
    flagged = report.findings[report.findings["outcome"] == "flagged"].iloc[0]
    assert flagged["message"] == ("the file says EUR 900; the rulebook gives EUR 1,100 (5 working days in AT); "
                                  "the file's amount is kept")
    assert (report.added, report.rejected, report.flagged) == (2, 6, 1)
    stored = programme.exchanges(OFFICER).set_index("id")
    assert stored.at["X7", "lump_sum_eur"] == 900
    assert (stored.at["X1", "working_days"], stored.at["X1", "lump_sum_eur"], bool(stored.at["X1", "halved"])) \
        == (5, 1100, False)
    assert round(stored.at["X1", "distance_km"]) == 1634


def test_all_or_nothing_writes_nothing_when_a_row_fails(snapshot, programme):
    before = snapshot(programme)
    data = (EXCHANGE_HEADER + "\nX1,EX-O1,EX-O2,2026-03-02,2026-03-06,approved,\n"
            "X2,EX-O4,EX-O3,2026-03-02,2026-03-03,requested,\n").encode()
    report = cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", mode="all")
    assert (report.written, report.added, report.rejected) == (False, 1, 1)
    assert report.summary() == ("Nothing imported: 1 of 2 exchanges rows in x.csv rejected, and every row had "
                                "to pass (import the valid rows to take the other 1).")
    assert before == snapshot(programme)
    dry = cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", mode="valid", dry_run=True)
    assert (dry.written, dry.added) == (False, 1) and before == snapshot(programme)


def test_an_updated_file_updates_changed_rows_and_records_status_changes(programme):
    first = (EXCHANGE_HEADER + "\nX1,EX-O1,EX-O2,2026-03-02,2026-03-06,requested,\n"
             "X2,EX-O4,EX-O3,2026-05-11,2026-05-22,requested,\n").encode()
    assert cio.import_file(programme, OFFICER, "exchanges", first, "x.csv", today=IMPORT_DAY).added == 2
    second = first.replace(b"X1,EX-O1,EX-O2,2026-03-02,2026-03-06,requested", b"X1,EX-O1,EX-O2,2026-03-02,2026-03-06,approved")
    report = cio.import_file(programme, OFFICER, "exchanges", second, "x2.csv")
    assert (report.added, report.updated, report.unchanged) == (0, 1, 1)
    events = programme.table("exchange_events")
    trail = events[events["exchange_id"] == "X1"][["from_status", "to_status", "changed_by"]]
    assert trail.astype(object).where(trail.notna(), None).values.tolist() == [
        [None, "requested", f"{OFFICER.identity} (import of x.csv)"],
        ["requested", "approved", f"{OFFICER.identity} (import of x2.csv)"]]


def test_an_import_never_moves_an_exchange_back(programme):
    data = (EXCHANGE_HEADER + "\nX1,EX-O1,EX-O2,2026-03-02,2026-03-06,requested,\n").encode()
    cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", today=IMPORT_DAY)
    report = cio.import_file(programme, OFFICER, "exchanges", data.replace(b"requested", b"paid"), "x.csv")
    assert report.updated == 1, report.findings
    report = cio.import_file(programme, OFFICER, "exchanges", data, "old.csv", mode="valid")
    assert (report.rejected, report.written) == (1, False)
    assert report.findings.iloc[0]["message"] == ("exchange X1 is paid in cx; an import moves an exchange only "
                                                  "forward (it is final), not to requested")
    assert programme.exchanges(OFFICER).at[0, "status"] == "paid"


def test_an_import_refuses_a_row_that_repeats_an_exchange_as_a_request_would(programme, snapshot):
    """The same visitor at the same host on overlapping dates, as an exchange in cx or an earlier row
    of the file: refused with the exchange it repeats; nothing written unless valid rows may go."""
    first = (EXCHANGE_HEADER + "\nX1,EX-O4,EX-O3,2026-03-02,2026-03-06,requested,\n").encode()
    assert cio.import_file(programme, OFFICER, "exchanges", first, "x.csv", today=IMPORT_DAY).added == 1
    before = snapshot(programme)
    data = "\n".join([
        EXCHANGE_HEADER,
        "X2,EX-O4,EX-O3,2026-03-04,2026-03-10,requested,",   # 2 repeats X1, stored
        "X3,EX-O1,EX-O2,2026-04-13,2026-04-17,requested,",   # 3 fine
        "X4,EX-O1,EX-O2,2026-04-15,2026-04-21,requested,",   # 4 repeats row 3
        "X5,EX-O1,EX-O3,2026-04-15,2026-04-21,requested,",   # 5 another host: fine
        "X6,EX-O4,EX-O3,2026-03-02,2026-03-06,rejected,",    # 6 a rejected request repeats nothing
    ]).encode()
    report = cio.import_file(programme, OFFICER, "exchanges", data, "y.csv", today=IMPORT_DAY)
    assert rules_of(report) == [(2, "start_date", "requested_already"), (4, "start_date", "requested_already")]
    messages = report.findings.set_index("row")["message"]
    assert messages[2] == ("the visitor already asked ACstyria Mobility Cluster for these dates: exchange X1 "
                           "(2026-03-02 to 2026-03-06) is requested")
    assert messages[4] == ("the visitor already asked Stuttgart Mobility Lab for these dates: exchange X3 "
                           "(2026-04-13 to 2026-04-17), row 3 of this file, is requested")
    assert (report.written, report.rejected) == (False, 2) and snapshot(programme) == before
    report = cio.import_file(programme, OFFICER, "exchanges", data, "y.csv", mode="valid", today=IMPORT_DAY)
    assert (report.added, report.rejected) == (3, 2)
    assert sorted(programme.exchanges(OFFICER)["id"]) == ["X1", "X3", "X5", "X6"]
    again = cio.import_file(programme, OFFICER, "exchanges", data, "y.csv", mode="valid", today=IMPORT_DAY)
    assert (again.unchanged, again.rejected) == (3, 2)  # a stored row is not a repeat of itself


def test_an_import_refuses_a_new_request_for_a_stay_that_has_started(programme):
    data = (EXCHANGE_HEADER + "\nX1,EX-O4,EX-O3,2026-03-02,2026-03-06,requested,\n"
            "X2,EX-O1,EX-O2,2026-03-02,2026-03-06,approved,\n").encode()
    assert cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", today=dt.date(2026, 3, 2)).added == 2
    later = cio.import_file(programme, OFFICER, "exchanges", data, "x.csv", today=dt.date(2026, 3, 3))
    assert (later.unchanged, later.rejected) == (2, 0)  # stored before the stay started: not a new request
    data = (EXCHANGE_HEADER + "\nX3,EX-O2,EX-O3,2026-03-02,2026-03-06,requested,\n"
            "X4,EX-O4,EX-O2,2026-03-02,2026-03-06,completed,\n").encode()  # history the IT tool saw: fine
    report = cio.import_file(programme, OFFICER, "exchanges", data, "y.csv", mode="valid", today=dt.date(2026, 3, 3))
    assert rules_of(report) == [(2, "start_date", "started_already")]
    assert report.findings.at[0, "message"] == ("the stay would start on 2026-03-02, before today (2026-03-03); "
                                                "request a stay that has not started")
    assert report.added == 1 and "X3" not in set(programme.exchanges(OFFICER)["id"])


def test_a_small_town_keeps_its_stored_coordinates_when_the_file_gives_none(programme):
    data = b"id,name,kind,country,city\nEX-O3,ACstyria,cluster organisation,AT,Raaba-Grambach\n"
    report = cio.import_file(programme, OFFICER, "organisations", data, "o.csv")
    assert (report.updated, report.rejected) == (1, 0), report.findings
    row = programme.organisations(OFFICER).set_index("id").loc["EX-O3"]
    assert (row["name"], row["lat"], row["lon"]) == ("ACstyria", 47.0333, 15.5)
    moved = cio.import_file(programme, OFFICER, "organisations", data.replace(b"Raaba-Grambach", b"Raaba"), "o.csv")
    assert moved.findings["rule"].tolist() == ["unknown_city"]


def test_columns_left_out_keep_their_stored_values(programme):
    data = b"id,name,kind,country,city\nEX-O1,Porto Digital Cluster,cluster organisation,PT,Porto\n"
    report = cio.import_file(programme, OFFICER, "organisations", data, "o.csv")
    assert report.unchanged == 1
    report = cio.import_file(programme, OFFICER, "organisations", data.replace(b"Cluster,", b"Cluster CoLAB,"), "o.csv")
    assert report.updated == 1
    row = programme.organisations(OFFICER).set_index("id").loc["EX-O1"]
    assert (row["name"], row["contact_email"]) == ("Porto Digital Cluster CoLAB", "ana.silva@example.org")


# --- export ----------------------------------------------------------------------------------

def test_neutralise_prefixes_formula_cells_only():
    frame = pd.DataFrame({"name": ["=HYPERLINK(\"x\")", "+33 1", "-minus", "@SUM(A1)", "plain", None],
                          "number": [-1, 2, 3, 4, 5, 6]})
    out = neutralise(frame)
    assert out["name"].tolist()[:5] == ["'=HYPERLINK(\"x\")", "'+33 1", "'-minus", "'@SUM(A1)", "plain"]
    assert pd.isna(out["name"].iloc[5])
    assert out["number"].tolist() == frame["number"].tolist()
    assert to_csv_bytes(frame).decode("utf-8-sig").splitlines()[1] == "\"'=HYPERLINK(\"\"x\"\")\",-1"
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(frame))).active
    assert [c.value for c in sheet["A"]][1:5] == ["'=HYPERLINK(\"x\")", "'+33 1", "'-minus", "'@SUM(A1)"]
    assert sheet["A2"].data_type == "s"


def test_contact_details_only_when_asked(programme):
    assert not {"contact_name", "contact_email"} & set(cio.export_frame(programme, OFFICER, "organisations").columns)
    with_contacts = cio.export_frame(programme, OFFICER, "organisations", with_contacts=True)
    assert "ana.silva@example.org" in set(with_contacts["contact_email"])


@pytest.mark.parametrize("file_format", ["csv", "xlsx", "parquet"])
def test_export_then_import_gives_the_same_rows(programme, store_factory, file_format):
    for kind in ("missions", "exchanges"):
        cio.import_path(programme, OFFICER, kind, cio.template_path(kind))
    cio.import_file(programme, OFFICER, "organisations",
                    b"id,name,kind,country,city,member_of\nEX-O5,=cmd|' /C calc'!A0,SME,PT,Braga,Braga Cluster\n", "o.csv")
    name, data = cio.export_bytes(cio.export_all(programme, OFFICER, with_contacts=True), file_format)
    fresh = store_factory()
    if file_format == "xlsx":
        files = {kind: (data, "all.xlsx", kind) for kind in cio.KINDS}
    else:
        archive = zipfile.ZipFile(io.BytesIO(data))
        files = {kind: (archive.read(f"{kind}.{file_format}"), f"{kind}.{file_format}", None) for kind in cio.KINDS}
    for kind in cio.KINDS:
        content, filename, sheet = files[kind]
        report = cio.import_file(fresh, OFFICER, kind, content, filename, sheet=sheet)
        assert report.rejected == 0 and report.added == report.rows, report.findings
    for table in ("partnerships", "organisations", "missions", "exchanges"):
        columns = [c for c in programme.table(table).columns if c not in ("created_at", "updated_at", "created_by")]
        assert canonical(fresh.table(table)[columns], table) == canonical(programme.table(table)[columns], table), table
    assert "=cmd|' /C calc'!A0" in set(fresh.organisations(OFFICER)["name"])


def test_filtered_exchange_view(programme):
    cio.import_path(programme, OFFICER, "exchanges", cio.template_path("exchanges"))
    assert cio.exchange_ids(programme, OFFICER, statuses=["approved"]) == ["EX-X1"]
    assert cio.exchange_ids(programme, OFFICER, partnership_id="EX-P1") == ["EX-X1", "EX-X2"]
    assert cio.exchange_ids(programme, OFFICER, host_country="AT") == ["EX-X2"]
    assert cio.exchange_ids(programme, OFFICER, start="2030-06-03", end="2030-06-30") == ["EX-X2"]
    frame = cio.export_frame(programme, OFFICER, "exchanges", ids=["EX-X2"])
    assert frame["id"].tolist() == ["EX-X2"] and frame.at[0, "working_days"] == 9


def test_findings_chart_counts_rows_per_rule():
    from cx.charts import findings_by_rule

    findings = pd.DataFrame([
        {"row": 3, "column": "city", "rule": "unknown_city", "outcome": "rejected"},
        {"row": 4, "column": "city", "rule": "unknown_city", "outcome": "rejected"},
        {"row": 4, "column": "name", "rule": "required", "outcome": "rejected"},
        {"row": 5, "column": "lump_sum_eur", "rule": "lump_sum_differs", "outcome": "flagged"},
        {"row": None, "column": "country", "rule": "missing_column", "outcome": "rejected"},
    ]).astype({"row": "Int64"})
    bars = {(trace.name, y): x for trace in findings_by_rule(findings).data for x, y in zip(trace.x, trace.y)}
    assert bars == {("rejected", "unknown_city"): 2, ("rejected", "required"): 1, ("rejected", "missing_column"): 1,
                    ("flagged", "lump_sum_differs"): 1}


def test_the_eu_s_other_names_of_ecosystems_and_kinds_are_stored_under_cx_s(programme):
    data = ("id,name,kind,country,city,partnership_id,ecosystems\n"
            "O20,Solar Cluster,Cluster Organization,PT,Braga,EX-P1,Renewable Energy; Digital\n"
            "O21,Steel SME,small and medium-sized enterprise,PT,Porto,EX-P1,Energy Intensive Industries\n"
            "O22,Plain,SME,PT,Porto,EX-P1,Energy - Renewables\n").encode()
    report = cio.import_file(programme, OFFICER, "organisations", data, "eu.csv")
    assert (report.added, report.rejected) == (3, 0), report.findings
    stored = programme.organisations(OFFICER).set_index("id")
    assert stored.loc["O20", "kind"] == "cluster organisation"
    assert list(stored.loc["O20", "ecosystems"]) == ["Digital", "Energy – Renewables"]
    assert (stored.loc["O21", "kind"], list(stored.loc["O21", "ecosystems"])) == ("SME", ["Energy-Intensive Industries"])
    assert report.details["renamed"] == {
        "'Cluster Organization' → 'cluster organisation'": 1,
        "'small and medium-sized enterprise' → 'SME'": 1,
        "'Renewable Energy' → 'Energy – Renewables'": 1,
        "'Energy Intensive Industries' → 'Energy-Intensive Industries'": 1,
        "'Energy - Renewables' → 'Energy – Renewables'": 1,
    }


def test_every_alias_names_a_canonical_ecosystem_or_kind_and_has_a_source():
    from cx.ecosystems import ALIASES_FILE, ECOSYSTEMS
    from cx.store import ORGANISATION_KINDS

    table = pd.read_csv(ALIASES_FILE, dtype=str)
    assert set(table["field"]) == {"ecosystem", "kind"}
    assert set(table.loc[table["field"] == "ecosystem", "canonical"]) <= set(ECOSYSTEMS)
    assert set(table.loc[table["field"] == "kind", "canonical"]) <= set(ORGANISATION_KINDS)
    assert table["source"].notna().all() and not table["alias"].duplicated().any()
    # An alias is never the spelling of another canonical name.
    assert not {cio.ecosystem_key(a) for a in table["alias"]} & {cio.ecosystem_key(e) for e in ECOSYSTEMS}


def test_the_templates_ids_never_collide_with_a_programme_s(demo_store):
    """A dry run of a shipped template against a real-looking programme adds its rows: it never
    reports updating the programme's own partnerships, organisations or exchanges."""
    for kind in cio.KINDS:
        stored = set(demo_store.table(kind)["id"])
        template = set(pd.read_csv(cio.template_path(kind), dtype=str)["id"])
        assert stored and not template & stored, kind
    report = cio.import_path(demo_store, OFFICER, "partnerships", cio.template_path("partnerships"), dry_run=True)
    assert (report.added, report.updated) == (len(pd.read_csv(cio.template_path("partnerships"))), 0)
@pytest.mark.parametrize("file_format, whole, one", [("csv", "cx-csv.zip", "exchanges.csv"),
                                                    ("xlsx", "cx.xlsx", "exchanges.xlsx"),
                                                    ("parquet", "cx-parquet.zip", "exchanges.parquet")])
def test_the_export_name_is_known_before_the_file_is_written(programme, file_format, whole, one):
    """The Data page labels its button with `export_name` and writes the file only on click."""
    assert cio.export_name(list(cio.KINDS), file_format) == whole
    assert cio.export_name(["exchanges"], file_format) == one
    name, data = cio.export_bytes({"exchanges": cio.export_frame(programme, OFFICER, "exchanges")}, file_format)
    assert name == one
    assert zipfile.is_zipfile(io.BytesIO(data)) == (file_format == "xlsx")  # one table: no archive around it
    with pytest.raises(ValueError, match="not 'pdf'"):
        cio.export_name(["exchanges"], "pdf")


def test_an_organisation_takes_part_only_as_the_rules_allow_as_a_registration_does(programme):
    """`Rulebook.check_participant` on every row: an SME visits as a cluster member, kind 'other'
    hosts only, as a member, and nobody takes part as neither visitor nor host."""
    data = "\n".join([
        ORG_HEADER + ",member_of,can_host,can_visit",
        "O30,Member SME,SME,PT,Porto,EX-P1,Digital,Porto Digital Cluster,yes,yes",          # row 2: fine
        "O31,Lone SME,SME,PT,Porto,EX-P1,Digital,,no,yes",                                 # 3 not_a_member
        "O32,Lone host SME,SME,PT,Porto,EX-P1,Digital,,yes,no",                            # 4 fine: hosts case by case
        "O33,University,other,PT,Porto,EX-P1,Digital,Porto Digital Cluster,yes,yes",       # 5 host_only
        "O34,Agency,other,PT,Porto,EX-P1,Digital,,yes,no",                                 # 6 not_a_member
        "O35,Idle cluster,cluster organisation,PT,Porto,EX-P1,Digital,,no,no",             # 7 no_role
    ]).encode()
    report = cio.import_file(programme, OFFICER, "organisations", data, "orgs.csv", mode="valid")
    assert rules_of(report) == [(3, "member_of", "not_a_member"), (5, "can_visit", "host_only"),
                                (6, "member_of", "not_a_member"), (7, "can_host", "no_role")]
    messages = report.findings.set_index("row")["message"]
    assert messages[3] == ("an organisation of kind 'SME' visits only as a member of a cluster organisation: name the "
                           "cluster, or register to host only (accepted case by case)")
    assert messages[7] == "an organisation takes part as a visitor, a host or both; choose one"
    assert (report.added, report.rejected) == (2, 4)
    stored = programme.organisations(OFFICER).set_index("id")
    assert stored.at["O30", "member_of"] == "Porto Digital Cluster" and "O31" not in stored.index
    without = "\n".join([ORG_HEADER, "O31,Lone SME,SME,PT,Porto,EX-P1,Digital"]).encode()  # an older file
    assert cio.import_file(programme, OFFICER, "organisations", without, "orgs.csv").added == 1
    # Held without a cluster: its own export imports back, flagged until the cluster is named.
    name, data = cio.export_bytes({"organisations": cio.export_frame(programme, OFFICER, "organisations")}, "csv")
    again = cio.import_file(programme, OFFICER, "organisations", data, name)
    assert (again.rejected, again.flagged) == (0, 1) and rules_of(again) == [(7, "member_of", "not_a_member")]
