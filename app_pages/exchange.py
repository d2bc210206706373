"""Exchange steps: one exchange from request to payment. Each person sees the step that is theirs
as one button (answer, agenda, signature, approval, report, validation, payment); cx refuses
anything else with the reason."""

import datetime as dt

import pandas as pd
import streamlit as st

from cx import agreement, closing
from cx import exchanges as workflow
from cx.errors import CxError
from cx.parties import DOCUMENT_NAMES, PARTY_NAMES
from cx.store import TEXT_LIMITS, Store
from cx.ui import cached, current_store, euros, plain
from cx.ui.login import current_viewer
from cx.ui.steps import CHOSEN

DONE = "steps_done"  # the last step's sentence, shown after the page reloads its data

store = current_store()
viewer = current_viewer(store)
st.title("Exchange steps")
exchanges = cached(Store.exchanges, store, viewer)
if exchanges.empty:
    st.info("No exchange yet: a visitor requests one on Find a host.")
    st.stop()
rows = exchanges.set_index("id")
ids = rows.index.tolist()
# No status in the label: Streamlit keeps a select box's first label after a step changes it
# (streamlit/streamlit#13788); the status line below is always current.
exchange_id = st.selectbox("Exchange", ids, key=CHOSEN, format_func=lambda i: (
    f"{i} · {rows.at[i, 'visitor_name']} → {rows.at[i, 'host_name']}, {rows.at[i, 'start_date']:%d %b %Y}"))
if DONE in st.session_state:
    st.success(plain(st.session_state.pop(DONE)))


def act(step, success: str, *arguments, voids: bool = False, **options) -> None:
    """Take a step; say what happened after the reload (with the voided signatures when the step
    `voids` some), or why cx refused."""
    try:
        said = step(store, viewer, exchange_id, *arguments, **options)
    except CxError as error:
        st.error(plain(f"Refused: {error}."))
    else:
        st.session_state[DONE] = success + (f" {said[0].upper()}{said[1:]}." if voids and said else "")
        st.rerun()


found = agreement.agreement(store, viewer, exchange_id)
party = found["exchange"]
speaks = {p: viewer.speaks_for(p, party.visitor, party.host) for p in PARTY_NAMES}
status, answer = found["status"], found["answer"]
st.text(f"{found['visitor']} ({found['visitor_country']}) visits {found['host']} ({found['host_country']}), "
        f"{found['start_date']:%d %b %Y} to {found['end_date']:%d %b %Y}: {status}"
        + (f", the host has {answer} other dates" if answer == "proposed" else
           ", the host accepted" if answer == "accepted" and status == "requested" else "") + ".")
lump_sum = "not worked out" if pd.isna(found["lump_sum_eur"]) else euros(found["lump_sum_eur"])
st.text(f"Lump sum {lump_sum}: {found['lump_sum_reason']}.")

# --- the host answers -------------------------------------------------------------------------
if status == "requested" and pd.isna(answer) and speaks["host"]:
    st.subheader("Answer the request")
    if st.button("Accept", type="primary", key="steps_accept"):
        act(agreement.accept_request, f"You accepted {exchange_id}: write the agenda with the visitor.")
    reason = st.text_input("Or decline, saying why", key="steps_decline_reason", max_chars=TEXT_LIMITS["reason"])
    if st.button("Decline", key="steps_decline"):
        act(agreement.decline_request, f"You declined {exchange_id}.", reason)
    left, right = st.columns(2)
    start = left.date_input("Or propose a first day", found["start_date"], key="steps_propose_start")
    end = right.date_input("and a last day", found["end_date"], key="steps_propose_end")
    if st.button("Propose these dates", key="steps_propose"):
        act(agreement.propose_dates, f"You proposed {start} to {end}; the visitor answers.", start, end)
if status == "requested" and answer == "proposed" and speaks["visitor"]:
    st.subheader("The host proposes other dates")
    st.text(f"{found['proposed_start']:%d %b %Y} to {found['proposed_end']:%d %b %Y}")
    left, right = st.columns(2)
    if left.button("Take these dates", type="primary", key="steps_take_dates"):
        act(agreement.answer_proposal, "You took the host's dates.", True)
    if right.button("Keep ours", key="steps_keep_dates"):
        act(agreement.answer_proposal, "You kept your dates; the host answers again.", False)

# --- the Commitment to Quality ------------------------------------------------------------------
if answer == "accepted" or status not in ("requested", "rejected", "cancelled"):
    st.subheader("Commitment to Quality")
    st.text(f"Objectives: {found['objectives'] or '(none written)'}")
    st.text(f"Activities: {'; '.join(found['activities']) or '(none listed)'}")
    agenda = dict(zip(found["agenda"]["day"].dt.date, found["agenda"]["plan"]))
    open_agreement = status == "requested" and answer == "accepted" and (speaks["visitor"] or speaks["host"])
    if open_agreement:
        with st.form("steps_agenda"):
            st.caption("The agenda, day by day (a change after a signature voids every signature).")
            days = pd.date_range(found["start_date"], found["end_date"]).date
            plans = {day: st.text_input(f"{day:%a %d %b}", agenda.get(day, ""), key=f"steps_agenda_{day}",
                                         max_chars=TEXT_LIMITS["plan"])
                     for day in days}
            if st.form_submit_button("Save the agenda", key="steps_agenda_save"):
                act(agreement.set_agenda, "The agenda is saved.", plans, voids=True)
    else:
        st.dataframe(found["agenda"], hide_index=True, key="steps_agenda_table",
                     column_config={"day": st.column_config.DateColumn("day", format="ddd D MMM YYYY")})
    signatures = found["signatures"].assign(document=lambda t: t["document"].map(DOCUMENT_NAMES),
                                            party=lambda t: t["party"].map(PARTY_NAMES),
                                            signed_by=lambda t: t["signed_by"].fillna("not signed yet"))
    st.dataframe(signatures, hide_index=True, key="steps_signatures", column_config={
        "signed_by": st.column_config.TextColumn("signed by"),
        "signed_at": st.column_config.DatetimeColumn("signed at", format="D MMM YYYY, HH:mm")})
    for row in found["signatures"].itertuples():
        if pd.isna(row.signed_by) and speaks[row.party] and status == "requested" and answer == "accepted":
            if st.button(f"Sign the {DOCUMENT_NAMES[row.document]} as {PARTY_NAMES[row.party]}",
                         key=f"steps_sign_{row.document}_{row.party}"):
                act(agreement.sign, f"Signed the {DOCUMENT_NAMES[row.document]}.", row.document, row.party)
    if open_agreement:
        left, right = st.columns(2)
        start = left.date_input("Move the first day", found["start_date"], key="steps_move_start")
        end = right.date_input("and the last day", found["end_date"], key="steps_move_end")
        if st.button("Move the stay", key="steps_move"):
            act(agreement.change_dates, f"The stay is now {start} to {end}.", start, end, voids=True)
    left, right = st.columns(2)
    left.download_button("Printable page", agreement.printable(found), f"{exchange_id}-agreement.html", "text/html",
                         key="steps_print")
    right.download_button("PDF", agreement.as_pdf(found), f"{exchange_id}-agreement.pdf", "application/pdf",
                          key="steps_pdf")
    if status == "requested" and speaks["visitor_partnership"] and found["signatures"]["signed_by"].notna().all():
        if st.button("Approve the exchange", type="primary", key="steps_approve"):
            act(lambda s, v, i: workflow.change_status(s, v, i, "approved"),
                f"{exchange_id} is approved; its lump sum is frozen.")

# --- after the stay -----------------------------------------------------------------------------
if status in ("completed", "reported", "paid"):
    st.subheader("Closing report")
    report = closing.report(store, viewer, exchange_id)
    if report:
        st.text(f"{report['state'].capitalize()}" + (f": {report['reason']}" if report["reason"] else "")
                + f". Filed by {report['filed_by']}; the host rated {report['host_rating']} of 5.")
        for label, column in (("What was done", "done"), ("Results", "results"), ("Follow-ups", "follow_ups")):
            st.text(f"{label}: {report[column]}")
    if speaks["visitor"] or speaks["visitor_partnership"]:
        files = closing.evidence(store, viewer, exchange_id)
        st.dataframe(files.drop(columns="sha256"), hide_index=True, key="steps_evidence")
        for row in files.itertuples():
            name, media_type, data = closing.evidence_file(store, viewer, exchange_id, row.sha256)
            st.download_button(f"Download {plain(name)}", data, name, media_type,
                               key=f"steps_evidence_{row.sha256[:16]}")
    if speaks["visitor"] and status in ("completed", "reported") and (report is None or report["state"] == "sent back"):
        upload = st.file_uploader("Add evidence of the stay (PDF, PNG or JPEG)", key="steps_upload")
        if upload is not None and st.button("Add this file", key="steps_add_evidence"):
            act(closing.add_evidence, f"{upload.name} is added.", upload.getvalue(), upload.name)
        with st.form("steps_report"):
            done = st.text_area("What was done", key="steps_report_done", max_chars=TEXT_LIMITS["done"])
            results = st.text_area("Results", key="steps_report_results", max_chars=TEXT_LIMITS["results"])
            follow_ups = st.text_area("Follow-ups", key="steps_report_follow_ups", max_chars=TEXT_LIMITS["follow_ups"])
            rating = st.select_slider("How was the host? (1 poor, 5 excellent)", closing.RATINGS, 4,
                                      key="steps_report_rating")
            if st.form_submit_button("File the closing report", type="primary", key="steps_report_file"):
                act(closing.file_report, "The closing report is filed; your partnership validates it.",
                    done=done, results=results, follow_ups=follow_ups, host_rating=rating)
    if report and report["state"] == "filed" and speaks["visitor_partnership"]:
        if st.button("Validate the report", type="primary", key="steps_validate"):
            act(closing.validate_report, "The report is validated: the payment is due.")
        reason = st.text_input("Or send it back, saying what is missing", key="steps_send_back_reason",
                               max_chars=TEXT_LIMITS["reason"])
        if st.button("Send it back", key="steps_send_back"):
            act(closing.send_back, "The report is sent back to the visitor.", reason)
    if report and report["state"] == "validated" and status == "reported" and speaks["visitor_partnership"]:
        st.subheader("Payment")
        left, middle = st.columns(2)
        paid_on = left.date_input("Paid on", dt.date.today(), key="steps_paid_on")
        amount = middle.number_input("Amount (EUR)", min_value=0, value=int(found["lump_sum_eur"] or 0), step=1,
                                     key="steps_amount")
        reason = st.text_input("Reason, if the amount differs from the lump sum or is above the ceiling", key="steps_pay_reason",
                               max_chars=TEXT_LIMITS["reason"])
        if st.button("Record the payment", type="primary", key="steps_pay"):
            act(closing.record_payment, f"The payment of {euros(amount)} is recorded.", paid_on=paid_on,
                amount_eur=int(amount), reason=reason)

paid = closing.payment(store, viewer, exchange_id) if status == "paid" else None
if paid:
    st.text(f"Paid {euros(paid['amount_eur'])} on {paid['paid_on']:%d %b %Y}, recorded by {paid['recorded_by']}"
            + (f" ({paid['reason']})." if paid["reason"] else "."))

with st.expander(f"History of {plain(exchange_id)}"):
    st.dataframe(workflow.history(store, viewer, exchange_id), hide_index=True, key="steps_history")
