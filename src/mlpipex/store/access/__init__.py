"""Queries over users, tokens, grants and sign-in throttling."""
