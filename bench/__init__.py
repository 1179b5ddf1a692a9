"""Benchmarks of the running stack (`make bench`, `python -m bench`).

`python -m bench` measures the bot's reply latency through the whole stack beside Rasa's own REST webhook,
and the live relay between customers and agents beside a bare python-socketio echo server. Every run
starts its own stack on free loopback ports with a temporary var directory, so the real var/ database is
never touched. It also simulates a working day at the desk (routing_sim.py: our assignment beside "first
to accept" and round-robin), which needs no stack and takes seconds.

    make bench                          # or: .venv/app/bin/python -m bench   (full run, about 6 minutes)
    .venv/app/bin/python -m bench --quick               # about 4 minutes
    .venv/app/bin/python -m bench --only relay          # only the handoff service and the echo server
    .venv/app/bin/python -m bench --only routing        # only the simulated day (seconds; --seed N)

The report is printed and written to var/bench/report.json (`--out` to change). A MISS against a target is a
finding, not an error: the exit status is 0 whenever the benchmark ran.
"""
