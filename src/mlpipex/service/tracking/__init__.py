"""Experiments, runs, metrics, logged models and traces."""
