"""Tickets: the lifecycle from new to closed, who may see them, automations for quiet ones."""
