from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import delete, select

from handoff import create_app
from handoff.db import session_scope
from handoff.knowledge import faqs
from handoff.models import OutboxMail
from handoff.ops.cli import SEED
from handoff.people import agents
from tests.fakes import FakeRasa

TOKEN = "test-service-token"
RASA_TOKEN = "test-rasa-token"
PASSWORD = "correct horse battery"
_visitors = itertools.count()


@pytest.fixture
def fake_rasa():
    rasa = FakeRasa(token=RASA_TOKEN)
    yield rasa
    rasa.close()


def service_app(database_url: str, rasa: FakeRasa, **settings):
    """The service as the tests run it: migrated on start, the fake Rasa as bot and action server."""
    return create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "AUTO_MIGRATE": True,
        "SERVICE_TOKEN": TOKEN,
        "RASA_URL": rasa.url,
        "RASA_TOKEN": RASA_TOKEN,
        "ACTIONS_URL": rasa.url,
        "RASA_TIMEOUT": 1.0,
        "WTF_CSRF_ENABLED": False,
        # An edit is followed to the next question; a loaded CI host refitted past the 5 s a customer waits.
        "FAQ_REFIT_WAIT": 30.0,
        **settings,
    })


@pytest.fixture
def app(tmp_path, fake_rasa, request):
    """The service; a test marked `@pytest.mark.settings(ROUTING_MODE="broadcast")` gets those settings."""
    marker = request.node.get_closest_marker("settings")
    yield service_app(f"sqlite:///{tmp_path / 'test.db'}", fake_rasa, ATTACHMENT_DIR=str(tmp_path / "attachments"),
                      **(marker.kwargs if marker else {}))
    # The bot's answers are relayed on threads of their own: let them finish here, or they write into the
    # next test's database (CI showed relays from a flood test failing there on a fresh, empty one).
    for thread in threading.enumerate():
        if thread.name.endswith("(relay)"):
            thread.join(timeout=5)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def api(client):
    """The bot's HTTP API, called with the service token."""

    class Api:
        headers = {"Authorization": f"Bearer {TOKEN}"}

        def get(self, path, **kw):
            return client.get(path, headers=self.headers, **kw)

        def post(self, path, body=None, **kw):
            return client.post(path, json=body, headers=self.headers, **kw)

    return Api()


@pytest.fixture
def seeded(app):
    faqs.import_csv(SEED / "faq_answers.csv", SEED / "faq_questions.csv")
    return app


@pytest.fixture
def make_agent(app):
    def make(name="Sam Agent", email=None, role="agent", skills=("billing",)):
        email = email or f"{name.split()[0].lower()}@example.com"
        return agents.create(name, email, PASSWORD, role, skills)

    return make


@pytest.fixture
def agent_socket(app, make_agent):
    """Log an agent in over HTTP and open the console's socket with that session."""
    sio = app.extensions["socketio"]
    opened = []

    def connect(agent=None):
        agent = agent or make_agent()
        http = app.test_client()
        resp = http.post("/login", data={"email": agent["email"], "password": PASSWORD})
        assert resp.status_code == 302, resp.data
        sock = sio.test_client(app, namespace="/agent", flask_test_client=http)
        assert sock.is_connected("/agent")
        opened.append(sock)
        inbox = Inbox(sock, "/agent")
        inbox.http = http  # the agent's logged-in HTTP session
        return inbox

    yield connect
    for sock in opened:
        if sock.is_connected("/agent"):
            sock.disconnect("/agent")


@pytest.fixture
def customer_socket(app):
    sio = app.extensions["socketio"]
    opened = []

    def connect(visitor_id=None):
        visitor_id = visitor_id or f"visitor-{next(_visitors):04d}-abcdef"
        sock = sio.test_client(app, namespace="/chat", auth={"visitor_id": visitor_id})
        assert sock.is_connected("/chat")
        opened.append(sock)
        return Inbox(sock, "/chat")

    yield connect
    for sock in opened:
        if sock.is_connected("/chat"):
            sock.disconnect("/chat")


class Inbox:
    """Everything a test Socket.IO client received, kept (get_received() empties the client's queue)."""

    def __init__(self, sock, namespace):
        self.sock, self.namespace, self.seen = sock, namespace, []

    def of(self, name) -> list:
        self.seen += self.sock.get_received(self.namespace)
        # The test client keeps a "message" event's payload bare (it mistakes it for Flask-SocketIO's send()).
        return [e["args"] if e["name"] == "message" else e["args"][0] for e in self.seen if e["name"] == name]

    def texts(self, sender=None) -> list[str]:
        return [m["text"] for m in self.of("message") if sender is None or m["sender"] == sender]

    def emit(self, event, data):
        return self.sock.emit(event, data, namespace=self.namespace, callback=True)


@pytest.fixture
def mailbox():
    from tests.fakes import Mailbox

    box = Mailbox()
    yield box
    box.stop()


@pytest.fixture
def deliver(mailbox):
    """Run the outbox worker once against the loopback SMTP server and wait for what it sent."""
    from handoff.mail import outbox
    from tests.fakes import wait_for

    def run(now=None) -> int:
        before = len(mailbox.messages)
        sent = outbox.deliver_due(outbox.SmtpSender("127.0.0.1", mailbox.port), now=now)
        wait_for(lambda: len(mailbox.messages) >= before + sent, timeout=5)
        return sent

    return run


def confirmation_link(email: str) -> str:
    """The path of the newest registration link mailed to the address (from the outbox)."""
    import re

    with session_scope() as s:
        mail = s.scalars(select(OutboxMail).where(OutboxMail.to_addr == email, OutboxMail.kind == "verify_email")
                         .order_by(OutboxMail.id.desc())).first()
        assert mail is not None, f"no confirmation mail to {email}"
        return re.search(r"https?://[^/\s]+(/portal/verify/\S+)", mail.text).group(1)


@pytest.fixture
def register(app):
    """A customer with an account, logged in on their own test client."""

    def make(email="ann@example.com", name="Ann Customer", password=PASSWORD):
        http = app.test_client()
        resp = http.post("/portal/register", data={"email": email, "name": name, "password": password,
                                                   "password2": password})
        assert resp.status_code == 200 and "We have emailed" in resp.get_data(as_text=True), \
            resp.get_data(as_text=True)[:500]
        http.post(confirmation_link(email))
        with session_scope() as s:  # read already: later mail checks see only what came after
            s.execute(delete(OutboxMail).where(OutboxMail.kind == "verify_email"))
        resp = http.post("/portal/login", data={"email": email, "password": password})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:500]
        return http

    return make


@pytest.fixture
def staff(app, make_agent):
    """A logged-in staff test client."""

    def make(agent=None):
        agent = agent or make_agent()
        http = app.test_client()
        assert http.post("/login", data={"email": agent["email"], "password": PASSWORD}).status_code == 302
        http.agent = agent
        return http

    return make
