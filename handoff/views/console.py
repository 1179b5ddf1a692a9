"""Blueprint `console`: agents' ticket work (the live chats are on the /agent socket).

Templates (web/templates/console/) and their context:
- tickets.html: mine (rows), unassigned (rows), results (rows or None when no search), q, agent
  rows: number, subject, status, priority, category, customer, assignee, updated_at, escalated
- ticket.html: ticket (detail with all events, internal notes included: kind in created, assigned,
  reassigned, unassigned, status_changed, priority_changed, reply, note, rating, reminder; public flag),
  statuses, priorities, categories (slugs), agents (for admins: list of {id, name}), agent (current user),
  transcript (list of messages or None); ticket.triage: {priority, reasons, category, category_reason, cues, by};
  colleagues (active agents, {id, name}) and teams ({id, name}) to transfer it to
- search.html: filters (q, customer, tag, agent, since, until), chats and tickets (None before a search), error

JSON for console.js: a chat's ticket draft and its customer sidebar, the agent's canned replies, tags.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from handoff.chat import canned_replies, conversations
from handoff.chat import files as chat_files
from handoff.errors import ServiceError, clean_day, clean_int, clean_tags, clean_text
from handoff.inbound import intake
from handoff.people import agents
from handoff.people.auth import staff_required
from handoff.routing import catalog
from handoff.tickets import attachments, lifecycle, queries
from handoff.views import files

bp = Blueprint("console", __name__, url_prefix="/console")
TOO_MANY_FILES = "Many files were sent in this chat lately. Please wait {wait} and send it again."


def _viewer() -> tuple[int, str, bool]:
    return current_user.agent_id, current_user.role, current_app.config["AGENTS_SEE_ALL"]


def _check(number: int) -> None:
    queries.check_staff_access(number, *_viewer())


@bp.get("/attachments/<int:attachment_id>")
@staff_required()
def attachment(attachment_id: int):
    viewer = _viewer()
    return files.send(attachments.for_staff(attachment_id, lambda t: t is not None and queries.may_see(t, *viewer)))


@bp.post("/conversations/<int:cid>/files")
@staff_required()
def chat_files_send(cid: int):
    """An agent's files into a chat they own; the message reaches both sides over the sockets."""
    current_app.extensions["rates"].require("chat_files", cid, message=TOO_MANY_FILES)
    raw = request.form.get("text") or ""
    text = clean_text(raw, current_app.config["MAX_MESSAGE_CHARS"]) if raw.strip() else ""
    message = chat_files.post_from_agent(current_user.agent_id, cid, files.uploads(request.files.getlist("file")), text)
    return jsonify({"message": message}), 201


@bp.get("/chat-files/<int:attachment_id>")
@staff_required()
def chat_file(attachment_id: int):
    return files.send(chat_files.for_staff(attachment_id, current_user.agent_id, admin=current_user.is_admin,
                                           see_all=current_app.config["AGENTS_SEE_ALL"]))


@bp.get("/tickets")
@staff_required()
def ticket_list():
    q = (request.args.get("q") or "").strip()[:200]
    return render_template(
        "console/tickets.html", q=q, agent=current_user,
        mine=queries.most_urgent_first(queries.search(viewer=_viewer(), assignee=current_user.agent_id,
                                                      status="active")),
        unassigned=queries.most_urgent_first(queries.search(viewer=_viewer(), assignee="none", status="active")),
        results=queries.search(viewer=_viewer(), q=q) if q else None,
        canned=[r for r in canned_replies.for_agent(current_user.agent_id) if not r["shared"]])


@bp.get("/tickets/<int:number>")
@staff_required()
def ticket(number: int):
    detail = queries.for_staff(number, *_viewer())
    colleagues = [a for a in agents.list_all() if a["active"]]
    transcript = None
    if detail["conversation_id"]:
        transcript = conversations.conversation_for_agent(0, detail["conversation_id"], admin=True)["messages"]
    return render_template("console/ticket.html", ticket=detail, statuses=lifecycle.TRANSITIONS,
                           held=intake.listing(("held",), ticket_id=number),
                           priorities=lifecycle.PRIORITIES, agent=current_user, transcript=transcript,
                           categories=catalog.slugs(),
                           agents=colleagues if current_user.is_admin else [], colleagues=colleagues,
                           teams=catalog.teams())


def _back(number: int):
    return redirect(url_for("console.ticket", number=number))


def flash_outcome(action, success: str) -> None:
    """Run a form's action and flash its outcome: `success`, or the refusal's sentence. A missing thing
    stays a 404 page."""
    try:
        action()
        flash(success, "success")
    except ServiceError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")


def _attempt(number: int, action, success: str):
    _check(number)
    flash_outcome(action, success)
    return _back(number)


@bp.post("/tickets/<int:number>/reply")
@staff_required()
def reply(number: int):
    internal = request.form.get("internal") in ("1", "on", "true")
    sent = files.uploads(request.files.getlist("files"))
    return _attempt(number, lambda: lifecycle.agent_reply(number, current_user.name, request.form.get("text"),
                                                          internal=internal, uploads=sent),
                    "Internal note added." if internal else "Reply sent; the customer is emailed.")


@bp.post("/tickets/<int:number>/held/<int:inbound_id>")
@staff_required()
def held_mail(number: int, inbound_id: int):
    """Accept or reject a reply held because someone other than the customer sent it."""
    accept = request.form.get("decision") == "accept"
    return _attempt(number, lambda: intake.decide_held(inbound_id, accept, current_user.name, ticket=number),
                    "Mail added to the ticket." if accept else "Mail rejected.")


@bp.post("/tickets/<int:number>/status")
@staff_required()
def status(number: int):
    return _attempt(number, lambda: lifecycle.set_status(number, request.form.get("status"), current_user.name),
                    "Status changed.")


@bp.post("/tickets/<int:number>/priority")
@staff_required()
def priority(number: int):
    return _attempt(number, lambda: lifecycle.set_priority(number, request.form.get("priority"),
                                                           current_user.name), "Priority changed.")


def _triage_choice() -> dict:
    """The one-click triage form: a priority, a category, or `confirm` (the prediction was right)."""
    current_app.extensions["rates"].require("triage_correction", str(current_user.agent_id),
                                            message="Many corrections in a short time. Please wait {wait}.")
    return {"priority": request.form.get("priority"), "category": request.form.get("category"),
            "confirm": request.form.get("confirm") in ("1", "on", "true")}


@bp.post("/tickets/<int:number>/triage")
@staff_required()
def triage(number: int):
    _check(number)
    choice = _triage_choice()
    return _attempt(number, lambda: lifecycle.correct_triage(number, current_user.agent_id, current_user.name,
                                                             **choice),
                    "Thanks: the prediction is confirmed." if not (choice["priority"] or choice["category"])
                    else "Triage corrected; the team's model learns from it.")


@bp.post("/conversations/<int:cid>/triage")
@staff_required()
def conversation_triage(cid: int):
    """The console's chat view corrects a chat's triage in the background (JSON, like the tags)."""
    choice = _triage_choice()
    return jsonify(conversations.correct_triage(current_user.agent_id, cid, admin=current_user.is_admin,
                                                see_all=current_app.config["AGENTS_SEE_ALL"], **choice))


@bp.post("/tickets/<int:number>/take")
@staff_required()
def take(number: int):
    return _attempt(number, lambda: lifecycle.assign(number, current_user.agent_id, current_user.name),
                    "The ticket is yours.")


@bp.post("/tickets/<int:number>/transfer")
@staff_required()
def transfer(number: int):
    """To an agent or a team ("agent:<id>" / "team:<id>"), with a note only staff see."""
    kind, _, target = (request.form.get("to") or "").partition(":")
    to = {"to_agent": target} if kind == "agent" else {"to_team": target} if kind == "team" else {}
    return _attempt(number, lambda: lifecycle.transfer(number, current_user.name, **to, note=request.form.get("note"),
                                                       by=(current_user.agent_id, current_user.is_admin)),
                    "Ticket transferred.")


@bp.get("/conversations/<int:cid>/ticket-draft")
@staff_required()
def ticket_draft(cid: int):
    """The "Open a ticket" form's starting values for a chat the agent owns (any chat, for an admin)."""
    return jsonify(conversations.ticket_draft(current_user.agent_id, cid, admin=current_user.is_admin))


@bp.post("/conversations/<int:cid>/ticket")
@staff_required()
def ticket_from_chat(cid: int):
    """An agent opens a ticket for a chat; the console posts it in the background and stays live."""
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        ticket = conversations.open_ticket_from_chat(current_user.agent_id, current_user.name, cid,
                                                     request.form.to_dict(), admin=current_user.is_admin)
    except ServiceError as err:
        if wants_json or err.status == 404:
            raise  # the error handler answers JSON ({code, message}) to the console's fetch
        flash(err.message, "error")
        return redirect(url_for("pages.console"))
    message = f"Ticket #{ticket['number']} opened for this chat and assigned to you; the customer was told."
    if wants_json:
        return jsonify({"ticket": ticket, "message": message, "url": url_for("console.ticket",
                                                                            number=ticket["number"])})
    flash(message, "success")
    return redirect(url_for("pages.console"))


@bp.get("/conversations/<int:cid>/customer")
@staff_required()
def customer_profile(cid: int):
    """The sidebar beside a chat: the customer, their page and browser, their other chats and tickets."""
    return jsonify(conversations.customer_profile(current_user.agent_id, cid, admin=current_user.is_admin,
                                                  see_all=current_app.config["AGENTS_SEE_ALL"]))


@bp.get("/conversations/<int:cid>")
@staff_required()
def conversation(cid: int):
    """A past chat, read-only, for an agent helping the same customer now (or an admin)."""
    return render_template("transcript.html", conversation=conversations.read_for_staff(
        current_user.agent_id, cid, admin=current_user.is_admin, see_all=current_app.config["AGENTS_SEE_ALL"]))


@bp.post("/conversations/<int:cid>/tags")
@staff_required()
def conversation_tags(cid: int):
    tags = conversations.set_tags(current_user.agent_id, cid, request.form.get("tags", ""),
                                  admin=current_user.is_admin, see_all=current_app.config["AGENTS_SEE_ALL"])
    return jsonify({"tags": tags})


@bp.post("/tickets/<int:number>/tags")
@staff_required()
def ticket_tags(number: int):
    return _attempt(number, lambda: lifecycle.set_tags(number, request.form.get("tags", ""), current_user.name),
                    "Tags saved.")


@bp.get("/search")
@staff_required()
def search():
    """Past chats and tickets by text, customer, tag, agent and date."""
    a = request.args
    filters = {k: (a.get(k) or "").strip()[:200] for k in ("q", "customer", "tag", "agent", "since", "until")}
    chats = tickets = None
    error = None
    if any(filters.values()):
        try:
            tag = clean_tags([filters["tag"]])[0] if filters["tag"] else None
            agent_id = clean_int(filters["agent"], "agent") if filters["agent"] else None
            since, until = clean_day(filters["since"]), clean_day(filters["until"], end=True)
            everything = current_user.is_admin or current_app.config["AGENTS_SEE_ALL"]
            chats = conversations.search(viewer=(current_user.agent_id, everything), q=filters["q"],
                                         customer=filters["customer"], tag=tag, agent_id=agent_id,
                                         since=since, until=until)
            tickets = queries.search(viewer=_viewer(), q=filters["q"] or filters["customer"] or None, tag=tag,
                                     assignee=agent_id, since=since, until=until, limit=100)
        except ServiceError as err:
            error = err.message
    return render_template("console/search.html", filters=filters, chats=chats, tickets=tickets, error=error,
                           agents=[x for x in agents.list_all() if x["active"]]), 400 if error else 200


@bp.get("/canned")
@staff_required()
def canned_list():
    """The canned replies this agent may insert (shared and their own), for the console's picker."""
    return jsonify({"replies": canned_replies.for_agent(current_user.agent_id)})


@bp.post("/canned")
@staff_required()
def canned_create():
    """An agent's personal canned reply."""
    try:
        reply = canned_replies.create(request.form.get("shortcut"), request.form.get("text"), current_user.agent_id)
        flash(f"Canned reply /{reply['shortcut']} saved.", "success")
    except ServiceError as err:
        flash(err.message, "error")
    return redirect(url_for("console.ticket_list") + "#canned")


@bp.post("/canned/<int:reply_id>/delete")
@staff_required()
def canned_delete(reply_id: int):
    canned_replies.delete(reply_id, current_user.agent_id, admin=current_user.is_admin)
    flash("Canned reply deleted.", "success")
    back = request.form.get("back") or ""
    return redirect(back if back in ("/admin/canned",) else url_for("console.ticket_list") + "#canned")


def parse_agent(value) -> int | None:
    return None if value in (None, "", "none") else clean_int(value, "agent")
