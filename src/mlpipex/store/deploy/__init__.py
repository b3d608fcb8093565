"""Queries over endpoints, deployments, agents and what they report."""
