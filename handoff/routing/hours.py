"""Business hours: a team's weekly opening times in its own time zone, less its holidays, as a calendar.

Pure: times in and out are naive UTC, as the database keeps them. A day's opening closes at or before its
opening time on the next day (22:00-06:00 is a night shift; 24:00 is the end of the day). A holiday
closes the openings that start on that local date. `ALWAYS` (no hours set) is open at every moment, so
a desk that never set hours keeps working as before.

Wall-clock times are turned into instants with zoneinfo: on the night clocks go back, a repeated hour
counts once (its first occurrence); a time the clocks skip in spring falls an hour later.
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
END_OF_DAY = time.max  # "24:00"
MAX_HOLIDAYS = 200
_SEARCH_DAYS = 400  # a calendar with no opening in the next 400 days is never open
_CHUNK_DAYS = 14


@dataclass(frozen=True)
class Hours:
    tz: str = "UTC"
    # weekday (0 = Monday) -> ((open, close), ...); None: always open
    week: dict | None = None
    holidays: frozenset = field(default_factory=frozenset)

    @property
    def always(self) -> bool:
        return self.week is None

    # --- the calendar --------------------------------------------------------------------------------

    def openings(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The open intervals (naive UTC, merged, clipped) overlapping [start, end)."""
        if end <= start:
            return []
        if self.always:
            return [(start, end)]
        zone = ZoneInfo(self.tz)
        first = _local(start, zone).date() - timedelta(days=1)
        last = _local(end, zone).date()
        raw = []
        day = first
        while day <= last:
            if day not in self.holidays:
                for opens, closes in self.week.get(day.weekday(), ()):
                    a = _utc(datetime.combine(day, opens), zone)
                    close_day = day if closes > opens else day + timedelta(days=1)
                    b = _utc(datetime.combine(close_day, time(0)) + timedelta(days=1), zone) \
                        if closes == END_OF_DAY else _utc(datetime.combine(close_day, closes), zone)
                    if b > a and b > start and a < end:
                        raw.append((max(a, start), min(b, end)))
            day += timedelta(days=1)
        raw.sort()
        merged: list[list[datetime]] = []
        for a, b in raw:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        return [(a, b) for a, b in merged]

    def is_open(self, at: datetime) -> bool:
        return bool(self.openings(at, at + timedelta(microseconds=1)))

    def next_open(self, at: datetime) -> datetime | None:
        """`at` if open then, else when it next opens; None if it never opens within a year or so."""
        for offset in range(0, _SEARCH_DAYS, _CHUNK_DAYS):
            start = at + timedelta(days=offset)
            found = self.openings(start, start + timedelta(days=_CHUNK_DAYS))
            if found:
                return found[0][0]
        return None

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Open time between the two moments (0 if end is before start)."""
        return sum((b - a for a, b in self.openings(start, end)), timedelta()).total_seconds()

    def add_business_seconds(self, start: datetime, seconds: float) -> datetime | None:
        """The moment `seconds` of open time after `start`; None if the calendar never opens."""
        left = timedelta(seconds=seconds)
        if left <= timedelta(0):
            return start
        cursor, give_up = start, start + timedelta(days=_SEARCH_DAYS + left.days)
        while cursor < give_up:
            chunk_end = cursor + timedelta(days=_CHUNK_DAYS)
            for a, b in self.openings(cursor, chunk_end):
                if b - a >= left:
                    return a + left
                left -= b - a
            cursor = chunk_end
        return None

    # --- as stored and as admins write it ------------------------------------------------------------

    def as_dict(self) -> dict | None:
        if self.always:
            return None
        return {"tz": self.tz,
                "week": {DAYS[d]: [[_hhmm(a), _hhmm(b)] for a, b in spans] for d, spans in sorted(self.week.items())},
                "holidays": sorted(d.isoformat() for d in self.holidays)}


ALWAYS = Hours()


@functools.cache
def _zones() -> frozenset:
    return frozenset(available_timezones())


def _local(at: datetime, zone: ZoneInfo) -> datetime:
    return at.replace(tzinfo=timezone.utc).astimezone(zone)


def _utc(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)


def _hhmm(t: time) -> str:
    return "24:00" if t == END_OF_DAY else t.strftime("%H:%M")


class HoursError(ValueError):
    """Hours as an admin wrote them that cannot be a calendar; the message says what to fix."""


def parse_time(text: str) -> time:
    m = _HHMM.match((text or "").strip())
    if not m or (m.group(1) == "24" and m.group(2) != "00"):
        raise HoursError(f"{text!r} is not a time; write it as HH:MM, 00:00 to 24:00.")
    return END_OF_DAY if m.group(1) == "24" else time(int(m.group(1)), int(m.group(2)))


def parse_span(text: str) -> tuple[time, time]:
    """'09:00-17:30' (a night shift like '22:00-06:00' closes the next day)."""
    parts = (text or "").split("-")
    if len(parts) != 2:
        raise HoursError(f"{text!r} is not opening hours; write them like 09:00-17:30.")
    opens, closes = parse_time(parts[0]), parse_time(parts[1])
    if opens == END_OF_DAY or opens == closes:
        raise HoursError(f"{text!r} opens and closes at the same time.")
    return opens, closes


def from_dict(data: dict | None) -> Hours:
    """The stored form (or an admin's): {"tz", "week": {"mon": [["09:00", "17:00"]], ...}, "holidays": [...]}."""
    if not data:
        return ALWAYS
    tz = str(data.get("tz") or "UTC")
    try:
        if tz not in _zones():
            raise ZoneInfoNotFoundError(tz)
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"{tz!r} is not a time zone; use a name like Europe/Berlin or America/New_York.") from None
    week: dict[int, tuple] = {}
    for name, spans in (data.get("week") or {}).items():
        if name not in DAYS:
            raise HoursError(f"{name!r} is not a weekday; use {', '.join(DAYS)}.")
        parsed = tuple(parse_span("-".join(s)) if isinstance(s, (list, tuple)) else parse_span(s) for s in spans)
        if parsed:
            week[DAYS.index(name)] = parsed
    if not week:
        raise HoursError("Open on at least one day, or clear the hours to be always open.")
    holidays = set()
    for d in data.get("holidays") or ():
        try:
            holidays.add(date.fromisoformat(str(d).strip()))
        except ValueError:
            raise HoursError(f"{d!r} is not a date; write holidays as YYYY-MM-DD.") from None
    if len(holidays) > MAX_HOLIDAYS:
        raise HoursError(f"At most {MAX_HOLIDAYS} holidays.")
    return Hours(tz=tz, week=week, holidays=frozenset(holidays))
