"""Budget scenarios: what an envelope buys, how sure we are, and what changes if the rules move."""

import streamlit as st

from cx import budget, charts, summaries
from cx.errors import BadPlan, CxError, SharesDoNotSum
from cx.rules import load_rulebook
from cx.ui import current_store, euros, euros_short, plain
from cx.ui.widgets import country_outlines, figure

SCENARIO = "budget_scenario"  # the scenario being edited, as JSON
RESULT = "budget_result"  # the last Simulation of it
COMPARED = "budget_compared"  # {scenario JSON: Simulation} of saved scenarios already run
SAVED = "budget_saved"  # the name just saved, to confirm after the rerun

store = current_store()
rulebook = load_rulebook()
st.title("Budget scenarios")
st.caption("How many exchanges does the envelope buy, what if the ceilings or the halving rule change, "
           "and how sure are we? Each scenario is simulated many times with the rulebook's lump sums.")


EDITION = "budget_edition"  # counts the scenarios opened, to give each a fresh ceilings table


def widget_values(scenario) -> dict:
    """The widgets' values that show `scenario` (keys are the widgets' keys)."""
    return {"name": scenario.name, "envelope": int(scenario.envelope_eur), "as_many": scenario.exchanges is None,
            "exchanges": int(scenario.exchanges or rulebook.target_exchanges), "runs": int(scenario.runs),
            "seed": int(scenario.seed), "scale": round(100 * (scenario.ceiling_scale - 1)),
            "halve_days": int(scenario.halve_under_working_days), "halve_km": int(scenario.halve_under_km),
            "blend": 0, "short_share": round(100 * scenario.short_share())}


def start_from(scenario):
    """Edit `scenario`: its values replace whatever the widgets held (a callback runs before the
    widgets are drawn, so they show the new values), and the last result is dropped."""
    st.session_state[SCENARIO] = scenario.to_json()
    st.session_state.pop(RESULT, None)
    st.session_state.update(widget_values(scenario))
    # A table editor's edits cannot be set, only left behind: a new key starts a clean table.
    st.session_state[EDITION] = st.session_state.get(EDITION, 0) + 1


def follow_halving():
    """The short stays' share is the scenario's under the new threshold, until the user moves it."""
    scenario = budget.Scenario.from_json(st.session_state[SCENARIO])
    st.session_state["short_share"] = round(
        100 * scenario.replace(halve_under_working_days=st.session_state["halve_days"]).short_share())


def open_saved(name):
    start_from(budget.load_scenario(store, name))


def run(scenario, label):
    """Simulate with a progress bar; None (and the reason shown) when the scenario is not valid."""
    bar = st.progress(0.0, text=f"Simulating {plain(label)}…")
    try:
        result = budget.simulate(scenario, progress=lambda done, text: bar.progress(done, text=text))
    except CxError as error:
        bar.empty()
        st.error(plain(f"{label}: {error}"))
        return None
    bar.empty()
    return result


def distribution(totals, key, envelope):
    """The runs' totals against the envelope, told in a sentence too; their numbers are the downloads'."""
    figure(totals, charts.budget_distribution, "No run.", key, arguments=(envelope,),
           describe=lambda t: summaries.budget_distribution(t, envelope), numbers={})


has_history = store.counts()["exchanges"] > 0
left, middle, right = st.columns(3)
left.button("Scenario from the database's history", key="from_history", disabled=not has_history,
            help="Host-country mix, working days and distances of the exchanges that went ahead",
            on_click=lambda: start_from(budget.scenario_from_history(store)))
middle.button("Uniform scenario", key="uniform", help="Every eligible host equally likely",
              on_click=lambda: start_from(budget.uniform_scenario(rulebook=rulebook)))
saved = budget.list_scenarios(store)
chosen = right.selectbox("Saved scenario", saved["name"], index=None, key="saved_choice",
                         placeholder="Open a saved scenario")
right.button("Open", key="open_saved", disabled=chosen is None, on_click=open_saved, args=(chosen,))

if SCENARIO not in st.session_state:
    if not has_history:
        st.info("The database has no exchanges yet, so there is no history to learn from. Start from a uniform "
                "scenario, or load the demo programme with `python -m cx demo`.")
        st.stop()
    start_from(budget.scenario_from_history(store))

scenario = budget.Scenario.from_json(st.session_state[SCENARIO])
for key, value in widget_values(scenario).items():  # widgets left unshown on another page lose their state
    st.session_state.setdefault(key, value)
scenario_tab, plan_tab, compare_tab = st.tabs(["Scenario", "Planned exchanges", "Compare saved scenarios"])

with scenario_tab:
    st.caption(f"Basis: {plain(scenario.basis)}")
    top = st.columns(4)
    name = top[0].text_input("Name", key="name")
    envelope = top[1].number_input("Envelope (EUR)", step=10_000, key="envelope")
    as_many = top[2].toggle("As many exchanges as the envelope allows", key="as_many")
    exchanges = top[2].number_input("Exchanges", step=50, key="exchanges", disabled=as_many)
    runs = top[3].number_input("Runs", step=1000, key="runs",
                               help=f"At most {budget.MAX_RUNS:,}, and at most {budget.MAX_DRAWS:,} runs x exchanges")
    seed = top[3].number_input("Seed", step=1, key="seed")

    sliders = st.columns(5)
    scale = sliders[0].slider("Ceilings change (%)", -50, 50, key="scale")
    under_days = sliders[1].slider("Halve under (working days)", 1, 10, key="halve_days", on_change=follow_halving)
    under_km = sliders[2].slider("Halve under (km)", 0, 1000, step=25, key="halve_km")
    towards_equal = sliders[3].slider("Mix: towards an equal share per country (%)", 0, 100, key="blend")
    short = sliders[4].slider(f"Short stays (under {under_days} working days, %)", 0, 100, key="short_share")

    st.subheader("Ceilings and host-country mix")
    st.caption("Edit a ceiling or a share in the table. Indicative ceilings are not published for that "
               "country (the scheme-wide maximum stands in); confirm them before relying on the result. "
               "The ceilings change slider applies on top of the edited ceilings.")
    edited = st.data_editor(
        scenario.replace(ceiling_scale=1 + scale / 100).ceiling_table(rulebook),
        key=f"ceilings_{st.session_state.get(EDITION, 0)}", hide_index=True, width="stretch",
        disabled=["country", "name", "figure", "call_ceiling_eur", "scaled_ceiling_eur"],
        column_config={
            "figure": st.column_config.TextColumn("Call's figure", help="published, or indicative (not published)"),
            "call_ceiling_eur": st.column_config.NumberColumn("Call's ceiling (EUR)", format="%d"),
            "ceiling_eur": st.column_config.NumberColumn("Ceiling (EUR)", format="%d", step=10),
            "scaled_ceiling_eur": st.column_config.NumberColumn("After the % change (EUR)", format="%d"),
            "share_percent": st.column_config.NumberColumn("Share of exchanges (%)", format="%.2f"),
        },
    )
    edited_scenario = scenario.with_table(edited).replace(
        name=name, envelope_eur=int(envelope), exchanges=None if as_many else int(exchanges), runs=int(runs),
        seed=int(seed), ceiling_scale=1 + scale / 100, halve_under_working_days=under_days, halve_under_km=float(under_km),
    )
    to_run = None
    try:
        edited_scenario.validate(rulebook)
        to_run = edited_scenario.with_uniform_blend(towards_equal / 100, rulebook)
        if short != round(100 * edited_scenario.short_share()):
            to_run = to_run.with_short_share(short / 100)
    except SharesDoNotSum as error:
        st.error(f"The scenario cannot run: {plain(error)}.")
        st.button("Normalise the shares to 100%", key="normalise",
                  on_click=start_from, args=(edited_scenario.normalised(),))
    except CxError as error:
        st.error(f"The scenario cannot run: {plain(error)}.")

    actions = st.columns([1, 1, 2])
    if actions[0].button("Run the simulation", key="run", type="primary", disabled=to_run is None):
        st.session_state[RESULT] = run(to_run, name)
    taken = name in set(saved["name"])
    replace = taken and actions[2].checkbox(f"Replace the saved scenario {plain(repr(name))}", key="replace_saved")
    if actions[1].button("Save scenario", key="save", disabled=to_run is None):
        if taken and not replace:
            st.warning(f"{plain(repr(name))} is saved already: tick Replace to overwrite it, or choose another name.")
        else:
            budget.save_scenario(store, to_run, replace=replace)
            st.session_state[SAVED] = name
            st.rerun()
    if SAVED in st.session_state:
        st.success(f"Saved {plain(repr(st.session_state.pop(SAVED)))}.")

    result = st.session_state.get(RESULT)
    if result is None:
        st.info("Set the scenario up, then run the simulation.")
    else:
        figures = st.columns(5)
        figures[0].metric("Expected total", euros_short(result.expected_total_eur), help=euros(result.expected_total_eur))
        figures[1].metric("90% of runs", f"{euros_short(result.p5_eur)[4:]}–{euros_short(result.p95_eur)[4:]}",
                          help=f"90% of the runs cost between {euros(result.p5_eur)} and {euros(result.p95_eur)}; "
                               f"median {euros(result.p50_eur)}")
        figures[2].metric("Over the envelope", f"{result.p_exceed:.1%}",
                          help=f"the chance that the total exceeds the envelope of {euros(result.scenario.envelope_eur)}")
        figures[3].metric("Affordable (95%)", f"{result.affordable:,}",
                          help="exchanges that fit in the envelope with 95% confidence")
        figures[4].metric("Halved lump sums", f"{result.share_halved:.1%}",
                          help=f"short stays {result.share_halved_short:.1%}, near hosts {result.share_halved_near:.1%}")
        st.caption(f"{result.exchanges:,} exchanges, {result.scenario.runs:,} runs, seed {result.scenario.seed}.")
        distribution(budget.run_totals([result]), "distribution", result.scenario.envelope_eur)
        bar, where = st.columns(2)
        no_cost = "No host country has an expected cost."
        figure(result.by_country, charts.cost_by_host_country, no_cost, "by_country", bar,
               describe=summaries.cost_by_host_country)
        figure(result.by_country, charts.cost_by_host_country_map, no_cost, "by_country_map", where,
               arguments=(country_outlines(),), describe=summaries.cost_by_host_country, numbers={})  # beside it
        downloads = st.columns(2)
        downloads[0].download_button("Results as CSV", budget.results_csv(result), f"{result.scenario.name}.csv",
                                     "text/csv", key="csv")
        downloads[1].download_button(
            "Results as Excel", budget.results_excel(result), f"{result.scenario.name}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key="excel")

    with st.expander("Saved scenarios: duplicate or delete"):
        if saved.empty:
            st.info("No scenario is saved yet.")
        else:
            target = st.selectbox("Scenario", saved["name"], key="manage_choice")
            copy_name = st.text_input("Name of the copy", f"{target} (copy)", key=f"copy_name.{target}")
            buttons = st.columns(2)
            try:
                if buttons[0].button("Duplicate", key="duplicate"):
                    budget.duplicate_scenario(store, target, copy_name)
                    st.rerun()
                if buttons[1].button("Delete", key="delete"):
                    budget.delete_scenario(store, target)
                    st.rerun()
            except CxError as error:
                st.error(plain(error))

with plan_tab:
    st.caption("Upload a CSV of planned stays: host_country, start, end, and distance_km or visitor_city, "
               "visitor_country, host_city. Each line is costed with this scenario's ceilings and thresholds.")
    upload = st.file_uploader("Planned exchanges (CSV)", type="csv", key="plan")
    if upload is None:
        st.info("No plan uploaded.")
    else:
        try:
            lines = budget.cost_plan(budget.read_plan(upload), edited_scenario.rulebook(rulebook))
        except BadPlan as error:
            st.error("The plan has rows that cannot be costed:\n\n"
                     + "\n".join(f"- row {row}: {plain(message)}" for row, message in error.problems))
        else:
            total = int(lines["lump_sum_eur"].sum())
            st.metric("Total lump sums", euros(total), delta=f"{euros(edited_scenario.envelope_eur - total)} left "
                      "in the envelope", delta_color="normal" if total <= edited_scenario.envelope_eur else "inverse")
            indicative = int((lines["ceiling_figure"] == "indicative").sum())
            if indicative:
                st.caption(f"{indicative:,} of {len(lines):,} lines use an indicative ceiling (not published for "
                           "that host country): confirm it before relying on the total.")
            st.dataframe(lines, hide_index=True, width="stretch")

with compare_tab:
    # No picker while there is nothing to pick: a disabled one is drawn faded, under 4.5:1 contrast.
    chosen = st.multiselect("Saved scenarios to compare (2 to 4)", saved["name"], max_selections=4,
                            key="compare") if len(saved) >= 2 else []
    if len(chosen) < 2:
        st.info("Choose two to four saved scenarios." if len(saved) >= 2 else
                "Save at least two scenarios to compare them.")
    else:
        done = st.session_state.setdefault(COMPARED, {})
        results = []
        for scenario_name in chosen:
            saved_scenario = budget.load_scenario(store, scenario_name)
            key = saved_scenario.to_json()
            if key not in done:
                done[key] = run(saved_scenario, scenario_name)
            if done[key] is not None:
                results.append(done[key])
        if len(results) >= 2:
            st.dataframe(budget.compare(results), width="stretch")
            distribution(budget.run_totals(results), "compare_distribution", results[0].scenario.envelope_eur)
