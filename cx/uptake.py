"""The programme officer's questions, as DuckDB queries over the store.

Every function takes the `Store` first and returns a DataFrame or a small dict, so the pages only
draw, and every figure can be checked against an independent computation in tests.
"""

from __future__ import annotations

import pandas as pd

from cx.rules import load_rulebook
from cx.store import Store


def overview(store: Store) -> dict:
    """The programme at a glance: organisations, exchanges, and the money committed and paid.

    Committed means every exchange in a status that takes the visitor's one visit (approved to
    paid); paid means the lump sum has been paid."""
    taken = list(load_rulebook().taken_statuses)
    row = store.query(
        """
        SELECT (SELECT count(*) FROM organisations) AS organisations,
               (SELECT count(*) FROM organisations WHERE can_visit) AS visitors,
               (SELECT count(*) FROM organisations WHERE can_host) AS hosts,
               (SELECT count(DISTINCT country) FROM organisations) AS countries,
               (SELECT count(*) FROM partnerships) AS partnerships,
               count(*) AS exchanges,
               count(*) FILTER (WHERE status = 'paid') AS paid_exchanges,
               coalesce(sum(lump_sum_eur) FILTER (WHERE list_contains(?, status)), 0) AS committed_eur,
               coalesce(sum(lump_sum_eur) FILTER (WHERE status = 'paid'), 0) AS paid_eur
        FROM exchanges
        """,
        [taken],
    ).iloc[0]
    return {key: int(value) for key, value in row.items()}


def organisations_by_kind_and_country(store: Store) -> pd.DataFrame:
    return store.query(
        "SELECT country, kind, count(*) AS organisations FROM organisations GROUP BY ALL ORDER BY country, kind"
    )


def exchanges_by_status(store: Store) -> pd.DataFrame:
    return store.query(
        "SELECT status, count(*) AS exchanges, coalesce(sum(lump_sum_eur), 0)::BIGINT AS lump_sum_eur "
        "FROM exchanges GROUP BY status"
    )


def money_by_month(store: Store) -> pd.DataFrame:
    """Lump sums committed (by month of the stay's start) and paid, cumulated, in whole euros."""
    taken = list(load_rulebook().taken_statuses)
    return store.query(
        """
        SELECT date_trunc('month', start_date) AS month,
               sum(sum(lump_sum_eur) FILTER (WHERE list_contains(?, status))) OVER (ORDER BY date_trunc('month', start_date))::BIGINT AS committed_eur,
               sum(coalesce(sum(lump_sum_eur) FILTER (WHERE status = 'paid'), 0)) OVER (ORDER BY date_trunc('month', start_date))::BIGINT AS paid_eur
        FROM exchanges GROUP BY month ORDER BY month
        """,
        [taken],
    )
