"""Money per partnership: what each partnership was allocated, what its exchanges committed and
paid, what remains, and how many more exchanges the remainder buys.

An exchange's lump sum counts towards its visitor's partnership, which pays it (domain.md).
Committed is every exchange that took its visit (approved to paid: the rulebook's taken
statuses), paid is status `paid`. Allocations are programme money, not people's data, but they
are a partnership's own business: officers and planners see every partnership's, a partnership
manager those of their partnership(s), an organisation none. Only officers set them (here, or by
importing partnerships with an `allocation_eur` column through cx.io).

The forecast is the budget model's (cx.budget.simulate), not a model of its own: a scenario
learnt from the programme's exchanges that went ahead, with the remainder as its envelope and
"as many exchanges as fit", simulated; the spread of the runs is the forecast's uncertainty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cx.access import ORGANISATION, Viewer, as_system, scoped
from cx.budget import Scenario, scenario_from_history, simulate, uniform_scenario
from cx.errors import BadAllocation, BadScenario
from cx.formats import euros
from cx.rules import load_rulebook
from cx.store import Store

FORECAST_RUNS = 2_000  # enough for stable 5th and 95th percentiles of a count of exchanges
MONEY_COLUMNS = ["partnership_id", "partnership", "allocated_eur", "committed_eur", "paid_eur", "remaining_eur"]
FORECAST_COLUMNS = ["more_exchanges_low", "more_exchanges", "more_exchanges_high"]


def _require_money(viewer: Viewer) -> None:
    viewer.require(viewer.role != ORGANISATION, "see the partnerships' money")


def _partnership_scope(viewer: Viewer, alias: str = "p") -> tuple[str, dict]:
    """The partnerships whose money the viewer sees, as a condition on `partnerships {alias}`."""
    _require_money(viewer)
    if viewer.role == "partnership_manager":
        return f"{alias}.id = ANY($viewer_partnerships)", {"viewer_partnerships": list(viewer.partnerships)}
    return "TRUE", {}


@scoped
def partnerships_with_allocations(store: Store, viewer: Viewer) -> pd.DataFrame:
    """Every partnership (id, name, ecosystems, target_exchanges) with its allocation where the
    viewer may see it (empty elsewhere): what the Data page exports and the import reads back."""
    frame = store.partnerships()
    if viewer.role == ORGANISATION:
        return frame.assign(allocation_eur=pd.array([pd.NA] * len(frame), dtype="Int64"))
    scope, parameters = _partnership_scope(viewer)
    allocations = store.query(f"SELECT id, allocation_eur FROM partnerships p WHERE {scope}", parameters)
    return frame.merge(allocations, on="id", how="left").astype({"allocation_eur": "Int64"})


@scoped
def set_allocation(store: Store, viewer: Viewer, partnership_id: str, allocation_eur: int | None) -> None:
    """Set (or, with None, clear) a partnership's allocation in whole euros. Officers only;
    BadAllocation names the partnership and the value when it is unknown or negative."""
    viewer.require_officer("set a partnership's allocation")
    if allocation_eur is not None:
        if isinstance(allocation_eur, bool) or not float(allocation_eur).is_integer():
            raise BadAllocation(f"the allocation of {partnership_id} is {allocation_eur!r}; give whole euros")
        allocation_eur = int(allocation_eur)
        if allocation_eur < 0:
            raise BadAllocation(f"the allocation of {partnership_id} is {euros(allocation_eur)}; "
                                "it cannot be negative (0 or more, in whole euros)")
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM partnerships WHERE id = ?", [partnership_id]).fetchone()[0]:
            raise BadAllocation(f"there is no partnership {partnership_id!r}; import it first")
        con.execute("UPDATE partnerships SET allocation_eur = ? WHERE id = ?", [allocation_eur, partnership_id])


@scoped
def partnership_money(store: Store, viewer: Viewer, partnerships: list[str] | tuple = ()) -> pd.DataFrame:
    """Per partnership in the viewer's scope (only `partnerships` when given): allocated,
    committed (approved to paid), paid and remaining (allocated minus committed; empty without an
    allocation), in whole euros, by partnership id."""
    scope, parameters = _partnership_scope(viewer)
    if partnerships:
        scope += " AND p.id = ANY($chosen)"
        parameters["chosen"] = list(partnerships)
    with as_system():  # sums over every exchange of the partnerships in scope (a planner's too)
        table = store.query(f"""
        SELECT p.id AS partnership_id, p.name AS partnership, p.allocation_eur AS allocated_eur,
               CAST(coalesce(sum(e.lump_sum_eur) FILTER (WHERE e.status = ANY($taken)), 0) AS BIGINT) AS committed_eur,
               CAST(coalesce(sum(e.lump_sum_eur) FILTER (WHERE e.status = 'paid'), 0) AS BIGINT) AS paid_eur
        FROM partnerships p
        LEFT JOIN organisations v ON v.partnership_id = p.id
        LEFT JOIN exchanges e ON e.visitor_id = v.id
        WHERE {scope}
        GROUP BY p.id, p.name, p.allocation_eur
        ORDER BY p.id""", {**parameters, "taken": list(load_rulebook().taken_statuses)})
    table = table.astype({"allocated_eur": "Int64", "committed_eur": "int64", "paid_eur": "int64"})
    table["remaining_eur"] = table["allocated_eur"] - table["committed_eur"]
    return table[MONEY_COLUMNS]


def forecast_scenario(store: Store) -> Scenario:
    """What a future exchange costs, as the budget model sees it: learnt from the programme's
    exchanges that went ahead, or uniform over the eligible countries when there are none."""
    try:
        return scenario_from_history(store, name="Remainder of a partnership's allocation")
    except BadScenario:
        return uniform_scenario(name="Remainder of a partnership's allocation")


def with_forecast(store: Store, money: pd.DataFrame, runs: int = FORECAST_RUNS, seed: int = 1) -> pd.DataFrame:
    """`money` with how many more exchanges each remainder buys: the median over the simulated
    runs, and the 5th and 95th percentiles (`more_exchanges_low`, `_high`). Nothing remains for
    a partnership that committed all of its allocation (0); no allocation, no forecast (empty)."""
    money = money.copy()
    for column in FORECAST_COLUMNS:
        money[column] = pd.array([pd.NA] * len(money), dtype="Int64")
    allocated = money["remaining_eur"].notna()
    if not allocated.any():
        return money
    scenario = forecast_scenario(store).replace(exchanges=None, runs=runs, seed=seed)
    for row in money.index[allocated]:
        remaining = int(money.at[row, "remaining_eur"])
        if remaining <= 0:
            money.loc[row, FORECAST_COLUMNS] = 0
            continue
        runs_fit = simulate(scenario.replace(envelope_eur=remaining)).affordable_per_run
        money.loc[row, FORECAST_COLUMNS] = [int(v) for v in np.quantile(runs_fit, [0.05, 0.5, 0.95],
                                                                        method="inverted_cdf")]
    return money


@scoped
def money_per_partnership(store: Store, viewer: Viewer, partnerships: list[str] | tuple = (),
                          runs: int = FORECAST_RUNS, seed: int = 1) -> pd.DataFrame:
    """What the Uptake page shows: `partnership_money` with its forecast (`with_forecast`)."""
    return with_forecast(store, partnership_money(store, viewer, partnerships), runs, seed)
