"""The officer's filters, shared by the Uptake and Exchange map pages and kept in the URL.

Each widget is bound to a query parameter of the same name (`bind="query-params"`), so a
filtered view is a link that can be shared, and the choice survives a switch between pages.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from cx.errors import CxError
from cx.rules import load_rulebook
from cx.uptake import Filters

# Widget keys, which are also the URL's query parameter names.
PERIOD, PARTNERSHIP, VISITOR_COUNTRY, HOST_COUNTRY, ECOSYSTEM, KIND, STATUS = (
    "period", "partnership", "visitor_country", "host_country", "ecosystem", "kind", "status")
DEFAULT_DAYS = 365


def default_period(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The twelve months to today: what an officer reviews unless they ask otherwise."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), today


def sidebar_filters(options: dict) -> Filters:
    """Draw the filters in the sidebar and return what they select.

    `options` is `cx.uptake.filter_options(store)`: the partnerships, countries, ecosystems,
    kinds and statuses to choose from, and the first and last day of the stays."""
    rulebook = load_rulebook()
    start, end = default_period()
    low = min(start, options["first_day"] or start)
    high = max(end, options["last_day"] or end)
    partnerships = options["partnerships"]
    # Countries are chosen by ISO code, which is also what the shared link carries.
    countries = ", ".join(f"{code} {_country_name(rulebook, code)}" for code in options["countries"])
    with st.sidebar:
        st.header("Filters")
        period = st.date_input("Period (first day of the stay; registration day)", value=(start, end),
                               min_value=low, max_value=high, key=PERIOD, bind="query-params")
        chosen = {
            "partnerships": st.multiselect("Partnership (the visitor's)", list(partnerships), key=PARTNERSHIP,
                                           format_func=lambda p: f"{p} · {partnerships[p]}", bind="query-params"),
            "visitor_countries": st.multiselect("Visitor country", options["countries"], key=VISITOR_COUNTRY,
                                                help=countries, bind="query-params"),
            "host_countries": st.multiselect("Host country", options["countries"], key=HOST_COUNTRY,
                                             help=countries, bind="query-params"),
            "ecosystems": st.multiselect("Ecosystem (visitor's or host's)", options["ecosystems"], key=ECOSYSTEM,
                                         bind="query-params"),
            "kinds": st.multiselect("Organisation kind (the visitor's)", options["kinds"], key=KIND,
                                    bind="query-params"),
            "statuses": st.multiselect("Status", options["statuses"], key=STATUS, bind="query-params"),
        }
        st.caption("Empty means all. The address bar keeps these filters: copy it to share this view.")
    # A range being picked has one date until the second click; keep the default end meanwhile.
    period = tuple(period) if isinstance(period, (tuple, list)) else (period,)
    first = period[0] if period else start
    last = period[1] if len(period) > 1 else max(first, end)
    return Filters(start=first, end=last, **{name: tuple(values) for name, values in chosen.items()})


def _country_name(rulebook, code: str) -> str:
    try:
        return rulebook.country_name(code)
    except CxError:  # a code the rulebook does not know still shows, as itself
        return code
