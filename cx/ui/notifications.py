"""Sending the outbox from the app: after each run of a page (so after every step a person took),
when `[smtp]` is configured and messages are due, one background thread per process sends them.
The page never waits for the mail server; a failure is recorded on the message and logged."""

from __future__ import annotations

import logging
import threading

import streamlit as st
from streamlit.errors import StreamlitSecretNotFoundError

from cx import mail, outbox
from cx.errors import CxError
from cx.ui import current_store

_sending = threading.Lock()  # one sending thread per process; other processes are kept apart by the claim
_wanted = threading.Event()  # a page ran since the sending thread last looked at the outbox
log = logging.getLogger("cx.mail")


def mail_settings() -> mail.MailSettings | None:
    """The `[smtp]` settings of the app's secrets, or None when there are none."""
    try:
        smtp = st.secrets.get("smtp")
    except StreamlitSecretNotFoundError:
        return None
    return None if smtp is None else mail.MailSettings.from_mapping(dict(smtp), ".streamlit/secrets.toml")


def send_soon() -> threading.Thread | None:
    """Send the session's database's due messages in the background (None when a round already
    running will send them, or there is no mail server or database: the page has said why)."""
    try:
        settings = mail_settings()
        store = current_store() if settings else None
    except CxError as error:
        log.warning("messages wait in the outbox: %s", error)
        return None
    if settings is None:
        return None
    _wanted.set()
    if not _sending.acquire(blocking=False):
        return None  # the running round sees `_wanted` and goes again
    thread = threading.Thread(target=_send, args=(store, settings), name="cx-send-mail", daemon=True)
    thread.start()
    return thread


def _send(store, settings) -> None:
    """Rounds until no page asked for one meanwhile; the lock is released before the last look,
    so a step committed at any moment is sent by this thread or by the one its page starts."""
    while True:
        try:
            while _wanted.is_set():
                _wanted.clear()
                if outbox.due(store):
                    log.info("outbox: %s", mail.send_pending(store, settings).summary())
        except Exception:  # the next run tries again; the messages are in the outbox
            log.warning("sending the outbox failed", exc_info=True)
        finally:
            _sending.release()
        if not _wanted.is_set() or not _sending.acquire(blocking=False):
            return


def sending_line() -> str:
    """Whether and how messages go out, in a sentence for the outbox's officers."""
    try:
        settings = mail_settings()
    except CxError as error:
        return f"Nothing is sent: {error}."
    if settings is None:
        return ("Nothing is sent: .streamlit/secrets.toml has no [smtp] section (see the README, 'Notifications'); "
                "messages wait here.")
    return f"Sent through {settings.host}:{settings.server_port} as {settings.sender}, retried with backoff."
