"""The service on PostgreSQL: the migrations, a chat handed to people, an accept race and a ticket's life."""
from __future__ import annotations

from datetime import timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, select, text

from handoff.db import Base, session_scope
from handoff.models import OutboxMail, TicketEvent, utcnow
from handoff.ops import migrate
from handoff.tickets import automations, lifecycle, queries
from tests.fakes import at_once, wait_for


def test_migrations_build_the_models_schema_and_go_down_and_up_again(database_url):
    head = ScriptDirectory.from_config(migrate.alembic_config(database_url)).get_current_head()
    migrate.upgrade(database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
            # What the migrations built is what the models declare: types, nullability, indexes, names.
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
            db = inspect(conn)
            assert db.get_pk_constraint("agents")["name"] == "pk_agents"
            assert [u["name"] for u in db.get_unique_constraints("agents")] == ["uq_agents_email"]
            assert {f["name"] for f in db.get_foreign_keys("conversations")} == {
                "fk_conversations_agent_id_agents", "fk_conversations_customer_id_customers",
                "fk_conversations_team_id_teams", "fk_conversations_offered_to_id_agents"}
            types = {c["name"]: c["type"].__class__.__name__ for c in db.get_columns("messages")}
            assert types["buttons"] == "JSON"
            assert {c["name"]: c["type"].__class__.__name__ for c in db.get_columns("agents")}["active"] == "BOOLEAN"
        command.downgrade(migrate.alembic_config(database_url), "base")
        with engine.connect() as conn:
            assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
        migrate.upgrade(database_url)
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
    finally:
        engine.dispose()


def test_chat_handoff_and_an_accept_race_on_postgres(customer_socket, agent_socket, make_agent, api, fake_rasa):
    consoles = [agent_socket(), agent_socket(make_agent("Kim Agent")), agent_socket(make_agent("Lee Agent"))]
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    assert chat.emit("customer_message", {"text": "I need help with a refund", "client_msg_id": "q1"})["ok"]
    assert wait_for(lambda: "bot heard: I need help with a refund" in chat.texts("bot"))
    again = chat.emit("customer_message", {"text": "I need help with a refund", "client_msg_id": "q1"})
    assert again["ok"] and chat.texts("customer").count("I need help with a refund") == 1  # stored once

    resp = api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    assert resp.get_json() == {"status": "queued", "agents_online": 3}
    for console in consoles:
        assert wait_for(lambda c=console: [q for q in c.of("queue") if q["conversations"]])

    acks = at_once(lambda c=c: c.emit("accept", {"conversation_id": cid}) for c in consoles)
    assert sorted(a["ok"] for a in acks) == [False, False, True]
    winner = consoles[[a["ok"] for a in acks].index(True)]

    sent_to_bot = len(fake_rasa.received)
    assert chat.emit("customer_message", {"text": "are you a person?", "client_msg_id": "c2"})["ok"]
    assert wait_for(lambda: "are you a person?" in winner.texts("customer"))
    assert winner.emit("agent_message", {"conversation_id": cid, "text": "Yes, I am.", "client_msg_id": "a1"})["ok"]
    assert wait_for(lambda: "Yes, I am." in chat.texts("agent"))
    assert len(fake_rasa.received) == sent_to_bot
    assert winner.emit("resolve", {"conversation_id": cid})["ok"]
    assert chat.of("conversation_status")[-1]["status"] == "resolved"


def test_a_ticket_from_the_bot_through_its_life_on_postgres(customer_socket, make_agent, api):
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    resp = api.post(f"/api/conversations/{cid}/tickets", {"description": "My blender arrived broken",
                                                          "category": "orders", "email": "Ann@Example.com"})
    assert resp.status_code == 201
    number = resp.get_json()["number"]
    sam = make_agent()
    assert lifecycle.assign(number, sam["id"], "Ada Admin")["assignee"] == "Sam Agent"
    lifecycle.agent_reply(number, "Sam Agent", "A new one is on its way.")
    lifecycle.agent_reply(number, "Sam Agent", "Customer is a VIP", internal=True)
    lifecycle.set_status(number, "resolved", "Sam Agent")
    status = api.get(f"/api/conversations/{cid}/tickets/{number}").get_json()
    assert status["status"] == "resolved" and status["assignee"] == "Sam Agent"
    found = queries.search(q="BLENDER", status="resolved")  # ILIKE on PostgreSQL
    assert [t["number"] for t in found] == [number] and found[0]["customer"] == "ann@example.com"
    assert queries.search(q=f"#{number}")[0]["number"] == number  # the cast of the id to text


def test_ticket_automations_in_two_processes_at_once_act_once(app, api, customer_socket):
    """Two runs at once on their own connections, as the schedulers of two handoff processes do."""
    numbers = []
    for i in range(12):
        chat = customer_socket()
        resp = api.post(f"/api/conversations/{chat.of('history')[0]['conversation_id']}/tickets",
                        {"description": f"Problem {i}", "category": "orders", "email": f"c{i}@example.com"})
        numbers.append(resp.get_json()["number"])
        lifecycle.set_status(numbers[-1], "resolved" if i % 2 else "pending", "Sam Agent")
    later = utcnow() + timedelta(days=5)
    results = at_once([lambda: automations.run(later)] * 2)
    assert sum(r["closed"] for r in results) == 6 and sum(r["reminded"] for r in results) == 6, results
    with session_scope() as s:
        events = s.scalars(select(TicketEvent.kind).where(TicketEvent.kind == "reminder")).all()
        mails = s.scalars(select(OutboxMail.kind).where(OutboxMail.kind.in_(("auto_closed", "pending_reminder")))).all()
    assert len(events) == 6 and sorted(mails) == ["auto_closed"] * 6 + ["pending_reminder"] * 6
