"""Blueprint `api`: the HTTP API the bot's custom actions call, with the service token."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, request

from handoff.chat import conversations
from handoff.config import public_url
from handoff.errors import ServiceError, clean_email, clean_int, clean_text
from handoff.knowledge import faqs, learning
from handoff.people import customers
from handoff.people.auth import service_token_required
from handoff.routing import catalog
from handoff.tickets import lifecycle

bp = Blueprint("api", __name__, url_prefix="/api")
log = logging.getLogger("careregistry.api")


@bp.before_request
@service_token_required
def _check_token():
    return None


def _body() -> dict:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ServiceError("The request body must be a JSON object.")
    return data


@bp.get("/faq/search")
def faq_search():
    limit = min(max(request.args.get("limit", 3, type=int) or 3, 1), 5)
    result = current_app.extensions["knowledge"].search(request.args.get("q"), limit)
    # The conversation is optional (the Rasa sender_id); it links a failed search to its handoff.
    cid = request.args.get("conversation_id", "")
    try:
        learning.record_search(clean_text(request.args["q"], 1000, "question"), result,
                               int(cid) if cid.isdigit() and len(cid) < 12 else None)
    except Exception:  # the customer still gets the answer when the log cannot be written
        log.exception("faq search not logged")
    return jsonify(result)


@bp.get("/categories")
def categories():
    """The admin's categories, for the ticket form's buttons (the bot falls back to its own list)."""
    return jsonify({"categories": [{"slug": c["slug"], "name": c["name"]} for c in catalog.categories()]})


@bp.get("/faq/<int:faq_id>")
def faq_get(faq_id: int):
    return jsonify(faqs.get_faq(faq_id))


@bp.get("/conversations/<int:cid>/customer")
def customer(cid: int):
    return jsonify(lifecycle.customer_for_conversation(cid))


@bp.post("/conversations/<int:cid>/handoff")
def handoff(cid: int):
    return jsonify(conversations.request_handoff(cid, _body().get("reason")))


@bp.post("/conversations/<int:cid>/contact")
def contact(cid: int):
    email = lifecycle.set_contact_email(cid, _body().get("email"))
    # An address that belongs to an account: the owner confirms by email before the chat joins it.
    customers.offer_link_by_email(cid, email, public_url())
    return jsonify({"ok": True})


@bp.post("/conversations/<int:cid>/tickets")
def create_ticket(cid: int):
    body = _body()
    ticket = lifecycle.create_from_bot(cid, body.get("description"), body.get("category"), body.get("email"))
    if body.get("email"):
        customers.offer_link_by_email(cid, clean_email(body["email"]), public_url())
    return jsonify(ticket), 201


@bp.get("/conversations/<int:cid>/tickets/<number>")
def ticket_status(cid: int, number: str):
    return jsonify(lifecycle.status_for_conversation(cid, clean_int(number.lstrip("#"), "Ticket number")))
