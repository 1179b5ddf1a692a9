"""Create the benchmark's agents in the stack's database, in one process (the CLI would start one per agent).

Run with the stack's environment: `python -m bench.seed_agents COUNT PASSWORD [FIRST]`. Prints one email a
line; FIRST (default 1) numbers them on from earlier ones.
"""
from __future__ import annotations

import sys

from handoff import create_app
from handoff.people import agents


def main() -> int:
    count, password = int(sys.argv[1]), sys.argv[2]
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    with create_app().app_context():
        for k in range(first - 1, first - 1 + count):
            created = agents.create(f"Bench Agent {k + 1}", f"bench-agent-{k + 1}@example.com", password, "agent",
                                    ("billing", "orders", "account", "technical"))
            # Each benchmark agent follows dozens of chats (50 each in the relay part at 1,000 conversations).
            agents.set_routing(created["id"], skills=("billing", "orders", "account", "technical"), team_id=None,
                               capacity=50, ticket_capacity=20)
            print(created["email"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
