"""People: customers' accounts, agents and admins, log-in sessions, passwords, log-in throttling."""
