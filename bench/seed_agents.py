"""Create the benchmark's agents in the stack's database, in one process (the CLI would start one per agent).

Run with the stack's environment: `python -m bench.seed_agents COUNT PASSWORD`. Prints one email a line.
"""
from __future__ import annotations

import sys

from handoff import create_app
from handoff.people import agents


def main() -> int:
    count, password = int(sys.argv[1]), sys.argv[2]
    with create_app().app_context():
        for k in range(count):
            created = agents.create(f"Bench Agent {k + 1}", f"bench-agent-{k + 1}@example.com", password, "agent",
                                    ("billing", "orders", "account", "technical"))
            print(created["email"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
