"""The knowledge base: FAQ store, search index, matcher, sentence encoder, evaluation, learning, analytics."""
