"""Sockets' rooms, indexed by socket (handoff.chat.sockets.rooms): the same memberships as python-socketio's
own manager keeps, whatever sockets join, leave, close rooms and disconnect."""
from __future__ import annotations

import itertools

import socketio
from hypothesis import given, settings
from hypothesis import strategies as st

from handoff.chat.sockets.rooms import IndexedManager

SIDS = [f"s{i}" for i in range(4)]
ROOMS = ["conversation:1", "conversation:2", "agents"]


class _Server:
    """What a manager asks of its server: new ids."""

    def __init__(self):
        ids = itertools.count()
        self.eio = type("Eio", (), {"generate_id": staticmethod(lambda: f"id{next(ids)}")})()
        self.packet_class = type("Packet", (), {"json": None})


def _manager(cls):
    manager = cls()
    manager.set_server(_Server())
    return manager


def _memberships(manager) -> dict:
    return {ns: {room: set(members) for room, members in rooms.items() if room is not None}
            for ns, rooms in manager.rooms.items()}


ops = st.lists(st.one_of(
    st.tuples(st.just("connect"), st.sampled_from(SIDS), st.sampled_from(("/chat", "/agent"))),
    st.tuples(st.just("enter"), st.sampled_from(SIDS), st.sampled_from(ROOMS)),
    st.tuples(st.just("leave"), st.sampled_from(SIDS), st.sampled_from(ROOMS)),
    st.tuples(st.just("close"), st.sampled_from(ROOMS)),
    st.tuples(st.just("disconnect"), st.sampled_from(SIDS)),
), max_size=40)


@settings(max_examples=200, deadline=None)
@given(steps=ops)
def test_the_indexed_manager_keeps_the_same_rooms_as_python_socketios(steps):
    ours, theirs = _manager(IndexedManager), _manager(socketio.Manager)
    connected: dict[str, tuple[str, dict]] = {}  # our socket name -> namespace, sid in each manager
    for step in steps:
        kind, *args = step
        if kind == "connect" and args[0] not in connected:
            connected[args[0]] = (args[1], {m: m.connect(f"eio-{args[0]}", args[1]) for m in (ours, theirs)})
        elif kind in ("enter", "leave") and args[0] in connected:
            ns, sid = connected[args[0]]
            for m in (ours, theirs):
                (m.enter_room if kind == "enter" else m.leave_room)(sid[m], ns, args[1])
        elif kind == "close":
            for m in (ours, theirs):
                for ns in list(m.rooms):
                    m.close_room(args[0], ns)
        elif kind == "disconnect" and args[0] in connected:
            ns, sid = connected.pop(args[0])
            for m in (ours, theirs):
                m.disconnect(sid[m], ns)
        # Ids differ between the two managers: compare memberships by our names for the sockets.
        for m in (ours, theirs):
            names = {sid[m]: name for name, (_, sid) in connected.items()}
            m.seen = {ns: {room: {names.get(s, s) for s in members} for room, members in rooms.items()
                           if not room.startswith("id")}
                      for ns, rooms in _memberships(m).items()}
        assert ours.seen == theirs.seen, step
        for ns, sid in connected.values():
            assert sorted(ours.get_rooms(sid[ours], ns), key=str) == sorted(
                [r for r in theirs.get_rooms(sid[theirs], ns) if r != sid[theirs]] + [sid[ours]], key=str)
            assert ours.is_connected(sid[ours], ns)
    assert all(not sids for ns in ours._rooms_of.values() for sids in [
        {s for s in ns if s not in {sid[ours] for _, sid in connected.values()}}]), "nobody gone stays indexed"
