"""Blueprint `admin`: agents, escalations and the numbers."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from flask import Blueprint, Response, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from handoff.chat import canned_replies, conversations, reports, sla_report
from handoff.db import session_scope
from handoff.errors import ServiceError, clean_day, clean_int
from handoff.inbound import intake
from handoff.knowledge import analytics, faqs, settings
from handoff.mail import health, outbox
from handoff.models import Conversation, Handoff, Ticket, utcnow
from handoff.people import agents
from handoff.people.auth import staff_required
from handoff.routing import calendars, catalog, sla_policies, triage_model
from handoff.routing.hours import DAYS
from handoff.tickets import lifecycle, queries
from handoff.views.console import flash_outcome, parse_agent

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
            "faqs": faqs.count(),
        }


def backup_status() -> dict:
    """The daily backup job's status file (written by ops/backups.py, which views may not import)."""
    cfg = current_app.config
    folder = Path(cfg["BACKUP_DIR"])
    try:
        status = json.loads((folder / "status.json").read_text())
    except (OSError, ValueError):
        status = {}
    last_run, last_good = status.get("last_run") or {}, status.get("last_good")

    def shown(run: dict) -> dict:
        return {**run, "at": datetime.fromisoformat(run["at"]).strftime("%Y-%m-%d %H:%M")}

    stale = bool(last_good) and datetime.now(timezone.utc) - datetime.fromisoformat(last_good["at"]) > timedelta(days=2)
    return {"folder": str(folder), "hour": cfg.get("BACKUP_HOUR"), "daily_keep": cfg.get("BACKUP_DAILY_KEEP"),
            "weekly_keep": cfg.get("BACKUP_WEEKLY_KEEP"), "last_good": shown(last_good) if last_good else None,
            "failed": shown(last_run) if last_run and not last_run.get("ok") else None, "stale": stale}


@bp.get("/")
@staff_required(admin=True)
def dashboard():
    return render_template("admin.html", agents=agents.list_all(), escalations=escalations(), stats=stats(),
                           categories=catalog.slugs(), backup=backup_status(), mail_health=health.status(),
                           welcome=settings.welcome(),
                           welcome_default=settings.DEFAULT_WELCOME, welcome_max=settings.MAX_WELCOME)


@bp.post("/welcome")
@staff_required(admin=True)
def set_welcome():
    """What the chat widget says when a customer opens it; empty goes back to the default."""
    try:
        settings.set_welcome(request.form.get("welcome", ""))
        flash("Welcome message saved; new chats open with it.", "success")
    except ServiceError as err:
        flash(err.message, "error")
    return redirect(url_for("admin.dashboard"))


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


@bp.get("/tickets")
@staff_required(admin=True)
def ticket_list():
    """Every ticket, filtered by status, priority, category, agent, escalation and date, with search."""
    a = request.args
    assignee = a.get("agent") or None
    if assignee not in (None, "none"):
        assignee = clean_int(assignee, "agent")
    rows = queries.search(viewer=(current_user.agent_id, "admin", True), status=a.get("status") or None,
                          priority=a.get("priority") or None, category=a.get("category") or None,
                          assignee=assignee, escalated=a.get("escalated") == "1", since=clean_day(a.get("since")),
                          until=clean_day(a.get("until"), end=True), q=a.get("q"))
    return render_template("admin/tickets.html", tickets=rows, filters=dict(a), agents=agents.list_all(),
                           statuses=list(lifecycle.TRANSITIONS), priorities=lifecycle.PRIORITIES,
                           categories=catalog.slugs())


@bp.post("/tickets/<int:number>/assign")
@staff_required(admin=True)
def assign(number: int):
    try:
        agent_id = parse_agent(request.form.get("agent_id"))
        lifecycle.assign(number, agent_id, current_user.name)
        flash(f"Ticket #{number} assigned.", "success")
    except ServiceError as err:
        if err.status == 404:
            raise
        flash(err.message, "error")
    return redirect(request.form.get("back") if (request.form.get("back") or "").startswith("/admin")
                    else url_for("console.ticket", number=number))


@bp.post("/agents/<int:agent_id>/active")
@staff_required(admin=True)
def set_active(agent_id: int):
    active = request.form.get("active") == "1"
    if agent_id == current_user.agent_id and not active:
        flash("You cannot deactivate yourself.", "error")
    else:
        agents.set_active(agent_id, active)
        flash("Agent activated." if active else "Agent deactivated; their open chats went back to the queue.",
              "success")
    return redirect(url_for("admin.dashboard"))


@bp.get("/mail", endpoint="outbox")
@staff_required(admin=True)
def sent_mail():
    """The mail the service sent or is trying to send (with no SMTP server, this is where the demo's go)."""
    return render_template("admin/mail.html", mails=outbox.recent())


INBOUND_VIEWS = {"held": ("held",), "unreadable": ("unreadable",), "refused": ("loop", "rate_limited"),
                 "all": None}


@bp.get("/inbound", endpoint="inbound")
@staff_required(admin=True)
def inbound_mail():
    """Mail that came in: held for a decision, could not be read, refused as automatic, or all of it."""
    view = request.args.get("status", "held")
    if view not in INBOUND_VIEWS:
        view = "held"
    return render_template("admin/inbound.html", mails=intake.listing(INBOUND_VIEWS[view]), view=view,
                           views=list(INBOUND_VIEWS))


@bp.get("/inbound/<int:inbound_id>/raw")
@staff_required(admin=True)
def inbound_raw(inbound_id: int):
    """The mail exactly as it came, as a download: it is the sender's content, never shown as a page."""
    return Response(intake.raw(inbound_id), mimetype="application/octet-stream", headers={
        "Content-Disposition": f'attachment; filename="inbound-{inbound_id}.eml"',
        "X-Content-Type-Options": "nosniff"})


@bp.post("/inbound/<int:inbound_id>/decide")
@staff_required(admin=True)
def inbound_decide(inbound_id: int):
    decision = request.form.get("decision")
    if decision not in ("accept", "reject"):
        flash("Choose accept or reject.", "error")
        return redirect(url_for("admin.inbound"))
    try:
        result = intake.decide_held(inbound_id, decision == "accept", current_user.name)
        flash(f"Mail added to ticket #{result['ticket']}." if decision == "accept" else "Mail rejected.", "success")
    except ServiceError as err:
        flash(err.message, "error")
    return redirect(url_for("admin.inbound"))


def _report_from_args() -> dict:
    a = request.args
    category = a.get("category") or None
    if category is not None:
        catalog.require_category(category)
    agent_id = clean_int(a.get("agent"), "agent") if a.get("agent") else None
    days = a.get("days")
    if days and not a.get("since"):
        if days not in ("7", "30", "90"):
            raise ServiceError("The period is 7, 30 or 90 days, or the dates you choose.")
        until = utcnow().date()
        p = analytics.Period(until - timedelta(days=int(days) - 1), until)
    else:
        p = analytics.period(a.get("since"), a.get("until"))
    return reports.report(p, category=category, agent_id=agent_id)


@bp.get("/reports")
@staff_required(admin=True)
def reports_page():
    """The desk's dashboard: charts (Chart.js, from npm) each with a text summary and its numbers."""
    error = None
    try:
        report = _report_from_args()
    except ServiceError as err:
        error, report = err.message, reports.report(analytics.period())
    return render_template("admin/reports.html", report=report, error=error, filters=dict(request.args),
                           agents=agents.list_all(), categories=catalog.slugs()), 400 if error else 200


@bp.get("/reports.csv")
@staff_required(admin=True)
def reports_csv():
    report = _report_from_args()
    name = f"desk-report-{report['since']}-to-{report['until']}.csv"
    return Response(reports.to_csv(report), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/canned")
@staff_required(admin=True)
def canned():
    return render_template("admin/canned.html", replies=canned_replies.shared(),
                           variables=canned_replies.VARIABLES)


@bp.post("/canned")
@staff_required(admin=True)
def canned_create():
    try:
        reply = canned_replies.create(request.form.get("shortcut"), request.form.get("text"), None)
        flash(f"Shared canned reply /{reply['shortcut']} saved.", "success")
    except ServiceError as err:
        flash(err.message, "error")
    return redirect(url_for("admin.canned"))


@bp.get("/routing")
@staff_required(admin=True)
def routing():
    """Categories, teams, and each agent's skills, team and capacities."""
    cfg = current_app.config
    return render_template("admin/routing.html", agents=agents.list_all(), categories=catalog.categories(),
                           teams=catalog.teams(), mode=cfg.get("ROUTING_MODE", "auto"),
                           accept_timeout=cfg.get("ASSIGN_ACCEPT_TIMEOUT", 30), calendars=calendars.calendars(),
                           days=DAYS, policies=sla_policies.policies(), priorities=lifecycle.PRIORITIES,
                           warn_pct=round(100 * float(cfg.get("SLA_WARN_RATIO", 0.8))),
                           triage_model=triage_model.current.summary())


def _routing_change(action, success: str):
    flash_outcome(action, success)
    return redirect(url_for("admin.routing"))


@bp.post("/routing/agents/<int:agent_id>")
@staff_required(admin=True)
def routing_agent(agent_id: int):
    f = request.form
    return _routing_change(lambda: agents.set_routing(agent_id, skills=f.getlist("skills"), team_id=f.get("team_id"),
                                                      capacity=f.get("capacity"),
                                                      ticket_capacity=f.get("ticket_capacity")),
                           "Agent's routing saved.")


@bp.post("/routing/categories")
@staff_required(admin=True)
def routing_category():
    f = request.form
    return _routing_change(lambda: catalog.save_category(f.get("slug"), f.get("name"), f.get("team_id")),
                           "Category saved.")


@bp.post("/routing/teams")
@staff_required(admin=True)
def routing_team():
    return _routing_change(lambda: catalog.create_team(request.form.get("name")), "Team added.")


@bp.post("/routing/hours/desk")
@staff_required(admin=True)
def routing_desk_hours():
    return _routing_change(lambda: calendars.save(None, request.form), "The desk's business hours saved.")


@bp.post("/routing/hours/<int:team_id>")
@staff_required(admin=True)
def routing_team_hours(team_id: int):
    return _routing_change(lambda: calendars.save(team_id, request.form), "The team's business hours saved.")


@bp.post("/routing/sla")
@staff_required(admin=True)
def routing_sla():
    f = request.form
    return _routing_change(lambda: sla_policies.save(
        f.get("priority"), f.get("team_id"), first_response_min=f.get("first_response_min"),
        next_response_min=f.get("next_response_min"), resolution_min=f.get("resolution_min"),
        raise_priority=f.get("raise_priority") == "1", requeue=f.get("requeue") == "1"), "SLA policy saved.")


@bp.post("/routing/sla/<int:policy_id>/delete")
@staff_required(admin=True)
def routing_sla_delete(policy_id: int):
    return _routing_change(lambda: sla_policies.remove(policy_id), "SLA policy removed.")


MAX_REPORT_DAYS = 366


@bp.get("/sla")
@staff_required(admin=True)
def sla():
    """SLA attainment per team, agent and priority over a period (default: the last 7 days)."""
    a, error = request.args, None
    today = utcnow().date()
    try:
        start = clean_day(a.get("since")) or datetime.combine(today - timedelta(days=6), datetime.min.time())
        end = clean_day(a.get("until"), end=True) or datetime.combine(today + timedelta(days=1), datetime.min.time())
        if end <= start:
            raise ServiceError("The period ends before it starts.")
        if (end - start).days > MAX_REPORT_DAYS:
            raise ServiceError(f"Choose a period of at most {MAX_REPORT_DAYS} days.")
    except ServiceError as err:
        error = err.message
        start = datetime.combine(today - timedelta(days=6), datetime.min.time())
        end = datetime.combine(today + timedelta(days=1), datetime.min.time())
    report = sla_report.attainment(start, end)
    return render_template("admin/sla.html", report=report, error=error, since=start.date().isoformat(),
                           until=(end - timedelta(days=1)).date().isoformat()), 400 if error else 200
