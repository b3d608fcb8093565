"""The SDK: ``mlpipex.Client`` over the embedded store (and, with a server URL, over HTTP)."""

from mlpipex.client.client import Client

__all__ = ["Client"]
