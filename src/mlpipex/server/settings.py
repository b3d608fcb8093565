"""Server settings (``MLPIPEX_`` environment or `mlpipex server` options)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class ServerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MLPIPEX_", extra="ignore")

    store: str | None = Field(None, description="Registry URI: folder, sqlite:///, postgresql://")
    objects: str | None = Field(None, description="Object store URL (any fsspec URL)")
    policy: str | None = Field(None, description="strict (default), permissive, or a YAML file")
    auth: bool = Field(False, description="Require authentication (users, tokens, roles)")
    max_body_mb: int = Field(64, ge=1, description="Largest JSON request body")
    max_upload_gb: int = Field(100, ge=1, description="Largest artifact upload")
    allow_private_webhooks: bool = Field(False, description="Allow webhooks to private addresses")
    secret_key: str | None = Field(None, description="Key that seals stored webhook secrets")
    default_artifact_root: str = Field("mlflow-artifacts:/", description="MLflow artifact root")
    enable_workspaces: bool = Field(
        False, description="Serve many workspaces (the X-MLFLOW-WORKSPACE header picks one)"
    )
    telemetry: bool = Field(
        False,
        description="FastAPI's own OpenTelemetry spans and metrics, under a configured "
        "OpenTelemetry provider (opentelemetry-instrument); off, no request looks for one",
    )

    @field_validator("store")
    @classmethod
    def _no_http(cls, v: str | None) -> str | None:
        if v and v.startswith(("http://", "https://")):
            raise ValueError("the server's store is a database or folder, not another server")
        return v
