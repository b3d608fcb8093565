"""Pick the object store for a URL: a local folder gets plain files, anything else fsspec."""

from __future__ import annotations

from typing import Any

from mlpipex.objects.local import LocalStore
from mlpipex.objects.store import ObjectStore


def open_store(url: str, **storage_options: Any) -> ObjectStore:
    """``/path``, ``file:///path`` -> LocalStore (no fsspec import); ``s3://`` etc. -> fsspec."""
    if "://" not in url or (url.startswith("file://") and not storage_options):
        return LocalStore(url.removeprefix("file://"))
    from mlpipex.objects.remote import FsspecStore

    return FsspecStore(url, **storage_options)
