"""db.Prepared: the chat's hot statements on the driver's cursor store and read what the ORM does."""
from datetime import datetime

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError

from handoff.chat import conversations
from handoff.db import Prepared, connection_scope, session_scope
from handoff.models import Conversation, Message

_messages = Message.__table__
_INSERT = conversations._INSERT_MESSAGE  # the statement every chat message is stored with
_CREATED = Prepared(select(_messages.c.created_at, _messages.c.buttons).where(_messages.c.id == bindparam("id")))


@pytest.fixture
def conversation_id(app):
    return conversations.join("visitor-db-test", None, "https://shop.example/", "pytest")["conversation_id"]


def _insert(conversation_id: int, client_msg_id: str, created: datetime, buttons=None) -> int:
    with connection_scope() as conn:
        [(new_id,)] = _INSERT.execute(conn, {
            "conversation_id": conversation_id, "sender": "customer", "text": "Where is my parcel?",
            "buttons": buttons or [], "client_msg_id": client_msg_id, "agent_id": None, "created_at": created})
    return new_id


def test_a_row_written_on_the_cursor_reads_back_through_the_orm(conversation_id):
    created = datetime(2026, 12, 2, 9, 30, 0)  # no microseconds: SQLite's text form must still match
    buttons = [{"title": "Yes", "payload": "/affirm"}]
    new_id = _insert(conversation_id, "m-1", created, buttons)
    with session_scope() as s:
        m = s.get(Message, new_id)
        assert (m.conversation_id, m.sender, m.text) == (conversation_id, "customer", "Where is my parcel?")
        assert m.created_at == created and m.buttons == buttons and m.internal is False
        # Stored exactly as the ORM stores the same time (SQLite compares dates as text).
        s.add(Message(conversation_id=conversation_id, sender="bot", text="Let me look.", created_at=created))
        s.flush()
        stored = s.execute(text("SELECT DISTINCT created_at FROM messages WHERE conversation_id = :c"),
                           {"c": conversation_id}).scalars().all()
        assert len(stored) == 1, stored


def test_results_go_through_their_columns_types(conversation_id):
    created = datetime(2026, 12, 2, 9, 30, 0, 123456)
    new_id = _insert(conversation_id, "m-2", created, [{"title": "No"}])
    with connection_scope() as conn:
        assert _CREATED.execute(conn, {"id": new_id}) == [(created, [{"title": "No"}])]
        assert _CREATED.execute(conn, {"id": new_id + 1000}) == []


def test_a_repeated_client_id_is_sqlalchemys_integrity_error_and_stores_nothing(conversation_id):
    _insert(conversation_id, "m-3", datetime(2026, 12, 2, 9, 30))
    with pytest.raises(IntegrityError):
        _insert(conversation_id, "m-3", datetime(2026, 12, 2, 9, 31))
    with pytest.raises(IntegrityError):  # a conversation that does not exist: the foreign key
        _insert(conversation_id + 1000, "m-4", datetime(2026, 12, 2, 9, 31))
    with session_scope() as s:
        assert s.scalars(select(Message.client_msg_id).where(Message.client_msg_id.is_not(None))).all() == ["m-3"]


def test_a_missing_value_is_refused_not_stored_as_null(conversation_id):
    with connection_scope() as conn, pytest.raises(ValueError, match="created_at"):
        _INSERT.execute(conn, {"conversation_id": conversation_id, "sender": "customer", "text": "hi",
                               "buttons": [], "client_msg_id": None, "agent_id": None})
    with session_scope() as s:
        assert s.scalar(select(Message.id).where(Message.text == "hi")) is None


def test_a_statement_that_leaves_python_defaults_to_sqlalchemy_is_refused(conversation_id):
    bare = Prepared(_messages.insert().values(conversation_id=bindparam("cid"), sender="bot", text="hi"))
    with connection_scope() as conn, pytest.raises(ValueError, match="buttons"):
        bare.execute(conn, {"cid": conversation_id})
    with session_scope() as s:
        assert s.get(Conversation, conversation_id) is not None
        assert s.scalar(select(Message.id).where(Message.text == "hi")) is None
