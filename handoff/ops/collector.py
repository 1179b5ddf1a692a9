"""When the garbage collector runs in the service process: long-lived objects out of its sight.

Every open socket keeps ~160 objects the collector tracks (its greenlets, queues, Engine.IO and
Socket.IO state). CPython's full collection walks all of them, and it comes each time a quarter more
objects have survived since the last one: with 5,000 widgets open that was 870,000 objects and a
650-770 ms stop of the whole loop, every few seconds while customers kept connecting (a burst of 500,
the first minutes after a restart). /healthz and the agents' consoles waited for it (p99 620 ms and
1.1-1.6 s), and it found almost nothing: 5 to 47 objects of garbage a collection.

So every FREEZE_EVERY seconds what survived the young generations' collection is frozen (gc.freeze):
it is freed as usual when nothing refers to it, but no collection walks it. Full collections then see
only the last second's survivors. The price is cyclic garbage among frozen objects (a socket that was
open at a freeze and closed since, if its objects refer to each other): it waits for the sweep, every
SWEEP_EVERY seconds, which unfreezes everything and collects it all once (one pause as long as the old
full collections, once an hour instead of every few seconds), then freezes again.
"""
from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger("careregistry.collector")

FREEZE_EVERY = 1.0
SWEEP_EVERY = 3600.0
SLOW_MS = 100  # a collection that stops the loop longer than this is logged (the sweep's is expected)
_collection_started = 0.0


def freeze_survivors() -> None:
    """Collect the young generations, then put everything still alive out of the collector's sight."""
    gc.collect(1)
    gc.freeze()


def sweep() -> dict:
    """Collect everything once, frozen objects included, and freeze what survives."""
    started = time.perf_counter()
    gc.unfreeze()
    freed = gc.collect()
    gc.freeze()
    took_ms = round((time.perf_counter() - started) * 1000)
    return {"freed": freed, "kept": gc.get_freeze_count(), "took_ms": took_ms}


def _timed(phase: str, info: dict) -> None:
    global _collection_started
    if phase == "start":
        _collection_started = time.perf_counter()
        return
    took_ms = (time.perf_counter() - _collection_started) * 1000
    if took_ms > SLOW_MS:
        log.warning("gc slow generation=%d took_ms=%.0f freed=%d", info["generation"], took_ms, info["collected"])


def _run(stop: threading.Event) -> None:
    last_sweep = time.monotonic()
    while not stop.wait(FREEZE_EVERY):
        try:
            if time.monotonic() - last_sweep >= SWEEP_EVERY:
                last_sweep = time.monotonic()
                log.info("gc sweep freed=%(freed)d kept=%(kept)d took_ms=%(took_ms)d", sweep())
            else:
                freeze_survivors()
        except Exception:  # never let the schedule die silently; the collector then runs as usual
            log.exception("gc schedule failed; automatic collection goes on")
            gc.unfreeze()
            return


def start() -> threading.Event:
    """Run the schedule in the background (a greenlet under the cooperative worker); set the event to stop."""
    stop = threading.Event()
    if _timed not in gc.callbacks:
        gc.callbacks.append(_timed)
    freeze_survivors()
    threading.Thread(target=_run, args=(stop,), daemon=True, name="gc-schedule").start()
    return stop
