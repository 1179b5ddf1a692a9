"""The learning loop: what the bot could not answer comes back to admins as suggested FAQs."""
from __future__ import annotations

import itertools
import re

import pytest

from handoff.chat import conversations
from handoff.db import session_scope
from handoff.knowledge import learning
from handoff.models import UnansweredQuestion
from tests.fakes import wait_for

GIFT_QUESTIONS = ["Do you sell gift cards?", "where can I get a gift card", "gift cards for sale?"]
_visitors = itertools.count()


@pytest.fixture
def admin(staff, make_agent):
    return staff(make_agent("Ada Admin", role="admin"))


def new_conversation() -> int:
    return conversations.open_for_visitor(f"learning-visitor-{next(_visitors):04d}")


def ask(api, q, cid=None):
    query = {"q": q} if cid is None else {"q": q, "conversation_id": str(cid)}
    resp = api.get("/api/faq/search", query_string=query)
    assert resp.status_code == 200
    return resp.get_json()


def suggestion_cards(admin) -> list[dict]:
    """The suggestions page as an admin sees it: each card's examples and count."""
    page = admin.get("/admin/kb/suggestions").get_data(as_text=True)
    cards = []
    for card in page.split('<section class="section card suggestion"')[1:]:
        examples = re.search(r'name="phrasings"[^>]*>([^<]*)</textarea>', card).group(1).splitlines()
        cards.append({"asked": int(re.search(r'data-asked="(\d+)"', card).group(1)),
                      "examples": [e.replace("&#39;", "'") for e in examples],
                      "question_ids": [int(i) for i in re.findall(r'name="question_id" value="(\d+)"', card)],
                      "draft": re.search(r'class="draft-answer">([^<]*)</textarea>', card).group(1)})
    return cards


def ask_gift_and_bitcoin(api):
    for q in GIFT_QUESTIONS:
        assert ask(api, q, new_conversation())["decision"] == "unknown"
    again = new_conversation()
    ask(api, "gift cards for sale?", again)
    ask(api, "gift cards for sale?", again)  # the same chat asking twice counts once
    for q in ("Is there a store in Oslo?", "do you have a shop in oslo"):
        assert ask(api, q, new_conversation())["decision"] == "unknown"


def test_unknown_questions_asked_through_the_api_are_grouped_with_counts(seeded, api, admin):
    ask_gift_and_bitcoin(api)
    ask(api, "How long does a refund take?", new_conversation())  # answered: not a suggestion
    cards = suggestion_cards(admin)
    assert [c["asked"] for c in cards] == [4, 2]
    assert set(cards[0]["examples"]) == set(GIFT_QUESTIONS)
    assert cards[0]["examples"][0] == "gift cards for sale?"  # the most asked phrasing first
    assert set(cards[1]["examples"]) == {"Is there a store in Oslo?", "do you have a shop in oslo"}
    assert all("refund" not in e for c in cards for e in c["examples"])


def test_approving_a_suggestion_makes_the_bot_answer_the_same_question(seeded, api, admin):
    ask_gift_and_bitcoin(api)
    gift = suggestion_cards(admin)[0]
    answer = "Yes, gift cards from $10 at https://example.com/gift-cards."
    resp = admin.post("/admin/kb/suggestions/approve", data={
        "question_id": [str(i) for i in gift["question_ids"]], "phrasings": "\n".join(gift["examples"]),
        "answer": answer, "category": "billing"})
    assert resp.status_code == 302
    for q in GIFT_QUESTIONS:
        result = ask(api, q, new_conversation())
        assert result["decision"] == "answer" and result["matches"][0]["answer"] == answer
    cards = suggestion_cards(admin)
    assert [set(c["examples"]) for c in cards] == [{"Is there a store in Oslo?", "do you have a shop in oslo"}]

    again = admin.post("/admin/kb/suggestions/approve", data={
        "question_id": [str(i) for i in gift["question_ids"]], "phrasings": "x", "answer": "y", "category": "billing"},
        follow_redirects=True)
    assert "already approved or dismissed" in again.get_data(as_text=True)


def test_approving_with_a_missing_answer_creates_nothing_and_keeps_the_suggestion(seeded, api, admin):
    ask_gift_and_bitcoin(api)
    gift = suggestion_cards(admin)[0]
    resp = admin.post("/admin/kb/suggestions/approve", follow_redirects=True, data={
        "question_id": [str(i) for i in gift["question_ids"]], "phrasings": "\n".join(gift["examples"]),
        "answer": " ", "category": "billing"})
    assert "The answer is empty" in resp.get_data(as_text=True)
    assert suggestion_cards(admin)[0]["question_ids"] == gift["question_ids"]
    assert ask(api, GIFT_QUESTIONS[0])["decision"] == "unknown"


def test_dismissed_questions_do_not_come_back(seeded, api, admin):
    ask_gift_and_bitcoin(api)
    oslo = suggestion_cards(admin)[1]
    resp = admin.post("/admin/kb/suggestions/dismiss", data={"question_id": [str(i) for i in oslo["question_ids"]]})
    assert resp.status_code == 302
    assert [set(c["examples"]) for c in suggestion_cards(admin)] == [set(GIFT_QUESTIONS)]
    assert ask(api, "Is there a store in Oslo?", new_conversation())["decision"] == "unknown"  # asked again
    assert [set(c["examples"]) for c in suggestion_cards(admin)] == [set(GIFT_QUESTIONS)]
    assert ask(api, "Do you buy back old phones?", new_conversation())["decision"] == "unknown"
    assert any("Do you buy back old phones?" in c["examples"] for c in suggestion_cards(admin))  # new: shown


def handed_off_chat(customer_socket, api, question, reason="low_confidence"):
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    assert chat.emit("customer_message", {"text": question, "client_msg_id": "q1"})["ok"]
    wait_for(lambda: chat.texts("bot"))
    chat.emit("customer_message", {"text": "/human_handoff", "client_msg_id": "q2"})  # the button's payload
    wait_for(lambda: "bot heard: /human_handoff" in chat.texts("bot"))
    resp = api.post(f"/api/conversations/{cid}/handoff", {"reason": reason})
    assert resp.status_code == 200
    return chat, cid, resp.get_json()


def test_an_agents_reply_that_solved_a_handed_off_chat_is_offered_as_the_draft_answer(
        seeded, customer_socket, agent_socket, api, admin):
    sam = agent_socket()
    question = "Do you sell gift cards?"
    chat, cid, result = handed_off_chat(customer_socket, api, question)
    assert ask(api, question, cid)["decision"] == "unknown"  # the bot's search, before it gave up
    assert result["status"] == "queued"
    assert sam.emit("accept", {"conversation_id": cid})["ok"]
    reply = "Yes! We sell gift cards from $10 to $500 at https://example.com/gift-cards and in every store."
    for n, text in enumerate(["Hi, I'm Sam.", reply, "Anything else?"]):
        assert sam.emit("agent_message", {"conversation_id": cid, "text": text, "client_msg_id": f"a{n}"})["ok"]

    (card,) = suggestion_cards(admin)
    assert card["draft"] == "", "no draft before the agent resolved the chat"
    assert card["asked"] == 1 and card["examples"] == [question]  # the search and the handoff: one chat

    assert sam.emit("resolve", {"conversation_id": cid})["ok"]
    (card,) = suggestion_cards(admin)
    assert card["draft"] == reply
    with session_scope() as s:
        assert {q.source for q in s.query(UnansweredQuestion)} == {"search"}  # the handoff added no duplicate

    # The customer writing again reopens the chat; the agent's reply still counts.
    chat.emit("customer_message", {"text": "thanks!", "client_msg_id": "q3"})
    assert wait_for(lambda: "bot heard: thanks!" in chat.texts("bot"))
    assert conversations.status_of(cid) == "bot"
    assert suggestion_cards(admin)[0]["draft"] == reply


def test_handoffs_for_customer_requests_teach_nothing_but_repeated_fallbacks_do(seeded, customer_socket, api, admin):
    handed_off_chat(customer_socket, api, "I'd like to talk to someone", reason="customer_request")
    assert suggestion_cards(admin) == []
    _, cid, result = handed_off_chat(customer_socket, api, "my smart kettle speaks french now",
                                     reason="repeated_fallback")
    assert result["status"] == "ticket"  # nobody online
    (card,) = suggestion_cards(admin)
    assert card["examples"] == ["my smart kettle speaks french now"] and card["asked"] == 1
    with session_scope() as s:
        assert [q.source for q in s.query(UnansweredQuestion)] == ["handoff"]


def test_a_ticket_opened_after_a_failed_answer_is_collected(seeded, api, admin):
    failed, answered = new_conversation(), new_conversation()
    assert ask(api, "Do you sell gift cards?", failed)["decision"] == "unknown"
    assert ask(api, "How long does a refund take?", answered)["decision"] == "answer"
    for cid, text in ((failed, "I want to buy a gift card for my mother"), (answered, "My refund is late")):
        resp = api.post(f"/api/conversations/{cid}/tickets", {"description": text, "category": "billing"})
        assert resp.status_code == 201
    # The question is the search the bot failed on; the ticket's description is a form answer for an agent.
    (card,) = suggestion_cards(admin)
    assert card["examples"] == ["Do you sell gift cards?"] and card["asked"] == 1
    learning.collect()  # collecting again adds nothing
    with session_scope() as s:
        assert sorted(q.source for q in s.query(UnansweredQuestion)) == ["search"]


def test_search_still_answers_when_the_log_cannot_be_written(seeded, api, monkeypatch):
    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(learning, "record_search", broken)
    assert ask(api, "How long does a refund take?", 12)["decision"] == "answer"


def test_grouping_puts_rephrasings_together_and_keeps_topics_apart():
    texts = ["Do you sell gift cards?", "Is there a store in Oslo?", "where can I get a gift card",
             "do you have a shop in oslo", "gift cards for sale?", "my parcel is late"]
    groups = {frozenset(texts[i] for i in g) for g in learning.group_texts(texts)}
    assert groups == {frozenset({"Do you sell gift cards?", "where can I get a gift card", "gift cards for sale?"}),
                      frozenset({"Is there a store in Oslo?", "do you have a shop in oslo"}),
                      frozenset({"my parcel is late"})}


def test_a_handoff_teaches_the_question_the_bot_failed_on_not_what_came_after(seeded, customer_socket, api, admin):
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    for n, text in enumerate(["hello", "Do you sell gift cards?", "xqz blorp wibble", "anna@example.com"]):
        assert chat.emit("customer_message", {"text": text, "client_msg_id": f"q{n}"})["ok"]
        wait_for(lambda t=text: f"bot heard: {t}" in chat.texts("bot"))
        ask(api, text, cid)  # the bot searched each of them, and answered none
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "low_confidence"}).status_code == 200
    (card,) = suggestion_cards(admin)
    assert card["examples"] == ["Do you sell gift cards?"]


@pytest.mark.parametrize("text", ["hi", "thanks", "/human_handoff", "please get me a person", "asdfgh jkl",
                                  "billing", "anna@example.com"])
def test_greetings_buttons_requests_form_answers_and_gibberish_suggest_nothing(seeded, api, admin, text):
    ask(api, text, new_conversation())
    assert suggestion_cards(admin) == []


def test_a_suggestion_disappears_once_an_faq_answers_it(seeded, api, admin):
    ask_gift_and_bitcoin(api)
    assert any("Do you sell gift cards?" in c["examples"] for c in suggestion_cards(admin))
    # The admin writes the FAQ by hand instead of approving the suggestion.
    resp = admin.post("/admin/kb/new", data={
        "slug": "gift-cards", "answer": "Gift cards from $10.", "category": "billing", "enabled": "1",
        "phrasings": "Do you sell gift cards?\nwhere can I get a gift card\ngift cards for sale\ngift vouchers"})
    assert resp.status_code == 302
    cards = suggestion_cards(admin)
    assert not any(e in GIFT_QUESTIONS for c in cards for e in c["examples"])
    assert any("Is there a store in Oslo?" in c["examples"] for c in cards)  # still not answered


def test_the_draft_answer_is_the_agents_reply_to_that_question_not_to_a_later_one(
        seeded, customer_socket, agent_socket, api, admin):
    sam = agent_socket()
    chat, cid, _ = handed_off_chat(customer_socket, api, "Do you sell gift cards?")
    ask(api, "Do you sell gift cards?", cid)
    gift_reply = "Yes, gift cards from $10 in every store."
    assert sam.emit("accept", {"conversation_id": cid})["ok"]
    assert sam.emit("agent_message", {"conversation_id": cid, "text": gift_reply, "client_msg_id": "a1"})["ok"]
    assert sam.emit("hand_back", {"conversation_id": cid})["ok"]
    wait_for(lambda: conversations.status_of(cid) == "bot")
    # Back with the bot, the same chat asks another question the bot cannot answer; the agent's
    # (longer) reply to it must not become the gift cards' draft.
    chat.emit("customer_message", {"text": "Is there a store in Oslo?", "client_msg_id": "q9"})
    wait_for(lambda: "bot heard: Is there a store in Oslo?" in chat.texts("bot"))
    ask(api, "Is there a store in Oslo?", cid)
    assert api.post(f"/api/conversations/{cid}/handoff", {"reason": "low_confidence"}).status_code == 200
    oslo_reply = "Yes, our Oslo store is at Karl Johans gate 1, open every day from 10 to 20, parking nearby."
    assert sam.emit("accept", {"conversation_id": cid})["ok"]
    assert sam.emit("agent_message", {"conversation_id": cid, "text": oslo_reply, "client_msg_id": "a2"})["ok"]
    assert sam.emit("resolve", {"conversation_id": cid})["ok"]
    drafts = {c["examples"][0]: c["draft"] for c in suggestion_cards(admin)}
    assert drafts == {"Do you sell gift cards?": gift_reply, "Is there a store in Oslo?": oslo_reply}
