"""The people of one exchange and whose turn each step is: the visitor, the host, and the
partnership of each. Every step after the request (the host's answer, the signatures, the closing
report, its validation, the payment) is taken by one party; the viewer must speak for it
(`Viewer.speaks_for`), and the step is recorded in the audit trail.

The helpers here run inside the step's transaction, so what they read is what the write changes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cx.access import NotAllowed, Viewer
from cx.errors import CxError, InvalidTransition
from cx.outbox import managers_of, notify, people_of

PARTIES = ("visitor", "host", "visitor_partnership", "host_partnership")
PARTY_NAMES = {"visitor": "the visitor", "host": "the host", "visitor_partnership": "the visitor's partnership",
               "host_partnership": "the host's partnership"}
# Who signs what: the Commitment to Quality by the four parties; the financial agreement for the
# lump sum by the visitor and the visitor's partnership, which pays it.
DOCUMENTS = {"quality": PARTIES, "financial": ("visitor", "visitor_partnership")}
DOCUMENT_NAMES = {"quality": "Commitment to Quality", "financial": "financial agreement"}


class UnknownExchange(CxError):
    def __init__(self, exchange_id):
        super().__init__(f"there is no exchange {exchange_id!r}")


@dataclass(frozen=True)
class Exchange:
    """An exchange as its steps need it: status, stay, lump sum, and both sides as (id, partnership)."""

    id: str
    status: str
    visitor: tuple[str, str | None]
    host: tuple[str, str | None]
    start: dt.date
    end: dt.date
    lump_sum_eur: int | None

    def require(self, viewer: Viewer, party: str, what: str) -> None:
        """Raise NotAllowed unless the viewer speaks for `party` of this exchange."""
        if not viewer.speaks_for(party, self.visitor, self.host):
            raise NotAllowed(viewer, f"{what} for exchange {self.id}: that is {PARTY_NAMES[party]}'s step")

    def require_status(self, *statuses: str, step: str) -> None:
        if self.status not in statuses:
            raise InvalidTransition(f"exchange {self.id} is {self.status}; {step} only when it is "
                                    + " or ".join(statuses))


def locate(con, viewer: Viewer, exchange_id: str) -> Exchange:
    """The exchange, read in the caller's transaction; UnknownExchange when it does not exist or
    is outside the viewer's scope (so ids of other partnerships' exchanges cannot be probed)."""
    row = con.execute("""SELECT e.id, e.status, e.visitor_id, v.partnership_id, e.host_id, h.partnership_id,
                                e.start_date, e.end_date, e.lump_sum_eur
                         FROM exchanges e LEFT JOIN organisations v ON v.id = e.visitor_id
                         LEFT JOIN organisations h ON h.id = e.host_id WHERE e.id = ?""", [exchange_id]).fetchone()
    if row is None:
        raise UnknownExchange(exchange_id)
    found = Exchange(row[0], row[1], (row[2], row[3]), (row[4], row[5]), row[6], row[7], row[8])
    if not viewer.sees_exchange(found.visitor, found.host):
        raise UnknownExchange(exchange_id)
    return found


def holding(store, con, viewer: Viewer, exchange_id: str) -> Exchange:
    """`locate` for a step that writes: the exchange's visitor is held until the transaction ends
    (`Store.lock_visitors`), so two steps on a visitor's exchanges run one after the other on a
    server back end too, each checking what the other wrote (an approval cannot pass on
    signatures a date change is voiding)."""
    store.lock_visitors([row[0] for row in con.execute("SELECT visitor_id FROM exchanges WHERE id = ?",
                                                       [exchange_id]).fetchall()])
    return locate(con, viewer, exchange_id)


def record(con, exchange: Exchange, viewer: Viewer, action: str, note: str | None = None,
           to_status: str | None = None) -> None:
    """Add a step to the audit trail: a status change when `to_status` differs, else the status
    on both sides, with what was done (`action`) and why (`note`)."""
    con.execute("INSERT INTO exchange_events (exchange_id, from_status, to_status, changed_by, action, note) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [exchange.id, exchange.status, to_status or exchange.status, viewer.identity, action, note])
    con.execute("UPDATE exchanges SET status = ?, updated_at = current_timestamp WHERE id = ?",
                [to_status or exchange.status, exchange.id])


def addresses(con, exchange: Exchange, party: str) -> list[str]:
    """Whom a party's work goes to: an organisation's contact and accounts, a partnership's managers."""
    if party in ("visitor", "host"):
        return people_of(con, (exchange.visitor if party == "visitor" else exchange.host)[0])
    return managers_of(con, (exchange.visitor if party == "visitor_partnership" else exchange.host)[1])


def tell(con, exchange: Exchange, viewer: Viewer, parties, subject: str, body: str, said: str = "") -> None:
    """Write to the parties whose turn it now is, in the step's transaction: `subject` and `body`
    may name {exchange}, {stay} (who visits whom, when) and {said} (text someone typed, put in
    last and as typed)."""
    names = dict(con.execute("SELECT id, name FROM organisations WHERE id = ANY(?)",
                             [[exchange.visitor[0], exchange.host[0]]]).fetchall())
    visitor, host = (names.get(side[0], side[0]) for side in (exchange.visitor, exchange.host))
    stay = f"the stay of {visitor} at {host} from {exchange.start:%Y-%m-%d} to {exchange.end:%Y-%m-%d}"

    def worded(text: str) -> str:  # replace, not format: names and reasons typed with braces stay as typed
        return text.replace("{exchange}", exchange.id).replace("{stay}", stay).replace("{said}", said)

    to = [address for party in dict.fromkeys(parties) for address in addresses(con, exchange, party)]
    notify(con, to, worded(subject), worded(body) + "\n\nLog in to cx to see the exchange's steps.", by=viewer.identity)


def missing_signatures(con, exchange_id: str) -> list[tuple[str, str]]:
    """The (document, party) signatures the exchange still lacks, in the documents' order."""
    given = set(con.execute("SELECT document, party FROM signatures WHERE exchange_id = ?", [exchange_id]).fetchall())
    return [(document, party) for document, parties in DOCUMENTS.items() for party in parties
            if (document, party) not in given]


def approval_refusal(con, exchange_id: str) -> str | None:
    """Why the exchange may not be approved yet (None when it may): the host must have accepted
    and every party must have signed both documents."""
    answer = con.execute("SELECT answer FROM host_answers WHERE exchange_id = ?", [exchange_id]).fetchone()
    if answer is None or answer[0] != "accepted":
        return (f"exchange {exchange_id} cannot be approved: the host has not accepted "
                + ("the request yet" if answer is None else "yet (the visitor has not answered the proposed dates)"))
    missing = missing_signatures(con, exchange_id)
    if missing:
        return (f"exchange {exchange_id} cannot be approved: it lacks {len(missing)} signature"
                f"{'s' if len(missing) > 1 else ''} ("
                + "; ".join(f"{PARTY_NAMES[party]} on the {DOCUMENT_NAMES[document]}" for document, party in missing)
                + ")")
    return None
