"""/admin/routing: admins define categories and teams and set each agent's skills, team and capacities."""
from __future__ import annotations

import pytest

from handoff.people import agents
from handoff.routing import catalog


@pytest.fixture
def admin(staff, make_agent):
    return staff(make_agent("Ada Admin", role="admin", skills=()))


def test_an_admin_adds_a_category_and_a_team_and_gives_an_agent_the_skill(admin, make_agent):
    sam = make_agent("Sam Agent", skills=("billing",))
    assert admin.post("/admin/routing/teams", data={"name": "Returns desk"}).status_code == 302
    team = next(t for t in catalog.teams() if t["name"] == "Returns desk")
    assert admin.post("/admin/routing/categories",
                      data={"slug": "returns", "name": "Returns", "team_id": team["id"]}).status_code == 302
    assert "returns" in catalog.slugs()
    admin.post(f"/admin/routing/agents/{sam['id']}", data={"skills": ["billing", "returns"], "team_id": team["id"],
                                                           "capacity": "3", "ticket_capacity": "7"})
    saved = agents.get(sam["id"])
    assert (saved["skills"], saved["team_id"], saved["capacity"], saved["ticket_capacity"]) == \
        (["billing", "returns"], team["id"], 3, 7)
    page = admin.get("/admin/routing").get_data(as_text=True)
    assert "Returns desk" in page and 'value="returns"' in page
    # The new category is offered wherever categories are chosen.
    assert 'value="returns"' in admin.get("/admin/tickets").get_data(as_text=True)


@pytest.mark.parametrize("form, error", [
    ({"skills": ["astrology"], "capacity": "3", "ticket_capacity": "3"}, "Unknown skill(s) astrology"),
    ({"capacity": "-1", "ticket_capacity": "3"}, "The chat capacity is a whole number from 0 to 50."),
    ({"capacity": "2", "ticket_capacity": "lots"}, "The ticket capacity is a whole number from 0 to 50."),
    ({"capacity": "2", "ticket_capacity": "2", "team_id": "999"}, "There is no such team."),
])
def test_bad_agent_routing_is_refused_with_a_sentence_and_nothing_changes(admin, make_agent, form, error):
    sam = make_agent("Sam Agent", skills=("billing",))
    page = admin.post(f"/admin/routing/agents/{sam['id']}", data=form, follow_redirects=True).get_data(as_text=True)
    assert error in page
    saved = agents.get(sam["id"])
    assert (saved["skills"], saved["capacity"], saved["team_id"]) == (["billing"], 5, None)


@pytest.mark.parametrize("slug", ["", "A", "has space", "x" * 40, "1abc"])
def test_a_bad_category_code_is_refused(admin, slug):
    page = admin.post("/admin/routing/categories", data={"slug": slug, "name": "X"},
                      follow_redirects=True).get_data(as_text=True)
    assert "A category&#39;s code is 2-32 lowercase letters" in page or "A category's code" in page
    assert catalog.slugs() == ("billing", "account", "orders", "technical")


def test_only_admins_manage_routing(staff, client, make_agent):
    agent = staff(make_agent("Sam Agent"))
    for http in (agent, client):
        assert http.get("/admin/routing").status_code in (302, 403)
        assert http.post("/admin/routing/teams", data={"name": "Sneaky"}).status_code in (302, 403)
    assert catalog.teams() == []
