"""Queries over experiments, runs, metrics, logged models and traces."""
