"""`python -m cx`: exit codes and the exact words people read."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from cx.access import Viewer
from cx.cli import build_parser, main
from cx.store import SCHEMA_VERSION

README = Path(__file__).resolve().parent.parent / "README.md"


def run(*args, db=None):
    return subprocess.run([sys.executable, "-m", "cx", *args, *(["--db", str(db)] if db else [])],
                          capture_output=True, text=True, timeout=120)


def test_lump_sum_prints_days_halving_and_amount(capsys):
    assert main(["lump-sum", "--host-country", "PT", "--start", "2026-03-02", "--end", "2026-03-06",
                 "--distance-km", "850"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "Stay in Portugal from 2026-03-02 to 2026-03-06, 850 km apart",
        "Working days: 5",
        "Halved: no",
        "Lump sum: EUR 780 (ceiling for PT: EUR 780)",
    ]


def test_lump_sum_json(capsys):
    assert main(["lump-sum", "--host-country", "PT", "--start", "2026-03-02", "--end", "2026-03-05",
                 "--distance-km", "150", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "working_days": 4, "halved": True,
        "reasons": ["the stay has 4 working days, fewer than 5", "the organisations are 150 km apart, less than 200 km"],
        "lump_sum_eur": 390, "ceiling_eur": 780,
    }


def test_check_prints_every_broken_rule_and_exits_1():
    result = run("check", "--visitor-country", "DE", "--host-country", "DE", "--start", "2026-03-06", "--end", "2026-03-02")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "The exchange breaks 2 rules:",
        "- The visitor and the host are both in DE; they must be in different countries.",
        "- The stay ends (2026-03-02) before it starts (2026-03-06).",
    ]


def test_check_exits_0_for_a_fine_exchange(capsys):
    assert main(["check", "--visitor-country", "DE", "--host-country", "PT", "--start", "2026-03-02",
                 "--end", "2026-03-06"]) == 0
    assert "follows every rule" in capsys.readouterr().out


@pytest.mark.parametrize("args, words", [
    (["lump-sum", "--host-country", "US", "--start", "2026-03-02", "--end", "2026-03-06", "--distance-km", "900"],
     "error: US does not take part in the call"),
    (["lump-sum", "--host-country", "QQ", "--start", "2026-03-02", "--end", "2026-03-06", "--distance-km", "900"],
     "error: 'QQ' is not a country code cx knows"),
])
def test_bad_input_is_one_sentence_and_exit_2(capsys, args, words):
    assert main(args) == 2
    assert capsys.readouterr().err.startswith(words)


def test_a_bad_date_is_named():
    result = run("lump-sum", "--host-country", "PT", "--start", "2026-13-02", "--end", "2026-03-06", "--distance-km", "9")
    assert result.returncode == 2
    assert "'2026-13-02' is not a date like 2026-03-02" in result.stderr


def test_init_and_demo_use_db_and_cx_db(tmp_path, monkeypatch, capsys):
    path = tmp_path / "cli.duckdb"
    assert main(["init", "--db", str(path)]) == 0
    assert f"schema version {SCHEMA_VERSION}" in capsys.readouterr().out
    monkeypatch.setenv("CX_DB", str(path))
    assert main(["demo", "--seed", "7", "--organisations", "150", "--exchanges", "80"]) == 0
    assert "150 organisations, 80 exchanges" in capsys.readouterr().out


def _commands():
    parser = build_parser()
    return next(a for a in parser._actions if a.dest == "command").choices


@pytest.mark.parametrize("name", sorted(_commands()))
def test_every_command_has_help_an_example_and_a_readme_entry(name):
    sub = _commands()[name]
    assert "Example: python -m cx " + name in sub.description
    assert any(action.dest == "db" for action in sub._actions)
    assert re.search(rf"^python -m cx {re.escape(name)}\b", README.read_text(), re.MULTILINE), name


def test_accounts_are_added_listed_and_removed(tmp_path, capsys):
    import pandas as pd

    from cx import io as cio

    db = str(tmp_path / "accounts.duckdb")
    partnership = pd.read_csv(cio.template_path("partnerships"), dtype=str)["id"].iloc[0]
    member = pd.read_csv(cio.template_path("organisations"), dtype=str)["id"].iloc[0]
    assert main(["init", "--db", db]) == 0
    for kind in ("partnerships", "organisations"):
        assert main(["import", kind, str(cio.template_path(kind)), "--db", db]) == 0
    capsys.readouterr()
    assert main(["accounts", "add", "Anna@Example.org", "--role", "partnership_manager", "--partnership", partnership,
                 "--db", db]) == 0
    assert capsys.readouterr().out == f"anna@example.org: partnership manager of {partnership}\n"
    assert main(["accounts", "add", "o1@example.org", "--role", "organisation", "--organisation", member,
                 "--db", db]) == 0
    capsys.readouterr()
    assert main(["accounts", "list", "--db", db]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split() for line in listed] == [["anna@example.org", "partnership_manager", partnership, "active"],
                                                ["o1@example.org", "organisation", member, "active"]]
    assert main(["accounts", "add", "bob@example.org", "--role", "partnership_manager", "--partnership", "P09",
                 "--db", db]) == 2
    assert capsys.readouterr().err == ("error: the account bob@example.org names the partnership P09, "
                                       "which cx does not hold\n")
    assert main(["accounts", "add", "bob@example.org", "--db", db]) == 2
    assert "say what bob@example.org may do: --role officer | partnership_manager" in capsys.readouterr().err
    assert main(["accounts", "remove", "anna@example.org", "--db", db]) == 0
    assert main(["accounts", "remove", "anna@example.org", "--db", db]) == 2
    assert capsys.readouterr().err.endswith("error: there is no account 'anna@example.org'\n")


def test_copy_moves_a_programme_to_postgresql_and_refuses_a_database_in_use(demo_db, postgres_database, tmp_path):
    """`cx copy` from the demo DuckDB file to a new PostgreSQL database: every table's rows, said
    in one line; copied again, the target is refused (exit 2) and keeps its rows; and back to a
    new DuckDB file, the same rows as the start."""
    from cx.store import open_store

    url = postgres_database()
    copied = run("copy", "--from", str(demo_db), "--to", url)
    counts = open_store(demo_db).counts()
    assert copied.returncode == 0, copied.stderr
    assert copied.stdout == (f"{url}: copied from {Path(demo_db).resolve()}: "
                             + ", ".join(f"{n:,} {table}" for table, n in counts.items()) + "\n")
    assert open_store(url).counts() == counts
    again = run("copy", "--from", str(demo_db), "--to", url)
    assert again.returncode == 2
    assert again.stderr.startswith(f"error: {url} already holds 4 partnerships, 400 organisations")
    assert open_store(url).counts() == counts
    back = tmp_path / "back.duckdb"
    assert run("copy", "--from", url, "--to", str(back)).returncode == 0
    assert open_store(back).exchanges(Viewer.local()).equals(open_store(demo_db).exchanges(Viewer.local()))
