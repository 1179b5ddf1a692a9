"""The inbound mail process (`careregistry inbound`): whichever ways in are configured, until stopped."""
from __future__ import annotations

import logging
import threading

from handoff.inbound import imap, smtp

log = logging.getLogger("careregistry.inbound")


def configured(cfg) -> list[str]:
    """The ways in the settings turn on ("smtp", "imap"); none means no inbound process is needed."""
    return [name for name, on in (("smtp", cfg.get("INBOUND_SMTP_PORT")), ("imap", cfg.get("IMAP_HOST"))) if on]


def problems(cfg) -> list[str]:
    """What is wrong with the inbound settings, in words an operator can act on."""
    found = []
    if not configured(cfg):
        found.append("No way in is configured: set INBOUND_SMTP_PORT (the SMTP listener) or IMAP_HOST (a mailbox).")
    if cfg.get("IMAP_HOST") and not (cfg.get("IMAP_USER") and cfg.get("IMAP_PASSWORD")):
        found.append("IMAP_HOST is set but IMAP_USER or IMAP_PASSWORD is not.")
    if cfg.get("IMAP_HOST") and cfg.get("IMAP_TLS") not in ("ssl", "starttls"):
        found.append("IMAP_TLS must be ssl or starttls: the mailbox's password never travels in the clear.")
    return found


def serve(app, stop: threading.Event) -> None:
    cfg = app.config
    listener = smtp.listener(app, cfg["INBOUND_SMTP_HOST"], int(cfg["INBOUND_SMTP_PORT"])) \
        if cfg.get("INBOUND_SMTP_PORT") else None
    poller = None
    if cfg.get("IMAP_HOST"):
        poller = threading.Thread(target=imap.run, args=(app, imap.Mailbox.from_config(cfg), stop),
                                  name="imap-poller", daemon=True)
        poller.start()
    log.info("inbound started ways=%s", ",".join(configured(cfg)))
    stop.wait()
    if listener is not None:
        listener.stop()
    if poller is not None:
        poller.join(timeout=30)
    log.info("inbound stopped")
