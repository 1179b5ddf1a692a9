"""python-socketio's room bookkeeping, with each socket's rooms indexed by socket.

python-socketio (5.x) finds the rooms of a socket that leaves by walking every room of its namespace:
with 5,000 widgets open, each in its own room and its conversation's, that is 10,000 rooms and 16 ms
of the loop for every customer who closes a tab or is refused as busy. 100 refusals at a full process
held /healthz and the agents' consoles for 1.2-1.5 s; a wave of customers leaving, for longer. Here the
rooms of each socket are kept beside python-socketio's own structures (which stay as they are), so a
socket leaves its rooms in time proportional to its own rooms. The same index serves the Redis manager
of several processes, which inherits its room bookkeeping from the same class.
"""
from __future__ import annotations

import socketio


class IndexedRooms:
    """Mixin over a python-socketio client manager: `_rooms_of[namespace][sid]` is the set of rooms
    (None, the namespace's membership, included) that sid is in, kept by every change of membership."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._rooms_of: dict[str | None, dict[str, set]] = {}

    def basic_enter_room(self, sid, namespace, room, eio_sid=None):
        super().basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        self._rooms_of.setdefault(namespace, {}).setdefault(sid, set()).add(room)

    def basic_leave_room(self, sid, namespace, room):
        super().basic_leave_room(sid, namespace, room)
        rooms = self._rooms_of.get(namespace, {}).get(sid)
        if rooms is not None:
            rooms.discard(room)
            if not rooms:
                del self._rooms_of[namespace][sid]

    def basic_disconnect(self, sid, namespace, **kwargs):
        # What BaseManager.basic_disconnect does, with the socket's rooms read from the index instead of
        # found by walking every room of the namespace.
        if namespace not in self.rooms:
            return
        for room in list(self._rooms_of.get(namespace, {}).get(sid, ())):
            self.basic_leave_room(sid, namespace, room)
        self._rooms_of.get(namespace, {}).pop(sid, None)
        self.callbacks.pop(sid, None)
        for pending in (self.pending_connect, self.pending_disconnect):
            if namespace in pending and sid in pending[namespace]:
                pending[namespace].remove(sid)
                if not pending[namespace]:
                    del pending[namespace]

    def get_rooms(self, sid, namespace):
        return [room for room in self._rooms_of.get(namespace, {}).get(sid, ()) if room is not None]


class IndexedManager(IndexedRooms, socketio.Manager):
    """One process (the default)."""


class IndexedRedisManager(IndexedRooms, socketio.RedisManager):
    """Several processes sharing events through Redis (REDIS_URL)."""


def manager_for(redis_url: str | None):
    """The client manager for this process; Flask-SocketIO's channel name, so processes of other
    versions of the service still hear each other."""
    if redis_url:
        return IndexedRedisManager(redis_url, channel="flask-socketio")
    return IndexedManager()
