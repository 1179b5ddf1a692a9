"""Blueprint `pages`: the demo page with the widget, log-in, the agents' console, vendored assets."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_user

from handoff.config import PROJECT_ROOT
from handoff.errors import ServiceError
from handoff.people import agents
from handoff.people.auth import StaffUser, client_address, end_session, staff_required
from handoff.views.limits import TooFast, login_allowed, login_failed

bp = Blueprint("pages", __name__)
log = logging.getLogger("careregistry.pages")
VENDOR = {"socket.io.min.js": PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist",
          "chart.umd.min.js": PROJECT_ROOT / "node_modules" / "chart.js" / "dist"}


@bp.get("/")
def index():
    return render_template("index.html", company_name=current_app.config["COMPANY_NAME"])


def safe_local_url(target: str | None, fallback: str) -> str:
    """Only a path on this site, so a crafted ?next= cannot send anyone elsewhere."""
    if not target or urlsplit(target).netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    next_url = request.values.get("next")
    status = 200
    if request.method == "POST":
        try:
            login_allowed()
            agent = agents.authenticate(request.form.get("email"), request.form.get("password"), client_address())
        except ServiceError as err:
            if not isinstance(err, TooFast):
                login_failed()
            log.info("login refused email=%r status=%s", str(request.form.get("email"))[:80], err.status)
            error, status = err.message, err.status
        else:
            login_user(StaffUser(agent))
            log.info("login agent=%s", agent["id"])
            # An admin's home is /admin, which opens no console socket: logging in does not put them online.
            home = url_for("admin.dashboard") if agent["role"] == "admin" else url_for("pages.console")
            return redirect(safe_local_url(next_url, home))
    return render_template("login.html", error=error, next=next_url or ""), status


@bp.post("/logout")
def logout():
    end_session()
    return redirect(url_for("pages.index"))


@bp.get("/console")
@staff_required()
def console():
    from handoff.routing import catalog
    from handoff.tickets.lifecycle import PRIORITIES

    from handoff.people import agents

    return render_template("console.html", agent=current_user, categories=catalog.slugs(), priorities=PRIORITIES,
                           teams=catalog.teams(), colleagues=[a for a in agents.list_all() if a["active"]])


@bp.get("/vendor/<path:name>")
def vendor(name: str):
    folder = VENDOR.get(name)
    if folder is None or not (folder / name).exists():
        return ("Front-end assets are missing: run `make setup` (npm ci).", 404)
    return send_from_directory(folder, name, max_age=3600)
