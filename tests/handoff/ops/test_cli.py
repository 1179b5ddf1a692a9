"""The demo's log-ins: kept where only the owner can read them, changed with one command."""
from __future__ import annotations

import json
import stat

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from handoff.ops import cli
from handoff.people import agents


@pytest.fixture
def demo_file(tmp_path, monkeypatch):
    path = tmp_path / "var" / "demo_logins.json"
    monkeypatch.setattr(cli, "DEMO_LOGINS", path)
    return path


def run(app, *args, input=None):
    return CliRunner().invoke(cli.main, list(args), obj=ScriptInfo(create_app=lambda: app), input=input)


def test_demo_logins_are_kept_for_the_owner_only_and_not_logged(app, demo_file):
    result = run(app, "seed-demo")  # CliRunner's output is not a terminal, like `make run > log`
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(demo_file.stat().st_mode) == 0o600
    logins = json.loads(demo_file.read_text())
    assert {p["email"] for p in logins} == {"admin@example.com", "sam@example.com", "kim@example.com"}
    assert all(p["password"] not in result.output for p in logins)
    assert "set-password --email" in result.output
    assert agents.authenticate(logins[0]["email"], logins[0]["password"], "127.0.0.1")["role"] == "admin"


def test_seed_demo_makes_an_old_readable_file_private(app, demo_file):
    demo_file.parent.mkdir()
    demo_file.write_text("[]")
    demo_file.chmod(0o644)
    assert run(app, "seed-demo").exit_code == 0
    assert stat.S_IMODE(demo_file.stat().st_mode) == 0o600


def test_set_password_replaces_a_staff_password(app, make_agent):
    sam = make_agent()
    result = run(app, "set-password", "--email", sam["email"].upper(), input="a new secret\na new secret\n")
    assert result.exit_code == 0 and "Password changed" in result.output
    assert agents.authenticate(sam["email"], "a new secret", "127.0.0.1")["id"] == sam["id"]


@pytest.mark.parametrize("email, password, message", [
    ("nobody@example.com", "long enough", "no agent or admin"),
    ("sam@example.com", "short", "at least 8"),
])
def test_set_password_refuses_and_changes_nothing(app, make_agent, email, password, message):
    make_agent()
    result = run(app, "set-password", "--email", email, "--password", password)
    assert result.exit_code == 1 and message in result.output
    assert agents.authenticate("sam@example.com", "correct horse battery", "127.0.0.1")["email"] == "sam@example.com"
