"""Endpoints, rollouts and their analysis, and the pure routing rules the agent applies."""
