"""Queries only the MLflow-compatible API needs."""
