"""Live chat: conversations, the bot relay, presence, routing to agents, the Socket.IO namespaces."""
