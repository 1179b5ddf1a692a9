"""Custom actions of the Customer Care Registry bot.

Every call to the handoff service goes through `actions.handoff_client`; actions never
open the database.
"""
