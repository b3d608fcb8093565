"""Monitoring: per-version metrics, prediction logs, drift against reference profiles, alerts.

Reference profiles themselves are computed in ``mlpipex.domain.profile`` (flavors store them
with a model package, and flavors sit above this layer)."""
