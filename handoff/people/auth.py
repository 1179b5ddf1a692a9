"""Who is asking: log-in sessions for people, a bearer token for the bot's actions."""
from __future__ import annotations

import functools
import hmac

from flask import current_app, request
from flask_login import LoginManager, UserMixin, current_user

from handoff.errors import Forbidden, NotFound, ServiceError
from handoff.people import agents, customers

login_manager = LoginManager()
login_manager.login_view = "pages.login"
login_manager.login_message = "Please log in to continue."


class StaffUser(UserMixin):
    def __init__(self, agent: dict):
        self.agent_id = agent["id"]
        self.name = agent["name"]
        self.email = agent["email"]
        self.role = agent["role"]
        self.customer_id = None

    def get_id(self) -> str:
        return f"agent:{self.agent_id}"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class CustomerUser(UserMixin):
    agent_id = None
    role = "customer"
    is_admin = False

    def __init__(self, customer: dict):
        self.customer_id = customer["id"]
        self.name = customer["name"] or customer["email"]
        self.email = customer["email"]

    def get_id(self) -> str:
        return f"customer:{self.customer_id}"


@login_manager.user_loader
def load_user(user_id: str):
    kind, _, raw = user_id.partition(":")
    if kind == "customer" and raw.isdigit():
        try:
            return CustomerUser(customers.get(int(raw)))
        except NotFound:
            return None
    if kind == "agent" and raw.isdigit():
        try:
            agent = agents.get(int(raw))
        except NotFound:
            return None
        return StaffUser(agent) if agent["active"] else None
    return None


def staff_required(admin: bool = False):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if getattr(current_user, "agent_id", None) is None or (admin and not current_user.is_admin):
                raise Forbidden("You do not have access to this page.")
            return view(*args, **kwargs)

        return wrapper

    return decorator


def customer_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not current_user.is_authenticated or getattr(current_user, "customer_id", None) is None:
            from flask import redirect, url_for

            return redirect(url_for("portal.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def client_address() -> str:
    return request.remote_addr or "unknown"


def service_token_required(view):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token or not hmac.compare_digest(token, current_app.config["SERVICE_TOKEN"]):
            raise ServiceError("A valid service token is required (Authorization: Bearer <SERVICE_TOKEN>).", 401)
        return view(*args, **kwargs)

    return wrapper
