import pytest
import requests

from actions import config, handoff_client
from actions.handoff_client import HandoffServiceError, NotFound


def test_sends_token_and_timeout(service):
    service.on("GET", "/api/faq/search", {"decision": "unknown", "matches": []})

    handoff_client.search_faq("where is my parcel?")

    call = service.calls[0]
    assert call["headers"] == {"Authorization": f"Bearer {service.token}"}
    assert call["timeout"] == service.timeout
    assert call["params"] == {"q": "where is my parcel?", "limit": 3}


def test_conversation_id_is_quoted_into_the_path(service):
    service.on("GET", "/api/conversations/a%2Fb/customer", {"email": None})

    assert handoff_client.get_customer("a/b") == {"email": None}


def test_ticket_body_leaves_out_a_missing_email(service):
    service.on("POST", "/api/conversations/12/tickets", {"number": 5}, status=201)

    handoff_client.create_ticket("12", "It broke", "technical")

    assert service.calls[0]["json"] == {"description": "It broke", "category": "technical"}


def test_404_is_not_found(service):
    service.on("GET", "/api/conversations/12/tickets/9", {"code": 404}, status=404)

    with pytest.raises(NotFound):
        handoff_client.get_ticket("12", "9")


@pytest.mark.parametrize(
    "route",
    [
        {"raises": requests.Timeout("read timed out")},
        {"raises": requests.ConnectionError("refused")},
        {"status": 500, "body": {"code": 500}},
        {"status": 503, "raw_text": "<html>Bad gateway</html>"},
        {"status": 401, "body": {"code": 401}},
        {"status": 200, "raw_text": "not json"},
        {"status": 200, "body": ["a", "list"]},
    ],
    ids=["timeout", "connection", "500", "503-html", "401", "bad-json", "not-an-object"],
)
def test_failures_become_one_error(service, route):
    service.on("GET", "/api/faq/3", **route)

    with pytest.raises(HandoffServiceError) as caught:
        handoff_client.get_faq("3")
    assert not isinstance(caught.value, NotFound)


def test_settings_from_env_defaults_and_overrides():
    assert config.Settings.from_env({}) == config.Settings(
        "http://127.0.0.1:5000", "dev-service-token", 3.0
    )
    assert config.Settings.from_env(
        {"HANDOFF_URL": "http://svc:8000/", "SERVICE_TOKEN": "s3cret", "HANDOFF_TIMEOUT": "1.5"}
    ) == config.Settings("http://svc:8000", "s3cret", 1.5)


@pytest.mark.parametrize("value", ["soon", "0", "-2"])
def test_settings_reject_a_bad_timeout(value):
    with pytest.raises(ValueError, match="HANDOFF_TIMEOUT"):
        config.Settings.from_env({"HANDOFF_TIMEOUT": value})


def test_search_names_the_conversation_so_the_service_can_learn(service):
    service.on("GET", "/api/faq/search", {"decision": "unknown", "matches": []})

    handoff_client.search_faq("gift cards?", conversation_id="12")

    assert service.calls[0]["params"] == {"q": "gift cards?", "limit": 3, "conversation_id": "12"}
