"""Uptake: is the scheme working, and where to push? Registrations, the pipeline, completions
against targets, money against the envelope, flows, stays, and what the data gets wrong."""

import streamlit as st

from cx import charts, missions, money, summaries, uptake
from cx.errors import CxError
from cx.rules import load_rulebook
from cx.ui import cached, current_store, euros, stop_without_data
from cx.ui.filters import sidebar_filters
from cx.ui.login import current_viewer
from cx.ui.widgets import UPTAKE_TAB, figure, finding, headline_figure

store = current_store()
viewer = current_viewer(store)
rulebook = load_rulebook()
st.title("Uptake")
options = cached(uptake.filter_options, store, None)
if options["first_day"] is None:
    stop_without_data("There are no exchanges yet.")

filters = sidebar_filters(options, viewer, page="uptake")
shown = st.session_state.get(UPTAKE_TAB) or next(iter(uptake.TABS))  # the tabs below, as last chosen
view = cached(uptake.dashboard, store, viewer, filters=filters.as_dict(), tab=shown)
figures = view["headline"]
now = figures["current"]
st.caption(f"{filters.start:%d %b %Y} to {filters.end:%d %b %Y}, each figure against the "
           f"{(filters.end - filters.start).days + 1} days before. Money and completions are to the period's end.")
if now["exchanges"] == 0 and now["visitors_registered"] == 0 and now["hosts_registered"] == 0:
    st.info("No exchange or registration matches these filters in this period. "
            "Widen the period or clear a filter in the sidebar.")
    st.stop()

# Each group of figures in a row that wraps: side by side on a desktop, two abreast on a phone (st.columns
# would stack eighteen figures one under the other at phone width).
row = st.container(horizontal=True, key="headline_money")
headline_figure(row, "Visitors registered", figures, "visitors_registered")
headline_figure(row, "Hosts registered", figures, "hosts_registered")
headline_figure(row, "Completed to date", figures, "completed_to_date",
                value=f"{now['completed_to_date']:,} / {rulebook.target_exchanges:,}",
                help=f"{now['completed_to_date'] / rulebook.target_exchanges:.0%} of the programme target; "
                     f"{now['partnerships_at_target']} partnership(s) at their own target")
headline_figure(row, "Lump sums committed", figures, "committed_eur", "euros", up_is_good=None,
                help=f"{now['committed_eur'] / rulebook.budget_envelope_eur:.0%} of the "
                     f"{euros(rulebook.budget_envelope_eur)} envelope (approved to paid)")
headline_figure(row, "Lump sums paid", figures, "paid_eur", "euros", up_is_good=None,
                help=f"{now['paid_eur'] / rulebook.budget_envelope_eur:.0%} of the envelope")

row = st.container(horizontal=True, key="headline_pipeline")
for status in uptake.PIPELINE:
    headline_figure(row, status.capitalize(), figures, status, up_is_good=None)
headline_figure(row, "Rejected or cancelled", figures, "withdrawn", up_is_good=False,
                help=f"{now['rejected']:,} rejected, {now['cancelled']:,} cancelled")

row = st.container(horizontal=True, key="headline_quality")
headline_figure(row, "Halved lump sums", figures, "halved_share", "share", up_is_good=False,
                help=f"shorter than {rulebook.halve_under_working_days} working days or under "
                     f"{rulebook.halve_under_km:g} km apart")
headline_figure(row, "SME visitors", figures, "sme_share", "share")
headline_figure(row, "Average stay", figures, "average_working_days", "days", help="working days at the host")
headline_figure(row, "Average distance", figures, "average_distance_km", "km")
headline_figure(row, "Countries reached", figures, "countries_reached", help="as visitor or host")
headline_figure(row, "Crossing ecosystems", figures, "crossing_share", "share",
                help="exchanges whose visitor and host share no ecosystem")

nothing = "No exchange matches these filters in this period."


def pipeline_and_targets():
    left, right = st.columns(2)
    pipeline = view["pipeline"]
    figure(pipeline[pipeline["reached"] > 0], charts.pipeline_funnel,
           nothing, "funnel", left, describe=summaries.pipeline_funnel)
    figure(view["monthly"], charts.monthly_progress, nothing, "monthly", right,
           arguments=(rulebook.target_exchanges,), describe=lambda t: summaries.monthly_progress(t, rulebook.target_exchanges))
    figure(view["partnership_progress"], charts.partnership_progress, "No partnership matches these filters.",
           "partnerships", describe=summaries.partnership_progress)


def money_per_partnership():
    st.caption("Each partnership's allocation against its visitors' lump sums, to date: committed is approved to "
               "paid. How many more exchanges the remainder buys is the budget model's forecast (a simulation "
               f"of {money.FORECAST_RUNS:,} runs learnt from the exchanges that went ahead), with the range "
               "90% of the runs fall in.")
    table = cached(money.money_per_partnership, store, viewer, partnerships=list(filters.partnerships))
    figure(table, charts.partnership_money, "No partnership matches these filters.", "money",
           describe=summaries.partnership_money)
    if viewer.is_officer:
        with st.form("allocation"):
            st.write("Set a partnership's allocation (or import partnerships with an allocation_eur column on "
                     "the Data page).")
            left, right = st.columns(2)
            chosen = left.selectbox("Partnership", table["partnership_id"], key="allocation_partnership",
                                    format_func=lambda p: f"{p} · {table.set_index('partnership_id').at[p, 'partnership']}")
            amount = right.number_input("Allocation (EUR)", min_value=0, step=1_000, value=None,
                                        key="allocation_eur", placeholder="whole euros")
            if st.form_submit_button("Save the allocation"):
                try:
                    money.set_allocation(store, viewer, chosen, amount)
                except CxError as error:
                    st.error(str(error))
                else:
                    st.success(f"The allocation of {chosen} is now "
                               + ("none" if amount is None else euros(amount)) + ".")
                    st.rerun()


def flows():
    countries = view["country_flows"]
    left, right = st.columns(2)
    figure(countries, charts.country_sankey, nothing, "sankey", left, describe=summaries.country_flows)
    figure(countries, charts.country_heatmap, nothing, "country_heatmap", right, describe=summaries.country_flows,
           numbers={})  # the same flows as the Sankey's, whose numbers are beside it
    figure(view["ecosystem_pairs"], charts.ecosystem_heatmap, nothing, "ecosystems",
           describe=summaries.ecosystem_heatmap)


def stays():
    left, right = st.columns(2)
    figure(view["working_days_histogram"],
           charts.threshold_histogram, nothing, "days", left,
           arguments=("working_days", rulebook.halve_under_working_days, "Working days at the host", "working days"),
           describe=lambda t: summaries.threshold_histogram(t, "working_days", rulebook.halve_under_working_days,
                                                            "working days"))
    figure(view["distance_histogram"],
           charts.threshold_histogram, nothing, "distance", right,
           arguments=("distance_km", rulebook.halve_under_km, "Distance between the organisations", "km",
                      uptake.DISTANCE_BIN_KM),
           describe=lambda t: summaries.threshold_histogram(t, "distance_km", rulebook.halve_under_km, "km"))


def group_missions():
    group = cached(missions.missions, store, viewer, partnerships=list(filters.partnerships), start=filters.start,
                   end=filters.end)
    if group.empty:
        st.info("No group mission in this period.")
    else:
        st.caption(f"{len(group):,} group missions in the period, each listed once with its members: "
                   f"{int(group['visitors'].sum()):,} visitors going ahead to {int(group['hosts'].sum()):,} hosts. "
                   "The Exchange map draws them.")
        st.dataframe(group.drop(columns=list(missions.PLACE_COLUMNS)), hide_index=True, width="stretch",
                     key="missions_table", column_config={
                         "committed_eur": st.column_config.NumberColumn("committed (EUR)", format="localized"),
                         "agenda": st.column_config.TextColumn("agenda")})


def data_quality():
    if not viewer.reads_rows:
        st.info("The findings list organisations and exchanges, which the planner's role does not see.")
    else:
        st.caption("What to correct before the figures above can be trusted. Open a finding to see its rows"
                   + ("." if viewer.is_officer else f" (those of {', '.join(viewer.partnerships)})."))
        for key, (title, _) in uptake.FINDINGS.items():
            finding(title, view[key], key)


# Only the tab shown is read and drawn (`shown` above): choosing another reruns the page.
tabs = st.tabs(list(uptake.TABS), key=UPTAKE_TAB, on_change="rerun")
for tab, draw in zip(tabs, (pipeline_and_targets, money_per_partnership, flows, stays, group_missions,
                            data_quality)):
    if tab.open:
        with tab:
            draw()
