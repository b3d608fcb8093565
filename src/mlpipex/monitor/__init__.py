"""Monitoring: reference data profiles (and, later, metrics, prediction logs, drift, alerts)."""

from mlpipex.monitor.profile import profile

__all__ = ["profile"]
