"""The native API's request bodies (and the answers that are not domain values), declared once:
the server parses and validates them, the remote client builds and sends them. The client
builds them unvalidated (``model_construct``): the server judges every request, so a refusal
reads the same whichever client sent it. Pydantic only, so the CLI can import it cheaply."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from mlpipex.domain.bounds import ByteSize, RowId, TokenSeconds, VersionNumber

# -- models and versions ----------------------------------------------------------------------


class ModelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    description: str = Field("", max_length=65536)
    policy: dict[str, Any] | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class ModelUpdate(BaseModel):
    description: str | None = Field(None, max_length=65536)
    new_name: str | None = Field(None, min_length=1, max_length=256)


class PolicyBody(BaseModel):
    policy: dict[str, Any] | None = None
    reason: str = ""


class TagBody(BaseModel):
    value: str = Field(max_length=8000)


class FileBody(BaseModel):
    path: str = Field(min_length=1, max_length=1024)
    digest: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: ByteSize


class DatasetBody(BaseModel):
    name: str = Field(min_length=1, max_length=250)
    uri: str = Field(max_length=4096)
    digest: str = Field(min_length=1, max_length=80)
    size: ByteSize | None = None
    stage: str | None = None


class VersionCreate(BaseModel):
    """A version whose files were uploaded first (``POST /api/v1/objects/missing`` tells which)."""

    files: list[FileBody] = Field(default_factory=list)
    run_id: str | None = None
    commit: str | None = Field(None, max_length=64)
    commit_dirty: bool = False
    datasets: list[DatasetBody] = Field(default_factory=list)
    metrics: dict[str, float] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = Field("", max_length=65536)
    flavor: str | None = Field(None, max_length=64)


class TransitionBody(BaseModel):
    to_stage: str = Field(min_length=1, max_length=64)
    reason: str = Field("", max_length=4096)


class AliasBody(BaseModel):
    version: VersionNumber


class AliasMoved(BaseModel):
    previous: int | None = Field(description="the version the alias named before, if any")


class DescriptionBody(BaseModel):
    description: str = Field(max_length=65536)


# -- objects ----------------------------------------------------------------------------------


class DigestList(BaseModel):
    digests: list[str] = Field(max_length=100_000)


class MissingDigests(BaseModel):
    missing: list[str]


class StoredObject(BaseModel):
    """An object stored from an upload: the digest the server computed, and its size."""

    digest: str
    size: int


# -- users, tokens, webhooks ------------------------------------------------------------------


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=256)
    roles: list[str] = Field(default_factory=lambda: ["viewer"])
    password: str | None = Field(None, min_length=8, max_length=1024)


class UserUpdate(BaseModel):
    roles: list[str] | None = None
    password: str | None = Field(None, min_length=8, max_length=1024)
    disabled: bool | None = None


class GrantBody(BaseModel):
    role: str | None = None


class TokenCreate(BaseModel):
    user: str | None = None
    name: str = Field("", max_length=256)
    expires_in_s: TokenSeconds | None = None
    workspace: str | None = Field(None, max_length=63, description="the one workspace it acts in")


# -- workspaces ---------------------------------------------------------------------------------


class WorkspaceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=63)
    description: str = Field("", max_length=5000)
    default_artifact_root: str | None = Field(None, max_length=2048)


class WorkspaceUpdate(BaseModel):
    description: str | None = Field(None, max_length=5000)
    default_artifact_root: str | None = Field(None, max_length=2048)


class QuotaBody(BaseModel):
    """Upper limits; null (or left out) is unlimited."""

    models: RowId | None = None
    versions: RowId | None = None
    bytes: ByteSize | None = None
    endpoints: RowId | None = None


class WorkspaceRoleBody(BaseModel):
    role: str | None = Field(None, description="viewer, editor, approver, admin; null removes it")


class Member(BaseModel):
    user: str
    role: str


class TokenCreated(BaseModel):
    token: str = Field(description="shown once; only its hash is stored")
    id: str
    user: str


class WebhookCreate(BaseModel):
    url: str = Field(min_length=8, max_length=2048)
    events: list[str] = Field(default_factory=lambda: ["*"])
    secret: str = Field(min_length=16, max_length=1024)
