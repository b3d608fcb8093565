"""Digests: the names of content. Objects are named by blake3; DVC data keeps its md5."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlpipex.errors import Invalid

ALGORITHMS = {"blake3": 64, "md5": 32, "sha256": 64}
_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True, slots=True)
class Digest:
    """A content digest, written ``algo:hex`` (``blake3:`` is implied for a bare 64-hex)."""

    algo: str
    hex: str

    @classmethod
    def parse(cls, text: str) -> Digest:
        # DVC writes directory digests as "<md5>.dir"
        raw = text.strip().lower().removesuffix(".dir")
        algo, sep, hexpart = raw.partition(":")
        if not sep:
            algo, hexpart = {64: "blake3", 32: "md5"}.get(len(raw), ""), raw
        if (
            algo not in ALGORITHMS
            or len(hexpart) != ALGORITHMS[algo]
            or not _HEX.fullmatch(hexpart)
        ):
            raise Invalid(
                f"{text[:80]!r} is not a digest",  # never echo a whole (maybe huge) value
                hint="write it as blake3:<64 hex>, md5:<32 hex> or sha256:<64 hex>",
            )
        return cls(algo, hexpart)

    def __str__(self) -> str:
        return f"{self.algo}:{self.hex}"


def is_object_digest(text: str) -> bool:
    """True for the bare lowercase blake3 hex that names an object in the store."""
    return len(text) == 64 and bool(_HEX.fullmatch(text))
