"""Live chat: conversations, the bot relay, assignment to agents (offers, lapses, requeues), the Socket.IO namespaces."""
