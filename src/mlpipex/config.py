"""Settings (environment prefix ``MLPIPEX_``) and where the registry lives.

The only module that reads the environment; everything else is handed a ``Settings``.
"""

from __future__ import annotations

import getpass

from pydantic_settings import BaseSettings, SettingsConfigDict

from mlpipex.location import (
    DIRNAME,
    ENV_PREFIX,
    Location,
    find_root,
    require_existing,
    resolve,
    workspace_root,
)


class Settings(BaseSettings):
    """Everything a user can set; ``MLPIPEX_URI`` is the registry, ``MLPIPEX_USER`` the actor."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    uri: str | None = None
    objects: str | None = None
    user: str | None = None
    token: str | None = None
    policy: str | None = None
    secret_key: str | None = None
    allow_private_webhooks: bool = False
    workspace: str | None = None  # the workspace to act in (None: the server's or `default`)

    def actor(self) -> str:
        return self.user or getpass.getuser()


__all__ = [
    "DIRNAME",
    "Location",
    "Settings",
    "find_root",
    "require_existing",
    "resolve",
    "workspace_root",
]
