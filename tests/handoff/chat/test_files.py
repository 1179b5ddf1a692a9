"""Files in a live chat: a customer's photo reaches the agent live and only those who may see the chat get
it back; programs and oversized files are refused with a clear error and leave nothing behind."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handoff.db import session_scope
from handoff.models import Attachment, Message
from tests.fakes import wait_for
from tests.handoff.chat.test_handoff import _queued_chat
from tests.handoff.tickets.test_attachments import png

VISITOR = "visitor-with-a-photo-1"


def _send(client, *files, visitor=VISITOR, text=None, headers=None):
    data = {"file": [(io.BytesIO(content), name) for name, content in files]}
    if text is not None:
        data["text"] = text
    return client.post("/chat/files", data=data, content_type="multipart/form-data",
                       headers={"X-Visitor-Id": visitor, **(headers or {})})


def _stored(app) -> tuple[int, list[Path]]:
    with session_scope() as s:
        count = s.scalar(select(func.count()).select_from(Attachment))
    return count, [p for p in Path(app.config["ATTACHMENT_DIR"]).rglob("*") if p.is_file()]


@pytest.fixture
def live_chat(customer_socket, agent_socket, api):
    """A visitor's chat an agent has accepted: (customer's inbox, agent's inbox, conversation id)."""
    agent = agent_socket()
    chat, cid, _ = _queued_chat(lambda: customer_socket(VISITOR), api)
    assert agent.emit("accept", {"conversation_id": cid})["ok"]
    return chat, agent, cid


def test_a_customers_photo_reaches_the_agent_live_and_only_the_chats_people_get_it(app, client, live_chat,
                                                                                customer_socket, agent_socket,
                                                                                make_agent):
    chat, agent, cid = live_chat
    resp = _send(client, ("damage.png", png()), text="The box arrived like this")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    sent = resp.get_json()["message"]
    assert sent["text"] == "The box arrived like this"
    [file] = sent["attachments"]
    assert file["name"] == "damage.png" and file["type"] == "image/png" and file["preview"] is True

    seen = wait_for(lambda: [m for m in agent.of("message") if m.get("attachments")])
    assert seen[-1]["conversation_id"] == cid and seen[-1]["attachments"] == [file]
    assert wait_for(lambda: [m for m in chat.of("message") if m.get("attachments")])  # the other tabs too

    page = agent.http.get(f"/console/conversations/{cid}").get_data(as_text=True)
    assert f'src="/console/chat-files/{file["id"]}"' in page  # the transcript page shows the photo too
    got = agent.http.get(f"/console/chat-files/{file['id']}")
    assert got.status_code == 200 and got.data == png()
    assert got.headers["Content-Type"] == "image/png" and "sandbox" in got.headers["Content-Security-Policy"]
    own = client.get(f"/chat/files/{file['id']}", headers={"X-Visitor-Id": VISITOR})
    assert own.status_code == 200 and own.data == png()

    assert client.get(f"/chat/files/{file['id']}", headers={"X-Visitor-Id": "another-visitor-22"}).status_code \
        in (403, 404)
    customer_socket("another-visitor-23")  # a visitor with a chat of their own
    assert client.get(f"/chat/files/{file['id']}", headers={"X-Visitor-Id": "another-visitor-23"}).status_code == 404
    assert client.get(f"/chat/files/{file['id']}").status_code == 403
    kim = agent_socket(make_agent("Kim Agent"))  # an agent not in this chat
    assert kim.http.get(f"/console/chat-files/{file['id']}").status_code == 404
    assert app.test_client().get(f"/console/chat-files/{file['id']}").status_code in (302, 401, 403)


def test_an_agent_sends_a_file_the_customer_sees_as_a_download(client, live_chat):
    chat, agent, cid = live_chat
    resp = agent.http.post(f"/console/conversations/{cid}/files", content_type="multipart/form-data",
                           headers={"Accept": "application/json"},
                           data={"file": [(io.BytesIO(b"%PDF-1.4\n% manual\n"), "manual.pdf")]})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    [file] = resp.get_json()["message"]["attachments"]
    assert file["preview"] is False and resp.get_json()["message"]["agent"]["name"] == "Sam Agent"
    seen = wait_for(lambda: [m for m in chat.of("message") if m.get("attachments")])
    assert seen[-1]["sender"] == "agent" and seen[-1]["text"] == "📎 manual.pdf"
    got = client.get(f"/chat/files/{file['id']}", headers={"X-Visitor-Id": VISITOR})
    assert got.status_code == 200 and got.headers["Content-Type"] == "application/octet-stream"
    assert "attachment" in got.headers["Content-Disposition"]


@pytest.mark.parametrize("name, content, error", [
    ("setup.exe", b"MZ\x90\x00" + b"\x00" * 200, "is a program or script"),
    ("photo.png", b"MZ\x90\x00" + b"\x00" * 200, "is a program or script"),
    ("huge.png", png() + b"\x00" * 3000, "is too large"),
])
def test_programs_and_oversized_files_are_refused_and_nothing_is_stored(app, client, live_chat, name, content,
                                                                        error):
    app.config["ATTACHMENT_MAX_BYTES"] = 2048
    chat, agent, cid = live_chat
    with session_scope() as s:
        messages = s.scalar(select(func.count()).select_from(Message))
    resp = _send(client, (name, content))
    assert resp.status_code == 400 and error in resp.get_json()["message"]
    assert _stored(app) == (0, [])
    with session_scope() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == messages
    assert not [m for m in agent.of("message") if m.get("attachments")]


def test_too_many_files_at_once_are_refused(app, client, live_chat):
    app.config["ATTACHMENT_MAX_COUNT"] = 2
    resp = _send(client, *[(f"p{i}.png", png()) for i in range(3)])
    assert resp.status_code == 400 and "at most 2 files" in resp.get_json()["message"]
    assert _stored(app) == (0, [])


def test_another_site_not_allowed_cannot_post_and_an_agent_cannot_post_into_a_chat_not_theirs(
        app, client, live_chat, agent_socket, make_agent):
    app.config["ALLOWED_ORIGINS"] = ["https://shop.example"]
    _, _, cid = live_chat
    resp = _send(client, ("damage.png", png()), headers={"Origin": "https://evil.example"})
    assert resp.status_code == 403
    resp = _send(client, ("damage.png", png()), headers={"Origin": "https://shop.example"})
    assert resp.status_code == 201 and resp.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    preflight = client.options("/chat/files", headers={"Origin": "https://shop.example",
                                                        "Access-Control-Request-Method": "POST",
                                                        "Access-Control-Request-Headers": "x-visitor-id"})
    assert "X-Visitor-Id" in preflight.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight.headers  # never the customer's cookie
    kim = agent_socket(make_agent("Kim Agent"))
    resp = kim.http.post(f"/console/conversations/{cid}/files", content_type="multipart/form-data",
                         headers={"Accept": "application/json"}, data={"file": [(io.BytesIO(png()), "x.png")]})
    assert resp.status_code == 403 and "not assigned to you" in resp.get_json()["message"]


def test_a_visitor_without_a_chat_or_an_id_is_refused(client):
    assert _send(client, ("damage.png", png()), visitor="bad id").status_code == 403
    assert _send(client, ("damage.png", png()), visitor="nobody-has-this-id").status_code == 404


def test_a_logged_in_customer_sends_from_our_own_pages_only(app, register):
    http = register("ann@example.com")
    sock = app.extensions["socketio"].test_client(app, namespace="/chat", flask_test_client=http,
                                                  auth={"visitor_id": "ignored-when-logged-in"})
    cid = sock.get_received("/chat")[0]["args"][0]["conversation_id"]
    data = lambda: {"file": [(io.BytesIO(png()), "damage.png")]}  # noqa: E731
    # The cookie alone, without our Origin, is what a forged cross-site form would send: not enough.
    assert http.post("/chat/files", data=data(), content_type="multipart/form-data").status_code == 403
    resp = http.post("/chat/files", data=data(), content_type="multipart/form-data",
                     headers={"Origin": "http://localhost"})
    assert resp.status_code == 201 and resp.get_json()["message"]["conversation_id"] == cid
    file_id = resp.get_json()["message"]["attachments"][0]["id"]
    assert http.get(f"/chat/files/{file_id}").status_code == 200
    page = http.get(f"/portal/chats/{cid}").get_data(as_text=True)
    assert f'<img class="msg-file-preview" src="/chat/files/{file_id}" alt="damage.png">' in page
    sock.disconnect("/chat")
