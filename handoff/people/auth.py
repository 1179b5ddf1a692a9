"""Who is asking: log-in sessions for people, a bearer token for the bot's actions."""
from __future__ import annotations

import functools
import hmac

from flask import current_app, request
from flask_login import LoginManager, UserMixin, current_user, logout_user

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
        self.session_version = agent["session_version"]

    def get_id(self) -> str:
        return f"agent:{self.agent_id}:{self.session_version}"

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
        self.session_version = customer["session_version"]

    def get_id(self) -> str:
        return f"customer:{self.customer_id}:{self.session_version}"


@login_manager.user_loader
def load_user(user_id: str):
    """The person of a session cookie, while its session version is still theirs.

    The signed cookie cannot be taken back from a browser (or from whoever copied it), so revocation is
    decided here, from the database, in every process: log-out, a new password, a reset and
    deactivation raise the person's session version and every older cookie stops working.
    """
    kind, raw_id, raw_version = (user_id.split(":") + ["", ""])[:3]
    if not (raw_id.isdigit() and raw_version.isdigit()):
        return None  # also a cookie from before session versions: log in again
    try:
        if kind == "customer":
            user = CustomerUser(customers.get(int(raw_id)))
        elif kind == "agent":
            agent = agents.get(int(raw_id))
            user = StaffUser(agent) if agent["active"] else None
        else:
            return None
    except NotFound:
        return None
    return user if user is not None and user.session_version == int(raw_version) else None


def end_session() -> None:
    """Log out here and everywhere: every copy of this person's session cookie stops working."""
    if current_user.is_authenticated:
        if current_user.agent_id is not None:
            agents.revoke_sessions(current_user.agent_id)
        elif current_user.customer_id is not None:
            customers.revoke_sessions(current_user.customer_id)
    logout_user()


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
