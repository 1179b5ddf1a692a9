"""Shared fixtures: trackers from saved JSON, a dispatcher, and a fake handoff service.

The fake replaces the client's `requests.Session`, so every test also goes through the
real URL building, auth header and error mapping of `actions.handoff_client`.
"""

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
import requests
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import config, handoff_client

DATA_DIR = Path(__file__).parent / "data"
BASE_URL = "http://handoff.test"
TOKEN = "test-token"
TIMEOUT = 1.5


class FakeResponse:
    def __init__(self, status_code: int, body: Any = None, raw_text: Optional[str] = None):
        self.status_code = status_code
        self._body = body
        self._raw_text = raw_text
        self.text = raw_text if raw_text is not None else json.dumps(body)

    def json(self) -> Any:
        if self._raw_text is not None:
            raise ValueError("not JSON")
        return copy.deepcopy(self._body)


class FakeHandoffService:
    """Stands in for `requests.Session`; answers (method, path) routes set with `on`."""

    base_url = BASE_URL
    token = TOKEN
    timeout = TIMEOUT

    def __init__(self) -> None:
        self.routes: Dict[Tuple[str, str], Any] = {}
        self.calls: List[Dict[str, Any]] = []

    def on(
        self,
        method: str,
        path: str,
        body: Any = None,
        status: int = 200,
        raises: Optional[Exception] = None,
        raw_text: Optional[str] = None,
    ) -> None:
        self.routes[(method, path)] = raises or FakeResponse(status, body, raw_text)

    def down(self) -> None:
        """Every request fails as if the service were not running."""
        self.routes = {"*": requests.ConnectionError("connection refused")}

    def request(self, method, url, params=None, json=None, headers=None, timeout=None):
        assert url.startswith(BASE_URL), url
        path = url[len(BASE_URL):]
        self.calls.append(
            {"method": method, "path": path, "params": params, "json": json,
             "headers": headers, "timeout": timeout}
        )
        answer = self.routes.get((method, path), self.routes.get("*"))
        if answer is None:
            raise AssertionError(f"unexpected request {method} {path}")
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def service(monkeypatch) -> FakeHandoffService:
    fake = FakeHandoffService()
    monkeypatch.setattr(
        config, "settings", config.Settings(handoff_url=BASE_URL, service_token=TOKEN, timeout=TIMEOUT)
    )
    monkeypatch.setattr(handoff_client, "_session", fake)
    # The ticket form asks for the admin's categories; a test may answer otherwise with `on`.
    fake.on("GET", "/api/categories", {"categories": [{"slug": c, "name": c.capitalize()} for c in
                                                      ("billing", "account", "orders", "technical")]})
    return fake


class Dispatcher(CollectingDispatcher):
    """CollectingDispatcher with shortcuts for the assertions."""

    @property
    def texts(self) -> List[str]:
        return [m["text"] for m in self.messages]

    @property
    def buttons(self) -> List[List[Dict[str, str]]]:
        return [m["buttons"] for m in self.messages]


@pytest.fixture
def dispatcher() -> Dispatcher:
    return Dispatcher()


@pytest.fixture
def load_tracker():
    """load_tracker("faq_question", slots={...}) -> Tracker from tests/actions/data."""

    def load(name: str, slots: Optional[Dict[str, Any]] = None, **overrides: Any) -> Tracker:
        state = json.loads((DATA_DIR / f"{name}.json").read_text())
        state["slots"].update(slots or {})
        state.update(overrides)
        return Tracker.from_dict(state)

    return load


@pytest.fixture
def domain() -> Dict[str, Any]:
    # The validation actions only read the forms' required slots from the domain.
    return {
        "forms": {
            "ticket_form": {"required_slots": ["description", "category", "email"]},
            "ticket_status_form": {"required_slots": ["ticket_number"]},
            "email_form": {"required_slots": ["email"]},
        }
    }

