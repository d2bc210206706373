"""The outbox: every step that hands work to someone writes them a message here, in the step's own
transaction, so a step is never done without its message nor a message written for a step that
failed. Sending is apart (`cx.mail`): a mail server that is down delays messages, never a step.

A step calls `notify(con, to, subject, body, by=viewer.identity)` with the connection of its
transaction; `managers_of(con, partnership)` says whom a partnership's work goes to.
"""

from __future__ import annotations

import pandas as pd

from cx.access import Viewer
from cx.profiles import EMAIL
from cx.store import Store

PENDING, SENT, FAILED = "pending", "sent", "failed"


def notify(con, to, subject: str, body: str, *, by: str = "cx") -> int:
    """Write a message to each address in `to` (one address or several) inside the caller's
    transaction; returns how many were written. Logins that are not e-mail addresses (an identity
    provider's subject id), missing contacts and repeated addresses are left out: nobody could
    receive them."""
    addresses = list(to) if isinstance(to, (list, tuple, set)) else [to]
    recipients = list(dict.fromkeys(a.strip().lower() for a in addresses  # no contact: None, or NaN from a frame
                                    if isinstance(a, str) and EMAIL.fullmatch(a.strip())))
    for recipient in recipients:
        con.execute("INSERT INTO outbox (recipient, subject, body, created_by) VALUES (?, ?, ?, ?)",
                    [recipient, subject, body, by])
    return len(recipients)


def managers_of(con, partnership_id: str | None) -> list[str]:
    """The logins of the active managers of a partnership; the officers when it has none, so that
    its work still reaches someone."""
    managers = [r[0] for r in con.execute("SELECT login FROM accounts WHERE role = 'partnership_manager' AND active "
                                          "AND ? = ANY(partnerships) ORDER BY login", [partnership_id]).fetchall()]
    return managers or [r[0] for r in con.execute("SELECT login FROM accounts WHERE role = 'officer' AND active "
                                                  "ORDER BY login").fetchall()]


def due(store: Store) -> int:
    """How many messages wait to be sent now (a count: no addresses, no viewer needed)."""
    return store.query("SELECT count(*) AS n FROM outbox WHERE state = ? AND next_attempt_at <= current_timestamp",
                       [PENDING])["n"].iloc[0]


def messages(store: Store, viewer: Viewer, states=(PENDING, SENT, FAILED)) -> pd.DataFrame:
    """The outbox's messages in these states, newest first (officers only: they hold addresses)."""
    viewer.require_officer("read the outbox")
    return store.query("SELECT id, recipient, subject, state, attempts, created_at, created_by, next_attempt_at, "
                       "last_error, sent_at FROM outbox WHERE state = ANY(?) ORDER BY id DESC", [list(states)])


def retry_failed(store: Store, viewer: Viewer) -> int:
    """Put the messages cx gave up on back in line, due now (officers only); returns how many."""
    viewer.require_officer("retry the outbox's messages")
    with store.transaction() as con:
        return con.execute("UPDATE outbox SET state = ?, attempts = 0, next_attempt_at = current_timestamp "
                           "WHERE state = ? RETURNING id", [PENDING, FAILED]).df().shape[0]
