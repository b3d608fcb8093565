"""``mlpipex.Client``: one interface for every registry operation, with the same rules as the CLI.

Work that needs the caller's files (hashing datasets, reading git, storing artifacts) happens here,
on the caller's side; the service layer then records the result.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.client.datasets import resolve as resolve_dataset
from mlpipex.client.gitinfo import detect_commit
from mlpipex.client.models import ModelMethods, local_package, package_tags
from mlpipex.client.tracking import TrackingMethods
from mlpipex.config import Location, Settings, resolve
from mlpipex.domain.deployment import EndpointStatus, TrafficBucket
from mlpipex.domain.models import (
    DatasetRef,
    Event,
    ModelVersion,
    Page,
    RegisteredModel,
    TransitionRequest,
)
from mlpipex.domain.policy import Policy
from mlpipex.objects.hashing import Progress
from mlpipex.service.access import users as access
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
    from mlpipex.monitor.feedback import FeedbackResult
    from mlpipex.monitor.quality import QualityReport


DatasetsArg = Mapping[str, str] | Sequence[DatasetRef] | None


class Client(TrackingMethods, ModelMethods):
    """The registry at ``uri`` (default: ``MLPIPEX_URI``, else the nearest ``.mlpipex`` folder).

    Models loaded by URI are materialized under ``cache_dir`` (default: ``.mlpipex/cache`` of a
    local registry, else ``~/.cache/mlpipex``)."""

    def __new__(cls, uri: str | None = None, **kw: Any) -> Client:
        # A server URL gives the remote client: same methods, over HTTP.
        if cls is Client:
            settings = kw.get("settings") or Settings()
            target = uri or settings.uri
            if target and target.startswith(("http://", "https://")):
                from mlpipex.client.remote import RemoteClient

                return super().__new__(RemoteClient)
        return super().__new__(cls)

    def __init__(
        self,
        uri: str | None = None,
        *,
        objects: str | None = None,
        user: str | None = None,
        settings: Settings | None = None,
        actor: Actor | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        base = settings or Settings()
        self.settings = base.model_copy(
            update={
                k: v
                for k, v in {"uri": uri, "objects": objects, "user": user}.items()
                if v is not None
            }
        )
        self.location: Location = resolve(self.settings.uri, self.settings.objects)
        self._actor = actor
        self._reg: Registry | None = None
        root = self.location.root
        self.cache_dir = (
            Path(cache_dir)
            if cache_dir is not None
            else root / "cache"
            if root is not None
            else Path.home() / ".cache" / "mlpipex"
        )

    # -- plumbing ------------------------------------------------------------------------------
    def _registry(self, create: bool = False) -> Registry:
        if self._reg is None:
            self._reg = open_registry(
                self.location, self.settings, create=create, actor=self._actor
            )
        return self._reg

    @property
    def registry(self) -> Registry:
        return self._registry(create=True)

    def close(self) -> None:
        if self._reg is not None:
            self._reg.close()
            self._reg = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- models --------------------------------------------------------------------------------
    def create_model(
        self,
        name: str,
        description: str = "",
        policy: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        return models.create_model(self._registry(True), name, description, policy, tags)

    def get_model(self, name: str) -> RegisteredModel:
        return models.get_model(self._registry(), name)

    def list_models(
        self, query: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        if not self.location.exists:
            return Page([], None)
        return models.list_models(self._registry(), query, limit, page_token)

    def stage_summary(self, names: list[str]) -> dict[str, dict[str, list[int]]]:
        return models.stage_summary(self._registry(), names)

    def get_policy(self, name: str) -> Policy:
        return models.effective_policy(self._registry(), name)

    def set_policy(self, name: str, policy: Mapping[str, Any] | None, reason: str = "") -> Policy:
        return models.set_policy(self._registry(), name, policy, reason)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        models.set_model_tag(self._registry(), name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        models.delete_model_tag(self._registry(), name, key)

    # -- versions ------------------------------------------------------------------------------
    def register(
        self,
        name: str,
        path: str | os.PathLike[str],
        *,
        commit: str | None = None,
        datasets: DatasetsArg = None,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        run_id: str | None = None,
        flavor: str | None = None,
        progress: Progress | None = None,
    ) -> ModelVersion:
        """Register the file or directory at path as the next version of model name.

        The commit is read from git when not given (a dirty tree is recorded); datasets map a
        name to a local path, a pointer file (.mpx, .dvc) or ``URI#algo:digest``. With run_id,
        the run's commit, dataset inputs and metrics are inherited instead."""
        p = Path(path)
        dirty = False
        if commit is None and run_id is None:
            found = detect_commit(p.resolve(), Path.cwd())
            if found:
                commit, dirty = found
        refs = self.resolve_datasets(datasets, progress)
        package = local_package(p)
        return register.register_version(
            self._registry(True),
            register.Registration(
                name=name,
                path=p,
                commit=commit,
                commit_dirty=dirty,
                datasets=refs,
                metrics=dict(metrics or {}),
                tags=package_tags(package, tags),
                description=description,
                run_id=run_id,
                flavor=flavor or (package.flavor if package else None),
            ),
            progress,
        )

    def register_model(
        self,
        model_uri: str | os.PathLike[str],
        name: str,
        *,
        tags: Mapping[str, str] | None = None,
        description: str = "",
        datasets: DatasetsArg = None,
        metrics: Mapping[str, float] | None = None,
        commit: str | None = None,
        flavor: str | None = None,
    ) -> ModelVersion:
        """Register ``runs:/RUN_ID/PATH`` (the run's stored artifacts, inheriting the run's
        commit, datasets and metrics) or a local path as the next version of name."""
        uri = os.fspath(model_uri)
        if uri.startswith("runs:/"):
            return self._register_run_artifacts(
                uri,
                name,
                tags=tags,
                description=description,
                commit=commit,
                flavor=flavor,
                datasets=self.resolve_datasets(datasets),
                metrics=dict(metrics or {}),
            )
        return self.register(
            name,
            uri,
            commit=commit,
            datasets=datasets,
            metrics=metrics,
            tags=tags,
            description=description,
            flavor=flavor,
        )

    def resolve_datasets(
        self, datasets: DatasetsArg, progress: Progress | None = None
    ) -> list[DatasetRef]:
        if not datasets:
            return []
        if isinstance(datasets, Mapping):
            return [resolve_dataset(k, v, Path.cwd(), progress) for k, v in datasets.items()]
        return list(datasets)

    def get_version(self, ref: str) -> ModelVersion:
        """``NAME/3``, ``NAME@alias``, ``NAME:Stage`` or ``models:/NAME/...``."""
        return versions.get_version(self._registry(), ref)

    def list_versions(
        self, name: str, limit: int = 100, page_token: str | None = None, stage: str | None = None
    ) -> Page[ModelVersion]:
        return versions.list_versions(self._registry(), name, limit, page_token, stage)

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        versions.set_version_tag(self._registry(), name, version, key, value)

    def delete_version_tag(self, name: str, version: int, key: str) -> None:
        versions.delete_version_tag(self._registry(), name, version, key)

    # -- transitions and aliases --------------------------------------------------------------
    def promote(self, name: str, version: int, stage: str, reason: str = "") -> TransitionResult:
        return promote.promote(self._registry(), name, version, stage, reason)

    def approve(self, name: str, version: int, stage: str, comment: str = "") -> TransitionResult:
        return promote.approve(self._registry(), name, version, stage, comment)

    def transition_requests(
        self, name: str, status: str | None = "pending"
    ) -> list[TransitionRequest]:
        return promote.requests(self._registry(), name, status)

    def set_alias(self, name: str, alias: str, version: int) -> int | None:
        return aliases.set_alias(self._registry(), name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        aliases.delete_alias(self._registry(), name, alias)

    # -- lineage, audit, maintenance -----------------------------------------------------------
    def lineage(self, name: str, version: int) -> lineage.Lineage:
        return lineage.lineage(self._registry(), name, version)

    def events(
        self,
        model: str | None = None,
        version: int | None = None,
        kind: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Event]:
        return audit.list_events(
            self._registry(), model, version, kind, limit, newest_first=newest_first
        )

    def verify_audit(self) -> audit.ChainReport:
        return audit.verify_chain(self._registry())

    def import_gto(
        self, repo: Path, *, data: bool = True, remote: str | None = None
    ) -> gto_import.ImportReport:
        """GTO's registry in the git repository at repo, written into this registry; the
        versions' bytes fetched from the DVC cache or remote unless ``data`` is off."""
        from mlpipex.data.gto_import import read_models

        reg = self._registry(True)
        reg.require("admin")
        with tempfile.TemporaryDirectory(prefix="mlpipex-gto-") as tmp:
            return gto_import.import_gto(
                reg, read_models(repo, Path(tmp), data=data, remote=remote)
            )

    def fsck(self) -> maintenance.FsckReport:
        return maintenance.fsck(self._registry())

    def gc(
        self, grace_s: float = maintenance.DEFAULT_GRACE_S, dry_run: bool = False
    ) -> maintenance.GcReport:
        return maintenance.gc(self._registry(), grace_s=grace_s, dry_run=dry_run)

    def upgrade_schema(self) -> str:
        reg = self._registry(True)
        reg.store.upgrade()
        return reg.store.schema_revision() or ""

    # -- users and tokens ----------------------------------------------------------------------
    def create_user(
        self, name: str, roles: Sequence[str] = ("viewer",), password: str | None = None
    ) -> access.User:
        return access.create_user(self._registry(True), name, list(roles), password)

    def list_users(self) -> list[access.User]:
        return access.list_users(self._registry())

    def update_user(
        self,
        name: str,
        *,
        roles: Sequence[str] | None = None,
        password: str | None = None,
        disabled: bool | None = None,
    ) -> access.User:
        return access.update_user(
            self._registry(),
            name,
            roles=list(roles) if roles is not None else None,
            password=password,
            disabled=disabled,
        )

    def grant(self, user: str, model: str, role: str | None) -> access.User:
        return access.grant(self._registry(), user, model, role)

    def create_token(
        self, user: str | None = None, name: str = "", expires_in_s: int | None = None
    ) -> tuple[access.Token, str]:
        """A new API token; the clear value is returned once and never stored."""
        reg = self._registry(True)
        ttl = expires_in_s * 1000 if expires_in_s is not None else None
        return access.create_token(reg, user or reg.actor.name, name, ttl)

    def list_tokens(self, user: str | None = None) -> list[access.Token]:
        reg = self._registry()
        return access.list_tokens(reg, user or reg.actor.name)

    def revoke_token(self, token_id: str) -> None:
        access.revoke_token(self._registry(), token_id)

    # -- webhooks ------------------------------------------------------------------------------
    def create_webhook(self, url: str, events: Sequence[str], secret: str) -> webhooks.Webhook:
        return webhooks.create(self._registry(True), url, list(events), secret)

    def list_webhooks(self) -> list[webhooks.Webhook]:
        return webhooks.list_webhooks(self._registry())

    def delete_webhook(self, webhook_id: int) -> None:
        webhooks.delete(self._registry(), webhook_id)

    def test_webhook(self, webhook_id: int) -> int:
        return webhooks.test(self._registry(), webhook_id)

    def webhook_deliveries(self, webhook_id: int, limit: int = 50) -> list[webhooks.Delivery]:
        return webhooks.deliveries(self._registry(), webhook_id, limit)

    def deliver_webhooks(self) -> int:
        return webhooks.deliver_due(self._registry())

    # -- endpoints -----------------------------------------------------------------------------
    def apply_endpoint(self, spec: Mapping[str, Any]) -> EndpointStatus:
        return endpoints.apply(self._registry(True), spec)

    def endpoint_status(self, name: str) -> EndpointStatus:
        return endpoints.get_status(self._registry(), name)

    def list_endpoints(self) -> list[EndpointStatus]:
        if not self.location.exists:
            return []
        return endpoints.list_endpoints(self._registry())

    def rollback_endpoint(self, name: str, reason: str = "") -> EndpointStatus:
        return endpoints.rollback(self._registry(), name, reason)

    def delete_endpoint(self, name: str) -> None:
        endpoints.delete(self._registry(), name)

    def endpoint_timeseries(
        self, name: str, since_ms: int = 0, bucket_s: int = 10
    ) -> list[TrafficBucket]:
        return endpoints.timeseries(self._registry(), name, since_ms, bucket_s)

    # -- monitoring ----------------------------------------------------------------------------
    def endpoint_drift(
        self, name: str, version: int | None = None, window: int | None = None
    ) -> dict[str, Any]:
        from mlpipex.monitor import serving

        v, result = serving.drift(self._registry(), name, version, window)
        return {"endpoint": name, "version": v, **result.to_dict()}

    def log_feedback(self, name: str, labels: Sequence[Mapping[str, Any]]) -> FeedbackResult:
        """Labels for logged predictions of endpoint name (``{"request_id", "label"}`` each),
        sent in batches of 10,000; how many were stored and which ids were unknown."""
        from mlpipex.monitor import feedback

        reg = self._registry()
        return feedback.in_batches(labels, lambda part: feedback.ingest(reg, name, part))

    def endpoint_quality(
        self, name: str, version: int | None = None, window: str | None = None
    ) -> QualityReport:
        from mlpipex.monitor import quality

        return quality.measure(self._registry(), name, version, window)

    def endpoint_report(self, name: str, since_ms: int = 0) -> str:
        from mlpipex.monitor import serving

        return serving.report(self._registry(), name, since_ms)

    def prediction_log(
        self, name: str, since_ms: int = 0, version: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        from mlpipex.monitor import predictions

        return predictions.records(
            predictions.read(self._registry(), name, since_ms, version, limit)
        )
