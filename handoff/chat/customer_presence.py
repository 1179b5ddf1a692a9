"""Whether the customer is still in their chat: the agent is told when they left, and when they are back.

Every widget socket counts in the database (the customer may reload onto another process). When the
last one closes, a timer waits CUSTOMER_GONE_AFTER seconds; if none opened meanwhile and an agent owns
the chat, the agent's console hears "left at ..." and may close the chat. A socket opening afterwards
tells them the customer is back. Nothing runs while nobody comes or goes.
"""
from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from handoff import realtime
from handoff.db import session_scope
from handoff.models import Conversation, utcnow

log = logging.getLogger("careregistry.customer_presence")
WATCHED = ("queued", "agent")  # a chat queued now may be an agent's by the time the minute is up
# Coming and going is not a change of the conversation: updated_at stays, or a widget reconnecting after a
# restart would look like another process's claim to bot_relay.answer_unanswered.
_UNCHANGED = {"updated_at": Conversation.updated_at}


_gone_after = 60.0  # CUSTOMER_GONE_AFTER, set by the app factory (timers and offers run without an app)


def configure(config) -> None:
    global _gone_after
    _gone_after = float(config.get("CUSTOMER_GONE_AFTER", 60))


def gone_after() -> float:
    return _gone_after


def _iso(dt: datetime) -> str:
    return dt.isoformat(timespec="milliseconds") + "Z"


def left_at(c: Conversation, now: datetime | None = None) -> str | None:
    """When the customer left the chat, once they have been gone long enough for the agent to be told."""
    if c.customer_sockets > 0 or c.customer_gone_at is None:
        return None
    if (now or utcnow()) - c.customer_gone_at < timedelta(seconds=gone_after()):
        return None
    return _iso(c.customer_gone_at)


def arrived(s: Session, c: Conversation) -> bool:
    """A widget socket opened on this chat, in the caller's transaction (the widget's join). True when the
    agent was told the customer left and must now hear that they are back (`back()`, after the commit)."""
    told = c.status == "agent" and left_at(c) is not None
    s.execute(update(Conversation).where(Conversation.id == c.id)
              .values(customer_sockets=Conversation.customer_sockets + 1, customer_gone_at=None, **_UNCHANGED))
    return told


def back(conversation_id: int) -> None:
    log.info("customer back conversation=%s", conversation_id)
    realtime.publish_customer_presence(conversation_id, None)


def disconnected(conversation_id: int) -> None:
    now = utcnow()
    with session_scope() as s:
        s.execute(update(Conversation).where(Conversation.id == conversation_id, Conversation.customer_sockets > 0)
                  .values(customer_sockets=Conversation.customer_sockets - 1, **_UNCHANGED))
        gone = s.execute(update(Conversation).where(Conversation.id == conversation_id,
                                                    Conversation.customer_sockets == 0,
                                                    Conversation.status.in_(WATCHED))
                         .values(customer_gone_at=now, **_UNCHANGED)).rowcount
    if gone:
        realtime.start_background_task(_tell_later, conversation_id, now, gone_after())


def _tell_later(conversation_id: int, gone_at: datetime, delay: float) -> None:
    time.sleep(delay)
    try:
        tell_if_gone(conversation_id, gone_at)
    except Exception:  # logged, not raised: a console that loads the chat later still shows it
        log.exception("customer presence check failed conversation=%s", conversation_id)


def tell_if_gone(conversation_id: int, gone_at: datetime) -> bool:
    """Tell the agent, if the customer is still gone since `gone_at` and an agent owns the chat."""
    with session_scope() as s:
        c = s.get(Conversation, conversation_id)
        if c is None or c.status != "agent" or c.customer_sockets or c.customer_gone_at != gone_at:
            return False
        agent_id = c.agent_id
    log.info("customer left conversation=%s agent=%s", conversation_id, agent_id)
    realtime.publish_customer_presence(conversation_id, _iso(gone_at))
    return True


def reset() -> None:
    """No widget socket survives a restart of the only process; those that come back count again."""
    with session_scope() as s:
        s.execute(update(Conversation).where(Conversation.customer_sockets > 0)
                  .values(customer_sockets=0, customer_gone_at=utcnow(), **_UNCHANGED))
