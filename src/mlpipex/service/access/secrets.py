"""Secrets MLPipeX must use again later (webhook signing keys) are stored encrypted (Fernet)
under a key from MLPIPEX_SECRET_KEY, or, for a local registry, a key file beside the database
readable by its owner only. Nothing else about them is ever written or logged."""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlpipex.errors import Corrupt, Invalid

if TYPE_CHECKING:
    from cryptography.fernet import Fernet


@dataclass(frozen=True)
class SecretBox:
    key: str | None = None
    key_file: Path | None = None

    def _fernet(self) -> Fernet:
        from cryptography.fernet import Fernet  # only webhooks need it: not on every open

        if self.key:
            material = self.key.encode()
        elif self.key_file is not None:
            material = self._file_key()
        else:
            raise Invalid(
                "no key to store secrets with",
                hint="set MLPIPEX_SECRET_KEY (the same on every server of the registry)",
            )
        return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest()))

    def _file_key(self) -> bytes:
        assert self.key_file is not None
        if not self.key_file.exists():
            self.key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(base64.urlsafe_b64encode(os.urandom(32)))
        return self.key_file.read_bytes().strip()

    def seal(self, secret: str) -> str:
        return self._fernet().encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet().decrypt(sealed.encode()).decode()
        except InvalidToken:
            raise Corrupt(
                "a stored secret does not open with this key",
                hint="is MLPIPEX_SECRET_KEY the one it was stored with?",
            ) from None
