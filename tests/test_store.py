"""The store on both back ends (real DuckDB files, real PostgreSQL databases): migrations,
transactions, parameterised reads, the same result types."""

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from cx.store import ORGANISATION_FIELDS, SCHEMA_VERSION, DuckDBStore, Store, copy_programme, insert_frame, open_store
from cx.errors import CxError
from viewers import OFFICER

BACKENDS = ("duckdb", "postgres")


def test_a_new_file_gets_the_current_schema(tmp_path):
    store = Store(tmp_path / "new.duckdb")
    assert store.migrate() == list(range(1, SCHEMA_VERSION + 1))
    assert store.schema_version() == SCHEMA_VERSION
    assert set(store.counts()) == {"partnerships", "organisations", "exchanges", "exchange_events", "scenarios",
                                  "accounts", "registrations", "outbox", "invitations", "missions", "host_answers",
                                  "agenda_days", "signatures", "closing_reports", "evidence", "payments"}


def test_migrations_are_idempotent(store):
    before = store.query("SELECT table_name, column_name FROM information_schema.columns ORDER BY 1, 2")
    assert store.migrate() == []
    assert store.migrate() == []
    after = store.query("SELECT table_name, column_name FROM information_schema.columns ORDER BY 1, 2")
    pd.testing.assert_frame_equal(before, after)
    assert store.query("SELECT count(*) AS n FROM schema_version")["n"].iloc[0] == SCHEMA_VERSION


def _partnership(id_="P1", target=100):
    return pd.DataFrame({"id": [id_], "name": ["Textile partnership"], "ecosystems": [["Textile"]],
                         "target_exchanges": [target]})


def _constraint_error(store):
    """What the back end's driver raises for a broken constraint."""
    if isinstance(store, DuckDBStore):
        return duckdb.ConstraintException
    import psycopg

    return psycopg.errors.IntegrityError


def test_a_failed_transaction_leaves_nothing(store):
    with store.transaction() as con:
        insert_frame(con, "partnerships", _partnership("P1"))
    with pytest.raises(_constraint_error(store)):
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
    with pytest.raises(_constraint_error(store)):
        with store.transaction() as con:
            insert_frame(con, "partnerships", _partnership("P1", target=-5))
    assert store.counts()["partnerships"] == 0


def test_queries_take_parameters_not_strings(demo_store):
    country = "DE'; DROP TABLE organisations; --"
    assert demo_store.query("SELECT count(*) AS n FROM organisations WHERE country = ?", [country])["n"][0] == 0
    assert demo_store.counts()["organisations"] == 400


def test_the_file_is_released_between_units_of_work(demo_store):
    """Another process (the command line) can open the file while the app is idle."""
    if not isinstance(demo_store, DuckDBStore):
        pytest.skip("a DuckDB file's lock; a server has none")
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


def test_both_back_ends_give_the_same_types(demo_db, postgres_templates, postgres_database):
    """The same rows with the same pandas dtypes from either back end: pages and figures cannot
    tell them apart."""
    duck, postgres = open_store(demo_db), open_store(postgres_database(postgres_templates["cx_demo"]))
    assert isinstance(postgres, Store) and not isinstance(postgres, DuckDBStore)
    for table in ("partnerships", "organisations", "exchanges", "exchange_events", "accounts"):
        pd.testing.assert_frame_equal(postgres.table(table), duck.table(table), obj=table)
    pd.testing.assert_frame_equal(postgres.exchanges(OFFICER), duck.exchanges(OFFICER))
    sql = ("SELECT e.status, count(*) AS n, sum(e.lump_sum_eur)::BIGINT AS total, avg(e.distance_km) AS distance, "
           "min(e.start_date) AS first, max(e.halved::INTEGER) AS any_halved FROM exchanges e "
           "WHERE e.status = ANY(?) GROUP BY e.status ORDER BY e.status")
    parameters = [["requested", "approved", "paid"]]
    pd.testing.assert_frame_equal(postgres.query(sql, parameters), duck.query(sql, parameters))


def _kind(arrow_type) -> str:
    """An Arrow type, whatever its list's item is named (DuckDB's `l`, the driver's `item`)."""
    return f"list<{arrow_type.value_type}>" if isinstance(arrow_type, pa.ListType) else str(arrow_type)


def test_a_snapshot_reads_the_same_arrow_tables_from_both_back_ends(demo_db, postgres_templates, postgres_database):
    """A snapshot (PostgreSQL's through the Arrow driver) gives the same values and types as
    DuckDB's: lists, dates, moments, sums; placeholders outside quotes only, a `?` or `%` inside
    them kept."""
    duck, postgres = open_store(demo_db), open_store(postgres_database(postgres_templates["cx_demo"]))
    chosen = duck.query("SELECT id FROM exchanges ORDER BY id LIMIT 5")["id"].tolist()
    queries = {
        "exchanges": ("SELECT e.id, e.start_date, e.distance_km, e.lump_sum_eur, e.halved, e.updated_at, "
                      "o.ecosystems, '?%' AS mark FROM exchanges e JOIN organisations o ON o.id = e.visitor_id "
                      "WHERE e.id = ANY(CAST(? AS VARCHAR[])) AND e.lump_sum_eur >= ? ORDER BY e.id", [chosen, 0]),
        "sums": "SELECT status, round(avg(lump_sum_eur), 2) AS mean_eur, min(distance_km) AS km, "
                "CAST(count(*) AS BIGINT) AS n FROM exchanges GROUP BY status ORDER BY status",
        "none": ("SELECT id FROM organisations WHERE id = ANY(CAST(? AS VARCHAR[]))", [[]]),
    }
    got, expected = postgres.snapshot(queries), duck.snapshot(queries)
    for name, table in expected.items():
        assert got[name].column_names == table.column_names, name
        assert list(map(_kind, got[name].schema.types)) == list(map(_kind, table.schema.types)), name
        assert got[name].to_pylist() == table.to_pylist(), name
    assert len(got["exchanges"]) == 5 and got["exchanges"]["mark"][0].as_py() == "?%"


def test_a_copy_moves_every_row_and_refuses_a_database_in_use(demo_db, postgres_database, postgres_templates,
                                                            tmp_path):
    """DuckDB to PostgreSQL and back: the same tables; the next audit event is numbered after the
    copied ones; a target that holds rows is refused and left as it was."""
    duck = open_store(demo_db)
    postgres = open_store(postgres_database(postgres_templates["cx_empty"]))
    assert copy_programme(duck, postgres) == duck.counts()
    back = open_store(tmp_path / "back.duckdb")
    assert copy_programme(postgres, back) == duck.counts()
    for table in ("organisations", "exchanges", "exchange_events"):
        pd.testing.assert_frame_equal(back.table(table), duck.table(table), obj=table)
    for target in (postgres, back):
        with target.transaction() as con:
            con.execute("INSERT INTO exchange_events (exchange_id, to_status, changed_by) VALUES ('X', 'paid', 't')")
        assert target.query("SELECT max(id) AS n FROM exchange_events")["n"][0] == duck.counts()["exchange_events"] + 1
        with pytest.raises(CxError, match="already holds"):
            copy_programme(duck, target)
        assert target.counts()["exchanges"] == 300


def test_a_server_that_does_not_answer_is_a_sentence_not_a_traceback(tmp_path):
    """A PostgreSQL URL nobody listens on: the command line says so in one sentence (exit 3)."""
    from cx.cli import main
    from cx.postgres import ServerUnavailable, close_pool

    url = f"postgresql://cx:secret@/cx?host={tmp_path}&port=1"
    with pytest.raises(ServerUnavailable, match=r"postgresql://cx:\*\*\*@/cx.* gave no connection within 1 s"):
        Store(url, wait=1).counts()
    assert main(["init", "--db", url, "--wait", "1"]) == 3
    close_pool(url)


def test_a_copy_brings_the_evidence_files_checked_by_their_hash(tmp_path, postgres_database, postgres_templates):
    """Evidence files live beside the database, not in its rows: a copy to PostgreSQL and back
    brings them, readable where the rows are; an altered file stops the copy, which writes nothing."""
    from steps import PDF

    from cx import closing
    from cx import evidence as files
    from cx import exchanges as workflow
    from cx import io as cio

    duck = open_store(tmp_path / "cx.duckdb")
    for kind in cio.KINDS:
        cio.import_path(duck, OFFICER, kind, cio.template_path(kind))
    for status in ("ongoing", "completed"):
        workflow.change_status(duck, OFFICER, "EX-X1", status)
    sha = closing.add_evidence(duck, OFFICER, "EX-X1", PDF, "boarding-pass.pdf")
    postgres = open_store(postgres_database(postgres_templates["cx_empty"]))
    (files.folder(postgres) / sha).unlink(missing_ok=True)  # a folder another test of this machine may have filled
    copy_programme(duck, postgres)
    assert closing.evidence_file(postgres, OFFICER, "EX-X1", sha) == ("boarding-pass.pdf", "application/pdf", PDF)
    back = open_store(tmp_path / "back.duckdb")
    copy_programme(postgres, back)
    assert (files.folder(back) / sha).read_bytes() == PDF
    (files.folder(duck) / sha).write_bytes(PDF + b"changed")
    again = open_store(tmp_path / "again.duckdb")
    with pytest.raises(CxError, match=f"the evidence file {sha[:12]}… was altered after upload"):
        copy_programme(duck, again)
    assert not any(again.counts().values()) and not files.folder(again).exists()


def test_the_organisation_fields_are_the_table_s_columns(store):
    """ORGANISATION_RECORDS names every column of `organisations`, in order: a migration that adds
    one must add it there too (its contacts come from `organisation_contacts`)."""
    with store.connect() as con:
        columns = [row[0] for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'organisations' "
            "ORDER BY ordinal_position").fetchall()]
    assert tuple(columns) == ORGANISATION_FIELDS
    assert list(store.organisations(OFFICER).columns) == columns
