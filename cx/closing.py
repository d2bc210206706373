"""After the stay: the visitor's closing report with evidence, its validation by the visitor's
partnership, and the payment of the lump sum, due within the call's payment days of validation.

Each step is the visitor's or the visitor's partnership's (an officer may take any), checked and
written in one transaction with its audit event. Evidence files are shown to the visitor, its
partnership and officers only: the host sees the exchange, not the visitor's invoices.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cx import evidence as files
from cx.access import Viewer, scoped
from cx.errors import CxError, InvalidTransition
from cx.formats import euros
from cx.exchanges import tell_moves
from cx.parties import Exchange, holding, locate, record, tell
from cx.rules import Rulebook, load_rulebook
from cx.store import Store, text_too_long, without_bidi_controls

RATINGS = (1, 2, 3, 4, 5)  # the visitor's rating of the host, 5 the best


def _report_state(con, exchange_id: str) -> str | None:
    found = con.execute("SELECT state FROM closing_reports WHERE exchange_id = ?", [exchange_id]).fetchone()
    return found and found[0]


def _visitor_side(viewer: Viewer, exchange: Exchange) -> bool:
    return (viewer.speaks_for("visitor", exchange.visitor, exchange.host)
            or viewer.speaks_for("visitor_partnership", exchange.visitor, exchange.host))


def _reporting(store: Store, con, viewer: Viewer, exchange_id: str, what: str) -> Exchange:
    """The exchange whose report the visitor writes or adds evidence to: after the stay, before
    its partnership decided (or after it sent the report back)."""
    exchange = holding(store, con, viewer, exchange_id)
    exchange.require(viewer, "visitor", what)
    exchange.require_status("completed", "reported", step=f"the visitor may {what}")
    if _report_state(con, exchange_id) not in (None, "sent back"):
        raise InvalidTransition(f"the closing report of exchange {exchange_id} is with its partnership "
                                f"({_report_state(con, exchange_id)}); it can change only if sent back")
    return exchange


@scoped
def add_evidence(store: Store, viewer: Viewer, exchange_id: str, data: bytes, file_name: str, *,
                 rulebook: Rulebook | None = None) -> str:
    """Keep an evidence file of the stay (checked by content and size); returns its hash."""
    rulebook, file_name = rulebook or load_rulebook(), without_bidi_controls(file_name)
    if text_too_long("file_name", file_name):
        raise CxError(text_too_long("file_name", file_name))
    media_type = files.checked(data, file_name, rulebook)
    with store.transaction() as con:
        exchange = _reporting(store, con, viewer, exchange_id, "add evidence")
        sha256 = files.keep(store, data)
        if con.execute("SELECT count(*) FROM evidence WHERE exchange_id = ? AND sha256 = ?",
                       [exchange_id, sha256]).fetchone()[0]:
            raise CxError(f"{file_name} is already among the evidence of exchange {exchange_id}")
        con.execute("INSERT INTO evidence (exchange_id, sha256, file_name, media_type, size_bytes, uploaded_by) "
                    "VALUES (?, ?, ?, ?, ?, ?)", [exchange_id, sha256, file_name, media_type, len(data), viewer.identity])
        # The trail is read by the host's side too: it says that a file came, not which.
        record(con, exchange, viewer, "evidence added", f"a {files.NAMES.get(media_type, media_type)} file")
    return sha256


@scoped
def evidence(store: Store, viewer: Viewer, exchange_id: str) -> pd.DataFrame:
    """The exchange's evidence files (name, type, size, who uploaded, hash), for those who may read them."""
    with store.reading() as reading, reading.connect() as con:
        exchange = locate(con, viewer, exchange_id)
        viewer.require(_visitor_side(viewer, exchange), f"see the evidence of exchange {exchange_id}")
        return reading.query("SELECT file_name, media_type, size_bytes, uploaded_by, uploaded_at, sha256 "
                             "FROM evidence WHERE exchange_id = ? ORDER BY uploaded_at, file_name", [exchange_id])


@scoped
def evidence_file(store: Store, viewer: Viewer, exchange_id: str, sha256: str) -> tuple[str, str, bytes]:
    """One evidence file's name, media type and bytes, for those who may read it; a hash not
    among this exchange's evidence is refused even when the file exists."""
    with store.reading() as reading, reading.connect() as con:
        exchange = locate(con, viewer, exchange_id)
        viewer.require(_visitor_side(viewer, exchange), f"see the evidence of exchange {exchange_id}")
        row = con.execute("SELECT file_name, media_type FROM evidence WHERE exchange_id = ? AND sha256 = ?",
                          [exchange_id, sha256]).fetchone()
    if row is None:
        raise CxError(f"exchange {exchange_id} has no evidence file {sha256[:12]}…")
    return row[0], row[1], files.read(store, sha256)


@scoped
def exported_evidence(store: Store, viewer: Viewer) -> pd.DataFrame:
    """The evidence rows the whole-database archive carries for this viewer: those of exchanges
    whose visitor side it speaks for (the visitor, its partnership's managers, officers), as
    `evidence` allows; never the host's side's, never a planner's."""
    viewer.require_rows("export evidence files")
    scope, parameters = viewer.organisation_scope("v")
    return store.query(f"""SELECT ev.exchange_id, ev.sha256, ev.file_name, ev.media_type, ev.size_bytes, ev.uploaded_by,
                                  ev.uploaded_at
                           FROM evidence ev JOIN exchanges e ON e.id = ev.exchange_id
                           JOIN organisations v ON v.id = e.visitor_id
                           WHERE {scope} ORDER BY ev.exchange_id, ev.sha256""", parameters)


@scoped
def file_report(store: Store, viewer: Viewer, exchange_id: str, *, done: str, results: str, follow_ups: str,
                host_rating: int) -> None:
    """The visitor files its closing report (what was done, results, follow-ups, a rating of the
    host from 1 to 5), with evidence already added: the exchange becomes reported, and its
    partnership validates it or sends it back."""
    texts = {"done": done, "results": results, "follow_ups": follow_ups}
    for column, text in texts.items():
        if not (text or "").strip():
            raise CxError(f"the closing report's {column.replace('_', '-')} is empty; write it")
        if text_too_long(column, text):
            raise CxError(text_too_long(column, text))
    if host_rating not in RATINGS:
        raise CxError(f"the host's rating is {host_rating!r}; rate from 1 (poor) to 5 (excellent)")
    with store.transaction() as con:
        exchange = _reporting(store, con, viewer, exchange_id, "file the closing report")
        if not con.execute("SELECT count(*) FROM evidence WHERE exchange_id = ?", [exchange_id]).fetchone()[0]:
            raise CxError(f"the closing report of exchange {exchange_id} needs evidence of the stay (boarding "
                          "passes, invoices): add at least one file, then file the report")
        again = _report_state(con, exchange_id) == "sent back"
        con.execute("DELETE FROM closing_reports WHERE exchange_id = ?", [exchange_id])
        con.execute("""INSERT INTO closing_reports (exchange_id, done, results, follow_ups, host_rating, state,
                           filed_by, filed_at) VALUES (?, ?, ?, ?, ?, 'filed', ?, current_timestamp)""",
                    [exchange_id, done.strip(), results.strip(), follow_ups.strip(), host_rating, viewer.identity])
        record(con, exchange, viewer, "closing report filed again" if again else "closing report filed",
               to_status="reported")
        if not again:  # the visitor's partnership validates and pays: tell it (and both organisations)
            tell_moves(con, viewer.identity, [(exchange_id, exchange.status, "reported")])
        else:
            tell(con, exchange, viewer, ["visitor_partnership"], "Closing report filed again: {exchange}",
                 "The visitor filed the closing report of {stay} again, after it was sent back: validate it "
                 "or send it back.")


def _deciding(store: Store, con, viewer: Viewer, exchange_id: str, what: str) -> Exchange:
    exchange = holding(store, con, viewer, exchange_id)
    exchange.require(viewer, "visitor_partnership", what)
    if _report_state(con, exchange_id) != "filed":
        raise InvalidTransition(f"exchange {exchange_id} has no closing report waiting for its partnership "
                                f"({_report_state(con, exchange_id) or 'none filed'})")
    return exchange


@scoped
def validate_report(store: Store, viewer: Viewer, exchange_id: str) -> None:
    """The visitor's partnership validates the report: the payment is due from now."""
    with store.transaction() as con:
        exchange = _deciding(store, con, viewer, exchange_id, "validate the closing report")
        con.execute("UPDATE closing_reports SET state = 'validated', decided_by = ?, decided_at = current_timestamp, "
                    "reason = NULL WHERE exchange_id = ?", [viewer.identity, exchange_id])
        record(con, exchange, viewer, "closing report validated")
        tell(con, exchange, viewer, ["visitor"], "Your closing report was validated: exchange {exchange}",
             "The closing report of {stay} was validated; the lump sum is paid within the call's payment days.")


@scoped
def send_back(store: Store, viewer: Viewer, exchange_id: str, reason: str) -> None:
    """The visitor's partnership returns the report, saying what is missing."""
    if not (reason or "").strip():
        raise CxError("the reason for sending the report back is empty; say what is missing")
    if text_too_long("reason", reason):
        raise CxError(text_too_long("reason", reason))
    with store.transaction() as con:
        exchange = _deciding(store, con, viewer, exchange_id, "send the closing report back")
        con.execute("UPDATE closing_reports SET state = 'sent back', decided_by = ?, decided_at = current_timestamp, "
                    "reason = ? WHERE exchange_id = ?", [viewer.identity, reason.strip(), exchange_id])
        record(con, exchange, viewer, "closing report sent back", reason.strip())
        tell(con, exchange, viewer, ["visitor"], "Your closing report was sent back: exchange {exchange}",
             "The closing report of {stay} was sent back, saying: {said}\n\nComplete it and file it again.",
             said=reason.strip())


@scoped
def report(store: Store, viewer: Viewer, exchange_id: str) -> dict | None:
    """The closing report as filed, with its state (None before one is filed). The host and its
    partnership see it too: it rates the host."""
    with store.reading() as reading, reading.connect() as con:
        locate(con, viewer, exchange_id)
        found = reading.query("SELECT * FROM closing_reports WHERE exchange_id = ?", [exchange_id])
    return None if found.empty else found.iloc[0].to_dict()


@scoped
def payment(store: Store, viewer: Viewer, exchange_id: str) -> dict | None:
    """The payment recorded for the exchange (None before one is): date, amount, reason, who."""
    with store.reading() as reading, reading.connect() as con:
        locate(con, viewer, exchange_id)
        found = reading.query("SELECT * FROM payments WHERE exchange_id = ?", [exchange_id])
    return None if found.empty else found.iloc[0].to_dict()


def _require_within_ceiling(con, viewer: Viewer, exchange: Exchange, amount_eur: int, reason: str) -> None:
    """A payment above the host country's ceiling (and above the lump sum, which an officer may
    have kept above it) is an officer's to make, with the reason."""
    country = con.execute("SELECT country FROM organisations WHERE id = ?", [exchange.host[0]]).fetchone()
    ceiling = int(load_rulebook().ceilings([country[0] if country else ""])[0])
    if not ceiling or amount_eur <= max(ceiling, exchange.lump_sum_eur or 0):
        return
    viewer.require(viewer.is_officer, f"pay {euros(amount_eur)} for exchange {exchange.id}: that is above the ceiling "
                                      f"for {country[0]} ({euros(ceiling)}); an officer pays more, giving the reason")
    if not reason:
        raise CxError(f"the amount {euros(amount_eur)} is above the ceiling for {country[0]} ({euros(ceiling)}); "
                      "give the reason")


@scoped
def record_payment(store: Store, viewer: Viewer, exchange_id: str, *, paid_on, amount_eur: int,
                   reason: str = "", today: dt.date | None = None) -> None:
    """The visitor's partnership records the lump sum paid (date and amount; an amount other
    than the frozen lump sum needs a reason; one above the host country's ceiling, an officer):
    the exchange becomes paid. Only a validated report is paid."""
    paid_on, reason = pd.Timestamp(paid_on).date(), (reason or "").strip()
    if paid_on > (today or dt.date.today()):
        raise CxError(f"the payment date {paid_on} is after today; record a payment once it is made")
    if int(amount_eur) < 0:
        raise CxError(f"the amount paid is {euros(amount_eur)}; it cannot be negative")
    if text_too_long("reason", reason):
        raise CxError(text_too_long("reason", reason))
    with store.transaction() as con:
        exchange = holding(store, con, viewer, exchange_id)
        exchange.require(viewer, "visitor_partnership", "record the payment")
        exchange.require_status("reported", step="a payment is recorded")
        if _report_state(con, exchange_id) != "validated":
            raise InvalidTransition(f"exchange {exchange_id} cannot be paid: its closing report is "
                                    f"{_report_state(con, exchange_id) or 'not filed'}, not validated")
        _require_within_ceiling(con, viewer, exchange, int(amount_eur), reason)
        differs = exchange.lump_sum_eur is not None and int(amount_eur) != int(exchange.lump_sum_eur)
        if differs and not reason:
            raise CxError(f"the amount {euros(amount_eur)} differs from the lump sum {euros(exchange.lump_sum_eur)} "
                          f"of exchange {exchange_id}; give the reason")
        con.execute("INSERT INTO payments (exchange_id, paid_on, amount_eur, reason, recorded_by) VALUES (?, ?, ?, ?, ?)",
                    [exchange_id, paid_on, int(amount_eur), reason or None, viewer.identity])
        record(con, exchange, viewer, "payment recorded", f"{euros(amount_eur)} on {paid_on}"
               + (f" ({reason})" if reason else ""), to_status="paid")
        tell(con, exchange, viewer, ["visitor"], "Lump sum paid: exchange {exchange}",
             f"The lump sum of {{stay}} was paid: {euros(amount_eur)} on {paid_on}" + (" ({said})." if reason else "."),
             said=reason)


@scoped
def payments_due(store: Store, viewer: Viewer, today: dt.date | None = None,
                 rulebook: Rulebook | None = None) -> pd.DataFrame:
    """Validated reports not paid yet, the soonest due first: due `payment_days` after validation.
    `when` says it in words (overdue is written, not only coloured). A manager sees what its
    partnerships pay (their visitors'); an organisation, what it is owed."""
    rulebook, today = rulebook or load_rulebook(), today or dt.date.today()
    viewer.require_rows("see payments due")
    scope, parameters = viewer.organisation_scope("v")
    table = store.query(f"""
        SELECT e.id AS exchange_id, v.name AS visitor, h.name AS host, e.lump_sum_eur,
               CAST(r.decided_at AS DATE) AS validated_on,
               CAST(r.decided_at AS DATE) + CAST($days AS INTEGER) AS due_on
        FROM exchanges e JOIN closing_reports r ON r.exchange_id = e.id
        LEFT JOIN organisations v ON v.id = e.visitor_id LEFT JOIN organisations h ON h.id = e.host_id
        WHERE e.status = 'reported' AND r.state = 'validated' AND {scope}
        ORDER BY due_on, e.id""", {"days": rulebook.payment_days, **parameters})
    left = (pd.to_datetime(table["due_on"]) - pd.Timestamp(today)).dt.days
    return table.assign(days_left=left, overdue=left < 0, when=[_when(int(d)) for d in left])


def _when(days_left: int) -> str:
    if days_left < 0:
        return f"OVERDUE by {-days_left} day{'s' * (days_left != -1)}"
    return "due today" if days_left == 0 else f"due in {days_left} day{'s' * (days_left != 1)}"

