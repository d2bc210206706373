"""Rules that depend on other rows hold across separate processes: processes (not threads) race
on one database (a DuckDB file, whose write lock serialises writers; a PostgreSQL database, whose
writers run at once and lock the visitors they check), many times, and the visits are counted
afterwards."""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cx import PROJECT_ROOT
from cx.store import STATUSES, Store
from racers import broken_trails, double_visits, exchanges_file, race, race_programme, warm_up

pytestmark = pytest.mark.slow
VISITORS = 40


@pytest.fixture(scope="module")
def racers():
    """Two spawned processes, warmed up (cx imported) before any race starts."""
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pids = {future.result() for future in [pool.submit(warm_up) for _ in range(4)]}
        assert len(pids) == 2
        yield pool


def run_race(pool, db: Path, folder: Path, first: list, second: list) -> tuple[list, list]:
    """Both operation lists at once, one per process, starting at the same moment."""
    start_at = time.time() + 0.5
    futures = []
    for name, operations in (("first", first), ("second", second)):
        (folder / name).mkdir()
        futures.append(pool.submit(race, str(db), str(folder / name), operations, start_at))
    return futures[0].result(), futures[1].result()


@pytest.mark.parametrize("attempt", range(5))
def test_two_import_commands_racing_never_give_a_visitor_two_visits(tmp_path, attempt):
    """The finding: two `python -m cx import exchanges` runs started apart by 0-0.4 s, each approving
    one exchange for the same visitors, both exited 0 and left visitors with two visits."""
    store = race_programme(tmp_path / "race.duckdb", VISITORS)
    files = [exchanges_file(tmp_path, side, {f"{side}-V{n:03d}": "approved" for n in range(1, VISITORS + 1)})
             for side in ("A", "B")]
    commands = []
    for number, path in enumerate(files):
        commands.append(subprocess.Popen(
            [sys.executable, "-m", "cx", "import", "exchanges", str(path), "--db", str(store.path), "--mode", "valid",
             "--wait", "120"], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(0.1 * attempt * number)
    results = [(command.wait(), *command.communicate()) for command in commands]
    assert all("Traceback" not in err for _, _, err in results), results
    assert sorted(code for code, _, _ in results) == [0, 1]  # one approves every visitor, the other is refused
    assert double_visits(store) == 0
    assert store.query("SELECT count(*) FROM exchanges WHERE status = 'approved'").iloc[0, 0] == VISITORS
    assert broken_trails(store) == []


@pytest.fixture(params=["duckdb", "postgres"])
def race_db(request, tmp_path):
    """Where a race runs: a DuckDB file or a PostgreSQL database."""
    if request.param == "postgres":
        return request.getfixturevalue("postgres_database")()
    return tmp_path / "race.duckdb"


@pytest.mark.parametrize("attempt", range(5))
def test_two_processes_approving_one_visitors_two_exchanges_approve_exactly_one(racers, tmp_path, race_db,
                                                                                 attempt):
    """Each process approves one of every visitor's two exchanges (A in one, B in the other),
    visitor by visitor at the same moment: exactly one approval per visitor wins, the other is
    refused with the visit-once rule."""
    store = race_programme(race_db, VISITORS, signed=True)
    a = [("status", f"A-V{n:03d}", "approved") for n in range(1, VISITORS + 1)]
    b = [("status", f"B-V{n:03d}", "approved") for n in range(1, VISITORS + 1)]
    first, second = run_race(racers, race_db, tmp_path, a, b)
    assert (first + second).count("ok") == VISITORS and (first + second).count("BrokenRules") == VISITORS
    assert double_visits(store) == 0
    assert store.query("SELECT count(*) FROM exchanges WHERE status = 'approved'").iloc[0, 0] == VISITORS
    assert broken_trails(store) == []


@pytest.mark.parametrize("attempt", range(5))
def test_an_import_racing_status_changes_never_gives_a_visitor_two_visits(racers, tmp_path, race_db, attempt):
    """One process imports approvals of every visitor's A exchange while another approves their B
    exchanges one by one: each visitor ends with exactly one approved exchange."""
    store = race_programme(race_db, VISITORS, signed=True)
    imports = [("import", {f"A-V{n:03d}": "approved" for n in range(1, VISITORS + 1)})]
    approvals = [("status", f"B-V{n:03d}", "approved") for n in range(1, VISITORS + 1)]
    first, second = run_race(racers, race_db, tmp_path, *((imports, approvals) if attempt % 2 else
                                                              (approvals, imports)))
    assert set(first + second) <= {"ok", "rejected", "BrokenRules"}
    assert double_visits(store) == 0
    assert store.query("SELECT count(*) FROM exchanges WHERE status = 'approved'").iloc[0, 0] == VISITORS
    assert broken_trails(store) == []


def test_a_process_writing_in_a_loop_does_not_starve_another_writer(racers, tmp_path):
    """A writer waiting for the lock gets it before a process that writes in a loop takes it back:
    it gets in within its wait, far shorter than the loop."""
    store = race_programme(tmp_path / "race.duckdb", 30, signed=True)
    loop = [("status", f"A-V{n:03d}", "approved") for n in range(1, 31)]
    for name in ("loop", "one"):
        (tmp_path / name).mkdir()
    start_at = time.time() + 0.5
    looping = racers.submit(race, str(store.path), str(tmp_path / "loop"), loop, start_at)
    one = racers.submit(race, str(store.path), str(tmp_path / "one"), [("status", "B-V030", "cancelled")],
                        start_at + 0.5, 3.0)
    assert one.result() == ["ok"]
    assert looping.result() == ["ok"] * 30
    events = store.query("SELECT exchange_id FROM exchange_events WHERE changed_by LIKE 'racer%' ORDER BY id")
    assert events["exchange_id"].tolist().index("B-V030") < 29  # it got in before the loop ended


EXCHANGE_IDS = [f"{side}-V{n:03d}" for n in (1, 2, 3) for side in "AB"]
status_change = st.tuples(st.just("status"), st.sampled_from(EXCHANGE_IDS), st.sampled_from(STATUSES))
an_import = st.tuples(st.just("import"), st.dictionaries(st.sampled_from(EXCHANGE_IDS), st.sampled_from(STATUSES),
                                                         min_size=1, max_size=4))
operations = st.lists(st.one_of(status_change, an_import), min_size=1, max_size=6)


@pytest.mark.parametrize("backend", ["duckdb", "postgres"])
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=operations, second=operations)
def test_any_imports_and_status_changes_from_two_processes_keep_the_rules(racers, request, backend, first, second):
    """Whatever two processes do at once, every visitor has at most one visit and every exchange's
    audit trail runs unbroken from 'requested' to its status."""
    folder = Path(tempfile.mkdtemp())
    db = request.getfixturevalue("postgres_database")() if backend == "postgres" else folder / "race.duckdb"
    try:
        race_programme(db, 3, signed=True)
        outcomes = run_race(racers, db, folder, first, second)
        assert set(outcomes[0] + outcomes[1]) <= {"ok", "rejected", "BrokenRules", "InvalidTransition"}
        store = Store(db)
        assert double_visits(store) == 0
        assert broken_trails(store) == []
    finally:
        shutil.rmtree(folder)
