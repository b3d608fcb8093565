"""Content-addressed object store: immutable bytes named by their blake3 digest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlpipex import lazy
from mlpipex.objects.hashing import hash_bytes, hash_file

if TYPE_CHECKING:
    from mlpipex.objects.open import open_store
    from mlpipex.objects.store import ObjectStore

__all__ = ["ObjectStore", "hash_bytes", "hash_file", "open_store"]

# The stores load on first use: hashing (what `data status` needs) stays cheap.
_LAZY = {"ObjectStore": "mlpipex.objects.store", "open_store": "mlpipex.objects.open"}

__getattr__ = lazy.exports(__name__, _LAZY)
