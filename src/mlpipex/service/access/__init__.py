"""Users, roles, tokens, sign-in throttling and the secrets kept for later use."""
