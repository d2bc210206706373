"""Taking an exchange along its steps in tests, as the parties would (an officer may act for any)."""

import pandas as pd
from viewers import OFFICER

from cx import agreement, closing
from cx.parties import DOCUMENTS


def agreed(store, exchange_id: str, viewer=OFFICER) -> None:
    """The host accepts (unless it has), the agenda gets its first day, and every party signs both documents."""
    if exchange_id not in set(store.table("host_answers")["exchange_id"]):
        agreement.accept_request(store, viewer, exchange_id)
    first_day = store.query("SELECT start_date FROM exchanges WHERE id = ?", [exchange_id]).iloc[0, 0]
    agreement.set_agenda(store, viewer, exchange_id, {pd.Timestamp(first_day).date(): "Welcome and site visit"})
    for document, parties in DOCUMENTS.items():
        for party in parties:
            agreement.sign(store, viewer, exchange_id, document, party)


PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"  # a boarding pass


def reported(store, exchange_id: str, viewer=OFFICER) -> None:
    """After the stay: one evidence file and the closing report, filed."""
    closing.add_evidence(store, viewer, exchange_id, PDF, "boarding-pass.pdf")
    closing.file_report(store, viewer, exchange_id, done="Visited three labs", results="Two joint proposals",
                        follow_ups="A return visit in spring", host_rating=5)
