"""The DuckDB store on real files: migrations, transactions, parameterised reads."""

import duckdb
import pandas as pd
import pytest

from cx.store import SCHEMA_VERSION, Store, insert_frame, open_store
from viewers import OFFICER


def test_a_new_file_gets_the_current_schema(tmp_path):
    store = Store(tmp_path / "new.duckdb")
    assert store.migrate() == list(range(1, SCHEMA_VERSION + 1))
    assert store.schema_version() == SCHEMA_VERSION
    assert set(store.counts()) == {"partnerships", "organisations", "exchanges", "exchange_events", "scenarios",
                                  "accounts", "registrations", "outbox", "invitations", "missions", "host_answers",
                                  "agenda_days", "signatures", "closing_reports", "evidence", "payments"}


def test_migrations_are_idempotent(store):
    before = store.query("SELECT table_name, column_name FROM information_schema.columns ORDER BY ALL")
    assert store.migrate() == []
    assert store.migrate() == []
    after = store.query("SELECT table_name, column_name FROM information_schema.columns ORDER BY ALL")
    pd.testing.assert_frame_equal(before, after)
    assert store.query("SELECT count(*) AS n FROM schema_version")["n"].iloc[0] == SCHEMA_VERSION


def _partnership(id_="P1", target=100):
    return pd.DataFrame({"id": [id_], "name": ["Textile partnership"], "ecosystems": [["Textile"]],
                         "target_exchanges": [target]})


def test_a_failed_transaction_leaves_nothing(store):
    with store.transaction() as con:
        insert_frame(con, "partnerships", _partnership("P1"))
    with pytest.raises(duckdb.ConstraintException):
        with store.transaction() as con:
            insert_frame(con, "partnerships", _partnership("P2"))
            insert_frame(con, "partnerships", _partnership("P1"))  # duplicate key: the whole block fails
    assert store.partnerships()["id"].tolist() == ["P1"]


def test_an_exception_in_the_block_rolls_back(store):
    with pytest.raises(RuntimeError):
        with store.transaction() as con:
            insert_frame(con, "partnerships", _partnership("P9"))
            raise RuntimeError("killed halfway")
    assert store.counts()["partnerships"] == 0


def test_a_check_constraint_guards_the_data(store):
    with pytest.raises(duckdb.ConstraintException):
        with store.transaction() as con:
            insert_frame(con, "partnerships", _partnership("P1", target=-5))
    assert store.counts()["partnerships"] == 0


def test_queries_take_parameters_not_strings(demo_store):
    country = "DE'; DROP TABLE organisations; --"
    assert demo_store.query("SELECT count(*) AS n FROM organisations WHERE country = ?", [country])["n"][0] == 0
    assert demo_store.counts()["organisations"] == 400


def test_the_file_is_released_between_units_of_work(demo_store):
    """Another process (the command line) can open the file while the app is idle."""
    demo_store.exchanges(OFFICER)
    with duckdb.connect(str(demo_store.path)) as other:
        assert other.execute("SELECT count(*) FROM exchanges").fetchone()[0] == 300


def test_exchanges_carry_both_organisations(demo_store):
    exchanges = demo_store.exchanges(OFFICER)
    assert exchanges[["visitor_country", "host_country", "partnership_id"]].notna().all().all()
    assert len(exchanges) == 300


def test_open_store_migrates(tmp_path):
    assert open_store(tmp_path / "x.duckdb").schema_version() == SCHEMA_VERSION


def test_concurrent_reads_give_what_sequential_reads_give(demo_store):
    calls = {country: (lambda c=country: demo_store.query(
        "SELECT count(*) AS n FROM organisations WHERE country = ?", [c])["n"][0]) for country in ("DE", "FR", "PT", "XK")}
    assert demo_store.read_concurrently(calls) == {name: call() for name, call in calls.items()}


def test_a_reading_block_belongs_to_its_thread(demo_store):
    """Streamlit sessions share one Store: one session's reading block must not lend its
    connection to another session's thread."""
    import threading

    seen = {}
    with demo_store.reading():
        worker = threading.Thread(target=lambda: seen.setdefault("connection", demo_store._held()))
        worker.start()
        worker.join()
        assert demo_store._held() is not None
    assert seen["connection"] is None
