"""Blueprint `portal`: customers register, log in, follow their tickets and past chats.

Templates (web/templates/portal/) and their context:
- register.html: error, form (dict of submitted values)
- login.html: error, next
- forgot.html: sent (bool)
- reset.html: token, error
- verify.html: token, error (the button that confirms a registration)
- password.html: error, done (bool)
- tickets.html: tickets (list of ticket rows: number, subject, status, category, priority, assignee, updated_at)
- new_ticket.html: categories, error, form
- ticket.html: ticket (detail: number, subject, description, status, status_words, category, priority, assignee,
  created_at, rating, rating_comment, parent_id, events: [{kind, actor, data, created_at}] public only)
- chats.html: chats (list: id, status, created_at, last_message)
- chat.html: conversation (id, status, messages: [{sender, text, created_at}])
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from sqlalchemy import select

from handoff.chat import conversations
from handoff.config import public_url
from handoff.db import session_scope
from handoff.errors import ServiceError
from handoff.models import Conversation
from handoff.routing import catalog
from handoff.people import customers
from handoff.people.auth import CustomerUser, client_address, customer_required, end_session
from handoff.tickets import attachments, lifecycle, queries
from handoff.views import files
from handoff.views.files import uploads
from handoff.views.limits import TooFast, limited, login_allowed, login_failed, rates
from handoff.views.pages import safe_local_url

bp = Blueprint("portal", __name__, url_prefix="/portal")


@bp.route("/register", methods=["GET", "POST"])
@limited("register")
def register():
    error = None
    if request.method == "POST":
        f = request.form
        if f.get("password") != f.get("password2"):
            error = "The two passwords differ."
        else:
            try:
                _mail_allowed(f.get("email"))
                customers.register(f.get("email"), f.get("password"), f.get("name"), public_url())
            except TooFast:
                raise
            except ServiceError as err:
                error = err.message
            else:
                # The same answer whether the address was new or taken (a taken one is told by mail).
                return render_template("portal/register.html", sent_to=f.get("email"), form={}, error=None)
    form = {k: v for k, v in request.form.items() if "password" not in k}
    return render_template("portal/register.html", error=error, form=form), (400 if error else 200)


def _mail_allowed(email) -> None:
    """Limit mail from the public forms to any one address, known or not (so a refusal reveals nothing)."""
    recipient = str(email or "").strip().lower()[:254]
    rates().require("recipient", recipient,
                    message="We have emailed this address several times lately. Please check its inbox, "
                            "or wait {wait} and try again.")


def _visitor_id() -> str | None:
    """The widget's visitor id, sent by the page so the anonymous chat joins the account."""
    value = request.form.get("visitor_id") or ""
    return value if 8 <= len(value) <= 64 else None


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify(token: str):
    """The link in the confirmation mail. A button (POST), so mail scanners that open links confirm nothing."""
    error = None
    if request.method == "POST":
        try:
            customer = customers.verify_email(token)
        except ServiceError as err:
            error = err.message
        else:
            login_user(CustomerUser(customer))
            if _visitor_id():
                customers.link_visitor(_visitor_id(), customer["id"])
            return redirect(url_for("portal.my_tickets"))
    return render_template("portal/verify.html", token=token, error=error), (400 if error else 200)


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, status = None, 200
    next_url = request.values.get("next")
    if request.method == "POST":
        try:
            login_allowed()
            customer = customers.authenticate(request.form.get("email"), request.form.get("password"),
                                              client_address())
        except ServiceError as err:
            if not isinstance(err, TooFast):
                login_failed()
            error, status = err.message, err.status
        else:
            login_user(CustomerUser(customer))
            if _visitor_id():
                customers.link_visitor(_visitor_id(), customer["id"])
            return redirect(safe_local_url(next_url, url_for("portal.my_tickets")))
    return render_template("portal/login.html", error=error, next=next_url or ""), status


@bp.post("/logout")
def logout():
    end_session()
    return redirect(url_for("pages.index"))


@bp.route("/forgot", methods=["GET", "POST"])
@limited("reset")
def forgot():
    if request.method == "POST":
        _mail_allowed(request.form.get("email"))
        customers.request_reset(request.form.get("email"), public_url())
        return render_template("portal/forgot.html", sent=True)
    return render_template("portal/forgot.html", sent=False)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    error = None
    if request.method == "POST":
        try:
            if request.form.get("password") != request.form.get("password2"):
                raise ServiceError("The two passwords differ.")
            customers.reset_password(token, request.form.get("password"))
        except ServiceError as err:
            error = err.message
        else:
            flash("Your password is changed. Please log in.", "success")
            return redirect(url_for("portal.login"))
    return render_template("portal/reset.html", token=token, error=error), (400 if error else 200)


@bp.route("/password", methods=["GET", "POST"])
@customer_required
def password():
    error, done = None, False
    if request.method == "POST":
        try:
            if request.form.get("new_password") != request.form.get("new_password2"):
                raise ServiceError("The two new passwords differ.")
            customer = customers.change_password(current_user.customer_id, request.form.get("current_password"),
                                                 request.form.get("new_password"))
            login_user(CustomerUser(customer))  # every other session ended; this one goes on
            done = True
        except ServiceError as err:
            error = err.message
    return render_template("portal/password.html", error=error, done=done), (400 if error else 200)


@bp.get("/link/<token>")
@customer_required
def link(token: str):
    try:
        moved = customers.confirm_link(token, current_user.customer_id)
        flash(f"Done: {moved} chat(s) added to your account.", "success")
    except ServiceError as err:
        flash(err.message, "error")
    return redirect(url_for("portal.chats"))


@bp.get("/")
@customer_required
def my_tickets():
    return render_template("portal/tickets.html", tickets=queries.search(customer_id=current_user.customer_id))


@bp.route("/new", methods=["GET", "POST"])
@customer_required
@limited("ticket")
def new_ticket():
    error = None
    if request.method == "POST":
        f = request.form
        try:
            ticket = lifecycle.open_ticket(current_user.customer_id, f.get("subject"), f.get("description"),
                                           f.get("category"), source="portal", actor="customer")
        except ServiceError as err:
            error = err.message
        else:
            flash(f"Ticket #{ticket['number']} is open. We emailed you a copy.", "success")
            return redirect(url_for("portal.ticket", number=ticket["number"]))
    return render_template("portal/new_ticket.html", categories=catalog.slugs(), error=error,
                           form=dict(request.form)), (400 if error else 200)


@bp.get("/tickets/<int:number>")
@customer_required
def ticket(number: int):
    return render_template("portal/ticket.html", ticket=queries.for_customer(number, current_user.customer_id))


@bp.post("/tickets/<int:number>/reply")
@customer_required
@limited("ticket_reply")
def reply(number: int):
    try:
        landed = lifecycle.customer_reply(number, current_user.customer_id, request.form.get("text"),
                                          uploads(request.files.getlist("files")))
    except ServiceError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")
        return redirect(url_for("portal.ticket", number=number))
    if landed != number:
        flash(f"Ticket #{number} is closed, so we opened follow-up #{landed} for your message.", "success")
    return redirect(url_for("portal.ticket", number=landed))


@bp.get("/attachments/<int:attachment_id>")
@customer_required
def attachment(attachment_id: int):
    return files.send(attachments.for_customer(attachment_id, current_user.customer_id))


@bp.post("/tickets/<int:number>/rate")
@customer_required
def rate(number: int):
    try:
        lifecycle.rate(number, current_user.customer_id, request.form.get("rating"), request.form.get("comment"))
        flash("Thank you for rating our help.", "success")
    except ServiceError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")
    return redirect(url_for("portal.ticket", number=number))


@bp.get("/chats")
@customer_required
def chats():
    with session_scope() as s:
        rows = s.scalars(select(Conversation).where(Conversation.customer_id == current_user.customer_id)
                         .order_by(Conversation.id.desc()))
        items = [conversations.summary_dict(s, c) | {"created_at": c.created_at} for c in rows]
    return render_template("portal/chats.html", chats=items)


@bp.get("/chats/<int:cid>")
@customer_required
def chat(cid: int):
    return render_template("portal/chat.html",
                           conversation=conversations.for_customer(cid, current_user.customer_id))
