"""A crowd of idle customers' widgets for the capacity benchmark, in a process of its own.

`python -m bench.crowd URL [echo]` reads commands on stdin, one JSON object a line, and answers each
with one JSON line on stdout:

    {"open": 500, "at_once": 500}   open 500 more /chat sockets, at most `at_once` connecting together
    {"close": true}                 disconnect everyone and exit

Each socket is a real python-socketio client (bench.clients.Customer). Thousands of them would need
thousands of threads here, so this process runs them on gevent's loop (patched standard library),
as the service under test runs its side. Against the echo server (`echo`), a customer joins room i.
"""
from __future__ import annotations

import json
import sys
import time


def _answer(payload: dict) -> None:
    sys.stdout.write(json.dumps(payload) + "\n")
    sys.stdout.flush()


def main() -> int:
    # Imported here, after __main__ patched the standard library, so every socket below is cooperative;
    # importing this module (the layout test does) patches nothing.
    import gevent
    from gevent.pool import Pool

    from bench.clients import Customer

    url, echo = sys.argv[1], len(sys.argv) > 2 and sys.argv[2] == "echo"
    crowd: list = []
    rooms = iter(range(1, 10**9))

    def one() -> tuple[str, float, str | None]:
        customer = Customer(url, auth={"room": next(rooms)} if echo else None)
        started = time.perf_counter()
        try:
            customer.connect()
        except Exception as err:  # noqa: BLE001 - refused or failed: counted, with the server's reason
            reason = (customer.refusal or {}).get("reason")
            # A refusal is timed to the connect_error the widget shows, not to the client giving up the
            # connection afterwards (python-socketio's client takes another second or two for that).
            until = customer.refused_at if reason and customer.refused_at else time.perf_counter()
            return ("refused" if reason else "failed"), until - started, reason or type(err).__name__
        crowd.append(customer)
        return "connected", time.perf_counter() - started, None

    for line in sys.stdin:
        command = json.loads(line)
        if command.get("close"):
            Pool(200).map(lambda c: c.close(), crowd)
            _answer({"closed": len(crowd)})
            return 0
        started = time.perf_counter()
        outcomes = Pool(int(command.get("at_once", 50))).map(lambda _: one(), range(int(command["open"])))
        elapsed = time.perf_counter() - started
        gevent.sleep(0)
        _answer({
            "seconds": round(elapsed, 2), "open_now": len(crowd),
            "connected": sum(1 for o in outcomes if o[0] == "connected"),
            "refused": sum(1 for o in outcomes if o[0] == "refused"),
            "failed": sum(1 for o in outcomes if o[0] == "failed"),
            "reasons": sorted({o[2] for o in outcomes if o[2]}),
            "connect_s": sorted(o[1] for o in outcomes if o[0] == "connected"),
            "refusal_s": sorted(o[1] for o in outcomes if o[0] == "refused"),
        })
    return 0


if __name__ == "__main__":
    from gevent import monkey

    monkey.patch_all()
    sys.exit(main())
