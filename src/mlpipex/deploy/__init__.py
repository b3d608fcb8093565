"""Deployment: endpoints, rollouts and the pure routing rules the agent applies to requests."""
