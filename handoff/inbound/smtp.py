"""An SMTP listener a local mail server (Postfix, Exim) delivers the support address's mail to.

It accepts mail only for the support address (and its +t<token> forms), so it relays nothing; a mail is
answered 250 only once `receive()` has committed it, and 451 (try again later) when the database is
down, so the delivering server keeps it until it can land. Bind it to loopback unless a mail server on
another host must reach it.
"""
from __future__ import annotations

import asyncio
import logging

from aiosmtpd.controller import Controller

from handoff.inbound import intake
from handoff.mail import outbox

log = logging.getLogger("careregistry.inbound")
# aiosmtpd logs every command of every session at INFO; ours says what became of each mail in one line.
logging.getLogger("mail.log").setLevel(logging.WARNING)


class Handler:
    def __init__(self, app):
        self.app = app

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local, _, domain = outbox.support_address().rpartition("@")
        rcpt_local, _, rcpt_domain = address.lower().rpartition("@")
        if rcpt_domain != domain or rcpt_local.split("+")[0] != local.split("+")[0]:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        try:
            await asyncio.get_running_loop().run_in_executor(None, self._receive, raw, list(envelope.rcpt_tos))
        except Exception:  # the database, most likely: the sending server retries, nothing is lost
            log.exception("inbound smtp deferred from=%s", envelope.mail_from)
            return "451 4.3.0 Temporary failure, please try again later"
        return "250 OK"

    def _receive(self, raw: bytes, recipients: list[str]) -> dict:
        with self.app.app_context():
            return intake.receive(raw, "smtp", recipients)


def listener(app, host: str, port: int) -> Controller:
    """A started listener; `.stop()` ends it."""
    controller = Controller(Handler(app), hostname=host, port=port,
                            data_size_limit=app.config.get("INBOUND_MAX_BYTES", 25 * 1024 * 1024),
                            server_hostname="careregistry", ready_timeout=10)
    controller.start()
    log.info("inbound smtp listening host=%s port=%s", host, port)
    return controller
