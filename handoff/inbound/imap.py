"""Polling the support mailbox over IMAP (TLS only), waiting with IDLE where the server offers it.

A mail is fetched without marking it read (BODY.PEEK), handed to `receive()`, and only once that has
committed moved to IMAP_DONE_FOLDER (or flagged \\Seen when there is none). A crash in between fetches
it again next time, and `receive()` recognises it by its Message-ID: every mail lands once.
If `receive()` fails (the database is down) the batch stops and the mail stays where it is.
"""
from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from dataclasses import dataclass

from imapclient import IMAPClient, SEEN
from imapclient.exceptions import IMAPClientError

from handoff.inbound import intake
from handoff.mail import health

log = logging.getLogger("careregistry.inbound")
BATCH = 50


@dataclass
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    done_folder: str | None = "Processed"
    tls: str = "ssl"  # ssl | starttls
    cafile: str | None = None
    interval: float = 60
    timeout: float = 30

    @classmethod
    def from_config(cls, cfg) -> "Mailbox":
        return cls(cfg["IMAP_HOST"], int(cfg["IMAP_PORT"]), cfg["IMAP_USER"] or "", cfg["IMAP_PASSWORD"] or "",
                   cfg.get("IMAP_FOLDER") or "INBOX", cfg.get("IMAP_DONE_FOLDER") or None,
                   cfg.get("IMAP_TLS") or "ssl", cfg.get("IMAP_CAFILE"), float(cfg.get("IMAP_INTERVAL") or 60))

    def connect(self) -> IMAPClient:
        if self.tls not in ("ssl", "starttls"):
            raise ValueError("IMAP_TLS must be ssl or starttls: credentials never travel in the clear")
        context = ssl.create_default_context(cafile=self.cafile)
        client = IMAPClient(self.host, port=self.port, ssl=self.tls == "ssl", ssl_context=context,
                            timeout=self.timeout)
        try:
            if self.tls == "starttls":
                client.starttls(context)
            client.login(self.user, self.password)
            if self.done_folder and not client.folder_exists(self.done_folder):
                client.create_folder(self.done_folder)
            client.select_folder(self.folder)
        except BaseException:
            client.shutdown()
            raise
        return client


def fetch_once(app, mailbox: Mailbox, client: IMAPClient) -> int:
    """Take every waiting mail; returns how many were handled."""
    # With a done folder everything left in the folder is waiting; without, the unread mail is.
    uids = client.search(["NOT", "DELETED"] if mailbox.done_folder else ["UNSEEN"])
    handled = 0
    for uid in sorted(uids)[:BATCH]:
        fetched = client.fetch([uid], ["BODY.PEEK[]"]).get(uid)
        if not fetched:
            continue  # gone meanwhile (another poller took it)
        raw = fetched.get(b"BODY[]") or b""
        with app.app_context():
            intake.receive(raw, "imap")
        _done(client, mailbox, uid)
        handled += 1
    return handled


def _done(client: IMAPClient, mailbox: Mailbox, uid: int) -> None:
    if not mailbox.done_folder:
        client.add_flags([uid], [SEEN])
    elif client.has_capability("MOVE"):
        client.move([uid], mailbox.done_folder)
    else:
        client.copy([uid], mailbox.done_folder)
        client.delete_messages([uid])
        client.uid_expunge([uid]) if client.has_capability("UIDPLUS") else client.expunge()


def run(app, mailbox: Mailbox, stop: threading.Event) -> None:
    """Poll until `stop` is set, reconnecting with a growing pause after failures."""
    failures = 0
    while not stop.is_set():
        try:
            client = mailbox.connect()
        except (OSError, IMAPClientError, ssl.SSLError) as err:
            failures += 1
            _failed("connect", err, failures, stop)
            continue
        log.info("imap connected host=%s folder=%s idle=%s", mailbox.host, mailbox.folder,
                 client.has_capability("IDLE"))
        try:
            while not stop.is_set():
                count = fetch_once(app, mailbox, client)
                health.record("fetch", True)
                failures = 0
                if count:
                    log.info("imap fetched count=%s", count)
                    continue  # more may be waiting beyond the batch
                _wait(client, mailbox, stop)
        except (OSError, IMAPClientError, ssl.SSLError, socket.timeout) as err:
            failures += 1
            _failed("fetch", err, failures, stop)
        except Exception as err:  # the database, most likely: mail stays in the box, tried again
            failures += 1
            log.exception("imap receive failed")
            _failed("receive", err, failures, stop)
        finally:
            _close(client)


def _words(err: Exception) -> str:
    """The server's own words: imapclient hands them over as the bytes of its response."""
    text = str(err)
    if text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return text[:300]


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # a dead connection cannot say goodbye
        try:
            client.shutdown()
        except Exception:
            pass


def _wait(client: IMAPClient, mailbox: Mailbox, stop: threading.Event) -> None:
    if not client.has_capability("IDLE"):
        stop.wait(mailbox.interval)
        return
    client.idle()
    try:
        deadline = time.monotonic() + mailbox.interval
        while not stop.is_set() and time.monotonic() < deadline:
            if client.idle_check(timeout=min(5.0, mailbox.interval)):
                break  # something arrived (or changed): fetch
    finally:
        client.idle_done()


def _failed(step: str, err: Exception, failures: int, stop: threading.Event) -> None:
    pause = min(2 ** min(failures, 6), 60)
    health.record("fetch", False, f"{step}: {type(err).__name__}: {_words(err)}")
    log.warning("imap %s failed attempt=%s retry_in=%ss error=%s", step, failures, pause,
                f"{type(err).__name__}: {err}"[:300])
    stop.wait(pause)
