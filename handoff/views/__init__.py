"""HTTP blueprints, thin: pages, the customer portal, the console, admin, the knowledge base, the bot's API."""
