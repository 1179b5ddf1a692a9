"""Blueprint `widget_files`: the widget sends and fetches a chat's files over HTTP (Socket.IO frames are
limited to 64 KB).

Who is asking, as on the /chat socket: the customer logged in on this site (their session cookie, only
from this site's own pages: the Origin must be ours, which is what stands in for a CSRF token), or else
the anonymous visitor whose id the widget sends in the X-Visitor-Id header (never ambient, so another
site cannot make a browser send it). Pages of the sites in ALLOWED_ORIGINS get anonymous CORS.
"""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from flask_login import current_user

from handoff.chat import conversations
from handoff.chat import files as chat_files
from handoff.chat.sockets import cors_allowed, own_origin
from handoff.chat.sockets.customer import VISITOR_ID
from handoff.errors import Forbidden, clean_text
from handoff.views import files

bp = Blueprint("widget_files", __name__, url_prefix="/chat/files")
TOO_MANY = "You have sent many files in this chat lately. Please wait {wait} and send it again."


def _origin_allowed() -> str | None:
    """The request's Origin, refused unless it is ours or in ALLOWED_ORIGINS."""
    origin = request.headers.get("Origin")
    if origin and not cors_allowed(current_app.config["ALLOWED_ORIGINS"])(origin, request.environ):
        raise Forbidden("This site may not use our chat.")
    return origin


def _asker(*, posting: bool) -> tuple[int, int | None]:
    """(customer id, session version or None for a visitor), as the /chat socket decides it."""
    origin = _origin_allowed()
    ours = own_origin(origin, request.environ) if origin else not posting
    customer_id = getattr(current_user, "customer_id", None) if current_user.is_authenticated and ours else None
    if customer_id is not None:
        return customer_id, current_user.session_version
    visitor_id = request.headers.get("X-Visitor-Id", "")
    if not VISITOR_ID.match(visitor_id):
        raise Forbidden("Please reload the page to continue the chat.")
    return chat_files.visitor_customer(visitor_id), None


@bp.after_request
def cors(response):
    origin = request.headers.get("Origin")
    if origin and not own_origin(origin, request.environ) \
            and cors_allowed(current_app.config["ALLOWED_ORIGINS"])(origin, request.environ):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Headers"] = "X-Visitor-Id"
        response.headers["Access-Control-Allow-Methods"] = "GET, POST"
        response.headers.add("Vary", "Origin")
    return response


@bp.post("")
def send():
    """The widget's files (and optional words) into the customer's current chat."""
    owner = _asker(posting=True)
    cid = conversations.open_for_customer(owner[0])
    current_app.extensions["rates"].require("chat_files", cid, message=TOO_MANY)
    raw = request.form.get("text") or ""
    text = clean_text(raw, current_app.config["MAX_MESSAGE_CHARS"]) if raw.strip() else ""
    message = chat_files.post_from_customer(cid, files.uploads(request.files.getlist("file")), text, owner)
    return jsonify({"message": message}), 201


@bp.get("/<int:attachment_id>")
def fetch(attachment_id: int):
    return files.send(chat_files.for_customer(attachment_id, _asker(posting=False)[0]))
