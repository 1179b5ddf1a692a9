"""Canned replies: prepared answers agents insert with /shortcut, shared by all or one agent's own.

The text may hold {customer_name}, {ticket_number} and {agent_name}; the console fills them in for the
chat at hand, so what is stored stays a template.
"""
from __future__ import annotations

import logging
import re

from sqlalchemy import or_, select

from handoff.db import session_scope
from handoff.errors import Conflict, NotFound, ServiceError, clean_text
from handoff.models import CannedReply

log = logging.getLogger("careregistry.canned")
SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
VARIABLES = ("customer_name", "ticket_number", "agent_name")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def reply_dict(r: CannedReply) -> dict:
    return {"id": r.id, "shortcut": r.shortcut, "text": r.text, "shared": r.agent_id is None,
            "agent_id": r.agent_id}


def for_agent(agent_id: int) -> list[dict]:
    """The shared replies and the agent's own; an agent's own shortcut hides a shared one of that name."""
    with session_scope() as s:
        rows = s.scalars(select(CannedReply).where(or_(CannedReply.agent_id.is_(None),
                                                       CannedReply.agent_id == agent_id))
                         .order_by(CannedReply.shortcut, CannedReply.agent_id.is_(None))).all()
        chosen: dict[str, dict] = {}
        for r in rows:
            chosen.setdefault(r.shortcut, reply_dict(r))
        return list(chosen.values())


def shared() -> list[dict]:
    with session_scope() as s:
        return [reply_dict(r) for r in s.scalars(select(CannedReply).where(CannedReply.agent_id.is_(None))
                                                 .order_by(CannedReply.shortcut))]


def create(shortcut, text, agent_id: int | None) -> dict:
    """A shared reply (agent_id None, admins only: the caller checks) or an agent's personal one."""
    shortcut = str(shortcut or "").strip().lstrip("/").lower()
    if not SHORTCUT.match(shortcut):
        raise ServiceError("A shortcut is 1-40 lower-case letters, digits, - or _, such as “refund-policy”.")
    text = clean_text(text, 4000, "reply")
    unknown = [name for name in _PLACEHOLDER.findall(text) if name not in VARIABLES]
    if unknown:
        raise ServiceError(f"Unknown variable {{{unknown[0]}}}; use {', '.join('{%s}' % v for v in VARIABLES)}.")
    with session_scope() as s:
        taken = s.scalar(select(CannedReply.id).where(CannedReply.shortcut == shortcut,
                                                      CannedReply.agent_id.is_(None) if agent_id is None
                                                      else CannedReply.agent_id == agent_id))
        if taken:
            raise Conflict(f"There is already a canned reply /{shortcut}.")
        r = CannedReply(shortcut=shortcut, text=text, agent_id=agent_id)
        s.add(r)
        s.flush()
        log.info("canned reply created id=%s shortcut=%s shared=%s", r.id, shortcut, agent_id is None)
        return reply_dict(r)


def delete(reply_id: int, agent_id: int, admin: bool) -> None:
    """An agent deletes their own; an admin deletes shared ones (and nobody else's personal ones)."""
    with session_scope() as s:
        r = s.get(CannedReply, reply_id)
        if r is None or not (r.agent_id == agent_id or (admin and r.agent_id is None)):
            raise NotFound("There is no such canned reply of yours.")
        s.delete(r)
    log.info("canned reply deleted id=%s", reply_id)
