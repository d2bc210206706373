"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, or answers as told:
the mail server the outbox tests send to."""

from __future__ import annotations

import email
from email.policy import default

from aiosmtpd.controller import Controller

from cx.local_servers import free_port


class Mailbox:
    """The handler: keeps each message; `answer` (e.g. '451 4.3.0 try again later') replaces the
    acceptance of the data, `refuse_recipients` refuses the RCPT command with an answer."""

    def __init__(self):
        self.received: list[email.message.EmailMessage] = []
        self.answer: str | None = None
        self.refuse_recipients: str | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refuse_recipients:
            return self.refuse_recipients
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.answer:
            return self.answer
        self.received.append(email.message_from_bytes(envelope.content, policy=default))
        return "250 Message accepted for delivery"


class MailServer:
    """A running SMTP server: `mailbox` holds what arrived; `settings()` the [smtp] table for it."""

    def __init__(self):
        self.mailbox = Mailbox()
        self.port = free_port()
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, server_hostname="cx-test")

    def __enter__(self) -> MailServer:
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def settings(self, **more) -> dict:
        return {"host": "127.0.0.1", "port": self.port, "security": "none", "sender": "cx@example.org", **more}
