"""Money per partnership on real DuckDB files: allocations set and imported, committed, paid and
remaining against a pandas oracle, the forecast from the budget model, and who sees what."""

import numpy as np
import pandas as pd
import pytest
from viewers import OFFICER, PLANNER, manager, organisation

from cx import budget, charts, money, summaries
from cx import io as cio
from cx.access import NotAllowed
from cx.errors import BadAllocation


def oracle(store, rulebook) -> pd.DataFrame:
    """Money per partnership computed with pandas from the whole tables."""
    exchanges = store.table("exchanges").merge(store.table("organisations")[["id", "partnership_id"]],
                                               left_on="visitor_id", right_on="id", suffixes=("", "_visitor"))
    taken = exchanges[exchanges["status"].isin(rulebook.taken_statuses)]
    paid = exchanges[exchanges["status"] == "paid"]
    table = store.table("partnerships").set_index("id")
    return pd.DataFrame({
        "allocated_eur": table["allocation_eur"],
        "committed_eur": taken.groupby("partnership_id")["lump_sum_eur"].sum().reindex(table.index, fill_value=0),
        "paid_eur": paid.groupby("partnership_id")["lump_sum_eur"].sum().reindex(table.index, fill_value=0),
    }).assign(remaining_eur=lambda t: t["allocated_eur"] - t["committed_eur"])


def test_money_per_partnership_matches_a_pandas_oracle(demo_store, rulebook):
    expected = oracle(demo_store, rulebook)
    assert expected["committed_eur"].gt(0).all() and expected["paid_eur"].gt(0).all()
    found = money.partnership_money(demo_store, OFFICER).set_index("partnership_id")
    assert found.index.tolist() == expected.index.tolist()
    for column in expected:
        assert found[column].astype("int64").tolist() == expected[column].astype("int64").tolist(), column
    assert (found["paid_eur"] <= found["committed_eur"]).all()


def test_the_demo_gives_every_partnership_an_allocation_and_some_are_tight(demo_store):
    table = money.partnership_money(demo_store, OFFICER)
    assert table["allocated_eur"].notna().all() and (table["allocated_eur"] % 5_000 == 0).all()
    assert table["allocated_eur"].nunique() > 1


def test_a_manager_sees_their_own_partnership_an_organisation_none(demo_store):
    everyone = money.partnership_money(demo_store, OFFICER)
    assert money.partnership_money(demo_store, PLANNER).equals(everyone)
    mine = money.partnership_money(demo_store, manager("P02"))
    assert mine["partnership_id"].tolist() == ["P02"]
    assert mine.to_dict("records") == everyone[everyone["partnership_id"] == "P02"].to_dict("records")
    assert money.partnership_money(demo_store, OFFICER, ["P01", "P03"])["partnership_id"].tolist() == ["P01", "P03"]
    member = demo_store.table("organisations")["id"].iloc[0]
    with pytest.raises(NotAllowed, match="may not see the partnerships' money"):
        money.partnership_money(demo_store, organisation(member))


def test_only_an_officer_sets_an_allocation_and_a_bad_one_is_refused(demo_store):
    money.set_allocation(demo_store, OFFICER, "P01", 12_345)
    assert demo_store.query("SELECT allocation_eur FROM partnerships WHERE id = 'P01'").iat[0, 0] == 12_345
    before = demo_store.table("partnerships")
    with pytest.raises(NotAllowed, match="may not set a partnership's allocation"):
        money.set_allocation(demo_store, manager("P01"), "P01", 1)
    with pytest.raises(BadAllocation, match="the allocation of P01 is EUR -5; it cannot be negative"):
        money.set_allocation(demo_store, OFFICER, "P01", -5)
    with pytest.raises(BadAllocation, match="give whole euros"):
        money.set_allocation(demo_store, OFFICER, "P01", 10.5)
    with pytest.raises(BadAllocation, match="there is no partnership 'P99'"):
        money.set_allocation(demo_store, OFFICER, "P99", 100)
    assert demo_store.table("partnerships").equals(before)
    money.set_allocation(demo_store, OFFICER, "P01", None)
    assert pd.isna(money.partnership_money(demo_store, OFFICER).set_index("partnership_id").at["P01", "remaining_eur"])


def test_allocations_import_with_row_numbered_errors_and_export_scoped(demo_store):
    header = "id,name,target_exchanges,allocation_eur\n"
    bad = (header + "P01,First,100,90000\nP02,Second,100,-1\nP03,Third,100,lots\n").encode()
    report = cio.import_file(demo_store, OFFICER, "partnerships", bad, "allocations.csv")
    assert not report.written
    assert sorted(zip(report.findings["row"], report.findings["rule"])) == [(3, "not_negative"), (4, "integer")]
    assert "allocation_eur" in set(report.findings["column"])
    good = (header + "P01,First,100,90000\nP02,Second,100,70000\n").encode()
    assert cio.import_file(demo_store, OFFICER, "partnerships", good, "allocations.csv").written
    # A file without the column keeps the stored allocations.
    names = b"id,name,target_exchanges\nP01,First renamed,100\n"
    assert cio.import_file(demo_store, OFFICER, "partnerships", names, "names.csv").written
    stored = demo_store.table("partnerships").set_index("id")
    assert stored.loc[["P01", "P02"], "allocation_eur"].tolist() == [90_000, 70_000]
    assert stored.at["P01", "name"] == "First renamed"
    with pytest.raises(NotAllowed):
        cio.import_file(demo_store, manager("P01"), "partnerships", good, "allocations.csv")

    exported = cio.export_frame(demo_store, manager("P02"), "partnerships").set_index("id")["allocation_eur"]
    assert exported["P02"] == 70_000 and exported.drop("P02").isna().all()
    member = demo_store.table("organisations")["id"].iloc[0]
    assert cio.export_frame(demo_store, organisation(member), "partnerships")["allocation_eur"].isna().all()
    full = cio.export_frame(demo_store, OFFICER, "partnerships")
    again = cio.import_file(demo_store, OFFICER, "partnerships", full.to_csv(index=False).encode(), "back.csv")
    assert again.rejected == 0 and again.added == again.updated == 0


def test_the_forecast_is_the_budget_models_simulation_of_the_remainder(demo_store, rulebook):
    table = money.money_per_partnership(demo_store, OFFICER, runs=500)
    assert (table["more_exchanges_low"] <= table["more_exchanges"]).all()
    assert (table["more_exchanges"] <= table["more_exchanges_high"]).all()
    # The same scenario simulated directly gives the same spread of runs.
    row = table.iloc[0]
    scenario = money.forecast_scenario(demo_store).replace(exchanges=None, runs=500, seed=1,
                                                           envelope_eur=int(row["remaining_eur"]))
    runs = budget.simulate(scenario).affordable_per_run
    assert [row["more_exchanges_low"], row["more_exchanges"], row["more_exchanges_high"]] == \
        np.quantile(runs, [0.05, 0.5, 0.95], method="inverted_cdf").astype(int).tolist()
    # An independent check: the remainder divided by the mean lump sum of the exchanges that went ahead.
    exchanges = demo_store.table("exchanges")
    mean = exchanges.loc[exchanges["status"].isin(rulebook.taken_statuses), "lump_sum_eur"].mean()
    for remaining, median in zip(table["remaining_eur"], table["more_exchanges"]):
        assert abs(median - remaining / mean) <= 0.1 * remaining / mean + 2


def test_nothing_left_buys_nothing_and_more_money_buys_more(demo_store):
    committed = money.partnership_money(demo_store, OFFICER).set_index("partnership_id")["committed_eur"]
    money.set_allocation(demo_store, OFFICER, "P01", int(committed["P01"]) - 100)  # committed beyond it
    money.set_allocation(demo_store, OFFICER, "P02", None)
    money.set_allocation(demo_store, OFFICER, "P03", int(committed["P03"]) + 50_000)
    money.set_allocation(demo_store, OFFICER, "P04", int(committed["P04"]) + 100_000)
    table = money.money_per_partnership(demo_store, OFFICER, runs=300).set_index("partnership_id")
    assert table.loc["P01", money.FORECAST_COLUMNS].tolist() == [0, 0, 0]
    assert table.loc["P02", money.FORECAST_COLUMNS].isna().all()
    assert table.at["P04", "more_exchanges_low"] > table.at["P03", "more_exchanges_high"]


def test_the_chart_and_its_sentence_tell_the_same_money(demo_store):
    money.set_allocation(demo_store, OFFICER, "P01", 1_000)  # committed beyond it
    table = money.money_per_partnership(demo_store, OFFICER, runs=200)
    figure = charts.partnership_money(table)
    bars = {trace.name: trace for trace in figure.data}
    ordered = table.sort_values("partnership_id", ascending=False)
    assert list(bars["paid"].x) == ordered["paid_eur"].astype(float).tolist()
    assert [p + c for p, c in zip(bars["paid"].x, bars["committed, not yet paid"].x)] == \
        ordered["committed_eur"].astype(float).tolist()
    assert list(bars["allocation"].x) == ordered["allocated_eur"].astype(float).tolist()
    sentence = summaries.partnership_money(table)
    total = f"EUR {int(table['allocated_eur'].sum()):,} allocated to {len(table)} partnerships"
    assert sentence.startswith(total)
    assert "committed beyond the allocation: P01" in sentence and "The least left: P01" in sentence
