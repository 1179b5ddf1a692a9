"""The inbound process as an operator runs it (`careregistry inbound`), under the supervisor, killed and
started again while it is fetching."""
from __future__ import annotations

import configparser
import os
import signal
import smtplib
import subprocess

import pytest
from sqlalchemy import func, select

from handoff.db import session_scope
from handoff.inbound import imap
from handoff.models import InboundMail, Ticket
from handoff.ops.stack import APP_BIN, PROJECT_ROOT, Stack
from handoff.ops.supervision import supervisord_conf
from tests.fakes import free_port, wait_for
from tests.handoff.inbound.conftest import PASSWORD, USER
from tests.handoff.inbound.mails import mail


@pytest.mark.parametrize("setting", [None, "INBOUND_SMTP_PORT", "IMAP_HOST"])
def test_the_supervisor_runs_the_inbound_process_only_when_a_way_in_is_configured(tmp_path, monkeypatch, setting):
    for name in ("INBOUND_SMTP_PORT", "IMAP_HOST"):
        monkeypatch.delenv(name, raising=False)
    if setting:
        monkeypatch.setenv(setting, "2525" if setting == "INBOUND_SMTP_PORT" else "imap.example.com")
    conf = configparser.RawConfigParser()
    conf.read_string(supervisord_conf(Stack(var_dir=tmp_path), log_dir=tmp_path, run_dir=tmp_path, foreground=True))
    assert conf.has_section("program:mail") == bool(setting)
    if setting:
        assert conf["program:mail"]["command"].endswith("-m handoff.ops.cli inbound")
        assert conf["program:mail"]["autorestart"] == "true"


def _process(app, tmp_path, **settings) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMAP_", "INBOUND_"))}
    env.update({"DATABASE_URL": app.config["DATABASE_URL"], "CCR_VAR_DIR": str(tmp_path), **settings})
    # The command the supervisor runs (tested above), started here by hand.
    return subprocess.Popen([str(APP_BIN / "python"), "-m", "handoff.ops.cli", "inbound"],
                            env=env, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _landed() -> int:
    with session_scope() as s:
        return s.scalar(select(func.count(InboundMail.id)))


def test_inbound_refuses_to_start_without_a_way_in(app, tmp_path):
    proc = _process(app, tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1 and b"INBOUND_SMTP_PORT" in out


def test_the_smtp_listener_process_takes_mail_and_stops_on_sigterm(app, tmp_path):
    port = free_port()
    proc = _process(app, tmp_path, INBOUND_SMTP_PORT=str(port))
    try:
        def sent() -> bool:
            try:
                with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
                    client.sendmail("zed@example.org", ["support@example.com"], mail("zed@example.org"))
                return True
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode()[-2000:]
                return False
        wait_for(sent, timeout=60, interval=0.3)
        with session_scope() as s:
            assert s.scalars(select(Ticket)).one().customer.email == "zed@example.org"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    assert proc.returncode == 0


def test_killed_while_fetching_and_restarted_every_message_lands_once(app, tmp_path, dovecot):
    box = imap.Mailbox("127.0.0.1", dovecot.port, USER, PASSWORD, cafile=str(dovecot.cert))
    client = box.connect()
    for folder in ("INBOX", "Processed"):
        client.select_folder(folder)
        client.delete_messages(client.search(["ALL"]))
        client.expunge()
    count = 40
    for i in range(count):
        client.append("INBOX", mail(f"k{i}@example.org", body=f"Problem number {i}"))
    settings = {"IMAP_HOST": "127.0.0.1", "IMAP_PORT": str(dovecot.port), "IMAP_USER": USER,
                "IMAP_PASSWORD": PASSWORD, "IMAP_CAFILE": str(dovecot.cert), "IMAP_INTERVAL": "2"}
    first = _process(app, tmp_path, **settings)
    try:
        wait_for(lambda: _landed() >= 5, timeout=90, interval=0.05)
    finally:
        first.kill()  # mid-batch: no goodbye, no chance to tidy up
        first.wait(timeout=30)
    assert _landed() < count, "the kill came too late to test anything"
    second = _process(app, tmp_path, **settings)
    try:
        wait_for(lambda: _landed() >= count and client.folder_status("INBOX", ["MESSAGES"])[b"MESSAGES"] == 0,
                 timeout=120, interval=0.2)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(timeout=30)
        imap._close(client)
    with session_scope() as s:
        assert s.scalar(select(func.count(InboundMail.id))) == count
        descriptions = sorted(s.scalars(select(Ticket.description)))
    assert descriptions == sorted(f"Problem number {i}" for i in range(count))
