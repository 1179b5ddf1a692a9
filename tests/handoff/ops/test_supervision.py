"""What `make run` and a production install hand to the supervisor, and a worker that boots on a
database it cannot write."""
from __future__ import annotations

import configparser
import os
import socket
import subprocess
import time

import requests
from click.testing import CliRunner

from handoff.ops import cli
from handoff.ops.stack import APP_BIN, PROJECT_ROOT, Stack
from handoff.ops.supervision import supervisord_conf


def test_every_process_is_restarted_and_no_secret_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv("SERVICE_TOKEN", "token-that-must-stay-in-the-environment")
    text = supervisord_conf(Stack(var_dir=tmp_path), log_dir=tmp_path, run_dir=tmp_path, foreground=True)
    conf = configparser.RawConfigParser()
    conf.read_string(text)
    for name in ("rasa", "actions", "web"):
        program = conf[f"program:{name}"]
        assert program["autorestart"] == "true" and int(program["startretries"]) >= 50
        assert program["stopasgroup"] == program["killasgroup"] == "true"
    assert "token-that-must-stay" not in text
    assert conf["unix_http_server"]["chmod"] == "0700" and conf["unix_http_server"]["password"]


def test_service_files_command_writes_units_that_restart_and_a_private_env_file(tmp_path):
    out = tmp_path / "units"
    result = CliRunner().invoke(cli.main, ["service-files", "--out", str(out), "--user", "ccr"])
    assert result.exit_code == 0, result.output
    for name in ("rasa", "actions", "web"):
        unit = (out / f"careregistry-{name}.service").read_text()
        assert "Restart=always" in unit and "User=ccr" in unit and "StartLimitIntervalSec=0" in unit
    assert (out / "careregistry.env").stat().st_mode & 0o077 == 0
    shared = dict(line.split("=", 1) for line in (out / "careregistry.env").read_text().splitlines()
                  if "=" in line and not line.startswith("#"))
    assert shared["RASA_TOKEN"] and shared["ACTIONS_TOKEN"]  # Rasa refuses to start without them

    result = CliRunner().invoke(cli.main, ["service-files", "--out", str(out), "--format", "supervisord"])
    assert result.exit_code == 0, result.output
    assert (out / "careregistry-supervisord.conf").stat().st_mode & 0o077 == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_worker_booting_on_a_read_only_database_serves_and_reports_it(app, tmp_path):
    """gunicorn's master exits when its worker cannot boot; a read-only database must not do that."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": app.config["DATABASE_URL"], "CCR_VAR_DIR": str(tmp_path),
           "RASA_URL": f"http://127.0.0.1:{_free_port()}", "ACTIONS_URL": f"http://127.0.0.1:{_free_port()}",
           "CAREREGISTRY_ENCODER": "numpy"}
    web = subprocess.Popen([str(APP_BIN / "gunicorn"), "-k", "gthread", "-w", "1", "--threads", "8",
                            "-b", f"127.0.0.1:{port}", "tests.handoff.ops.read_only_wsgi:app"], env=env, cwd=PROJECT_ROOT,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, health = time.monotonic() + 60, None
        while time.monotonic() < deadline and web.poll() is None and health is None:
            try:
                health = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            except requests.RequestException:
                time.sleep(0.3)
        assert web.poll() is None, "gunicorn exited:\n" + web.stderr.read().decode()[-2000:]
        assert health is not None and health.status_code == 503
        assert health.json()["database"]["ok"] is False
        assert health.json()["rasa"]["ok"] is False, "the other parts are still checked"
    finally:
        web.terminate()
        web.wait(timeout=20)
