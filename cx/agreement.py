"""Building an exchange: the host answers the request, then the two organisations write down what
they agreed (dates, objectives, agenda by day, activities, lump sum and why) as a Commitment to
Quality that the four parties sign, and the visitor and its partnership sign the financial
agreement for the lump sum. The visitor's partnership approves once every signature is there
(`exchanges.change_status` checks them inside the approving write).

A change to the dates or the agenda after a signature voids every signature: what was signed is
no longer what would happen, so the parties sign again.
"""

from __future__ import annotations

import datetime as dt
import html

import numpy as np
import pandas as pd
from fpdf import FPDF

from cx import DATA_DIR
from cx.access import NotAllowed, Viewer, scoped
from cx.errors import BrokenRules, CxError, InvalidTransition
from cx.exchanges import assess_stay, date_breaches
from cx.formats import euros
from cx.parties import (DOCUMENT_NAMES, DOCUMENTS, PARTIES, PARTY_NAMES, Exchange, holding, locate, missing_signatures,
                        record, tell)
from cx.rules import Rulebook, load_rulebook
from cx.store import Store, text_too_long

FONTS = DATA_DIR / "fonts"


def _required_text(column: str, value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise CxError(f"{what} is empty; write it")
    if text_too_long(column, value):
        raise CxError(text_too_long(column, value))
    return value


def _answer(con, exchange_id: str) -> tuple | None:
    return con.execute("SELECT answer, proposed_start, proposed_end FROM host_answers WHERE exchange_id = ?",
                       [exchange_id]).fetchone()


def _waiting_on_host(con, exchange: Exchange, step: str) -> None:
    exchange.require_status("requested", step=step)
    if _answer(con, exchange.id) is not None:
        raise InvalidTransition(f"the host has answered exchange {exchange.id} already")


# --- the host answers ------------------------------------------------------------------------


@scoped
def accept_request(store: Store, viewer: Viewer, exchange_id: str) -> None:
    """The host accepts the request as asked: the two then write the agreement and sign it."""
    with store.transaction() as con:
        exchange = holding(store, con, viewer, exchange_id)
        exchange.require(viewer, "host", "accept the request")
        _waiting_on_host(con, exchange, "the host answers a request")
        con.execute("INSERT INTO host_answers (exchange_id, answer) VALUES (?, 'accepted')", [exchange_id])
        record(con, exchange, viewer, "host accepted")
        tell(con, exchange, viewer, ["visitor"], "The host accepted your request: exchange {exchange}",
             "The host accepted {stay}. Write the agenda by day together with the host; then the parties sign "
             "the Commitment to Quality and the financial agreement.")


@scoped
def decline_request(store: Store, viewer: Viewer, exchange_id: str, reason: str) -> None:
    """The host declines, saying why: the request becomes rejected."""
    reason = _required_text("reason", reason, "the reason for declining")
    with store.transaction() as con:
        exchange = holding(store, con, viewer, exchange_id)
        exchange.require(viewer, "host", "decline the request")
        exchange.require_status("requested", step="the host declines a request")
        record(con, exchange, viewer, "host declined", reason, to_status="rejected")
        tell(con, exchange, viewer, ["visitor", "visitor_partnership"], "The host declined exchange {exchange}",
             "The host declined {stay}, saying: {said}", said=reason)


@scoped
def propose_dates(store: Store, viewer: Viewer, exchange_id: str, start, end, *,
                  rulebook: Rulebook | None = None, today: dt.date | None = None) -> None:
    """The host proposes other dates; the visitor accepts them or not (`answer_proposal`).
    Dates the rulebook would refuse (too short, too long, started) are refused now."""
    rulebook = rulebook or load_rulebook()
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    with store.transaction() as con:
        exchange = holding(store, con, viewer, exchange_id)
        exchange.require(viewer, "host", "propose other dates")
        _waiting_on_host(con, exchange, "the host proposes other dates")
        _check_stay(con, exchange, start, end, rulebook, today)
        con.execute("INSERT INTO host_answers (exchange_id, answer, proposed_start, proposed_end) "
                    "VALUES (?, 'proposed', ?, ?)", [exchange_id, start, end])
        record(con, exchange, viewer, "host proposed other dates", f"{start} to {end}")
        tell(con, exchange, viewer, ["visitor"], "The host proposes other dates: exchange {exchange}",
             f"For {{stay}}, the host proposes {start} to {end} instead. Accept these dates or keep yours.")


@scoped
def answer_proposal(store: Store, viewer: Viewer, exchange_id: str, accept: bool, *,
                    rulebook: Rulebook | None = None, today: dt.date | None = None) -> None:
    """The visitor takes the host's dates (the host has then accepted) or keeps its own (the
    host answers again)."""
    rulebook = rulebook or load_rulebook()
    with store.transaction() as con:
        exchange = holding(store, con, viewer, exchange_id)
        exchange.require(viewer, "visitor", "answer the host's proposed dates")
        exchange.require_status("requested", step="the visitor answers proposed dates")
        answer = _answer(con, exchange_id)
        if answer is None or answer[0] != "proposed":
            raise InvalidTransition(f"the host has proposed no other dates for exchange {exchange_id}")
        if not accept:
            con.execute("DELETE FROM host_answers WHERE exchange_id = ?", [exchange_id])
            record(con, exchange, viewer, "visitor kept its dates", f"not {answer[1]} to {answer[2]}")
            tell(con, exchange, viewer, ["host"], "The visitor keeps its dates: exchange {exchange}",
                 f"The visitor did not take the dates you proposed ({answer[1]} to {answer[2]}) and keeps {{stay}}. "
                 "Accept the request, decline it or propose other dates.")
            return
        _set_stay(con, exchange, answer[1], answer[2], rulebook, today)
        con.execute("UPDATE host_answers SET answer = 'accepted', answered_at = current_timestamp "
                    "WHERE exchange_id = ?", [exchange_id])
        record(con, exchange, viewer, "visitor accepted the proposed dates", f"{answer[1]} to {answer[2]}")
        tell(con, exchange, viewer, ["host"], "The visitor accepted your dates: exchange {exchange}",
             f"The visitor accepted the dates you proposed, {answer[1]} to {answer[2]}, for exchange {{exchange}}. "
             "Write the agenda by day together; then the parties sign.")


# --- the agreement -----------------------------------------------------------------------------


def _require_open(con, exchange: Exchange, what: str) -> None:
    """The agreement can change or be signed: the host accepted, the exchange is not yet approved."""
    exchange.require_status("requested", step=f"the agreement is open ({what})")
    answer = _answer(con, exchange.id)
    if answer is None or answer[0] != "accepted":
        raise InvalidTransition(f"exchange {exchange.id} has no agreement yet: the host has not accepted")


def _agreeing(store: Store, con, viewer: Viewer, exchange_id: str, what: str) -> Exchange:
    """The exchange whose agreement the visitor or the host (not their partnerships) changes."""
    exchange = holding(store, con, viewer, exchange_id)
    if not any(viewer.speaks_for(side, exchange.visitor, exchange.host) for side in ("visitor", "host")):
        raise NotAllowed(viewer, f"{what} for exchange {exchange_id}: the visitor and the host write the agreement")
    _require_open(con, exchange, what)
    return exchange


def _check_stay(con, exchange: Exchange, start, end, rulebook: Rulebook, today: dt.date | None) -> tuple:
    breaches, distance, money = assess_stay(con, exchange.visitor[0], exchange.host[0], start, end, rulebook,
                                            other_than=exchange.id)
    breaches += [b for b in date_breaches(start, end, rulebook=rulebook, today=today) if b.rule == "started_already"]
    if breaches:
        raise BrokenRules(breaches)
    return distance, money


def _set_stay(con, exchange: Exchange, start, end, rulebook: Rulebook, today: dt.date | None = None) -> None:
    distance, money = _check_stay(con, exchange, start, end, rulebook, today)
    known = not np.isnan(distance)
    con.execute("UPDATE exchanges SET start_date = ?, end_date = ?, working_days = ?, lump_sum_eur = ?, halved = ? "
                "WHERE id = ?", [start, end, int(money["working_days"]), int(money["lump_sum_eur"]) if known else None,
                                 bool(money["halved"]) if known else None, exchange.id])
    con.execute("DELETE FROM agenda_days WHERE exchange_id = ? AND (day < ? OR day > ?)", [exchange.id, start, end])


def _void_signatures(con, exchange: Exchange, viewer: Viewer, why: str) -> str | None:
    """Remove every signature given (what they signed has changed) and say so."""
    given = con.execute("SELECT count(*) FROM signatures WHERE exchange_id = ?", [exchange.id]).fetchone()[0]
    if not given:
        return None
    con.execute("DELETE FROM signatures WHERE exchange_id = ?", [exchange.id])
    sentence = (f"{given} signature{'s' if given > 1 else ''} of exchange {exchange.id} voided: {why} after "
                "signing, so every party signs again")
    record(con, exchange, viewer, "signatures voided", sentence)
    tell(con, exchange, viewer, PARTIES, "Sign again: exchange {exchange}",
         f"The agreement of {{stay}} changed after signing ({why}): {sentence}.")
    return sentence


@scoped
def change_dates(store: Store, viewer: Viewer, exchange_id: str, start, end, *,
                 rulebook: Rulebook | None = None, today: dt.date | None = None) -> str | None:
    """The visitor or the host moves the agreed stay (working days and lump sum follow; agenda
    days outside the new dates go). Returns the sentence saying signatures were voided, if any."""
    rulebook = rulebook or load_rulebook()
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    with store.transaction() as con:
        exchange = _agreeing(store, con, viewer, exchange_id, "change the dates")
        if (start, end) == (exchange.start, exchange.end):
            return None
        _set_stay(con, exchange, start, end, rulebook, today)
        record(con, exchange, viewer, "dates changed", f"{exchange.start} to {exchange.end} became {start} to {end}")
        return _void_signatures(con, exchange, viewer, "the dates changed")


@scoped
def set_agenda(store: Store, viewer: Viewer, exchange_id: str, days: dict) -> str | None:
    """Write the agenda, one plan per day of the stay (days left out or empty have none). Returns
    the sentence saying signatures were voided, if the agenda changed after a signature."""
    plans = {pd.Timestamp(day).date(): (plan or "").strip() for day, plan in days.items()}
    plans = {day: plan for day, plan in plans.items() if plan}
    for plan in plans.values():
        if text_too_long("plan", plan):
            raise CxError(text_too_long("plan", plan))
    with store.transaction() as con:
        exchange = _agreeing(store, con, viewer, exchange_id, "write the agenda")
        outside = sorted(day for day in plans if not exchange.start <= day <= exchange.end)
        if outside:
            raise CxError(f"the agenda has {outside[0]}, outside the stay ({exchange.start} to {exchange.end})")
        before = dict(con.execute("SELECT day, plan FROM agenda_days WHERE exchange_id = ?", [exchange_id]).fetchall())
        if before == plans:
            return None
        con.execute("DELETE FROM agenda_days WHERE exchange_id = ?", [exchange_id])
        con.executemany("INSERT INTO agenda_days (exchange_id, day, plan) VALUES (?, ?, ?)",
                        [[exchange_id, day, plan] for day, plan in sorted(plans.items())])
        record(con, exchange, viewer, "agenda written", f"{len(plans)} day{'s' * (len(plans) != 1)}")
        return _void_signatures(con, exchange, viewer, "the agenda changed")


@scoped
def sign(store: Store, viewer: Viewer, exchange_id: str, document: str, party: str) -> None:
    """`party` signs `document` ('quality' or 'financial'), recorded with who and when."""
    if party not in DOCUMENTS.get(document, ()):
        raise CxError(f"{PARTY_NAMES.get(party, repr(party))} does not sign the "
                      f"{DOCUMENT_NAMES.get(document, repr(document))}")
    with store.transaction() as con:
        exchange = holding(store, con, viewer, exchange_id)
        exchange.require(viewer, party, f"sign the {DOCUMENT_NAMES[document]}")
        _require_open(con, exchange, "sign")
        if not con.execute("SELECT count(*) FROM agenda_days WHERE exchange_id = ?", [exchange_id]).fetchone()[0]:
            raise InvalidTransition(f"exchange {exchange_id} has no agenda yet: the visitor and host write it, "
                                    "then the parties sign")
        if (document, party) not in missing_signatures(con, exchange_id):
            raise InvalidTransition(f"{PARTY_NAMES[party]} has signed the {DOCUMENT_NAMES[document]} "
                                    f"of exchange {exchange_id} already")
        con.execute("INSERT INTO signatures (exchange_id, document, party, signed_by) VALUES (?, ?, ?, ?)",
                    [exchange_id, document, party, viewer.identity])
        record(con, exchange, viewer, f"signed the {DOCUMENT_NAMES[document]}", f"as {PARTY_NAMES[party]}")
        _tell_who_signs_next(con, exchange, viewer, document, party)


def _tell_who_signs_next(con, exchange: Exchange, viewer: Viewer, document: str, party: str) -> None:
    """Each signature tells the parties still to sign; the last one tells the visitor's
    partnership that it may approve."""
    signed = f"{PARTY_NAMES[party].capitalize()} signed the {DOCUMENT_NAMES[document]} of {{stay}}."
    missing = missing_signatures(con, exchange.id)
    if not missing:
        tell(con, exchange, viewer, ["visitor_partnership"], "Every party signed: approve exchange {exchange}",
             f"{signed} Every party has now signed both documents: approve the exchange (the lump sum is frozen then).")
        return
    for waiting in dict.fromkeys(p for _, p in missing):
        documents = " and the ".join(DOCUMENT_NAMES[d] for d, p in missing if p == waiting)
        tell(con, exchange, viewer, [waiting], "Your signature is awaited: exchange {exchange}",
             f"{signed} As {PARTY_NAMES[waiting]}, sign the {documents}.")


# --- reading it ---------------------------------------------------------------------------------


@scoped
def agreement(store: Store, viewer: Viewer, exchange_id: str, rulebook: Rulebook | None = None) -> dict:
    """Everything the agreement says and who signed it, for the page and the printable copies:
    the exchange with both organisations and partnerships, the host's answer, the agenda by day,
    the lump sum with its reason, and one row per signature due (signed_by empty while missing)."""
    rulebook = rulebook or load_rulebook()
    with store.reading() as reading, reading.connect() as con:
        exchange = locate(con, viewer, exchange_id)
        row = reading.query("""
            SELECT e.id, e.status, e.start_date, e.end_date, e.working_days, e.distance_km, e.objectives,
                   e.activities, e.lump_sum_eur, e.halved,
                   v.name AS visitor, v.city AS visitor_city, v.country AS visitor_country,
                   h.name AS host, h.city AS host_city, h.country AS host_country,
                   vp.name AS visitor_partnership, hp.name AS host_partnership,
                   a.answer, a.proposed_start, a.proposed_end
            FROM exchanges e LEFT JOIN organisations v ON v.id = e.visitor_id
            LEFT JOIN organisations h ON h.id = e.host_id
            LEFT JOIN partnerships vp ON vp.id = v.partnership_id LEFT JOIN partnerships hp ON hp.id = h.partnership_id
            LEFT JOIN host_answers a ON a.exchange_id = e.id WHERE e.id = ?""", [exchange_id]).iloc[0].to_dict()
        agenda = reading.query("SELECT day, plan FROM agenda_days WHERE exchange_id = ? ORDER BY day", [exchange_id])
        signed = reading.query("SELECT document, party, signed_by, signed_at FROM signatures WHERE exchange_id = ?",
                               [exchange_id])
    due = pd.DataFrame([(d, p) for d, parties in DOCUMENTS.items() for p in parties], columns=["document", "party"])
    signatures = due.merge(signed, how="left", on=["document", "party"])
    return {**row, "exchange": exchange, "agenda": agenda, "signatures": signatures,
            "lump_sum_reason": lump_sum_reason(row, rulebook)}


def lump_sum_reason(row: dict, rulebook: Rulebook) -> str:
    """Why the lump sum is what it is: the host country's ceiling, halved or not, and why."""
    if pd.isna(row["lump_sum_eur"]):
        return "not worked out yet: a city could not be placed, so the distance that decides halving is unknown"
    money = rulebook.lump_sum(row["host_country"], row["start_date"], row["end_date"], row["distance_km"])
    ceiling = f"the ceiling for stays in {rulebook.country_name(row['host_country'])} is {euros(money.ceiling_eur)}"
    if not money.halved:
        return f"{ceiling}; not halved ({money.working_days} working days, {row['distance_km']:.0f} km apart)"
    return f"{ceiling}, halved: {' and '.join(money.reasons)}"


def _lines(found: dict) -> list[tuple[str, str]]:
    """The agreement as (heading, text) pairs: one wording for the printable page and the PDF."""
    signatures = found["signatures"]
    return [
        ("Exchange", f"{found['id']} ({found['status']})"),
        ("Visitor", f"{found['visitor']}, {found['visitor_city']} ({found['visitor_country']}); "
                    f"partnership: {found['visitor_partnership']}"),
        ("Host", f"{found['host']}, {found['host_city']} ({found['host_country']}); "
                 f"partnership: {found['host_partnership']}"),
        ("Dates", f"{found['start_date']:%d %B %Y} to {found['end_date']:%d %B %Y} "
                  f"({found['working_days']} working days at the host)"),
        ("Objectives", found["objectives"] or "(none written)"),
        ("Activities", "; ".join(found["activities"]) if len(found["activities"]) else "(none listed)"),
        *[(f"Agenda, {day:%a %d %b}", plan) for day, plan in found["agenda"].itertuples(index=False)],
        ("Lump sum", (euros(found["lump_sum_eur"]) if not pd.isna(found["lump_sum_eur"]) else "not known")
         + f": {found['lump_sum_reason']}"),
        *[(f"{DOCUMENT_NAMES[s.document]}, {PARTY_NAMES[s.party]}",
           f"signed by {s.signed_by} on {pd.Timestamp(s.signed_at):%d %B %Y %H:%M}" if isinstance(s.signed_by, str)
           else "not signed yet") for s in signatures.itertuples()],
    ]


def printable(found: dict) -> str:
    """The agreement as a self-contained HTML page to print (no script, no external file)."""
    rows = "\n".join(f"<tr><th scope='row'>{html.escape(h)}</th><td>{html.escape(str(t))}</td></tr>"
                     for h, t in _lines(found))
    title = html.escape(f"Commitment to Quality and financial agreement · exchange {found['id']}")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:48em;margin:2em auto}}th{{text-align:left;vertical-align:top;
padding-right:1em;width:16em}}td,th{{border-bottom:1px solid #ccc;padding:.3em}}table{{border-collapse:collapse}}
</style></head><body><h1>{title}</h1><table>
{rows}
</table></body></html>
"""


def as_pdf(found: dict) -> bytes:
    """The agreement as a PDF, in DejaVu Sans (shipped in data/fonts, embedded as a subset): names
    in any European script ("Łódź", "Ελλάδα", "Škoda") print as written."""
    pdf = FPDF()
    pdf.set_title(f"Commitment to Quality, exchange {found['id']}")
    for style, file in (("", "DejaVuSans.ttf"), ("B", "DejaVuSans-Bold.ttf")):
        pdf.add_font("DejaVu", style, FONTS / file)
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 8, f"Commitment to Quality and financial agreement · exchange {found['id']}",
                   new_x="LMARGIN", new_y="NEXT")
    for heading, text in _lines(found):
        pdf.set_font("DejaVu", "B", 10)
        pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 6, str(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
