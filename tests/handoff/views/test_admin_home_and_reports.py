"""An admin's log-in, and the desk's reports with their CSV export."""
from __future__ import annotations

import csv
import io

from handoff.chat import reports
from handoff.people import agents
from tests.handoff.conftest import PASSWORD


def test_an_admin_lands_in_admin_and_is_not_online(app, make_agent):
    admin = make_agent("Ada Admin", role="admin")
    http = app.test_client()
    resp = http.post("/login", data={"email": admin["email"], "password": PASSWORD})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/")
    page = http.get("/admin/")
    assert page.status_code == 200 and "/vendor/socket.io" not in page.get_data(as_text=True)
    assert [a["online"] for a in agents.list_all() if a["id"] == admin["id"]] == [False]


def test_an_agent_still_lands_in_the_console(app, make_agent):
    sam = make_agent()
    resp = app.test_client().post("/login", data={"email": sam["email"], "password": PASSWORD})
    assert resp.headers["Location"].endswith("/console")


def test_percentiles():
    assert reports.percentile([], 0.5) is None
    assert reports.percentile([10, 20, 30, 40], 0.5) == 25
    assert reports.percentile(list(range(1, 11)), 0.9) == 9.1


def _chat(customer_socket, agent_socket, api):
    console = agent_socket()
    chat = customer_socket()
    cid = chat.of("history")[0]["conversation_id"]
    chat.emit("customer_message", {"text": "My card was charged twice", "client_msg_id": "r1"})
    api.post(f"/api/conversations/{cid}/handoff", {"reason": "customer_request"})
    console.emit("accept", {"conversation_id": cid})
    console.emit("agent_message", {"conversation_id": cid, "text": "Looking now", "client_msg_id": "r2"})
    console.emit("resolve", {"conversation_id": cid})
    chat.emit("rate", {"score": 5})
    return console


def test_the_reports_page_and_csv_show_the_desks_numbers(customer_socket, agent_socket, api, staff, make_agent):
    _chat(customer_socket, agent_socket, api)
    admin = staff(make_agent("Ada Admin", role="admin"))
    page = admin.get("/admin/reports?days=7")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'src="/vendor/chart.umd.min.js"' in html and 'id="chart-volume"' in html
    assert "1 rating, average" in html and 'aria-labelledby="chart-times-summary"' in html
    report = reports.report(__import__("handoff.knowledge.analytics", fromlist=["period"]).period())
    assert report["conversations"] == 1 and report["handoff_reasons"]["customer_request"] == 1
    assert report["times"]["chat_first_response"]["count"] == 1
    assert report["csat"] == {"average": 5.0, "satisfied_share": 1.0, "count": 1}
    assert [a["chats_taken"] for a in report["agents"] if a["name"] == "Sam Agent"] == [1]
    assert sum(map(sum, report["busiest_hours_utc"])) == 1

    exported = admin.get("/admin/reports.csv?days=30")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True))))
    assert ["customer_request", "1"] in rows
    assert any(r[:1] == ["Sam Agent"] for r in rows)


def test_bad_report_filters_are_refused_plainly(staff, make_agent):
    admin = staff(make_agent("Ada Admin", role="admin"))
    assert admin.get("/admin/reports?days=5").status_code == 400
    assert "Unknown category" in admin.get("/admin/reports?category=nope").get_data(as_text=True)
    assert admin.get("/admin/reports.csv?since=yesterday").status_code == 400
    assert staff().get("/admin/reports").status_code == 403
