"""cx.uptake's queries against an independent pandas computation (tests/uptake_oracle.py) on a
small hand-built programme, over filters that include the edge cases, on both back ends (DuckDB
file, PostgreSQL database); and every view giving the same figures on both for the demo."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import uptake_oracle as oracle
from programme_fixture import hand_built_programme
from cx import uptake
from cx.uptake import Filters
from cx.store import copy_programme, open_store
from viewers import OFFICER

D = dt.date
YEAR_2026 = Filters(start=D(2026, 1, 1), end=D(2026, 12, 31))
CASES = {
    "everything": Filters(),
    "2026 against 2025": YEAR_2026,
    "days that start and end stays": Filters(start=D(2026, 2, 2), end=D(2026, 4, 7)),
    "an empty period": Filters(start=D(2024, 1, 1), end=D(2024, 6, 30)),
    "visitors from Germany": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), visitor_countries=("DE",)),
    "hosts in Italy or France": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), host_countries=("IT", "FR")),
    "Health ecosystem": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), ecosystems=("Health",)),
    "SME visitors": Filters(start=D(2025, 7, 1), end=D(2026, 12, 31), kinds=("SME",)),
    "paid only": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), statuses=("paid",)),
    "partnership P1": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), partnerships=("P1",)),
    "a partnership with no exchanges": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), partnerships=("P3",)),
    "a filter matching nothing": Filters(start=D(2025, 1, 1), end=D(2026, 12, 31), host_countries=("XK",)),
    "no period, two filters": Filters(ecosystems=("Digital", "Tourism"), statuses=("paid", "approved", "requested")),
}


BACKENDS = ("duckdb", "postgres")


@pytest.fixture(scope="module", params=BACKENDS)
def programme(request, tmp_path_factory, rulebook):
    store = hand_built_programme(tmp_path_factory.mktemp("uptake") / "programme.duckdb", rulebook)
    if request.param == "postgres":
        templates, databases = (request.getfixturevalue(name) for name in ("postgres_templates", "postgres_databases"))
        copy = open_store(databases(templates["cx_empty"]))
        copy_programme(store, copy)
        store = copy
    tables = oracle.load(store)
    return store, tables, oracle.joined(tables)


def same(sql: pd.DataFrame, pandas: pd.DataFrame, keys: list[str]) -> None:
    """Equal whatever the row order and integer widths; both sides must have every column."""
    columns = list(pandas.columns)
    left = sql[columns].sort_values(keys).reset_index(drop=True)
    right = pandas[columns].sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False, check_exact=False)


@pytest.mark.parametrize("case", CASES)
def test_headline_figures_match_pandas(programme, case):
    store, tables, x = programme
    filters = CASES[case]
    result = uptake.headline(store, filters.as_dict())
    expected = oracle.headline(tables, x, filters)
    assert (result["previous"] is None) == (expected["previous"] is None)
    for period in ("current", "previous"):
        if expected[period] is None:
            continue
        assert set(result[period]) == set(expected[period])
        for key, value in expected[period].items():
            assert result[period][key] == (pytest.approx(value) if value is not None else None), (period, key)
            if isinstance(value, int):  # counts and euros stay whole numbers
                assert isinstance(result[period][key], int), (period, key, result[period][key])


@pytest.mark.parametrize("case", CASES)
def test_every_view_matches_pandas(programme, case):
    store, tables, x = programme
    f = CASES[case]
    same(uptake.pipeline(store, f), oracle.pipeline(x, f), ["stage"])
    same(uptake.partnership_progress(store, f), oracle.partnership_progress(tables, x, f), ["partnership_id"])
    same(uptake.country_flows(store, f), oracle.country_flows(x, f), ["visitor_country", "host_country"])
    same(uptake.ecosystem_pairs(store, f), oracle.ecosystem_pairs(x, f), ["visitor_ecosystem", "host_ecosystem"])
    same(uptake.working_days_histogram(store, f), oracle.working_days_histogram(x, f), ["working_days"])
    same(uptake.distance_histogram(store, f), oracle.distance_histogram(x, f, uptake.DISTANCE_BIN_KM), ["distance_km"])
    same(uptake.place_flows(store, f), oracle.place_flows(x, f), ["visitor_city", "host_city"])
    same(uptake.places(store, f), oracle.places(x, f), ["city", "country"])
    same(uptake.country_activity(store, f), oracle.country_activity(x, f), ["country"])
    same(uptake.repeated_visitors(store, OFFICER, f), oracle.repeated_visitors(x, f), ["visitor_id"])
    assert (sorted(uptake.unplaced_organisations(store, OFFICER, f)["organisation_id"])
            == sorted(oracle.unplaced_organisations(tables, f)["id"]))
    same(uptake.rule_breaches(store, OFFICER, f), oracle.rule_breaches(x, f), ["exchange_id", "rule"])
    same(uptake.lump_sum_mismatches(store, OFFICER, f), oracle.lump_sum_mismatches(x, f), ["exchange_id"])
    for today in (D(2026, 11, 25), dt.date.today() + dt.timedelta(days=40)):
        same(uptake.stalled_exchanges(store, OFFICER, f, today), oracle.stalled_exchanges(x, f, today), ["exchange_id"])
    if f.start or len(oracle.select(x, f, since_start=False)):
        sql = uptake.monthly(store, f)
        same(sql, oracle.monthly(x, f), ["month"])


def test_the_partnership_with_no_exchange_is_listed_with_none(programme):
    store, _, _ = programme
    progress = uptake.partnership_progress(store, YEAR_2026).set_index("partnership_id")
    assert progress.loc["P3", "completed"] == 0
    assert progress.index[0] == "P3"  # the laggards come first


def test_an_empty_period_has_no_figures_to_average(programme):
    store, _, _ = programme
    figures = uptake.headline(store, CASES["an empty period"])["current"]
    assert figures["exchanges"] == 0 and figures["going_ahead"] == 0
    assert figures["halved_share"] is None and figures["average_working_days"] is None
    assert uptake.country_flows(store, CASES["an empty period"]).empty


def test_the_previous_period_is_as_long_and_just_before():
    before = Filters(start=D(2026, 3, 1), end=D(2026, 3, 31), kinds=("SME",)).previous()
    assert (before.start, before.end, before.kinds) == (D(2026, 1, 29), D(2026, 2, 28), ("SME",))
    assert Filters(kinds=("SME",)).previous() is None


def test_filters_survive_the_cache_round_trip():
    filters = CASES["visitors from Germany"]
    assert Filters.of(filters.as_dict()) == filters
    assert Filters.of(None) == Filters()


def test_the_findings_name_the_deliberate_mistakes(programme):
    store, _, _ = programme
    breaches = uptake.rule_breaches(store, OFFICER, Filters())
    found = set(zip(breaches["exchange_id"], breaches["rule"]))
    assert {("X06", "too_short"), ("X07", "same_country"), ("X08", "visited_already")} <= found
    assert not any(exchange == "X09" for exchange, _ in found)  # a rejected request breaks nothing
    assert uptake.repeated_visitors(store, OFFICER, Filters())["visitor_id"].tolist() == ["O2", "O6"]
    assert uptake.unplaced_organisations(store, OFFICER, Filters())["city"].tolist() == ["Raaba-Grambach"]
    wrong = uptake.lump_sum_mismatches(store, OFFICER, Filters())
    assert wrong["exchange_id"].tolist() == ["X12"] and wrong["difference_eur"].tolist() == [100]


def test_stalled_steps_are_found_past_their_deadlines(programme, rulebook):
    """The fixture's rows were written today, so a request or report has waited 0 days; 40 days on,
    both are overdue too."""
    store, _, _ = programme
    stalled = uptake.stalled_exchanges(store, OFFICER, Filters(), today=D(2026, 11, 25))
    assert stalled[["exchange_id", "status", "days_overdue"]].values.tolist() == [
        ["X03", "completed", 325], ["X06", "approved", 232], ["X07", "completed", 171]]
    assert stalled["why"].iloc[0] == f"no closing report within {rulebook.report_days} days of the stay's end"
    later = uptake.stalled_exchanges(store, OFFICER, Filters(), today=dt.date.today() + dt.timedelta(days=40))
    overdue = later.set_index("exchange_id")["days_overdue"]
    assert overdue["X04"] == 40 - rulebook.payment_days and overdue["X10"] == 40 - rulebook.answer_days
    # A period shows the stalled stays that started in it: X03 (1 Dec 2025) is not in 2026's.
    in_2026 = uptake.stalled_exchanges(store, OFFICER, Filters(start=D(2026, 1, 1), end=D(2026, 12, 31)), today=D(2026, 11, 25))
    assert in_2026["exchange_id"].tolist() == ["X06", "X07"]


def test_the_target_trajectory_runs_across_the_programme(rulebook):
    months = pd.Series(pd.to_datetime([rulebook.programme_start, rulebook.programme_end, "2030-01-01"]))
    trajectory = uptake.target_trajectory(months)
    assert 0 < trajectory.iloc[0] < rulebook.target_exchanges / 12
    assert trajectory.iloc[1] == trajectory.iloc[2] == rulebook.target_exchanges
    assert np.all(np.diff(trajectory) >= 0)


@pytest.mark.parametrize("case", ["2026 against 2025", "a filter matching nothing", "no period, two filters"])
def test_the_page_reads_the_same_views_on_one_connection(programme, case):
    store, _, _ = programme
    f = CASES[case]
    board = uptake.dashboard(store, OFFICER, f.as_dict())
    assert board["headline"] == uptake.headline(store, f)
    pd.testing.assert_frame_equal(board["pipeline"], uptake.pipeline(store, f))
    for name in ("monthly", "partnership_progress", "country_flows", "working_days_histogram", *uptake.FINDINGS):
        if name in uptake.FINDINGS:
            pd.testing.assert_frame_equal(board[name], uptake.FINDINGS[name][1](store, OFFICER, f))
        else:
            pd.testing.assert_frame_equal(board[name], getattr(uptake, name)(store, f))
    layers = uptake.map_layers(store, OFFICER, f)
    pd.testing.assert_frame_equal(layers["places"], uptake.places(store, f))


def test_a_tab_s_dashboard_reads_the_headline_and_that_tab_s_views_only(programme):
    store, _, _ = programme
    f = CASES["2026 against 2025"]
    board = uptake.dashboard(store, OFFICER, f.as_dict())
    for tab, views in uptake.TABS.items():
        part = uptake.dashboard(store, OFFICER, f.as_dict(), tab=tab)
        assert set(part) == {"headline", "pipeline", *views}, tab
        assert part["headline"] == board["headline"]
        for name in ("pipeline", *views):
            pd.testing.assert_frame_equal(part[name], board[name])
    assert set().union(*uptake.TABS.values()) | {"headline", "pipeline"} == set(board)


def test_the_views_see_a_write_made_after_their_last_read(demo_store):
    """The views read a joined copy of the database: a write must reach the next read."""
    def requested_now():
        return int(uptake.pipeline(demo_store).set_index("stage").at["requested", "now"])

    waiting = requested_now()
    assert waiting > 0
    with demo_store.transaction() as con:
        con.execute("UPDATE exchanges SET status = 'rejected' WHERE status = 'requested'")
    assert requested_now() == 0


def test_every_view_gives_the_same_figures_on_both_back_ends(demo_db, postgres_templates, postgres_database):
    """The demo programme in a DuckDB file and copied to PostgreSQL: every figure, view and finding
    the pages show is the same, for the whole programme and for a filtered period."""
    duck, postgres = open_store(demo_db), open_store(postgres_database(postgres_templates["cx_demo"]))
    assert uptake.overview(postgres) == uptake.overview(duck)
    assert uptake.filter_options(postgres) == uptake.filter_options(duck)
    for view in (uptake.organisations_by_kind_and_country, uptake.exchanges_by_status, uptake.money_by_month):
        pd.testing.assert_frame_equal(view(postgres), view(duck), obj=view.__name__)
    for filters in (Filters(), Filters(start=D(2025, 7, 1), end=D(2026, 6, 30), ecosystems=("Health", "Digital"))):
        board, expected = uptake.dashboard(postgres, OFFICER, filters), uptake.dashboard(duck, OFFICER, filters)
        assert board.keys() == expected.keys()
        for name, value in expected.items():
            if isinstance(value, pd.DataFrame):
                pd.testing.assert_frame_equal(board[name], value, obj=name)
            elif name == "headline":  # averages may differ in the last bits (another summation order)
                for period, figures in value.items():
                    assert (board[name][period] is None) == (figures is None)
                    for key, figure in (figures or {}).items():
                        assert board[name][period][key] == pytest.approx(figure), (period, key)
            else:
                assert board[name] == value, name
        layers, expected = uptake.map_layers(postgres, OFFICER, filters), uptake.map_layers(duck, OFFICER, filters)
        for name, value in expected.items():
            pd.testing.assert_frame_equal(layers[name], value, obj=name)


# Writes of every kind the joined copy reads, as the workflow and the imports make them: a status
# change, an organisation edited into an ecosystem combination nobody had, a second taken
# exchange for a visitor (every exchange of that visitor breaks the visit-once rule), one of a
# visitor's two taken exchanges removed (the other one no longer breaks it), an organisation
# removed, a host's answer, signatures and a closing report, a registration, and a partnership's
# new target.
WRITES = (
    "UPDATE exchanges SET status = 'cancelled', updated_at = current_timestamp WHERE id = 'X00001'",
    "UPDATE organisations SET name = 'Renamed Ltd', country = 'PT', city = 'Porto', lat = 41.15, lon = -8.61, "
    "ecosystems = ARRAY['Tourism', 'Agri-food', 'Health', 'Digital', 'Textile'] WHERE id = 'O00263'",
    "INSERT INTO exchanges (id, visitor_id, host_id, start_date, end_date, working_days, distance_km, status, "
    "lump_sum_eur, halved) SELECT 'X99999', visitor_id, host_id, start_date + 400, end_date + 400, working_days, "
    "distance_km, 'approved', lump_sum_eur, halved FROM exchanges WHERE id = 'X00002'",
    "DELETE FROM exchanges WHERE id = 'X00098'",
    "DELETE FROM organisations WHERE id = 'O00269'",
    "INSERT INTO host_answers (exchange_id, answer) SELECT id, 'accepted' FROM exchanges WHERE status = 'requested' "
    "ORDER BY id LIMIT 2",
    "INSERT INTO signatures (exchange_id, document, party, signed_by) SELECT id, 'quality', 'host', 'h@example.org' "
    "FROM exchanges WHERE status = 'requested' ORDER BY id LIMIT 1",
    "INSERT INTO closing_reports (exchange_id, done, results, follow_ups, host_rating, state, filed_by, filed_at) "
    "SELECT id, 'd', 'r', 'f', 4, 'filed', 'v@example.org', current_timestamp FROM exchanges "
    "WHERE status = 'completed' ORDER BY id LIMIT 1",
    "INSERT INTO organisations (id, name, kind, country, city, ecosystems, registered_on) "
    "VALUES ('O99999', 'Newcomer', 'SME', 'EE', 'Tartu', ARRAY['Digital'], DATE '2026-11-20')",
    "UPDATE partnerships SET target_exchanges = target_exchanges + 7",
)


def _copy_tables(copy) -> dict[str, list[tuple]]:
    """The copy's tables as rows in id order, each ecosystem combination as its list (the numbers
    of combinations met after a build follow the build's)."""
    sets = """(SELECT s.ecosystems FROM ecosystem_sets s WHERE s.set_id = {})"""
    with copy.connect() as con:
        return {name: con.execute(sql).fetchall() for name, sql in {
            "exchange_facts": f"""SELECT * EXCLUDE (visitor_ecosystem_set, host_ecosystem_set),
                                         {sets.format("visitor_ecosystem_set")}, {sets.format("host_ecosystem_set")}
                                  FROM exchange_facts ORDER BY id""",
            "organisations": f"SELECT * EXCLUDE (ecosystem_set), {sets.format('ecosystem_set')} FROM organisations ORDER BY id",
            "partnerships": "SELECT * FROM partnerships ORDER BY id",
            "breaches": "SELECT * FROM breaches ORDER BY check_order, exchange_id"}.items()}


def test_a_refreshed_copy_equals_one_built_again(demo_store, monkeypatch):
    """After writes of every kind the views read, the copy refreshed in place holds exactly what a
    copy built from the database holds, and every view and finding gives the same."""
    monkeypatch.setattr(uptake, "REFRESHED_AT_MOST", 1.0)  # refresh whatever the share changed
    copy = uptake.joined(demo_store)
    before = _copy_tables(copy)
    with demo_store.transaction() as con:
        for write in WRITES:
            con.execute(write)
    assert uptake.joined(demo_store) is copy
    assert 0 < copy.replaced < 40  # the written rows, and the exchanges of the organisations edited or removed
    built = uptake._Joined(demo_store, demo_store.data_version())
    refreshed, expected = _copy_tables(copy), _copy_tables(built)
    for name, rows in expected.items():
        assert refreshed[name] == rows, name
        assert rows != before[name], name  # each table took part in the writes
    board, again = uptake.dashboard(copy, OFFICER), uptake.dashboard(built, OFFICER)
    assert board["headline"] == again["headline"]
    for name, value in again.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(board[name], value, obj=name)
    assert {"visited_already"} <= set(board["rule_breaches"]["rule"])


def test_a_write_the_views_do_not_read_replaces_no_row(demo_store):
    copy = uptake.joined(demo_store)
    with demo_store.transaction() as con:
        con.execute("INSERT INTO scenarios (id, name, parameters) VALUES ('s1', 'Bigger envelope', '{}')")
    assert uptake.joined(demo_store) is copy
    assert copy.replaced == 0 and copy.version == demo_store.data_version()


def test_the_copy_is_built_again_when_much_has_changed(demo_store):
    copy = uptake.joined(demo_store)
    with demo_store.transaction() as con:
        con.execute("UPDATE exchanges SET updated_at = current_timestamp")
    again = uptake.joined(demo_store)
    assert again is not copy and again.replaced == 0
    assert _copy_tables(again) == _copy_tables(uptake._Joined(demo_store, demo_store.data_version()))
