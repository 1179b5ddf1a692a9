"""Backups taken with the CLI restore what was there, and a bad file changes nothing."""
from __future__ import annotations

from click.testing import CliRunner

from handoff.chat import conversations
from handoff.db import session_scope
from handoff.models import Message
from handoff.ops import cli


def run(app, *args):
    result = CliRunner().invoke(cli.main, list(args), obj=_script_info(app), catch_exceptions=False)
    return result


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda: app)


def texts(cid):
    with session_scope() as s:
        return [m.text for m in s.query(Message).filter_by(conversation_id=cid).order_by(Message.id)]


def test_backup_then_restore_brings_back_what_was_there(app, tmp_path):
    cid = conversations.open_for_visitor("backup-visitor-1")
    conversations.post_customer_message(cid, "before the backup", "b1")
    result = run(app, "backup", "--out", str(tmp_path / "b.db"))
    assert result.exit_code == 0 and "Backup written" in result.output
    conversations.post_customer_message(cid, "after the backup", "b2")
    assert texts(cid) == ["before the backup", "after the backup"]

    result = run(app, "restore", str(tmp_path / "b.db"), "--yes")
    assert result.exit_code == 0, result.output
    from handoff.db import init_engine

    init_engine(app.config["DATABASE_URL"])  # a restarted service opens the restored file
    assert texts(cid) == ["before the backup"]
    assert "before-restore" in result.output


def test_restoring_something_that_is_not_a_backup_changes_nothing(app, tmp_path):
    cid = conversations.open_for_visitor("backup-visitor-2")
    conversations.post_customer_message(cid, "keep me", "k1")
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"this is not a database" * 100)
    result = run(app, "restore", str(bogus), "--yes")
    assert result.exit_code == 1 and "not a" in result.output
    assert texts(cid) == ["keep me"]
    missing = run(app, "restore", str(tmp_path / "nope.db"), "--yes")
    assert missing.exit_code != 0
