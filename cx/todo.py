"""What waits on me: the steps of exchanges that are the viewer's turn (a request to answer,
proposed dates to take or leave, an agenda to write, a signature to give, an approval, a closing
report to file or validate, a payment to record), with how long each has waited.

Whose turn a step is comes from the same rule that lets a person take it (`Viewer.speaks_for`),
so the list never offers a step the person would be refused. An officer may take any step, so an
officer's list is every step waiting on anyone, each with whose it is.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cx.access import Viewer, scoped
from cx.parties import DOCUMENT_NAMES, DOCUMENTS, PARTY_NAMES
from cx.store import Store

COLUMNS = ["exchange_id", "step", "party", "visitor", "host", "since", "waited_days"]
# Audit actions after which the agreement reads differently: signatures are asked for from then.
AGREEMENT_CHANGES = ["host accepted", "visitor accepted the proposed dates", "agenda written", "dates changed",
                     "signatures voided"]


def _steps(row) -> list[tuple[str, str, object]]:
    """The steps waiting on an exchange: (step, party, since)."""
    if row.status == "requested":
        if pd.isna(row.answer):
            return [("answer the request", "host", row.requested_at)]
        if row.answer == "proposed":
            return [(f"take or leave the host's dates ({row.proposed_start:%d %b} to {row.proposed_end:%d %b})",
                     "visitor", row.answered_at)]
        if not row.agenda_days:
            return [("write the agenda by day", party, row.answered_at) for party in ("visitor", "host")]
        signed = set(row.signed.split(",")) if isinstance(row.signed, str) else set()
        missing = [(d, p) for d, parties in DOCUMENTS.items() for p in parties if f"{d}:{p}" not in signed]
        if missing:
            return [(f"sign the {DOCUMENT_NAMES[d]}", p, row.agreed_at) for d, p in missing]
        return [("approve the exchange", "visitor_partnership", row.last_signed_at)]
    if row.status == "completed" and pd.isna(row.report_state):
        return [("file the closing report with evidence", "visitor", row.end_date)]
    if row.status == "reported":
        return {"sent back": [("file the closing report again", "visitor", row.decided_at)],
                "filed": [("validate the closing report", "visitor_partnership", row.filed_at)],
                "validated": [("record the payment", "visitor_partnership", row.decided_at)]}.get(row.report_state, [])
    return []


@scoped
def waiting_on(store: Store, viewer: Viewer, today: dt.date | None = None) -> pd.DataFrame:
    """The steps that wait on the viewer, the longest waiting first."""
    viewer.require_rows("see the steps of exchanges")
    today = today or dt.date.today()
    scope, parameters = viewer.exchange_scope("v", "h")
    rows = store.query(f"""
        SELECT e.id, e.status, e.end_date, e.created_at AS requested_at, e.visitor_id, v.partnership_id AS visitor_p,
               e.host_id, h.partnership_id AS host_p, v.name AS visitor, h.name AS host,
               a.answer, a.answered_at, a.proposed_start, a.proposed_end,
               (SELECT count(*) FROM agenda_days d WHERE d.exchange_id = e.id) AS agenda_days,
               (SELECT max(ev.changed_at) FROM exchange_events ev WHERE ev.exchange_id = e.id
                  AND ev.action = ANY($changes)) AS agreed_at,
               (SELECT string_agg(s.document || ':' || s.party, ',') FROM signatures s
                  WHERE s.exchange_id = e.id) AS signed,
               (SELECT max(s.signed_at) FROM signatures s WHERE s.exchange_id = e.id) AS last_signed_at,
               r.state AS report_state, r.filed_at, r.decided_at
        FROM exchanges e LEFT JOIN organisations v ON v.id = e.visitor_id LEFT JOIN organisations h ON h.id = e.host_id
        LEFT JOIN host_answers a ON a.exchange_id = e.id LEFT JOIN closing_reports r ON r.exchange_id = e.id
        WHERE e.status IN ('requested', 'completed', 'reported') AND {scope}""",
                       {"changes": AGREEMENT_CHANGES, **parameters})
    found = []
    for row in rows.itertuples(index=False):
        for step, party, since in _steps(row):
            if viewer.speaks_for(party, (row.visitor_id, row.visitor_p), (row.host_id, row.host_p)):
                found.append((row.id, step, PARTY_NAMES[party], row.visitor, row.host, pd.Timestamp(since).date()))
    table = pd.DataFrame(found, columns=COLUMNS[:-1])
    table["waited_days"] = [(today - since).days for since in table["since"]]
    return table.sort_values(["waited_days", "exchange_id"], ascending=[False, True], ignore_index=True)[COLUMNS]
