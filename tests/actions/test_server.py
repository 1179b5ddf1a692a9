"""The action server (`python -m actions.server`) answers only callers presenting the shared secret.

A real server process, with a small HTTP server standing in for the handoff service, so a refused call is
seen to reach no action at all.
"""

import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
SECRET = "the-shared-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class HandoffStandIn:
    """Records every call the actions make; answers a ticket's status."""

    def __init__(self):
        calls = self.calls = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                calls.append((self.path, self.headers.get("Authorization")))
                body = json.dumps({"number": 42, "status": "open", "subject": "Private matter",
                                   "category": "billing", "priority": "normal", "assignee": "Sam"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def start(env_extra, *args):
    env = {**os.environ, "HANDOFF_URL": "http://127.0.0.1:9", "SERVICE_TOKEN": "svc", **env_extra}
    return subprocess.Popen([sys.executable, "-m", "actions.server", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture(scope="module")
def action_server():
    handoff = HandoffStandIn()
    port = free_port()
    proc = start({"ACTIONS_TOKEN": SECRET, "HANDOFF_URL": handoff.url}, "--port", str(port))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the action server did not start:\n" + proc.communicate()[0])
    yield url, handoff
    proc.terminate()
    proc.wait(timeout=10)
    handoff.server.shutdown()


def crafted_call():
    """What an attacker would POST: someone else's conversation, asking for ticket 42's status."""
    tracker = json.loads((ROOT / "tests" / "actions" / "data" / "ticket_status.json").read_text())
    return {"next_action": "action_ticket_status", "sender_id": tracker["sender_id"], "tracker": tracker,
            "domain": {}, "version": "3.6.2"}


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": SECRET},
                                     {"Authorization": f"Bearer {SECRET}x"}])
def test_calls_without_the_secret_are_refused_and_run_no_action(action_server, headers):
    url, handoff = action_server
    resp = requests.post(f"{url}/webhook", json=crafted_call(), headers=headers, timeout=10)
    assert resp.status_code == 401 and "Private matter" not in resp.text
    assert requests.get(f"{url}/actions", headers=headers, timeout=10).status_code == 401
    assert handoff.calls == []


def test_rasa_with_the_secret_is_answered(action_server):
    url, handoff = action_server
    resp = requests.post(f"{url}/webhook", json=crafted_call(), headers={"Authorization": f"Bearer {SECRET}"},
                         timeout=10)
    assert resp.status_code == 200
    assert "Private matter" in json.dumps(resp.json()["responses"])
    assert handoff.calls == [("/api/conversations/12/tickets/42", "Bearer svc")]
    handoff.calls.clear()


def test_health_needs_no_secret(action_server):
    url, _ = action_server
    assert requests.get(f"{url}/health", timeout=5).json() == {"status": "ok"}


def test_listens_on_loopback_only_by_default(action_server):
    url, _ = action_server
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the outward interface
        address = probe.getsockname()[0]
    if address.startswith("127."):
        pytest.skip("this machine has no address outside loopback")
    port = int(url.rsplit(":", 1)[1])
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:{port}/health", timeout=3)


def test_refuses_to_start_without_a_secret():
    env = {k: v for k, v in os.environ.items() if k != "ACTIONS_TOKEN"}
    proc = subprocess.run([sys.executable, "-m", "actions.server", "--port", str(free_port())], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "ACTIONS_TOKEN" in proc.stderr
