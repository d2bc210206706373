"""Exports a spreadsheet opens without running anything."""

import csv
import io

import openpyxl
import pandas as pd
import pytest

from cx.export import neutralise, to_csv_bytes, to_excel_bytes

HOSTILE = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "plain", "a=b"]


@pytest.fixture
def table():
    return pd.DataFrame({"name": HOSTILE, "amount": [-5, 1, 2, 3, 4, 5, 6, 7],
                         "ecosystems": [["Digital", "=cmd"], [], ["Health"], [], [], [], [], []],
                         "day": pd.to_datetime(["2026-01-01"] * 8)})


def test_text_that_would_run_becomes_text(table):
    safe = neutralise(table)
    assert safe["name"].tolist() == ["'" + v for v in HOSTILE[:6]] + ["plain", "a=b"]
    assert safe["amount"].tolist() == table["amount"].tolist()  # numbers, negative too, stay numbers
    assert safe["ecosystems"][0] == "Digital; =cmd"  # lists become text; not at the start, so harmless
    assert table["name"][0].startswith("=")  # the original is left alone


def test_column_names_are_neutralised_too():
    assert neutralise(pd.DataFrame({"=x": [1]})).columns.tolist() == ["'=x"]


def test_csv_holds_no_cell_that_starts_a_formula(table):
    rows = list(csv.reader(io.StringIO(to_csv_bytes(table).decode("utf-8-sig"), newline="")))
    assert rows[0] == ["name", "amount", "ecosystems", "day"] and len(rows) == len(table) + 1
    assert not [cell for row in rows for cell in row if cell[:1] in ("=", "+", "@", "\t", "\r")]
    assert [cell for row in rows for cell in row if cell.startswith("-")] == ["-5"]  # a number, not text
    assert [row[1] for row in rows[1:]] == [str(a) for a in table["amount"]]


def test_excel_holds_no_formula(table):
    sheet = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(table, sheet="Findings"))).active
    assert sheet.title == "Findings"
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert len(cells) == (len(table) + 1) * len(table.columns)
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert [sheet.cell(row=r, column=2).value for r in range(2, 10)] == table["amount"].tolist()


def test_without_neutralising_openpyxl_would_write_a_formula():
    """The reason for cx.export: a plain pandas export turns '=...' into a live formula."""
    buffer = io.BytesIO()
    pd.DataFrame({"name": ["=1+1"]}).to_excel(buffer, index=False)
    assert openpyxl.load_workbook(buffer).active["A2"].data_type == "f"


@pytest.mark.parametrize("name, sheet", [
    ("Exchanges stalled past a deadline", "Exchanges stalled past a"),
    ("Organisations whose city could not be placed", "Organisations whose city could"),
    ("Partnership progress", "Partnership progress"),
    ("Averyveryverylongsinglewordthatneverends", "Averyveryverylongsinglewordthat"),
])
def test_sheet_names_are_cut_after_a_whole_word(name, sheet):
    workbook = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(pd.DataFrame({"a": [1]}), sheet=name)))
    assert workbook.sheetnames == [sheet] and len(sheet) <= 31


def test_a_sheet_named_with_characters_excel_refuses_still_writes():
    book = openpyxl.load_workbook(io.BytesIO(to_excel_bytes(pd.DataFrame({"a": [1]}), sheet="Pipeline: a/b [c]?")))
    assert book.sheetnames == ["Pipeline a b c"]
