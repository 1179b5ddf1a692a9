"""The desk's queries on PostgreSQL: tags in JSON, reports by day, the ticket from a chat."""
from __future__ import annotations

from handoff.chat import conversations, reports
from handoff.knowledge import analytics
from handoff.tickets import lifecycle, queries
from tests.fakes import wait_for


def test_tags_search_reports_and_ticket_draft_on_postgres(customer_socket, agent_socket, api):
    console = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    for i, line in enumerate(["Hi there!", "I was charged twice on my card"]):
        chat.emit("customer_message", {"text": line, "client_msg_id": f"p{i}"})
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    assert console.emit("accept", {"conversation_id": cid})["ok"]
    console.emit("agent_message", {"conversation_id": cid, "text": "Refunding one now", "client_msg_id": "p9"})
    wait_for(lambda: chat.texts("agent"))
    assert console.emit("resolve", {"conversation_id": cid})["ok"]
    assert chat.emit("rate", {"score": 5})["ok"]

    draft = conversations.ticket_draft(0, cid, admin=True)
    assert (draft["subject"], draft["category"]) == ("I was charged twice on my card", "billing")
    number = lifecycle.open_ticket(conversations.customer_of(cid), draft["subject"], draft["description"],
                                   "billing", source="agent", actor="Sam Agent", conversation_id=cid)["number"]
    conversations.set_tags(0, cid, "refund_twice, vip", admin=True, see_all=True)
    lifecycle.set_tags(number, ["refund_twice"], "Sam Agent")
    assert [c["id"] for c in conversations.search(viewer=(0, True), tag="refund_twice")] == [cid]
    assert conversations.search(viewer=(0, True), tag="refundxtwice") == []
    assert [t["number"] for t in queries.search(tag="refund_twice")] == [number]

    report = reports.report(analytics.period())
    assert sum(report["conversations_per_day"]) == 1 and sum(report["tickets_per_day"]) == 1
    assert report["csat"]["count"] == 1 and report["times"]["chat_first_response"]["count"] == 1
