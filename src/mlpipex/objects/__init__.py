"""Content-addressed object store: immutable bytes named by their blake3 digest."""

from mlpipex.objects.hashing import hash_bytes, hash_file
from mlpipex.objects.open import open_store
from mlpipex.objects.store import ObjectStore

__all__ = ["ObjectStore", "hash_bytes", "hash_file", "open_store"]
