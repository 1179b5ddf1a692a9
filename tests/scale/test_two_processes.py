"""Two handoff service processes sharing one PostgreSQL database and Redis as Socket.IO's message queue.

Each process is the gunicorn command `make run` uses. A customer chats on one process and an agent works
on the other: the queue, the accept, the messages both ways, typing and the status changes all cross
between them through Redis, in real time, and nothing is lost on the way.
"""
from __future__ import annotations

import json
import re
import secrets
import threading
from types import SimpleNamespace

import pytest
import requests
from sqlalchemy import create_engine, text

from handoff.ops.launcher import wait_healthy
from handoff.ops.stack import RunningStack, Stack
from tests.e2e.clients import AgentConsole, Customer, login_session
from tests.fakes import FakeRasa, free_port, wait_for


@pytest.fixture(scope="module")
def services(postgres, redis_server, tmp_path_factory):
    rasa = FakeRasa()
    database_url = postgres.create_database()
    shared = {"DATABASE_URL": database_url, "REDIS_URL": redis_server.url, "RASA_URL": rasa.url,
              "ACTIONS_URL": rasa.url, "SECRET_KEY": secrets.token_urlsafe(32),
              "SERVICE_TOKEN": secrets.token_urlsafe(32), "HANDOFF_CONNECTIONS": "500", "RASA_TIMEOUT": "3",
              # Lines go back and forth as fast as the relay allows; the message rates have their own tests
              # (test_limits_shared.py) and would refuse the burst here.
              "RATE_CHAT_CONNECTION": "", "RATE_CHAT_VISITOR": "", "RATE_AGENT_CONNECTION": "", "RATE_AGENT": ""}
    stacks = [Stack(handoff_port=free_port(), var_dir=tmp_path_factory.mktemp(f"web_{name}"), extra_env=shared)
              for name in ("a", "b")]
    running = [RunningStack(stack, names=("web",)) for stack in stacks]
    try:
        running[0].prepare_database()  # migrate and seed once; both processes then share the database
        for run in running:
            run.start("web")
        for stack, run in zip(stacks, running):
            if wait_healthy(stack.handoff_url, timeout=60, progress=lambda m: None) is None:
                pytest.fail(f"The handoff service on {stack.handoff_url} did not become healthy:\n"
                            + run.log_tail("web"))
        logins = {p["name"].split()[0]: p for p in json.loads((stacks[0].var_dir / "demo_logins.json").read_text())}
        engine = create_engine(database_url)
        yield SimpleNamespace(a=stacks[0].handoff_url, b=stacks[1].handoff_url, logins=logins, rasa=rasa,
                              token=shared["SERVICE_TOKEN"], engine=engine, running=running)
        engine.dispose()
    finally:
        for run in running:
            run.stop("web")
        rasa.close()


@pytest.fixture
def people(services):
    """Customers and agents on a chosen process; all closed after the test."""
    made = []

    def customer(url):
        made.append(Customer(url).connect())
        return made[-1]

    def agent(url, first_name):
        person = services.logins[first_name]
        made.append(AgentConsole(url, person["email"], person["password"]).connect())
        return made[-1]

    yield SimpleNamespace(customer=customer, agent=agent)
    for client in made:
        client.close()


def handoff(services, url, cid) -> dict:
    resp = requests.post(f"{url}/api/conversations/{cid}/handoff", json={"reason": "customer_request"},
                         headers={"Authorization": f"Bearer {services.token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


def agents_online(services) -> int:
    with services.engine.connect() as conn:
        return conn.scalar(text("SELECT count(*) FROM agents WHERE connections > 0"))


def texts(messages, cid, sender) -> list[str]:
    return [m["text"] for m in messages if m["conversation_id"] == cid and m["sender"] == sender]


def test_customer_on_one_process_and_agent_on_the_other_chat_in_real_time(services, people):
    ann = people.customer(services.a)
    cid = ann.conversation_id
    assert [m["text"] for m in ann.ask("where is my order?")] == ["bot heard: where is my order?"]

    sam = people.agent(services.b, "Sam")
    typing = []
    sam.sio.on("typing", typing.append, namespace="/agent")
    assert wait_for(lambda: agents_online(services) == 1), "the agent on process B is not online in the database"

    # Handed off on A: the queue reaches the agent on B through Redis.
    assert handoff(services, services.a, cid) == {"status": "queued", "agents_online": 1}
    assert wait_for(lambda: cid in sam.queued_ids()), "the queue never reached the agent on the other process"
    assert wait_for(lambda: ann.statuses and ann.statuses[-1]["status"] == "queued")

    ack = sam.call("accept", {"conversation_id": cid})
    assert ack["ok"], ack
    assert [m["text"] for m in ack["conversation"]["messages"]][:2] == ["where is my order?",
                                                                        "bot heard: where is my order?"]
    # Accepted on B: the customer on A hears of it.
    assert wait_for(lambda: ann.statuses[-1] == {"conversation_id": cid, "status": "agent",
                                                 "agent": {"name": "Sam Agent"}})
    assert wait_for(lambda: "Sam Agent has joined the conversation." in texts(ann.messages, cid, "system"))
    sent_to_bot = len(services.rasa.received)

    ann.sio.emit("typing", {"typing": True}, namespace="/chat")
    assert wait_for(lambda: {"conversation_id": cid, "sender": "customer", "typing": True} in typing)

    # Both sides write at once; every message arrives on the other process, in the order it was sent.
    count = 15
    from_customer = [f"customer line {i}" for i in range(count)]
    from_agent = [f"agent line {i}" for i in range(count)]
    agent_acks = []

    def customer_writes():
        for line in from_customer:
            ann.say(line)

    def agent_writes():
        for line in from_agent:
            agent_acks.append(sam.say(cid, line))

    writers = [threading.Thread(target=customer_writes), threading.Thread(target=agent_writes)]
    [w.start() for w in writers]
    [w.join(30) for w in writers]
    assert all(a["ok"] for a in agent_acks) and len(agent_acks) == count, agent_acks
    assert wait_for(lambda: texts(sam.messages, cid, "customer")[-count:] == from_customer, timeout=10), \
        f"the agent on B got {texts(sam.messages, cid, 'customer')}"
    assert wait_for(lambda: texts(ann.messages, cid, "agent") == from_agent, timeout=10), \
        f"the customer on A got {texts(ann.messages, cid, 'agent')}"
    assert len(services.rasa.received) == sent_to_bot, "the bot must not answer while a person owns the chat"

    # Nothing lost: every stored message reached the customer, and the agent has all since joining.
    transcript = sam.call("open", {"conversation_id": cid})["conversation"]["messages"]
    assert [m["id"] for m in transcript] == sorted(m["id"] for m in ann.messages)
    seen_by_agent = {m["id"] for m in ack["conversation"]["messages"]} | {m["id"] for m in sam.messages}
    assert {m["id"] for m in transcript} <= seen_by_agent

    # Resolved on B; the customer on A sees it, and the bot (reached from A) answers again.
    assert sam.call("resolve", {"conversation_id": cid})["ok"]
    assert wait_for(lambda: ann.statuses[-1]["status"] == "resolved")
    assert [m["text"] for m in ann.ask("one more thing")] == ["bot heard: one more thing"]


def test_agents_on_different_processes_accepting_together_exactly_one_wins(services, people):
    kim = people.agent(services.a, "Kim")
    sam = people.agent(services.b, "Sam")
    bob = people.customer(services.b)
    cid = bob.conversation_id
    bob.say("I want to talk to a person")
    assert wait_for(lambda: agents_online(services) == 2), "both agents should be online, one per process"
    assert handoff(services, services.b, cid) == {"status": "queued", "agents_online": 2}
    for console in (kim, sam):
        assert wait_for(lambda c=console: cid in c.queued_ids())

    acks, start = {}, threading.Barrier(2)

    def take(name, console):
        start.wait()
        acks[name] = console.call("accept", {"conversation_id": cid})

    racers = [threading.Thread(target=take, args=item) for item in (("kim", kim), ("sam", sam))]
    [r.start() for r in racers]
    [r.join(20) for r in racers]
    assert sorted(a["ok"] for a in acks.values()) == [False, True], acks
    winner, loser = (kim, sam) if acks["kim"]["ok"] else (sam, kim)
    # Offered to one of them (automatic assignment), or raced for: the other is refused either way.
    assert [a["error"] for a in acks.values() if not a["ok"]][0] in (
        "Another agent has already taken this conversation.", "This chat is offered to another agent.")
    # Both queues empty again, on both processes.
    for console in (kim, sam):
        assert wait_for(lambda c=console: c.queue and cid not in c.queued_ids())

    assert winner.say(cid, "Hello, I have it.")["ok"]
    assert not loser.say(cid, "Me too!")["ok"]
    assert wait_for(lambda: "Hello, I have it." in texts(bob.messages, cid, "agent"))
    bob.say("thanks")
    assert wait_for(lambda: "thanks" in texts(winner.messages, cid, "customer"))
    assert "Me too!" not in texts(bob.messages, cid, "agent")
    assert "thanks" not in texts(loser.messages, cid, "customer")


def test_two_processes_assigning_at_once_never_give_one_chat_twice_nor_an_agent_more_than_their_room(
        services, people):
    """Automatic assignment in both processes at once: each dispatches the chats handed off to it, and the
    claims (routing/claims.py) keep them from offering a chat twice or filling a place twice."""
    with services.engine.begin() as conn:  # a known start: nothing open, two places each
        conn.execute(text("UPDATE conversations SET status = 'resolved', offered_to_id = NULL "
                          "WHERE status IN ('queued', 'agent')"))
        # No skills: whatever topic triage predicts for the chats, either agent may take them.
        conn.execute(text("UPDATE agents SET capacity = 2, presence = NULL, skills = '[]'"))
    consoles = {"Sam": people.agent(services.a, "Sam"), "Kim": people.agent(services.b, "Kim")}
    offers = {name: [] for name in consoles}
    for name, console in consoles.items():
        console.sio.on("chat_assigned", lambda data, n=name: offers[n].append(data["conversation"]["id"]),
                       namespace="/agent")
    assert wait_for(lambda: agents_online(services) == 2)
    urls = [services.a, services.b] * 3
    customers = [people.customer(url) for url in urls]
    for c in customers:
        c.say("I want to talk to a person")

    start = threading.Barrier(len(customers))

    def hand_off(url, cid):
        start.wait()
        handoff(services, url, cid)

    racers = [threading.Thread(target=hand_off, args=(url, c.conversation_id)) for url, c in zip(urls, customers)]
    [r.start() for r in racers]
    [r.join(20) for r in racers]
    assert wait_for(lambda: sum(map(len, offers.values())) >= 4, timeout=10), offers
    wait_for(lambda: False, timeout=1.5)  # any offer beyond the four places would have come by now
    assert sorted(map(len, offers.values())) == [2, 2], offers
    assert not set(offers["Sam"]) & set(offers["Kim"]), f"a chat offered to both: {offers}"
    with services.engine.connect() as conn:
        held = dict(conn.execute(text("SELECT offered_to_id, count(*) FROM conversations WHERE status = 'queued' "
                                      "GROUP BY offered_to_id")).all())
    assert held.pop(None, 0) == 2 and sorted(held.values()) == [2, 2], held  # two wait, unoffered

    for name, console in consoles.items():
        for cid in offers[name]:
            assert console.call("accept", {"conversation_id": cid})["ok"], (name, cid)
    # A place frees up on process A: one waiting chat, and only one, goes to Sam.
    assert consoles["Sam"].call("resolve", {"conversation_id": offers["Sam"][0]})["ok"]
    assert wait_for(lambda: len(offers["Sam"]) == 3, timeout=10), offers
    wait_for(lambda: False, timeout=1.0)
    assert len(offers["Sam"]) == 3 and len(offers["Kim"]) == 2, offers
    with services.engine.begin() as conn:
        conn.execute(text("UPDATE conversations SET status = 'resolved', offered_to_id = NULL "
                          "WHERE status IN ('queued', 'agent')"))
        conn.execute(text("UPDATE agents SET capacity = 5"))


def test_deactivating_an_agent_on_one_process_closes_their_console_on_the_other(services, people):
    sam = people.agent(services.a, "Sam")
    ada = login_session(services.b, services.logins["Ada"]["email"], services.logins["Ada"]["password"])
    with services.engine.connect() as conn:
        sam_id = conn.execute(text("SELECT id FROM agents WHERE email = :e"),
                              {"e": services.logins["Sam"]["email"]}).scalar_one()
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', ada.get(f"{services.b}/admin/", timeout=10).text)

    def set_active(active: str):
        resp = ada.post(f"{services.b}/admin/agents/{sam_id}/active", data={"active": active,
                        "csrf_token": csrf.group(1) if csrf else ""}, allow_redirects=False, timeout=10)
        assert resp.status_code == 302, resp.text

    assert sam.sio.connected
    set_active("0")
    try:
        assert wait_for(lambda: not sam.sio.connected, timeout=5), "Sam's console on process A stayed open"
        # His log-in session ended on both processes too.
        for url in (services.a, services.b):
            assert sam.http.get(f"{url}/console", allow_redirects=False, timeout=10).status_code == 302
    finally:
        set_active("1")
