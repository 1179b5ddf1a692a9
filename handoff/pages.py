"""Blueprint `pages`: the demo page with the widget, log-in, the agents' console, vendored assets."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Blueprint, current_app, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user, login_user, logout_user

from . import agents
from .auth import StaffUser, staff_required
from .config import PROJECT_ROOT

bp = Blueprint("pages", __name__)
log = logging.getLogger("careregistry.pages")
VENDOR = {"socket.io.min.js": PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist"}


@bp.get("/")
def index():
    return render_template("index.html", company_name=current_app.config["COMPANY_NAME"],
                           demo_logins=current_app.config.get("DEMO_LOGINS", []))


def _safe_next(target: str | None) -> str:
    if not target or urlsplit(target).netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.console")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    error = None
    next_url = request.values.get("next")
    if request.method == "POST":
        agent_id = agents.authenticate(request.form.get("email"), request.form.get("password"))
        if agent_id is None:
            log.info("login failed email=%r", (request.form.get("email") or "")[:80])
            error = "Wrong email or password."
        else:
            login_user(StaffUser(agents.get(agent_id)))
            log.info("login agent=%s", agent_id)
            return redirect(_safe_next(next_url))
    return render_template("login.html", error=error, next=next_url or ""), (401 if error else 200)


@bp.post("/logout")
def logout():
    logout_user()
    return redirect(url_for("pages.index"))


@bp.get("/console")
@staff_required()
def console():
    return render_template("console.html", agent=current_user)


@bp.get("/vendor/<path:name>")
def vendor(name: str):
    folder = VENDOR.get(name)
    if folder is None or not (folder / name).exists():
        return ("Front-end assets are missing: run `make setup` (npm ci).", 404)
    return send_from_directory(folder, name, max_age=3600)
