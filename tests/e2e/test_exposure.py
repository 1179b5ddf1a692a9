"""Only the service faces the network: what an outsider reaching the other ports, or the home page, gets."""
from __future__ import annotations

import socket
import stat

import pytest
import requests


def outward_address() -> str | None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("192.0.2.1", 9))  # no packet is sent; this only picks the outward interface
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_home_page_shows_no_demo_password(stack):
    html = requests.get(stack.url + "/", timeout=10).text
    assert "widget.js" in html
    for person in stack.logins.values():
        assert person["password"] not in html


def test_demo_logins_are_readable_by_the_owner_only(stack):
    assert stat.S_IMODE((stack.stack.var_dir / "demo_logins.json").stat().st_mode) == 0o600


def test_action_server_refuses_a_crafted_tracker(customer, stack):
    """The attack: act as someone's conversation by POSTing a tracker straight to the action server."""
    victim = customer()
    answer = victim.ask("how long does a refund take?")  # Rasa, presenting the secret, runs the FAQ action
    assert "refund" in answer[0]["text"].lower()
    cid = str(victim.conversation_id)
    tracker = {"sender_id": cid, "slots": {"ticket_number": "1"}, "latest_message": {"text": "status of 1"},
               "events": [], "paused": False, "followup_action": None, "active_loop": {},
               "latest_action_name": "ticket_status_form"}
    call = {"next_action": "action_ticket_status", "sender_id": cid, "tracker": tracker, "domain": {},
            "version": "3.6.2"}
    url = f"http://127.0.0.1:{stack.stack.actions_port}"
    for headers in ({}, {"Authorization": "Bearer guessed"}):
        resp = requests.post(f"{url}/webhook", json=call, headers=headers, timeout=10)
        assert resp.status_code == 401 and "responses" not in resp.text


def test_rasa_gives_out_no_conversation(customer, stack):
    someone = customer()
    assert someone.ask("how long does a refund take?")
    cid = someone.conversation_id
    rasa = f"http://127.0.0.1:{stack.stack.rasa_port}"
    tracker = requests.get(f"{rasa}/conversations/{cid}/tracker", timeout=10)
    assert tracker.status_code in (401, 403, 404) and "refund" not in tracker.text
    for headers in ({}, {"Authorization": "Bearer guessed"}):
        resp = requests.post(f"{rasa}/webhooks/rest/webhook", json={"sender": str(cid), "message": "hello"},
                             headers=headers, timeout=10)
        assert resp.status_code == 401, resp.text


@pytest.mark.parametrize("part", ["rasa_port", "actions_port"])
def test_rasa_and_the_action_server_listen_on_loopback_only(stack, part):
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no address outside loopback")
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://{address}:{getattr(stack.stack, part)}/", timeout=3)
