"""Business hours as a calendar: open or not, when it opens, and open time counted between two moments."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.routing.hours import ALWAYS, HoursError, from_dict

# Monday to Friday 09:00-17:00 in Berlin (UTC+1 in winter, UTC+2 in summer).
BERLIN = from_dict({"tz": "Europe/Berlin", "week": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
                    "holidays": ["2026-12-25"]})
NIGHTS = from_dict({"tz": "UTC", "week": {"fri": ["22:00-06:00"], "sat": ["22:00-24:00"]}})


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text)


@pytest.mark.parametrize("at, is_open", [
    ("2026-12-01T07:59:59", False),  # Tuesday 08:59:59 in Berlin
    ("2026-12-01T08:00:00", True),   # 09:00 opens
    ("2026-12-01T15:59:59", True),
    ("2026-12-01T16:00:00", False),  # 17:00 closes
    ("2026-12-05T10:00:00", False),  # a Saturday
    ("2026-12-25T10:00:00", False),  # a holiday (a Friday)
    ("2026-07-01T07:00:00", True),   # summer time: 09:00 in Berlin is 07:00 UTC
    ("2026-07-01T15:00:00", False),
])
def test_open_at_the_local_hours(at, is_open):
    assert BERLIN.is_open(utc(at)) is is_open


def test_next_open_skips_the_weekend_and_holidays():
    assert BERLIN.next_open(utc("2026-12-04T18:00:00")) == utc("2026-12-07T08:00:00")  # Friday evening -> Monday
    assert BERLIN.next_open(utc("2026-12-24T17:00:00")) == utc("2026-12-28T08:00:00")  # Christmas Day is closed
    assert BERLIN.next_open(utc("2026-12-01T10:00:00")) == utc("2026-12-01T10:00:00")  # open already


def test_a_night_shift_runs_into_the_next_day_and_the_week_wraps():
    assert NIGHTS.is_open(utc("2026-12-05T03:00:00"))  # Saturday 03:00, from Friday's shift
    assert not NIGHTS.is_open(utc("2026-12-05T06:00:00"))
    assert NIGHTS.is_open(utc("2026-12-05T23:59:00"))  # Saturday until midnight
    assert NIGHTS.next_open(utc("2026-12-06T00:00:00")) == utc("2026-12-11T22:00:00")  # Sunday -> next Friday
    assert NIGHTS.business_seconds(utc("2026-12-04T00:00:00"), utc("2026-12-07T00:00:00")) == 10 * 3600


def test_business_seconds_count_only_open_time():
    # Friday 16:00 Berlin to Monday 10:00 Berlin: one hour on Friday, one on Monday.
    assert BERLIN.business_seconds(utc("2026-12-04T15:00:00"), utc("2026-12-07T09:00:00")) == 2 * 3600
    assert BERLIN.business_seconds(utc("2026-12-07T09:00:00"), utc("2026-12-04T15:00:00")) == 0


def test_adding_business_time_carries_over_closed_time():
    # 4 business hours from Friday 15:00 Berlin: two on Friday, two on Monday -> Monday 11:00 Berlin.
    assert BERLIN.add_business_seconds(utc("2026-12-04T14:00:00"), 4 * 3600) == utc("2026-12-07T10:00:00")
    # Started while closed, the clock starts at opening.
    assert BERLIN.add_business_seconds(utc("2026-12-05T12:00:00"), 60) == utc("2026-12-07T08:01:00")


def test_the_days_clocks_change_are_as_long_as_they_are():
    around_the_clock = from_dict({"tz": "Europe/Berlin", "week": {d: ["00:00-24:00"] for d in
                                                                  ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}})
    # Sunday 29 March 2026 has 23 hours in Berlin, Sunday 25 October 25.
    assert around_the_clock.business_seconds(utc("2026-03-28T23:00:00"), utc("2026-03-29T22:00:00")) == 23 * 3600
    assert around_the_clock.business_seconds(utc("2026-10-24T22:00:00"), utc("2026-10-25T23:00:00")) == 25 * 3600
    # The spring-forward gap: 02:00-03:00 does not exist; an opening at 02:30 opens at 03:30 summer time.
    early = from_dict({"tz": "Europe/Berlin", "week": {"sun": ["02:30-04:00"]}})
    assert early.next_open(utc("2026-03-29T00:00:00")) == utc("2026-03-29T01:30:00")
    assert early.business_seconds(utc("2026-03-29T00:00:00"), utc("2026-03-30T00:00:00")) == 30 * 60


def test_no_hours_is_always_open():
    at = utc("2026-12-05T03:00:00")
    assert ALWAYS.is_open(at) and ALWAYS.next_open(at) == at
    assert ALWAYS.add_business_seconds(at, 90) == at + timedelta(seconds=90)
    assert from_dict(None) is ALWAYS


@pytest.mark.parametrize("data, says", [
    ({"tz": "Mars/Olympus", "week": {"mon": ["09:00-17:00"]}}, "not a time zone"),
    ({"tz": "UTC", "week": {"funday": ["09:00-17:00"]}}, "not a weekday"),
    ({"tz": "UTC", "week": {"mon": ["9-5"]}}, "HH:MM"),
    ({"tz": "UTC", "week": {"mon": ["09:00-09:00"]}}, "same time"),
    ({"tz": "UTC", "week": {"mon": ["24:30-25:00"]}}, "HH:MM"),
    ({"tz": "UTC", "week": {}}, "at least one day"),
    ({"tz": "UTC", "week": {"mon": ["09:00-17:00"]}, "holidays": ["25/12/2026"]}, "YYYY-MM-DD"),
])
def test_hours_that_cannot_be_a_calendar_are_refused_with_what_to_fix(data, says):
    with pytest.raises(HoursError, match=says):
        from_dict(data)


def test_the_stored_form_reads_back_the_same():
    assert from_dict(BERLIN.as_dict()) == BERLIN
    assert from_dict(NIGHTS.as_dict()) == NIGHTS


span = st.tuples(st.integers(0, 23), st.sampled_from([0, 30]), st.integers(1, 16)).map(
    lambda x: f"{x[0]:02d}:{x[1]:02d}-{(x[0] + x[2]) % 24:02d}:{x[1]:02d}")
calendars = st.builds(
    lambda tz, week, holidays: from_dict({"tz": tz, "week": week, "holidays": holidays}),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata"]),
    st.dictionaries(st.sampled_from(["mon", "tue", "wed", "thu", "fri", "sat", "sun"]),
                    st.lists(span, min_size=1, max_size=2), min_size=1),
    st.lists(st.dates(min_value=datetime(2026, 1, 1).date(), max_value=datetime(2027, 12, 31).date()), max_size=5),
)
moments = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 6, 30)).map(
    lambda d: d.replace(microsecond=0))


@settings(max_examples=150, deadline=None)
@given(calendars, moments, st.integers(0, 40 * 3600))
def test_adding_then_measuring_gives_back_the_business_time(hours, start, seconds):
    end = hours.add_business_seconds(start, seconds)
    assert end is not None and end >= start
    assert hours.business_seconds(start, end) == seconds
    if seconds:  # reached while open, not somewhere in the closed stretch after
        assert hours.business_seconds(end - timedelta(seconds=1), end) == 1
