"""SLA timers: due in business time, warning at the ratio, breached at the due time, each level told once."""
from __future__ import annotations

from datetime import datetime, timedelta

from handoff.routing import sla
from handoff.routing.hours import ALWAYS, from_dict

TARGETS = sla.Targets(first_response_s=3600, next_response_s=1800, resolution_s=8 * 3600)
T0 = datetime(2026, 12, 1, 10, 0)
OFFICE = from_dict({"tz": "UTC", "week": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}})


def test_a_timer_is_due_after_its_target_in_business_time():
    timers = sla.start({}, "resolution", T0, TARGETS, OFFICE, 0.8)
    # 8 business hours from Tuesday 10:00 in a 09-17 office: Wednesday 10:00; warned at 6.4 h: 16:24.
    assert timers["resolution"]["due"] == "2026-12-02T10:00:00.000"
    assert timers["resolution"]["warn"] == "2026-12-01T16:24:00.000"


def test_states_move_from_ok_to_warning_to_breached_and_stop_as_met_or_missed():
    timer = sla.start({}, "first_response", T0, TARGETS, ALWAYS, 0.8)["first_response"]
    assert sla.state(timer, T0 + timedelta(minutes=47)) == "ok"
    assert sla.state(timer, T0 + timedelta(minutes=48)) == "warning"
    assert sla.state(timer, T0 + timedelta(minutes=60)) == "breached"
    assert sla.state(sla.stop({"f": timer}, "f", T0 + timedelta(minutes=59))["f"], T0) == "met"
    assert sla.state(sla.stop({"f": timer}, "f", T0 + timedelta(minutes=61))["f"], T0) == "missed"


def test_each_level_is_announced_once_and_a_late_look_announces_only_the_breach():
    timers = sla.start({}, "first_response", T0, TARGETS, ALWAYS, 0.8)
    assert sla.next_check(timers) == T0 + timedelta(minutes=48)
    timers, found = sla.notices(timers, T0 + timedelta(minutes=50))
    assert found == [("first_response", "warning")]
    assert sla.notices(timers, T0 + timedelta(minutes=55))[1] == []
    assert sla.next_check(timers) == T0 + timedelta(minutes=60)
    timers, found = sla.notices(timers, T0 + timedelta(minutes=61))
    assert found == [("first_response", "breached")] and sla.next_check(timers) is None

    late = sla.start({}, "first_response", T0, TARGETS, ALWAYS, 0.8)
    assert sla.notices(late, T0 + timedelta(hours=5))[1] == [("first_response", "breached")]


def test_a_stopped_timer_is_no_longer_watched_and_no_target_means_no_timer():
    timers = sla.stop(sla.start({}, "first_response", T0, TARGETS, ALWAYS, 0.8), "first_response", T0)
    assert sla.next_check(timers) is None and sla.nearest_due(timers) is None
    assert sla.notices(timers, T0 + timedelta(days=3))[1] == []
    assert sla.start({}, "first_response", T0, sla.Targets(), ALWAYS, 0.8) == {}


def test_the_view_gives_browsers_utc_times_and_states():
    timers = sla.start({}, "first_response", T0, TARGETS, ALWAYS, 0.8)
    shown = sla.view(timers, T0 + timedelta(minutes=50))
    assert shown == [{"name": "first_response", "label": "first response", "due": "2026-12-01T11:00:00.000Z",
                      "warn": "2026-12-01T10:48:00.000Z", "done": None, "state": "warning"}]
