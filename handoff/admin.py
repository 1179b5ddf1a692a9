"""Blueprint `admin`: agents, escalations and the numbers."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select

from . import agents, conversations, knowledge
from .auth import staff_required
from .db import session_scope
from .errors import ServiceError
from .models import CATEGORIES, Conversation, Handoff, Ticket

bp = Blueprint("admin", __name__, url_prefix="/admin")


def escalations(limit: int = 100) -> list[dict]:
    with session_scope() as s:
        rows = s.execute(select(Handoff, Conversation).join(Conversation, Handoff.conversation_id == Conversation.id)
                         .order_by(Handoff.id.desc()).limit(limit)).all()
        return [{"conversation_id": c.id, "reason": h.reason, "outcome": h.outcome,
                 "created_at": conversations.iso(h.created_at), "status": c.status,
                 "customer_label": c.customer.label, "agent_name": c.agent.name if c.agent else None,
                 "ticket_number": h.ticket_id}
                for h, c in rows]


def stats() -> dict:
    with session_scope() as s:
        def count(q):
            return s.scalar(q) or 0
        return {
            "conversations": count(select(func.count()).select_from(Conversation)),
            "handed_off": count(select(func.count(func.distinct(Handoff.conversation_id)))),
            "queued": count(select(func.count()).select_from(Conversation).where(Conversation.status == "queued")),
            "tickets_open": count(select(func.count()).select_from(Ticket)
                                  .where(Ticket.status.in_(("new", "open", "pending")))),
            "faqs": knowledge.count(),
        }


@bp.get("/")
@staff_required(admin=True)
def dashboard():
    return render_template("admin.html", agents=agents.list_all(), escalations=escalations(), stats=stats(),
                           categories=CATEGORIES)


@bp.post("/agents")
@staff_required(admin=True)
def create_agent():
    try:
        agent = agents.create(request.form.get("name"), request.form.get("email"), request.form.get("password"),
                              request.form.get("role", "agent"), request.form.getlist("skills"))
        flash(f"Agent {agent['name']} created.", "success")
    except ServiceError as err:
        flash(err.message, "error")
    return redirect(url_for("admin.dashboard"))


@bp.get("/conversations/<int:cid>")
@staff_required(admin=True)
def transcript(cid: int):
    return render_template("transcript.html", conversation=conversations.conversation_for_agent(0, cid, admin=True))
