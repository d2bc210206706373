"""Separate processes racing on one database file: the programme they race on, and what each
process runs (a module of its own, so spawned processes can import it)."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pandas as pd

from cx import io as cio
from cx.errors import CxError
from cx.exchanges import change_status
from cx.parties import DOCUMENTS
from cx.store import Store, open_store
from cx.access import Viewer  # noqa: E402

OFFICER = Viewer.local()

FIRST_DAY, LAST_DAY = dt.date(2027, 3, 1), dt.date(2027, 3, 5)  # Monday to Friday, no holiday in FR or PT
HOSTS = {"A": "H1", "B": "H2"}


def race_programme(path: Path | Store, visitors: int, signed: bool = False) -> Store:
    """Visitors V001... in Berlin, each with two requested exchanges of the same week: A-V001 at a
    host in Lyon and B-V001 at a host in Porto. Approving both breaks the visit-once rule. With
    `signed`, every host has accepted in cx and every party signed, so approvals may race;
    without, the exchanges are history cx holds, which imports move on. `path` may be an open
    store of either back end."""
    store = path if isinstance(path, Store) else open_store(path)
    ids = [f"V{n:03d}" for n in range(1, visitors + 1)]
    organisations = pd.DataFrame({
        "id": ids + ["H1", "H2"], "name": [f"Visitor {i}" for i in ids] + ["Lyon host", "Porto host"],
        "kind": "cluster organisation", "country": ["DE"] * visitors + ["FR", "PT"],
        "city": ["Berlin"] * visitors + ["Lyon", "Porto"], "lat": [52.52] * visitors + [45.76, 41.15],
        "lon": [13.40] * visitors + [4.84, -8.61], "partnership_id": "P1"})
    exchanges = pd.DataFrame([{"id": f"{side}-{visitor}", "visitor_id": visitor, "host_id": host,
                               "start_date": FIRST_DAY, "end_date": LAST_DAY, "status": "requested"}
                              for visitor in ids for side, host in HOSTS.items()])
    events = pd.DataFrame({"exchange_id": exchanges["id"], "from_status": None, "to_status": "requested",
                           "changed_by": "setup"}).astype(object)
    store.replace_all(pd.DataFrame({"id": ["P1"], "name": ["Race partnership"], "target_exchanges": [100]}),
                      organisations, exchanges, events)
    if not signed:
        return store
    with store.transaction() as con:
        con.executemany("INSERT INTO host_answers (exchange_id, answer) VALUES (?, 'accepted')",
                        [[i] for i in exchanges["id"]])
        con.executemany("INSERT INTO signatures (exchange_id, document, party, signed_by) VALUES (?, ?, ?, 'setup')",
                        [[i, document, party] for i in exchanges["id"]
                         for document, parties in DOCUMENTS.items() for party in parties])
    return store


def exchanges_file(folder: Path, name: str, statuses: dict[str, str]) -> Path:
    """An exchanges import file setting the given exchanges (ids like A-V001) to the given statuses."""
    rows = [{"id": exchange_id, "visitor_id": exchange_id[2:], "host_id": HOSTS[exchange_id[0]],
             "start_date": FIRST_DAY, "end_date": LAST_DAY, "status": status}
            for exchange_id, status in statuses.items()]
    path = folder / f"{name}.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def double_visits(store: Store) -> int:
    """Visitors with more than one exchange that takes their visit."""
    return int(store.query("""SELECT count(*) FROM (SELECT visitor_id FROM exchanges
                               WHERE status IN ('approved', 'ongoing', 'completed', 'reported', 'paid')
                               GROUP BY visitor_id HAVING count(*) > 1) AS repeated""").iloc[0, 0])


def broken_trails(store: Store) -> list[str]:
    """Exchanges whose audit trail does not run unbroken from 'requested' to their status."""
    events = store.query("SELECT exchange_id, from_status, to_status FROM exchange_events ORDER BY id")
    statuses = store.query("SELECT id, status FROM exchanges").set_index("id")["status"]
    broken = []
    for exchange_id, status in statuses.items():
        trail = events[events["exchange_id"] == exchange_id]
        steps = list(zip(trail["from_status"], trail["to_status"]))
        chained = all(before[1] == after[0] for before, after in zip(steps, steps[1:]))
        if not steps or steps[-1][1] != status or not chained or not pd.isna(steps[0][0]):
            broken.append(exchange_id)
    return broken


def warm_up() -> int:
    """Import what a racer needs, so the race starts when the work starts."""
    import os

    return os.getpid()


def race(db: str, folder: str, operations: list, start_at: float, wait: float = 120) -> list[str]:
    """Run `operations` on the database from this process, starting at `start_at` (wall clock):
    ('status', exchange id, to_status) or ('import', {exchange id: status}). Returns each
    operation's outcome: 'ok', 'rejected' (an import with rejected rows) or the refusal's class
    (DatabaseBusy when the database stayed held longer than `wait` seconds)."""
    store = Store(db, wait=wait)
    time.sleep(max(0.0, start_at - time.time()))
    outcomes = []
    for number, operation in enumerate(operations):
        try:
            if operation[0] == "status":
                change_status(store, Viewer("officer", f"racer {folder}"), operation[1], operation[2])
                outcomes.append("ok")
            else:
                path = exchanges_file(Path(folder), f"import-{number}", operation[1])
                report = cio.import_path(store, OFFICER, "exchanges", path, mode="valid")
                outcomes.append("rejected" if report.rejected else "ok")
        except CxError as refused:
            outcomes.append(type(refused).__name__)
    return outcomes
