"""`python -m bench [--quick] [--only bot|relay|capacity|routing]`: run the benchmarks, print the report, save it as JSON."""
from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from handoff.config import PROJECT_ROOT

from . import bot_latency, capacity, relay_latency, routing_sim
from .common import bench_stack, load_average, wait_for_model
from .report import render

REPORT = PROJECT_ROOT / "var" / "bench" / "report.json"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer samples and a 10 s relay load (about 3 minutes)")
    parser.add_argument("--only", choices=("bot", "relay", "capacity", "routing"), help="run one part only")
    parser.add_argument("--conversations", type=int, default=200, help="live conversations in the relay part")
    parser.add_argument("--big", type=int, default=1000,
                        help="live conversations in the second relay part, at the same total message rate "
                             "(skipped with --quick; 0: skip)")
    parser.add_argument("--idle", type=int, help="idle sockets in the capacity part (default 5000, quick 1000)")
    parser.add_argument("--agents", type=int, default=20, help="agents sharing them (each owns several)")
    parser.add_argument("--interval", type=float, default=2.0, help="seconds between messages of one side")
    parser.add_argument("--duration", type=float, help="seconds of relay load (default 30, quick 10)")
    parser.add_argument("--rounds", type=int, default=2,
                        help="relay: ours and the echo take turns, ours-echo-echo-ours..., this many windows each")
    parser.add_argument("--seed", type=int, default=11, help="the routing simulation's day (same seed, same day)")
    parser.add_argument("--out", default=str(REPORT), help="where to write the JSON report")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    duration = args.duration or (10.0 if args.quick else 30.0)
    bot_plan = {1: 40, 20: 80} if args.quick else {1: 400, 20: 1600}
    run_bot, run_relay = args.only in (None, "bot"), args.only in (None, "relay")
    run_capacity = args.only in (None, "capacity")
    idle = args.idle or (1000 if args.quick else capacity.IDLE)
    burst, refused = (200, 50) if args.quick else (capacity.BURST, capacity.REFUSED)
    big = 0 if args.quick else args.big
    report = {"started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
              "mode": "quick" if args.quick else "full", "load_average_before": load_average(),
              "settings": {"bot_samples": bot_plan, "conversations": args.conversations, "agents": args.agents,
                           "interval_s": args.interval, "duration_s": duration}}
    started = time.monotonic()
    progress = lambda msg: print(f"[{time.monotonic() - started:6.1f}s] {msg}", flush=True)  # noqa: E731

    if args.only in (None, "routing"):  # no stack: the simulation calls the choice code in this process
        report["routing"] = routing_sim.measure(args.seed, progress)
    if args.only == "routing":
        return _finish(report, args, started)
    if run_bot and not wait_for_model(timeout=1800, progress=progress):
        print("No trained Rasa model at models/current.tar.gz: run `make model` first.", file=sys.stderr)
        return 1
    # Room for the capacity part's crowd and burst, and not one socket more: its last wave must be refused.
    with bench_stack(with_bot=run_bot, progress=progress,
                     extra_env={"MAX_CHAT_SOCKETS": str(capacity.limit_for(idle, burst))}) as bench:
        if run_bot:
            report["bot"] = bot_latency.measure(bench, bot_plan, progress)
            report["rss_mb_after_bot"] = bench.rss()
        if run_relay:
            report["relay"] = relay_latency.measure(bench, args.conversations, args.agents, duration,
                                                    args.interval, progress, rounds=args.rounds)
        if run_relay and big:
            # As many messages a second as the first part: five times the conversations, each five times
            # quieter; what grows is what the service keeps per conversation and socket.
            interval = args.interval * big / args.conversations
            report["settings_big"] = {**report["settings"], "conversations": big, "interval_s": interval,
                                      "duration_s": duration * 2}
            report["relay_big"] = relay_latency.measure(bench, big, args.agents, duration * 2, interval, progress,
                                                        rounds=args.rounds, first_agent=args.agents + 1)
        if run_capacity:
            report["capacity"] = capacity.measure(bench, idle, burst, refused, progress=progress)
        report["rss_mb_end"] = bench.rss()
    return _finish(report, args, started)


def _finish(report: dict, args: argparse.Namespace, started: float) -> int:
    report["elapsed_s"] = round(time.monotonic() - started, 1)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    text, _passed = render(report)
    print(text)
    print(f"\nJSON report: {out}")
    return 0  # a MISS is a finding for the report, not a failed run


if __name__ == "__main__":
    sys.exit(main())
