"""The bot's only HTTP client: it talks to the handoff service's bot API.

See docs/protocol.md, section 3. Every failure that is not a 404 becomes a
`HandoffServiceError`, so actions need a single `except` to stay polite.
"""

import logging
from typing import Any, Dict, List, Optional
from urllib.parse import quote

import requests

from actions import config

logger = logging.getLogger(__name__)

_session = requests.Session()


class HandoffServiceError(Exception):
    """The handoff service could not be reached or gave an unusable answer."""


class NotFound(HandoffServiceError):
    """The service answered 404: the thing does not exist or is not this customer's."""


def _path_part(value: Any) -> str:
    return quote(str(value), safe="")


def _request(
    method: str,
    path: str,
    *,
    params: Optional[Dict[str, Any]] = None,
    json: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    settings = config.settings
    url = f"{settings.handoff_url}{path}"
    try:
        response = _session.request(
            method,
            url,
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {settings.service_token}"},
            timeout=settings.timeout,
        )
    except requests.RequestException as exc:
        raise HandoffServiceError(f"{method} {path} failed: {exc}") from exc

    if response.status_code == 404:
        raise NotFound(f"{method} {path} answered 404")
    if not 200 <= response.status_code < 300:
        # 401/403 mean a wrong SERVICE_TOKEN: a deployment problem, not the customer's.
        raise HandoffServiceError(
            f"{method} {path} answered {response.status_code}: {response.text[:200]}"
        )
    try:
        body = response.json()
    except ValueError as exc:
        raise HandoffServiceError(f"{method} {path} answered invalid JSON") from exc
    if not isinstance(body, dict):
        raise HandoffServiceError(f"{method} {path} answered JSON that is not an object")
    return body


def search_faq(text: str, limit: int = 3, conversation_id: Optional[str] = None) -> Dict[str, Any]:
    """The conversation id lets the service learn from the questions it could not answer."""
    params: Dict[str, Any] = {"q": text, "limit": limit}
    if conversation_id is not None:
        params["conversation_id"] = conversation_id
    return _request("GET", "/api/faq/search", params=params)


def get_faq(faq_id: Any) -> Dict[str, Any]:
    return _request("GET", f"/api/faq/{_path_part(faq_id)}")


def get_categories() -> List[Dict[str, str]]:
    """The admin's categories as [{"slug", "name"}]; a malformed answer is an error like any other."""
    body = _request("GET", "/api/categories")
    rows = body.get("categories")
    if not isinstance(rows, list) or not all(
        isinstance(r, dict) and isinstance(r.get("slug"), str) and isinstance(r.get("name"), str) for r in rows
    ):
        raise HandoffServiceError("GET /api/categories answered without a list of categories")
    return [{"slug": r["slug"], "name": r["name"]} for r in rows]


def get_customer(conversation_id: str) -> Dict[str, Any]:
    return _request("GET", f"/api/conversations/{_path_part(conversation_id)}/customer")


def request_handoff(conversation_id: str, reason: str) -> Dict[str, Any]:
    return _request(
        "POST",
        f"/api/conversations/{_path_part(conversation_id)}/handoff",
        json={"reason": reason},
    )


def save_contact(conversation_id: str, email: str) -> Dict[str, Any]:
    return _request(
        "POST",
        f"/api/conversations/{_path_part(conversation_id)}/contact",
        json={"email": email},
    )


def create_ticket(
    conversation_id: str, description: str, category: str, email: Optional[str] = None
) -> Dict[str, Any]:
    body = {"description": description, "category": category}
    if email:
        body["email"] = email
    return _request(
        "POST", f"/api/conversations/{_path_part(conversation_id)}/tickets", json=body
    )


def get_ticket(conversation_id: str, number: Any) -> Dict[str, Any]:
    return _request(
        "GET",
        f"/api/conversations/{_path_part(conversation_id)}/tickets/{_path_part(number)}",
    )
