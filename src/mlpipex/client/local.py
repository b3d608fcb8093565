"""``LocalBackend``: the client's operations as service calls over an embedded ``Registry``
(a ``.mlpipex`` folder or a database URL), opened on first use and created by the first write."""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.client.local_tracking import LocalTracking
from mlpipex.config import Location, Settings
from mlpipex.domain.deployment import EndpointStatus, TrafficBucket
from mlpipex.domain.models import Event, ModelVersion, Page, RegisteredModel, TransitionRequest
from mlpipex.domain.policy import Policy
from mlpipex.domain.workspaces import Quotas, Usage, Workspace
from mlpipex.objects.hashing import Progress
from mlpipex.service.access import users as access
from mlpipex.service.access import workspaces
from mlpipex.service.context import Actor, Registry
from mlpipex.service.deploy import endpoints
from mlpipex.service.events import audit, webhooks
from mlpipex.service.open import open_registry
from mlpipex.service.registry import (
    aliases,
    gto_import,
    lineage,
    maintenance,
    models,
    promote,
    register,
    versions,
)
from mlpipex.service.registry.promote import TransitionResult

if TYPE_CHECKING:
    from mlpipex.client.backend import Fetcher
    from mlpipex.monitor.feedback import FeedbackResult
    from mlpipex.monitor.quality import QualityReport


class LocalBackend(LocalTracking):
    def __init__(self, location: Location, settings: Settings, actor: Actor | None) -> None:
        self.location, self.settings, self._actor = location, settings, actor
        self._reg: Registry | None = None

    def open(self, create: bool = False) -> Registry:
        """The registry, opened once; reads of a registry not yet created fail with NotFound."""
        if self._reg is None:
            self._reg = open_registry(
                self.location, self.settings, create=create, actor=self._actor
            )
        return self._reg

    def close(self) -> None:
        if self._reg is not None:
            self._reg.close()
            self._reg = None

    def fetcher(self) -> Fetcher:
        return self.open().objects

    # -- models --------------------------------------------------------------------------------
    def create_model(
        self,
        name: str,
        description: str,
        policy: Mapping[str, Any] | None,
        tags: Mapping[str, str],
    ) -> RegisteredModel:
        return models.create_model(self.open(True), name, description, policy, tags)

    def get_model(self, name: str) -> RegisteredModel:
        return models.get_model(self.open(), name)

    def list_models(
        self, query: str | None, limit: int, page_token: str | None
    ) -> Page[RegisteredModel]:
        if not self.location.exists:
            return Page([], None)
        return models.list_models(self.open(), query, limit, page_token)

    def stage_summary(self, names: list[str]) -> dict[str, dict[str, list[int]]]:
        return models.stage_summary(self.open(), names)

    def get_policy(self, name: str) -> Policy:
        return models.effective_policy(self.open(), name)

    def set_policy(self, name: str, policy: Mapping[str, Any] | None, reason: str) -> Policy:
        return models.set_policy(self.open(), name, policy, reason)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        models.set_model_tag(self.open(), name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        models.delete_model_tag(self.open(), name, key)

    # -- versions ------------------------------------------------------------------------------
    def check_registration(self, r: register.Registration) -> None:
        register.check_registration(self.open(True), r, artifact=False)

    def register_version(self, r: register.Registration, progress: Progress | None) -> ModelVersion:
        return register.register_version(self.open(True), r, progress)

    def get_version(self, ref: str) -> ModelVersion:
        return versions.get_version(self.open(), ref)

    def list_versions(
        self, name: str, limit: int, page_token: str | None, stage: str | None
    ) -> Page[ModelVersion]:
        return versions.list_versions(self.open(), name, limit, page_token, stage)

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        versions.set_version_tag(self.open(), name, version, key, value)

    def delete_version_tag(self, name: str, version: int, key: str) -> None:
        versions.delete_version_tag(self.open(), name, version, key)

    def promote(self, name: str, version: int, stage: str, reason: str) -> TransitionResult:
        return promote.promote(self.open(), name, version, stage, reason)

    def approve(self, name: str, version: int, stage: str, comment: str) -> TransitionResult:
        return promote.approve(self.open(), name, version, stage, comment)

    def transition_requests(self, name: str, status: str | None) -> list[TransitionRequest]:
        return promote.requests(self.open(), name, status)

    def set_alias(self, name: str, alias: str, version: int) -> int | None:
        return aliases.set_alias(self.open(), name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        aliases.delete_alias(self.open(), name, alias)

    # -- lineage, audit, maintenance -----------------------------------------------------------
    def lineage(self, name: str, version: int) -> lineage.Lineage:
        return lineage.lineage(self.open(), name, version)

    def events(
        self,
        model: str | None,
        version: int | None,
        kind: str | None,
        limit: int | None,
        newest_first: bool,
    ) -> list[Event]:
        return audit.list_events(
            self.open(), model, version, kind, limit, newest_first=newest_first
        )

    def verify_audit(self) -> audit.ChainReport:
        return audit.verify_chain(self.open())

    def import_gto(self, repo: Path, data: bool, remote: str | None) -> gto_import.ImportReport:
        from mlpipex.data.gto_import import read_models

        reg = self.open(True)
        reg.require("admin")
        with tempfile.TemporaryDirectory(prefix="mlpipex-gto-") as tmp:
            return gto_import.import_gto(
                reg, read_models(repo, Path(tmp), data=data, remote=remote)
            )

    def fsck(self) -> maintenance.FsckReport:
        return maintenance.fsck(self.open())

    def gc(self, grace_s: float, dry_run: bool) -> maintenance.GcReport:
        return maintenance.gc(self.open(), grace_s=grace_s, dry_run=dry_run)

    def upgrade_schema(self) -> str:
        reg = self.open(True)
        reg.store.upgrade()
        return reg.store.schema_revision() or ""

    # -- users and tokens ----------------------------------------------------------------------
    def create_user(self, name: str, roles: list[str], password: str | None) -> access.User:
        return access.create_user(self.open(True), name, roles, password)

    def list_users(self) -> list[access.User]:
        return access.list_users(self.open())

    def update_user(
        self, name: str, roles: list[str] | None, password: str | None, disabled: bool | None
    ) -> access.User:
        return access.update_user(
            self.open(), name, roles=roles, password=password, disabled=disabled
        )

    def grant(self, user: str, model: str, role: str | None) -> access.User:
        return access.grant(self.open(), user, model, role)

    def create_token(
        self, user: str | None, name: str, expires_in_s: int | None, workspace: str | None
    ) -> tuple[access.Token, str]:
        reg = self.open(True)
        ttl = expires_in_s * 1000 if expires_in_s is not None else None
        return access.create_token(reg, user or reg.actor.name, name, ttl, workspace)

    def list_tokens(self, user: str | None) -> list[access.Token]:
        reg = self.open()
        return access.list_tokens(reg, user or reg.actor.name)

    def revoke_token(self, token_id: str) -> None:
        access.revoke_token(self.open(), token_id)

    # -- workspaces ----------------------------------------------------------------------------
    def create_workspace(self, name: str, description: str, artifact_root: str | None) -> Workspace:
        return workspaces.create(self.open(True), name, description, artifact_root)

    def list_workspaces(self) -> list[Workspace]:
        return workspaces.list_workspaces(self.open())

    def get_workspace(self, name: str) -> Workspace:
        return workspaces.get(self.open(), name)

    def update_workspace(
        self, name: str, description: str | None, artifact_root: str | None
    ) -> Workspace:
        return workspaces.update(
            self.open(), name, description=description, artifact_root=artifact_root
        )

    def delete_workspace(self, name: str) -> None:
        workspaces.delete(self.open(), name)

    def set_quotas(self, name: str, quotas: Quotas) -> Workspace:
        return workspaces.set_quotas(self.open(), name, quotas)

    def workspace_usage(self, name: str) -> Usage:
        return workspaces.usage(self.open(), name)

    def set_workspace_role(self, name: str, user: str, role: str | None) -> list[tuple[str, str]]:
        return workspaces.set_role(self.open(), name, user, role)

    def workspace_members(self, name: str) -> list[tuple[str, str]]:
        return workspaces.members(self.open(), name)

    # -- webhooks ------------------------------------------------------------------------------
    def create_webhook(self, url: str, events: list[str], secret: str) -> webhooks.Webhook:
        return webhooks.create(self.open(True), url, events, secret)

    def list_webhooks(self) -> list[webhooks.Webhook]:
        return webhooks.list_webhooks(self.open())

    def delete_webhook(self, webhook_id: int) -> None:
        webhooks.delete(self.open(), webhook_id)

    def test_webhook(self, webhook_id: int) -> int:
        return webhooks.test(self.open(), webhook_id)

    def webhook_deliveries(self, webhook_id: int, limit: int) -> list[webhooks.Delivery]:
        return webhooks.deliveries(self.open(), webhook_id, limit)

    def deliver_webhooks(self) -> int:
        return webhooks.deliver_due(self.open())

    # -- endpoints -----------------------------------------------------------------------------
    def apply_endpoint(self, spec: Mapping[str, Any]) -> EndpointStatus:
        return endpoints.apply(self.open(True), spec)

    def endpoint_status(self, name: str) -> EndpointStatus:
        return endpoints.get_status(self.open(), name)

    def list_endpoints(self) -> list[EndpointStatus]:
        if not self.location.exists:
            return []
        return endpoints.list_endpoints(self.open())

    def rollback_endpoint(self, name: str, reason: str) -> EndpointStatus:
        return endpoints.rollback(self.open(), name, reason)

    def delete_endpoint(self, name: str) -> None:
        endpoints.delete(self.open(), name)

    def endpoint_timeseries(self, name: str, since_ms: int, bucket_s: int) -> list[TrafficBucket]:
        return endpoints.timeseries(self.open(), name, since_ms, bucket_s)

    # -- monitoring (imported on use: numpy, scipy, pyarrow) -------------------------------------
    def endpoint_drift(self, name: str, version: int | None, window: int | None) -> dict[str, Any]:
        from mlpipex.monitor import serving

        v, result = serving.drift(self.open(), name, version, window)
        return {"endpoint": name, "version": v, **result.to_dict()}

    def log_feedback(self, name: str, labels: Sequence[Mapping[str, Any]]) -> FeedbackResult:
        from mlpipex.monitor import feedback

        reg = self.open()
        return feedback.in_batches(labels, lambda part: feedback.ingest(reg, name, part))

    def endpoint_quality(self, name: str, version: int | None, window: str | None) -> QualityReport:
        from mlpipex.monitor import quality

        return quality.measure(self.open(), name, version, window)

    def endpoint_report(self, name: str, since_ms: int) -> str:
        from mlpipex.monitor import serving

        return serving.report(self.open(), name, since_ms)

    def prediction_log(
        self, name: str, since_ms: int, version: int | None, limit: int
    ) -> list[dict[str, Any]]:
        from mlpipex.monitor import predictions

        return predictions.records(predictions.read(self.open(), name, since_ms, version, limit))
