"""A working day at the desk, simulated: our assignment beside "first to accept" and plain round-robin.

A seeded discrete-event simulation (one heap of timed events). The three policies meet the same day: the
same chats and tickets at the same moments, with the same topics, priorities and handling times, and the
same agents on the same shifts. "Ours" calls the service's own choice (`handoff.routing.selector.choose`
and `queue_key`) with the service's accept timeout and skill wait (routing/policy.py); the other two are
written here.

The day (assumptions, all in DAY below):
- 2,000 chats and 400 tickets between 08:00 and 22:00. Arrival times are drawn from a two-hump rate (late
  morning, evening) over a low base: a non-homogeneous Poisson process conditioned on its count, drawn by
  thinning, so the day has exactly the stated volume.
- Topics billing / orders / technical, or none (no skill needed). Priorities urgent 5%, high 15%, normal
  70%, low 10%.
- 12 agents in 3 teams of 4, one team per topic, one agent per team also skilled in the next team's
  topic. Shifts of 8 hours, staggered so that both humps are covered. At most 4 chats at once (capacity)
  and 2 tickets in hand (ticket capacity) per agent; chats and tickets do not share places.
- Handling times are lognormal: a chat median 4 min (sigma 0.6), a ticket median 15 min (sigma 0.8); an
  agent without the topic's skill takes 1.5x as long. An agent reacts to an offer or a new chat in a
  lognormal time, median 8 s (sigma 0.8: about 1 in 20 takes over 30 s).
- First response is the moment an agent takes the chat (accepts, grabs, or starts it from their backlog);
  for a ticket the moment an agent starts on it. SLA targets, first response: chats urgent 1 min, high
  2 min, normal 3 min, low 5 min; tickets urgent 30 min, high 1 h, normal 4 h, low 8 h. Nobody gives up.
- Agents finish what they hold after their shift, and start nothing new (a round-robin backlog they did
  not reach waits, like the queue, for the next day: "unserved").

The policies:
- ours: each queued chat, in queue order, is offered to `choose()`'s agent; the offer holds a place; an
  agent who has not answered within the accept timeout loses it, is set away and comes back 2 min later;
  a chat no ready agent is skilled in waits up to the skill wait, then anyone with room may take it.
  Tickets likewise, within their topic's team, under the ticket capacity.
- first to accept: every agent with room sees the queue; each reaches for its head after their reaction
  time, and whoever gets there first takes it, whatever their skills. Tickets: an agent with a free
  ticket place takes the oldest unassigned ticket.
- round-robin: each new chat goes to the next agent in a fixed cycle who is on shift, ignoring load and
  skill (as Chatwoot's does, its issue #13050). Beyond their capacity it waits in that agent's own
  backlog until one of their chats ends. Tickets: a second cycle, under the ticket capacity likewise.
"""
from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from handoff.routing.policy import Policy
from handoff.routing.selector import Candidate, choose, queue_key

from .common import percentile

HOUR = 3600.0
MIN = 60.0
EPOCH = datetime(2026, 1, 5)  # a Monday; selector compares datetimes, the simulation counts seconds

TOPICS = ("billing", "orders", "technical")
DAY = {
    "chats": 2000, "tickets": 400, "opens_h": 8.0, "closes_h": 22.0,
    # rate(t) = base + hump(11:00, sd 1.2 h) + hump(19:30, sd 1.4 h), relative units: the peaks come at
    # about 2.5x the quietest hour's rate
    "humps": ((11.0, 1.2, 1.0), (19.5, 1.4, 1.0)), "base": 0.4,
    "topic_share": {"billing": 0.3, "orders": 0.35, "technical": 0.25, None: 0.1},
    "priority_share": {"urgent": 0.05, "high": 0.15, "normal": 0.7, "low": 0.1},
    "shifts_h": ((8, 16), (9, 17), (13, 21), (14, 22)),  # each team's four agents
    "chat_capacity": 4, "ticket_capacity": 2,
    "chat_median_min": 4.0, "chat_sigma": 0.6, "ticket_median_min": 15.0, "ticket_sigma": 0.8,
    "unskilled_factor": 1.5, "reaction_median_s": 8.0, "reaction_sigma": 0.8, "away_for_s": 120.0,
}
CHAT_SLA_S = {"urgent": 60, "high": 120, "normal": 180, "low": 300}
TICKET_SLA_S = {"urgent": 30 * MIN, "high": HOUR, "normal": 4 * HOUR, "low": 8 * HOUR}
POLICIES = ("ours", "first_to_accept", "round_robin")


@dataclass
class Work:
    id: int
    kind: str  # chat | ticket
    arrives: float
    topic: str | None
    priority: str
    base_handle: float  # seconds, for a skilled agent
    agent: int | None = None
    started: float | None = None  # first response
    done: float | None = None
    skilled: bool | None = None
    offers: int = 0


@dataclass
class Agent:
    id: int
    team: int
    skills: frozenset
    shift: tuple[float, float]
    chats: int = 0  # chats held, offers included
    tickets: int = 0
    away_until: float = 0.0
    last_assigned: float | None = None
    reaching: bool = False
    backlog: list = field(default_factory=list)  # round-robin: chats and tickets handed over beyond capacity
    handled: int = 0
    busy_s: float = 0.0
    most_held: int = 0  # chats in hand (offers included) at once
    most_handed: int = 0  # round-robin: chats handed to them at once, their backlog included

    def on_shift(self, t: float) -> bool:
        return self.shift[0] <= t < self.shift[1]


def gini(values: list[float]) -> float:
    """0 when every agent carries the same load, towards 1 when one carries it all."""
    n, total = len(values), sum(values)
    if n == 0 or total == 0:
        return 0.0
    ordered = sorted(values)
    return sum((2 * i - n + 1) * x for i, x in enumerate(ordered)) / (n * total)


def _rate(t_h: float, day: dict) -> float:
    return day["base"] + sum(w * math.exp(-0.5 * ((t_h - mu) / sd) ** 2) for mu, sd, w in day["humps"])


def arrivals(rng: random.Random, n: int, day: dict) -> list[float]:
    """n arrival times (seconds since midnight) of the two-hump process, by thinning."""
    lo, hi = day["opens_h"], day["closes_h"]
    peak = max(_rate(lo + (hi - lo) * i / 500, day) for i in range(501))
    times = []
    while len(times) < n:
        t_h = rng.uniform(lo, hi)
        if rng.random() * peak <= _rate(t_h, day):
            times.append(t_h * HOUR)
    return sorted(times)


def _pick(rng: random.Random, shares: dict):
    r, acc = rng.random(), 0.0
    for value, share in shares.items():
        acc += share
        if r < acc:
            return value
    return value


def make_day(seed: int, day: dict = DAY) -> tuple[list[Work], list[Agent]]:
    rng = random.Random(seed)
    work = []
    for kind, count, median, sigma in (("chat", day["chats"], day["chat_median_min"], day["chat_sigma"]),
                                       ("ticket", day["tickets"], day["ticket_median_min"], day["ticket_sigma"])):
        for t in arrivals(rng, count, day):
            work.append(Work(len(work), kind, t, _pick(rng, day["topic_share"]), _pick(rng, day["priority_share"]),
                             rng.lognormvariate(math.log(median * MIN), sigma)))
    agents = []
    for team, topic in enumerate(TOPICS):
        for i, (start, end) in enumerate(day["shifts_h"]):
            skills = {topic} | ({TOPICS[(team + 1) % len(TOPICS)]} if i == 0 else set())
            agents.append(Agent(len(agents), team, frozenset(skills), (start * HOUR, end * HOUR)))
    return work, agents


class Desk:
    """One policy's day: the event heap and the bookkeeping every policy shares."""

    def __init__(self, policy: str, work: list[Work], agents: list[Agent], seed: int, day: dict = DAY,
                 routing: Policy | None = None):
        self.policy, self.day, self.routing = policy, day, routing or Policy()
        self.work, self.agents = work, agents
        self.rng = random.Random(seed + 1)  # reaction times: seeded alike, drawn in each policy's own order
        self.events: list = []
        self.seq = 0
        self.queue: list[Work] = []  # chats waiting, not offered
        self.tickets_waiting: list[Work] = []
        self.cycle = {"chat": 0, "ticket": 0}
        self.rechecks: set[int] = set()
        self.now = 0.0
        self.lapses = 0
        self.team_of_topic = {topic: team for team, topic in enumerate(TOPICS)}
        self.chat_capacity, self.ticket_capacity = day["chat_capacity"], day["ticket_capacity"]

    # --- the clock --------------------------------------------------------------------------------
    def at(self, t: float, kind: str, *payload) -> None:
        self.seq += 1
        heapq.heappush(self.events, (t, self.seq, kind, payload))

    def reaction(self) -> float:
        return self.rng.lognormvariate(math.log(self.day["reaction_median_s"]), self.day["reaction_sigma"])

    def run(self) -> "Desk":
        for w in self.work:
            self.at(w.arrives, "arrive", w)
        for a in self.agents:  # shift starts and ends change who may take work
            self.at(a.shift[0], "shift")
            self.at(a.shift[1], "shift")
        while self.events:
            self.now, _, kind, payload = heapq.heappop(self.events)
            getattr(self, f"_on_{kind}")(*payload)
            self.dispatch()
        return self

    # --- shared transitions -----------------------------------------------------------------------
    def _on_shift(self) -> None:
        pass

    def _on_recheck(self) -> None:
        pass

    def _on_back(self, a: Agent) -> None:
        pass

    def _on_arrive(self, w: Work) -> None:
        if self.policy == "round_robin":
            self.hand_round(w)
        elif w.kind == "chat":
            self.queue.append(w)
        else:
            self.tickets_waiting.append(w)

    def start(self, w: Work, a: Agent, at: float) -> None:
        """The agent takes it: the first response, and the end of the work scheduled."""
        w.agent, w.started = a.id, at
        w.skilled = w.topic is None or w.topic in a.skills
        handle = w.base_handle * (1.0 if w.skilled else self.day["unskilled_factor"])
        a.handled += 1
        a.busy_s += handle
        self.at(at + handle, "done", w, a)

    def _on_done(self, w: Work, a: Agent) -> None:
        w.done = self.now
        if w.kind == "chat":
            a.chats -= 1
        else:
            a.tickets -= 1
        if a.backlog and a.on_shift(self.now):  # round-robin: the next item the agent was handed starts now
            nxt = next((b for b in a.backlog if b.kind == w.kind), None)
            if nxt is not None:
                a.backlog.remove(nxt)
                self._hold(a, nxt)
                self.start(nxt, a, self.now)

    def _hold(self, a: Agent, w: Work) -> None:
        if w.kind == "chat":
            a.chats += 1
        else:
            a.tickets += 1
        a.most_held = max(a.most_held, a.chats)
        a.most_handed = max(a.most_handed, a.chats)

    def _room(self, a: Agent, kind: str) -> bool:
        return a.chats < self.chat_capacity if kind == "chat" else a.tickets < self.ticket_capacity

    def dispatch(self) -> None:
        getattr(self, f"_dispatch_{self.policy}")()

    # --- ours ---------------------------------------------------------------------------------------
    def _ready(self, kind: str) -> list[Candidate]:
        t = self.now
        return [Candidate(id=a.id, capacity=self.chat_capacity if kind == "chat" else self.ticket_capacity,
                          open=a.chats if kind == "chat" else a.tickets, skills=a.skills, team_id=a.team,
                          last_assigned_at=None if a.last_assigned is None else EPOCH + timedelta(seconds=a.last_assigned))
                for a in self.agents if a.on_shift(t) and a.away_until <= t]

    def _dispatch_ours(self) -> None:
        skill_wait = self.routing.skill_wait
        for kind, line in (("chat", self.queue), ("ticket", self.tickets_waiting)):
            if not line:
                continue
            ready = self._ready(kind)
            if not any(c.has_room for c in ready):
                continue
            line.sort(key=lambda w: (queue_key(False, w.priority, EPOCH + timedelta(seconds=w.arrives)), w.id))
            for w in list(line):
                waited = self.now - w.arrives
                team = self.team_of_topic.get(w.topic) if kind == "ticket" else None
                best = choose(ready, w.topic, skill_exists=w.topic is not None, waited_s=waited,
                              skill_wait=skill_wait, team_id=team)
                if best is None:
                    if kind == "chat" and w.id not in self.rechecks and waited < skill_wait:
                        self.rechecks.add(w.id)  # anyone may take it once the skill wait is over
                        self.at(w.arrives + skill_wait, "recheck")
                    continue
                a = self.agents[best.id]
                best.open += 1
                best.last_assigned_at = EPOCH + timedelta(seconds=self.now)
                a.last_assigned = self.now
                line.remove(w)
                self._hold(a, w)
                if kind == "ticket":
                    self.start(w, a, self.now)
                    continue
                w.offers += 1
                answer = self.reaction()
                if answer <= self.routing.accept_timeout:
                    self.at(self.now + answer, "accept", w, a)
                else:
                    self.at(self.now + self.routing.accept_timeout, "lapse", w, a)
                if not any(c.has_room for c in ready):
                    break

    def _on_accept(self, w: Work, a: Agent) -> None:
        self.start(w, a, self.now)

    def _on_lapse(self, w: Work, a: Agent) -> None:
        self.lapses += 1
        a.chats -= 1
        a.away_until = self.now + self.day["away_for_s"]
        self.at(a.away_until, "back", a)
        self.queue.append(w)

    # --- first to accept ------------------------------------------------------------------------------
    def _dispatch_first_to_accept(self) -> None:
        t = self.now
        for a in self.agents:
            if not a.on_shift(t):
                continue
            if self.tickets_waiting and self._room(a, "ticket"):
                w = min(self.tickets_waiting, key=lambda x: (x.arrives, x.id))
                self.tickets_waiting.remove(w)
                self._hold(a, w)
                self.start(w, a, t)
            if self.queue and not a.reaching and self._room(a, "chat"):
                a.reaching = True
                self.at(t + self.reaction(), "grab", a)

    def _on_grab(self, a: Agent) -> None:
        a.reaching = False
        if not self.queue or not a.on_shift(self.now) or not self._room(a, "chat"):
            return  # someone was quicker
        w = min(self.queue, key=lambda x: (queue_key(False, x.priority, EPOCH + timedelta(seconds=x.arrives)), x.id))
        self.queue.remove(w)
        w.offers += 1
        self._hold(a, w)
        self.start(w, a, self.now)

    # --- round-robin ----------------------------------------------------------------------------------
    def _dispatch_round_robin(self) -> None:
        pass  # everything is handed over on arrival

    def hand_round(self, w: Work) -> None:
        n = len(self.agents)
        for step in range(n):
            a = self.agents[(self.cycle[w.kind] + step) % n]
            if a.on_shift(self.now):
                self.cycle[w.kind] = (a.id + 1) % n
                w.offers += 1
                if self._room(a, w.kind):
                    self._hold(a, w)
                    self.start(w, a, self.now + (self.reaction() if w.kind == "chat" else 0.0))
                else:
                    a.backlog.append(w)
                    a.most_handed = max(a.most_handed, a.chats + sum(b.kind == "chat" for b in a.backlog))
                return
        (self.queue if w.kind == "chat" else self.tickets_waiting).append(w)  # nobody on shift

    # --- what it comes to -----------------------------------------------------------------------------
    def summary(self) -> dict:
        out = {}
        for kind, sla, unit in (("chat", CHAT_SLA_S, 1.0), ("ticket", TICKET_SLA_S, MIN)):
            items = [w for w in self.work if w.kind == kind]
            served = [w for w in items if w.started is not None]
            waits = [(w.started - w.arrives) / unit for w in served]
            met = sum(w.started is not None and w.started - w.arrives <= sla[w.priority] for w in items)
            by_priority = {}
            for p in sla:
                mine = [w for w in items if w.priority == p]
                ok = sum(w.started is not None and w.started - w.arrives <= sla[p] for w in mine)
                by_priority[p] = round(ok / len(mine), 3) if mine else None
            topical = [w for w in served if w.topic is not None]
            out[kind] = {
                "n": len(items), "served": len(served), "unserved": len(items) - len(served),
                "wait_unit": "s" if kind == "chat" else "min",
                "wait_p50": _r(percentile(waits, 50)), "wait_p95": _r(percentile(waits, 95)),
                "wait_max": _r(max(waits) if waits else None),
                "sla_met": round(met / len(items), 3) if items else None, "sla_by_priority": by_priority,
                "skilled_share": round(sum(w.skilled for w in topical) / len(topical), 3) if topical else None,
            }
        out["load"] = {
            "gini_items": round(gini([a.handled for a in self.agents]), 3),
            "gini_busy": round(gini([a.busy_s for a in self.agents]), 3),
            "items_per_agent_min_max": [min(a.handled for a in self.agents), max(a.handled for a in self.agents)],
            "most_chats_on_one_agent": max(a.most_handed for a in self.agents),
            "missed_offers": self.lapses,
        }
        return out


def _r(value):
    return None if value is None else round(value, 1)


def simulate(policy: str, seed: int = 11, day: dict = DAY, routing: Policy | None = None) -> Desk:
    work, agents = make_day(seed, day)
    return Desk(policy, work, agents, seed, day, routing).run()


def measure(seed: int = 11, progress=lambda msg: None) -> dict:
    routing = Policy()
    result = {"seed": seed, "day": {k: v for k, v in DAY.items() if k not in ("humps", "topic_share")},
              "accept_timeout_s": routing.accept_timeout, "skill_wait_s": routing.skill_wait,
              "chat_sla_s": CHAT_SLA_S, "ticket_sla_min": {k: v / MIN for k, v in TICKET_SLA_S.items()}}
    for policy in POLICIES:
        result[policy] = simulate(policy, seed, routing=routing).summary()
        progress(f"routing simulation: {policy} done")
    return result
