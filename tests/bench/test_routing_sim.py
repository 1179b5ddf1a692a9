"""The routing simulation's bookkeeping (bench/routing_sim.py): a report built on it is only as good as this."""
from __future__ import annotations

import time

import pytest

from bench import routing_sim
from bench.routing_sim import DAY, HOUR, POLICIES, gini, make_day, simulate
from handoff.routing.policy import Policy


@pytest.fixture(scope="module")
def days():
    return {policy: simulate(policy, seed=3) for policy in POLICIES}


def test_gini_is_zero_for_equal_loads_and_grows_as_one_agent_carries_more():
    assert gini([7, 7, 7, 7]) == 0
    assert gini([]) == 0 and gini([0, 0]) == 0
    assert gini([0, 0, 0, 12]) == pytest.approx(0.75)  # one of four carries it all: (n - 1) / n
    assert gini([1, 2, 3, 4]) < gini([0, 1, 2, 7])


def test_the_day_has_the_stated_volume_inside_opening_hours_with_two_peaks():
    work, agents = make_day(3)
    chats = sorted(w.arrives / HOUR for w in work if w.kind == "chat")
    assert len(chats) == DAY["chats"] and sum(w.kind == "ticket" for w in work) == DAY["tickets"]
    assert DAY["opens_h"] <= chats[0] and chats[-1] < DAY["closes_h"]

    def per_hour(lo, hi):
        return sum(lo <= t < hi for t in chats) / (hi - lo)

    assert per_hour(10, 12) > 1.5 * per_hour(14.5, 16.5) < per_hour(18.5, 20.5)
    assert len(agents) == 12 and {a.team for a in agents} == {0, 1, 2}


@pytest.mark.parametrize("policy", POLICIES)
def test_nothing_is_lost_and_every_item_is_handled_once_in_order(days, policy):
    desk = days[policy]
    served = [w for w in desk.work if w.started is not None]
    waiting = desk.queue + desk.tickets_waiting + [w for a in desk.agents for w in a.backlog]
    assert len(served) + len(waiting) == len(desk.work)
    assert not {w.id for w in served} & {w.id for w in waiting}
    assert all(w.arrives <= w.started < w.done and w.agent is not None for w in served)
    assert sum(a.handled for a in desk.agents) == len(served)
    summary = desk.summary()
    assert summary["chat"]["served"] + summary["ticket"]["served"] == len(served)


@pytest.mark.parametrize("policy", POLICIES)
def test_no_agent_ever_works_on_more_than_their_capacity(days, policy):
    """Rebuilt from the items' own start and end times, not from the counters the simulation keeps."""
    desk = days[policy]
    for a in desk.agents:
        for kind, capacity in (("chat", DAY["chat_capacity"]), ("ticket", DAY["ticket_capacity"])):
            edges = sorted([(w.started, 1) for w in desk.work if w.agent == a.id and w.kind == kind]
                           + [(w.done, -1) for w in desk.work if w.agent == a.id and w.kind == kind])
            held = peak = 0
            for _, step in edges:  # an end at the same moment as a start comes first (-1 < 1)
                held += step
                peak = max(peak, held)
            assert peak <= capacity, (policy, a.id, kind, peak)
        assert a.chats == 0 and a.tickets == 0, "the counters must come back to zero at the end of the day"


def test_nobody_takes_work_outside_their_shift(days):
    for policy in ("ours", "first_to_accept"):  # round-robin hands over on arrival, checked separately
        desk = days[policy]
        for w in desk.work:
            if w.started is not None and w.kind == "ticket":
                shift = desk.agents[w.agent].shift
                assert shift[0] <= w.started < shift[1], (policy, w)


def test_the_same_seed_gives_the_same_day_and_another_seed_another():
    assert simulate("ours", seed=5).summary() == simulate("ours", seed=5).summary()
    assert simulate("ours", seed=5).summary() != simulate("ours", seed=6).summary()


def test_ours_reaches_skilled_agents_more_often_than_the_skill_blind_policies(days):
    ours = days["ours"].summary()
    for other in ("first_to_accept", "round_robin"):
        assert ours["chat"]["skilled_share"] > days[other].summary()["chat"]["skilled_share"], other


def test_a_shorter_accept_timeout_means_more_missed_offers(days):
    quick = simulate("ours", seed=3, routing=Policy(accept_timeout=10.0))
    assert quick.lapses > days["ours"].lapses > 0
    assert days["first_to_accept"].lapses == days["round_robin"].lapses == 0


def test_the_whole_comparison_runs_in_seconds():
    started = time.monotonic()
    result = routing_sim.measure(seed=1)
    assert time.monotonic() - started < 30
    assert set(POLICIES) <= set(result) and result["ours"]["chat"]["n"] == DAY["chats"]
