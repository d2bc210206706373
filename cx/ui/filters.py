"""The officer's filters, shared by the Uptake and Exchange map pages and kept in the URL.

Each widget is bound to a query parameter of the same name (`bind="query-params"`), so a
filtered view is a link that can be shared. The choice is also remembered apart from the widgets:
Streamlit forgets a value that came from the link when another page is opened.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from cx.access import MANAGER, Viewer
from cx.errors import CxError
from cx.rules import load_rulebook
from cx.ui import plain
from cx.uptake import Filters

# Widget keys, which are also the URL's query parameter names.
PERIOD, PARTNERSHIP, VISITOR_COUNTRY, HOST_COUNTRY, ECOSYSTEM, KIND, STATUS = (
    "period", "partnership", "visitor_country", "host_country", "ecosystem", "kind", "status")
KEYS = (PERIOD, PARTNERSHIP, VISITOR_COUNTRY, HOST_COUNTRY, ECOSYSTEM, KIND, STATUS)
REFUSED = "filters.refused"  # the values of the link that opened the page that could not be chosen
CHOSEN = "filters.chosen"  # (page, {key: value}): the last choice of the filters, carried to the other page
DEFAULT_DAYS = 365


def default_period(today: dt.date | None = None, last_day: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The twelve months to today and the stays planned after it (to `last_day`, the last stay's
    first day): what an officer reviews unless they ask otherwise. Requested and approved stays
    mostly start in the future; a period ending today would hide the pipeline and the money committed."""
    today = today or dt.date.today()
    return today - dt.timedelta(days=DEFAULT_DAYS - 1), max(today, last_day or today)


def sidebar_filters(options: dict, viewer: Viewer, page: str) -> Filters:
    """Draw the filters in the sidebar of `page` (a name) and return what they select.

    `options` is `cx.uptake.filter_options(store)`: the partnerships, countries, ecosystems,
    kinds and statuses to choose from, and the first and last day of the stays. A value in the
    link wins; otherwise a page opened from another one starts from that page's choice, and a
    partnership manager from their own partnership(s) (clearing it shows programme-wide figures)."""
    rulebook = load_rulebook()
    start, end = default_period(last_day=options["last_day"])
    # The whole programme can be chosen, from its start even before the first stay.
    low = min(start, options["first_day"] or start, rulebook.programme_start or start)
    high = max(end, options["last_day"] or end, rulebook.programme_end or end)
    asked = {key: st.query_params.get_all(key) for key in KEYS}  # what a shared link asks for
    last_page, last_choice = st.session_state.get(CHOSEN, (None, {}))
    if last_page != page:  # on the page's own reruns the widgets hold the choice, and a user's change wins
        for key, value in last_choice.items():
            if not asked[key]:
                st.session_state[key] = value
    partnerships = options["partnerships"]
    # Countries are chosen by ISO code, which is also what the shared link carries.
    countries = ", ".join(f"{code} {_country_name(rulebook, code)}" for code in options["countries"])
    with st.sidebar:
        st.header("Filters")
        period = st.date_input("Period (first day of the stay; registration day)", value=(start, end),
                               min_value=low, max_value=high, key=PERIOD, bind="query-params")
        chosen = {
            "partnerships": st.multiselect("Partnership (the visitor's)", list(partnerships), key=PARTNERSHIP,
                                           default=list(viewer.partnerships) if viewer.role == MANAGER else None,
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
        choice = {key: st.session_state[key] for key in KEYS if key in st.session_state}
        if last_page != page:  # opened from a link or from the other page: say what the link could not set
            used = {PERIOD: [str(day) for day in (period if isinstance(period, (tuple, list)) else [period])],
                    **{key: [str(value) for value in st.session_state.get(key) or []] for key in KEYS[1:]}}
            st.session_state[REFUSED] = _refused(asked, used)
        elif choice != last_choice:  # a choice by hand replaces the link's
            st.session_state.pop(REFUSED, None)
        st.session_state[CHOSEN] = (page, choice)
        refused = st.session_state.get(REFUSED)
        if refused:
            period_range = (f" Periods run from {low:%d %b %Y} to {high:%d %b %Y}."
                            if any(value.startswith(f"{PERIOD}=") for value in refused) else "")
            st.warning(plain(f"The link asked for {', '.join(refused)}, which cannot be chosen here; "
                             f"it was left out.{period_range}"))
    # A range being picked has one date until the second click; keep the default end meanwhile.
    period = tuple(period) if isinstance(period, (tuple, list)) else (period,)
    first = period[0] if period else start
    last = period[1] if len(period) > 1 else max(first, end)
    return Filters(start=first, end=last, **{name: tuple(values) for name, values in chosen.items()})


def _refused(asked: dict[str, list[str]], used: dict[str, list[str]]) -> list[str]:
    """The link's values that the filters did not take, as `key=value`."""
    return [f"{key}={value}" for key, values in asked.items() for value in values if value not in used[key]]


def _country_name(rulebook, code: str) -> str:
    try:
        return rulebook.country_name(code)
    except CxError:  # a code the rulebook does not know still shows, as itself
        return code
