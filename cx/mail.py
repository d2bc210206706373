"""Sending the outbox's messages through the mail server configured in `[smtp]` (the app's
`.streamlit/secrets.toml`, which the command line reads too). cx talks to that server only.

A sender claims the messages that are due by pushing their next attempt past a lease, in one
short transaction, then sends them and records each outcome: sent, or the server's answer with
the next attempt after a backoff that doubles per attempt. After `max_attempts` a message is
marked failed, kept with every attempt in its log, and goes again only when an officer retries
it. So a server that refuses the connection, answers 4xx or 5xx, or hangs, loses nothing, and two
senders at once (the app after a step, `python -m cx send-mail` from cron) never send one twice.
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
import tomllib
from dataclasses import dataclass, fields
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from cx import PROJECT_ROOT
from cx.access import as_system
from cx.errors import CxError
from cx.outbox import FAILED, PENDING, SENT
from cx.profiles import EMAIL
from cx.store import Store

SECURITY = {"starttls": 587, "ssl": 465, "none": 25}


class BadMailSettings(CxError):
    """An `[smtp]` section cx cannot send with; the sentence names the setting."""

    def __init__(self, source, problem):
        super().__init__(f"the [smtp] settings in {source} {problem}")


@dataclass(frozen=True)
class MailSettings:
    """How to reach the mail server, and how patiently to retry it."""

    host: str
    sender: str
    port: int | None = None  # default: by `security`
    security: str = "starttls"  # starttls, ssl or none (a local relay)
    username: str = ""
    password: str = ""
    timeout: float = 10.0  # seconds per connection and command
    max_attempts: int = 8
    first_retry_seconds: float = 60.0  # doubled after each failed attempt...
    longest_retry_seconds: float = 6 * 3600.0  # ...up to this

    @classmethod
    def from_mapping(cls, values, source: str = "the configuration") -> MailSettings:
        """Settings from an `[smtp]` table, or BadMailSettings naming what is wrong."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise BadMailSettings(source, f"have {', '.join(unknown)}, which cx does not know "
                                          f"(it knows {', '.join(known)})")
        for required in ("host", "sender"):
            if not str(values.get(required) or "").strip():
                raise BadMailSettings(source, f"lack {required!r}")
        if not EMAIL.fullmatch(str(values["sender"])):
            raise BadMailSettings(source, f"give the sender {values['sender']!r}, which is not an e-mail address")
        if values.get("security", "starttls") not in SECURITY:
            raise BadMailSettings(source, f"give security {values['security']!r}; use one of {', '.join(SECURITY)}")
        try:
            settings = cls(**{name: values[name] for name in known if name in values})
            for name in ("port", "timeout", "max_attempts", "first_retry_seconds", "longest_retry_seconds"):
                value = getattr(settings, name)
                if value is not None and (isinstance(value, bool) or not float(value) > 0):
                    raise ValueError(f"{name} must be a positive number, not {value!r}")
        except (TypeError, ValueError) as error:
            raise BadMailSettings(source, str(error)) from None
        return settings

    @property
    def domain(self) -> str:
        """The sender's domain: cx's name in the greeting and in message ids (asking the system
        for its own name could mean a DNS query, and cx talks to the mail server only)."""
        return self.sender.rsplit("@", 1)[1]

    @property
    def server_port(self) -> int:
        return int(self.port or SECURITY[self.security])

    def backoff(self, attempts: int) -> dt.timedelta:
        """How long to wait after the `attempts`-th failed attempt."""
        return dt.timedelta(seconds=min(self.first_retry_seconds * 2 ** (attempts - 1), self.longest_retry_seconds))


def secrets_files() -> list[Path]:
    """Where Streamlit reads secrets from, as the command line looks for them: the project's
    `.streamlit/secrets.toml`, then the user's."""
    return [PROJECT_ROOT / ".streamlit" / "secrets.toml", Path.home() / ".streamlit" / "secrets.toml"]


def settings_from_file(path: Path | str | None = None) -> MailSettings | None:
    """The `[smtp]` settings of a secrets file (default: the first of `secrets_files` that exists),
    or None when there is no such section (messages then wait in the outbox)."""
    candidates = [Path(path)] if path else secrets_files()
    for candidate in candidates:
        if not candidate.exists():
            if path:
                raise CxError(f"there is no file {candidate}")
            continue
        try:
            secrets = tomllib.loads(candidate.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise CxError(f"{candidate} is not valid TOML ({error})") from None
        if "smtp" in secrets:
            return MailSettings.from_mapping(secrets["smtp"], str(candidate))
        if path:
            return None
    return None


@dataclass(frozen=True)
class Sending:
    """What one round of sending did."""

    sent: int = 0
    retrying: int = 0  # failed this time, due again after their backoff
    failed: int = 0  # failed for the last allowed time: kept, not retried unless asked
    errors: tuple[str, ...] = ()

    def summary(self) -> str:
        text = f"{self.sent} sent, {self.retrying} to retry later, {self.failed} given up"
        return text + (f" (the server said: {'; '.join(dict.fromkeys(self.errors))})" if self.errors else "")


def _claim(store: Store, settings: MailSettings, now: dt.datetime, limit: int) -> list[tuple]:
    """Take the due messages for this sender: their next attempt moves past the time a round may
    take, so another sender leaves them alone (and picks them up if this one dies)."""
    lease = now + dt.timedelta(seconds=settings.timeout * 4 + 60)
    with store.transaction() as con:
        due = con.execute("SELECT id, recipient, subject, body, attempts FROM outbox WHERE state = ? "
                          "AND next_attempt_at <= ? ORDER BY id LIMIT ?", [PENDING, now, limit]).fetchall()
        if due:
            con.execute("UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1 WHERE id = ANY(?)",
                        [lease, [row[0] for row in due]])
    return [(id_, recipient, subject, body, attempts + 1) for id_, recipient, subject, body, attempts in due]


def _connect(settings: MailSettings) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if settings.security == "ssl":
        server = smtplib.SMTP_SSL(settings.host, settings.server_port, settings.domain, timeout=settings.timeout,
                                  context=context)
    else:
        server = smtplib.SMTP(settings.host, settings.server_port, settings.domain, timeout=settings.timeout)
        if settings.security == "starttls":
            server.starttls(context=context)
    if settings.username:
        server.login(settings.username, settings.password)
    return server


def _said(error: Exception, settings: MailSettings) -> str:
    """The server's answer (or the network's) in one line."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, message = next(iter(error.recipients.values()))
        return f"{code} {message.decode(errors='replace')}"
    if isinstance(error, smtplib.SMTPResponseException):
        message = error.smtp_error.decode(errors="replace") if isinstance(error.smtp_error, bytes) else error.smtp_error
        return f"{error.smtp_code} {message}"
    if isinstance(error, ConnectionRefusedError):
        return f"connection refused by {settings.host}:{settings.server_port}"
    if isinstance(error, TimeoutError):
        return f"no answer from {settings.host}:{settings.server_port} within {settings.timeout:g} s"
    return f"{type(error).__name__}: {error}"


@as_system()
def send_pending(store: Store, settings: MailSettings, *, now: dt.datetime | None = None, limit: int = 100) -> Sending:
    """Send the outbox's due messages (up to `limit`) and record each outcome."""
    now = now or dt.datetime.now()
    claimed = _claim(store, settings, now, limit)
    if not claimed:
        return Sending()
    outcomes: dict[int, str | None] = {}
    try:
        server = _connect(settings)
    except (OSError, smtplib.SMTPException) as error:
        outcomes = {row[0]: _said(error, settings) for row in claimed}
    else:
        with server:
            for id_, recipient, subject, body, _ in claimed:
                message = EmailMessage()
                message["From"], message["To"], message["Subject"] = settings.sender, recipient, subject
                message["Date"] = formatdate(localtime=True)
                message["Message-ID"] = make_msgid(f"cx-outbox-{id_}", settings.domain)
                message.set_content(body)
                try:
                    server.send_message(message)
                    outcomes[id_] = None
                except smtplib.SMTPServerDisconnected as error:
                    outcomes.update({row[0]: _said(error, settings) for row in claimed if row[0] not in outcomes})
                    break
                except (OSError, smtplib.SMTPException) as error:
                    outcomes[id_] = _said(error, settings)
    return _record(store, settings, claimed, outcomes, now)


def _record(store, settings, claimed, outcomes, now) -> Sending:
    sent = retrying = failed = 0
    with store.transaction() as con:
        for id_, _, _, _, attempts in claimed:
            error = outcomes[id_]
            line = f"{now:%Y-%m-%d %H:%M:%S} attempt {attempts}: " + ("sent" if error is None else error) + "\n"
            if error is None:
                sent += 1
                con.execute("UPDATE outbox SET state = ?, sent_at = ?, last_error = NULL, log = log || ? WHERE id = ?",
                            [SENT, now, line, id_])
            elif attempts >= settings.max_attempts:
                failed += 1
                con.execute("UPDATE outbox SET state = ?, last_error = ?, log = log || ? WHERE id = ?",
                            [FAILED, error, line, id_])
            else:
                retrying += 1
                con.execute("UPDATE outbox SET next_attempt_at = ?, last_error = ?, log = log || ? WHERE id = ?",
                            [now + settings.backoff(attempts), error, line, id_])
    return Sending(sent, retrying, failed, tuple(e for e in outcomes.values() if e))
