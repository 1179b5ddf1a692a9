"""Who gets which chat or ticket: categories and teams, agents' presence and capacity, the choice and its claim."""
