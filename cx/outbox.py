"""The outbox: every step that hands work to someone writes them a message here, in the step's own
transaction, so a step is never done without its message nor a message written for a step that
failed. Sending is apart (`cx.mail`): a mail server that is down delays messages, never a step.

A step calls `notify(con, to, subject, body, by=viewer.identity)` with the connection of its
transaction; `managers_of(con, partnership)` says whom a partnership's work goes to, `people_of(con,
organisation)` whom an organisation's.
"""

from __future__ import annotations

import pandas as pd

from cx.access import Viewer, as_system, scoped
from cx.profiles import EMAIL
from cx.store import Store, insert_frame

PENDING, SENT, FAILED = "pending", "sent", "failed"


def _deliverable(address) -> str | None:
    """The address as the outbox keeps it, or None for what nobody could receive: a login that is
    not an e-mail address (an identity provider's subject id), a missing contact (None, or NaN
    from a frame)."""
    return address.strip().lower() if isinstance(address, str) and EMAIL.fullmatch(address.strip()) else None


def notify(con, to, subject: str, body: str, *, by: str = "cx") -> int:
    """Write a message to each address in `to` (one address or several) inside the caller's
    transaction; returns how many were written. Addresses nobody could receive and repeated ones
    are left out."""
    addresses = list(to) if isinstance(to, (list, tuple, set)) else [to]
    recipients = [a for a in dict.fromkeys(map(_deliverable, addresses)) if a]
    for recipient in recipients:
        con.execute("INSERT INTO outbox (recipient, subject, body, created_by) VALUES (?, ?, ?, ?)",
                    [recipient, subject, body, by])
    return len(recipients)


def notify_all(con, messages: pd.DataFrame, *, by: str) -> int:
    """`notify` for many messages at once, in one bulk write (an import that moves thousands of
    exchanges): rows of recipient, subject and body, in the order they are written."""
    messages = messages.assign(recipient=messages["recipient"].map(_deliverable)).dropna(subset=["recipient"])
    messages = messages.drop_duplicates(["recipient", "subject", "body"])[["recipient", "subject", "body"]]
    return insert_frame(con, "outbox", messages.assign(created_by=by).astype(object)) if len(messages) else 0


def managers_of(con, partnership_id: str | None) -> list[str]:
    """The logins of the active managers of a partnership; the officers when it has none, so that
    its work still reaches someone."""
    managers = [r[0] for r in con.execute("SELECT login FROM accounts WHERE role = 'partnership_manager' AND active "
                                          "AND ? = ANY(partnerships) ORDER BY login", [partnership_id]).fetchall()]
    return managers or [r[0] for r in con.execute("SELECT login FROM accounts WHERE role = 'officer' AND active "
                                                  "ORDER BY login").fetchall()]


def people(con, organisation_ids) -> pd.DataFrame:
    """The addresses of organisations (organisation_id, recipient): each one's contact, then the
    active accounts that act for it. The contacts come from `organisation_contacts`: on PostgreSQL
    those of the organisations the scope holds and of the other side of its exchanges."""
    ids = [str(i) for i in organisation_ids]
    return con.execute("""SELECT organisation_id, recipient FROM (
                              SELECT id AS organisation_id, contact_email AS recipient, 0 AS rank
                              FROM organisation_contacts WHERE id = ANY(?) AND contact_email IS NOT NULL
                              UNION ALL SELECT organisation_id, login, 1 FROM accounts
                              WHERE role = 'organisation' AND active AND organisation_id = ANY(?)) found
                          ORDER BY organisation_id, rank, recipient""", [ids, ids]).df()


def people_of(con, organisation_id: str | None) -> list[str]:
    """The addresses of one organisation (`people`)."""
    return people(con, [organisation_id])["recipient"].tolist() if organisation_id else []


@as_system()
def due(store: Store) -> int:
    """How many messages wait to be sent now (a count: no addresses, no viewer needed)."""
    return store.query("SELECT count(*) AS n FROM outbox WHERE state = ? AND next_attempt_at <= current_timestamp",
                       [PENDING])["n"].iloc[0]


@scoped
def messages(store: Store, viewer: Viewer, states=(PENDING, SENT, FAILED)) -> pd.DataFrame:
    """The outbox's messages in these states, newest first (officers only: they hold addresses)."""
    viewer.require_officer("read the outbox")
    return store.query("SELECT id, recipient, subject, state, attempts, created_at, created_by, next_attempt_at, "
                       "last_error, sent_at FROM outbox WHERE state = ANY(?) ORDER BY id DESC", [list(states)])


@scoped
def retry_failed(store: Store, viewer: Viewer) -> int:
    """Put the messages cx gave up on back in line, due now (officers only); returns how many."""
    viewer.require_officer("retry the outbox's messages")
    with store.transaction() as con:
        return con.execute("UPDATE outbox SET state = ?, attempts = 0, next_attempt_at = current_timestamp "
                           "WHERE state = ? RETURNING id", [PENDING, FAILED]).df().shape[0]
