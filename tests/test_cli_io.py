"""`python -m cx import` and `export`: exit codes and the exact words people read."""

import io
import json
import zipfile

import openpyxl

from cx import io as cio
from cx.cli import main


def test_import_the_templates_then_again_changes_nothing(tmp_path, capsys):
    db = str(tmp_path / "cli.duckdb")
    for kind in cio.KINDS:
        assert main(["import", kind, str(cio.template_path(kind)), "--db", db]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Imported 2 partnerships rows in partnerships.csv: 2 added, 0 updated, 0 unchanged, 0 rejected.",
        "Imported 4 organisations rows in organisations.csv: 4 added, 0 updated, 0 unchanged, 0 rejected.",
        "Imported 1 missions row in missions.csv: 1 added, 0 updated, 0 unchanged, 0 rejected.",
        "Imported 2 exchanges rows in exchanges.csv: 2 added, 0 updated, 0 unchanged, 0 rejected.",
    ]
    assert main(["import", "exchanges", str(cio.template_path("exchanges")), "--db", db, "--dry-run"]) == 0
    assert capsys.readouterr().out == ("Dry run, nothing written: 2 exchanges rows in exchanges.csv would give "
                                       "0 added, 0 updated, 2 unchanged, 0 rejected.\n")


def test_rejected_rows_are_listed_and_exit_1(tmp_path, capsys):
    db = str(tmp_path / "cli.duckdb")
    file = tmp_path / "p.csv"
    file.write_text("id;name;target_exchanges\nP1;One;10\nP2;;x\n", encoding="cp1252")
    assert main(["import", "partnerships", str(file), "--db", db]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "Nothing imported: 1 of 2 partnerships rows in p.csv rejected, and every row had to pass "
        "(import the valid rows to take the other 1).",
        "- row 3, name: name needs a value [required, rejected]",
        "- row 3, target_exchanges: target_exchanges 'x' is not a whole number (between -2,147,483,648 and "
        "2,147,483,647) [integer, rejected]",
    ]
    assert main(["import", "partnerships", str(file), "--db", db, "--mode", "valid", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["written"], report["added"], report["rejected"]) == (True, 1, 1)
    assert report["findings"][0] == {"row": 3, "column": "name", "value": "", "rule": "required",
                                     "message": "name needs a value", "outcome": "rejected"}


def test_a_file_too_large_or_missing_is_one_sentence_and_exit_2(tmp_path, capsys):
    file = tmp_path / "big.csv"
    file.write_text("id,name,target_exchanges\n" + "P,x,1\n" * 50)
    assert main(["import", "partnerships", str(file), "--db", str(tmp_path / "c.duckdb"), "--max-rows", "10"]) == 2
    assert capsys.readouterr().err == "error: big.csv has more than 10 rows, the limit (split the file or raise the limit)\n"
    assert main(["import", "partnerships", str(tmp_path / "nope.csv"), "--db", str(tmp_path / "c.duckdb")]) == 2
    assert capsys.readouterr().err.startswith("error: there is no file")


def test_export_whole_and_filtered(tmp_path, capsys, monkeypatch):
    db = str(tmp_path / "cli.duckdb")
    for kind in cio.KINDS:
        main(["import", kind, str(cio.template_path(kind)), "--db", db])
    capsys.readouterr()
    monkeypatch.chdir(tmp_path)
    assert main(["export", "--db", db]) == 0
    assert capsys.readouterr().out == ("cx-csv.zip: 2 partnerships, 4 organisations, 1 missions, 2 exchanges "
                                       "(contact details left out)\n")
    names = zipfile.ZipFile(tmp_path / "cx-csv.zip").namelist()
    assert names == ["partnerships.csv", "organisations.csv", "missions.csv", "exchanges.csv"]
    assert b"ana.silva@example.org" not in zipfile.ZipFile(tmp_path / "cx-csv.zip").read("organisations.csv")
    assert main(["export", "exchanges", "--status", "approved", "--format", "xlsx", "--output", "a.xlsx",
                 "--db", db]) == 0
    assert capsys.readouterr().out == "a.xlsx: 1 exchanges (contact details left out)\n"
    sheet = openpyxl.load_workbook(io.BytesIO((tmp_path / "a.xlsx").read_bytes())).active
    assert [row[0] for row in sheet.iter_rows(values_only=True)] == ["id", "EX-X1"]
    assert main(["export", "organisations", "--with-contacts", "--output", "o.csv", "--db", db]) == 0
    assert "ana.silva@example.org" in (tmp_path / "o.csv").read_text(encoding="utf-8-sig")
    assert main(["export", "organisations", "--status", "paid", "--db", db]) == 2
    assert "filters apply to exchanges" in capsys.readouterr().err
