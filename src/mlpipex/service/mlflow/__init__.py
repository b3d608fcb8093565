"""What only the MLflow-compatible API needs: its registry, artifacts and metric shapes."""
