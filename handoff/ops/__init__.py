"""Running it: the operators' CLI, launcher and process stack, WSGI entry, background jobs, health, backups."""
