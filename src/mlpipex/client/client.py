"""``mlpipex.Client``: one interface for every registry operation, with the same rules as the CLI.

Work that needs the caller's files (hashing datasets, reading git, reading packages) happens
here, on the caller's side, once; the backend (``client/backend.py``) then records the result in
an embedded registry or sends it to a server."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.client.datasets import resolve as resolve_dataset
from mlpipex.client.gitinfo import detect_commit
from mlpipex.client.models import ModelMethods, local_package, package_tags
from mlpipex.client.tracking import TrackingMethods
from mlpipex.config import Location, Settings, resolve
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.errors import Invalid
from mlpipex.service.registry import register
from mlpipex.service.registry.maintenance import DEFAULT_GRACE_S

if TYPE_CHECKING:
    from mlpipex.client.backend import Backend
    from mlpipex.domain.deployment import EndpointStatus, TrafficBucket
    from mlpipex.domain.models import Event, Page, RegisteredModel, TransitionRequest
    from mlpipex.domain.policy import Policy
    from mlpipex.domain.workspaces import Quotas, Usage, Workspace
    from mlpipex.monitor.feedback import FeedbackResult
    from mlpipex.monitor.quality import QualityReport
    from mlpipex.objects.hashing import Progress
    from mlpipex.service.access.users import Token, User
    from mlpipex.service.context import Actor, Registry
    from mlpipex.service.events.audit import ChainReport
    from mlpipex.service.events.webhooks import Delivery, Webhook
    from mlpipex.service.registry.gto_import import ImportReport
    from mlpipex.service.registry.lineage import Lineage
    from mlpipex.service.registry.maintenance import FsckReport, GcReport
    from mlpipex.service.registry.promote import TransitionResult


DatasetsArg = Mapping[str, str] | Sequence[DatasetRef] | None


class Client(TrackingMethods, ModelMethods):
    """The registry at ``uri`` (default: ``MLPIPEX_URI``, else the nearest ``.mlpipex`` folder);
    a server URL (``http(s)://``) gives the same methods over HTTP. Everything acts in
    ``workspace`` (default: ``MLPIPEX_WORKSPACE``, else ``default``).

    Models loaded by URI are materialized under ``cache_dir`` (default: ``.mlpipex/cache`` of a
    local registry, else ``~/.cache/mlpipex``)."""

    def __init__(
        self,
        uri: str | None = None,
        *,
        objects: str | None = None,
        user: str | None = None,
        workspace: str | None = None,
        settings: Settings | None = None,
        actor: Actor | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        base = settings or Settings()
        self.settings = base.model_copy(
            update={
                k: v
                for k, v in {
                    "uri": uri,
                    "objects": objects,
                    "user": user,
                    "workspace": workspace,
                }.items()
                if v is not None
            }
        )
        self.location: Location = resolve(self.settings.uri, self.settings.objects)
        root = self.location.root
        self.cache_dir = (
            Path(cache_dir)
            if cache_dir is not None
            else root / "cache"
            if root is not None
            else Path.home() / ".cache" / "mlpipex"
        )
        # Typed as the protocol: a backend lacking a method fails mypy here.
        self._backend: Backend
        if self.location.kind == "http":
            from mlpipex.client.remote import RemoteBackend

            self._backend = RemoteBackend(self.location.url, self.settings)
        else:
            from mlpipex.client.local import LocalBackend

            self._backend = LocalBackend(self.location, self.settings, actor)

    @property
    def registry(self) -> Registry:
        """The embedded registry (created when missing); a server's is behind its API."""
        from mlpipex.client.local import LocalBackend

        if not isinstance(self._backend, LocalBackend):
            raise Invalid("this operation needs direct access to the registry, not a server URL")
        return self._backend.open(create=True)

    def close(self) -> None:
        self._backend.close()

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
        return self._backend.create_model(name, description, policy, tags or {})

    def get_model(self, name: str) -> RegisteredModel:
        return self._backend.get_model(name)

    def list_models(
        self, query: str | None = None, limit: int = 100, page_token: str | None = None
    ) -> Page[RegisteredModel]:
        return self._backend.list_models(query, limit, page_token)

    def stage_summary(self, names: list[str]) -> dict[str, dict[str, list[int]]]:
        return self._backend.stage_summary(names)

    def get_policy(self, name: str) -> Policy:
        return self._backend.get_policy(name)

    def set_policy(self, name: str, policy: Mapping[str, Any] | None, reason: str = "") -> Policy:
        return self._backend.set_policy(name, policy, reason)

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        self._backend.set_model_tag(name, key, value)

    def delete_model_tag(self, name: str, key: str) -> None:
        self._backend.delete_model_tag(name, key)

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
        return self._backend.register_version(
            register.Registration(
                name=name,
                path=p,
                commit=commit,
                commit_dirty=dirty,
                datasets=refs,
                # same messages from either backend, before anything is hashed or sent
                metrics=register.check_metrics(metrics or {}),
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
        return self._backend.get_version(ref)

    def list_versions(
        self, name: str, limit: int = 100, page_token: str | None = None, stage: str | None = None
    ) -> Page[ModelVersion]:
        return self._backend.list_versions(name, limit, page_token, stage)

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        self._backend.set_version_tag(name, version, key, value)

    def delete_version_tag(self, name: str, version: int, key: str) -> None:
        self._backend.delete_version_tag(name, version, key)

    # -- transitions and aliases --------------------------------------------------------------
    def promote(self, name: str, version: int, stage: str, reason: str = "") -> TransitionResult:
        return self._backend.promote(name, version, stage, reason)

    def approve(self, name: str, version: int, stage: str, comment: str = "") -> TransitionResult:
        return self._backend.approve(name, version, stage, comment)

    def transition_requests(
        self, name: str, status: str | None = "pending"
    ) -> list[TransitionRequest]:
        return self._backend.transition_requests(name, status)

    def set_alias(self, name: str, alias: str, version: int) -> int | None:
        return self._backend.set_alias(name, alias, version)

    def delete_alias(self, name: str, alias: str) -> None:
        self._backend.delete_alias(name, alias)

    # -- lineage, audit, maintenance -----------------------------------------------------------
    def lineage(self, name: str, version: int) -> Lineage:
        return self._backend.lineage(name, version)

    def events(
        self,
        model: str | None = None,
        version: int | None = None,
        kind: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Event]:
        return self._backend.events(model, version, kind, limit, newest_first)

    def verify_audit(self) -> ChainReport:
        return self._backend.verify_audit()

    def import_gto(
        self, repo: Path, *, data: bool = True, remote: str | None = None
    ) -> ImportReport:
        """GTO's registry in the git repository at repo, written into this registry; the
        versions' bytes fetched from the DVC cache or remote unless ``data`` is off."""
        return self._backend.import_gto(repo, data, remote)

    def fsck(self) -> FsckReport:
        return self._backend.fsck()

    def gc(self, grace_s: float = DEFAULT_GRACE_S, dry_run: bool = False) -> GcReport:
        return self._backend.gc(grace_s, dry_run)

    def upgrade_schema(self) -> str:
        return self._backend.upgrade_schema()

    # -- users and tokens ----------------------------------------------------------------------
    def create_user(
        self, name: str, roles: Sequence[str] = ("viewer",), password: str | None = None
    ) -> User:
        return self._backend.create_user(name, list(roles), password)

    def list_users(self) -> list[User]:
        return self._backend.list_users()

    def update_user(
        self,
        name: str,
        *,
        roles: Sequence[str] | None = None,
        password: str | None = None,
        disabled: bool | None = None,
    ) -> User:
        listed = list(roles) if roles is not None else None
        return self._backend.update_user(name, listed, password, disabled)

    def grant(self, user: str, model: str, role: str | None) -> User:
        return self._backend.grant(user, model, role)

    def create_token(
        self,
        user: str | None = None,
        name: str = "",
        expires_in_s: int | None = None,
        workspace: str | None = None,
    ) -> tuple[Token, str]:
        """A new API token (acting only in workspace, when one is named); the clear value is
        returned once and never stored."""
        return self._backend.create_token(user, name, expires_in_s, workspace)

    def list_tokens(self, user: str | None = None) -> list[Token]:
        return self._backend.list_tokens(user)

    def revoke_token(self, token_id: str) -> None:
        self._backend.revoke_token(token_id)

    # -- workspaces ----------------------------------------------------------------------------
    def create_workspace(
        self, name: str, description: str = "", artifact_root: str | None = None
    ) -> Workspace:
        """A new workspace (an administrator of every workspace creates them)."""
        return self._backend.create_workspace(name, description, artifact_root)

    def list_workspaces(self) -> list[Workspace]:
        """The workspaces the caller may enter."""
        return self._backend.list_workspaces()

    def get_workspace(self, name: str) -> Workspace:
        return self._backend.get_workspace(name)

    def update_workspace(
        self, name: str, description: str | None = None, artifact_root: str | None = None
    ) -> Workspace:
        return self._backend.update_workspace(name, description, artifact_root)

    def delete_workspace(self, name: str) -> None:
        """Delete an empty workspace; one that holds models, experiments or endpoints is refused."""
        self._backend.delete_workspace(name)

    def set_quotas(self, name: str, quotas: Quotas) -> Workspace:
        return self._backend.set_quotas(name, quotas)

    def workspace_usage(self, name: str) -> Usage:
        return self._backend.workspace_usage(name)

    def set_workspace_role(self, name: str, user: str, role: str | None) -> list[tuple[str, str]]:
        """Give user a role in the workspace (None removes it); the members after."""
        return self._backend.set_workspace_role(name, user, role)

    def workspace_members(self, name: str) -> list[tuple[str, str]]:
        return self._backend.workspace_members(name)

    # -- webhooks ------------------------------------------------------------------------------
    def create_webhook(self, url: str, events: Sequence[str], secret: str) -> Webhook:
        return self._backend.create_webhook(url, list(events), secret)

    def list_webhooks(self) -> list[Webhook]:
        return self._backend.list_webhooks()

    def delete_webhook(self, webhook_id: int) -> None:
        self._backend.delete_webhook(webhook_id)

    def test_webhook(self, webhook_id: int) -> int:
        return self._backend.test_webhook(webhook_id)

    def webhook_deliveries(self, webhook_id: int, limit: int = 50) -> list[Delivery]:
        return self._backend.webhook_deliveries(webhook_id, limit)

    def deliver_webhooks(self) -> int:
        return self._backend.deliver_webhooks()

    # -- endpoints -----------------------------------------------------------------------------
    def apply_endpoint(self, spec: Mapping[str, Any]) -> EndpointStatus:
        return self._backend.apply_endpoint(spec)

    def endpoint_status(self, name: str) -> EndpointStatus:
        return self._backend.endpoint_status(name)

    def list_endpoints(self) -> list[EndpointStatus]:
        return self._backend.list_endpoints()

    def rollback_endpoint(self, name: str, reason: str = "") -> EndpointStatus:
        return self._backend.rollback_endpoint(name, reason)

    def delete_endpoint(self, name: str) -> None:
        self._backend.delete_endpoint(name)

    def endpoint_timeseries(
        self, name: str, since_ms: int = 0, bucket_s: int = 10
    ) -> list[TrafficBucket]:
        return self._backend.endpoint_timeseries(name, since_ms, bucket_s)

    # -- monitoring ----------------------------------------------------------------------------
    def endpoint_drift(
        self, name: str, version: int | None = None, window: int | None = None
    ) -> dict[str, Any]:
        return self._backend.endpoint_drift(name, version, window)

    def log_feedback(self, name: str, labels: Sequence[Mapping[str, Any]]) -> FeedbackResult:
        """Labels for logged predictions of endpoint name (``{"request_id", "label"}`` each),
        sent in batches of 10,000; how many were stored and which ids were unknown."""
        return self._backend.log_feedback(name, labels)

    def endpoint_quality(
        self, name: str, version: int | None = None, window: str | None = None
    ) -> QualityReport:
        return self._backend.endpoint_quality(name, version, window)

    def endpoint_report(self, name: str, since_ms: int = 0) -> str:
        return self._backend.endpoint_report(name, since_ms)

    def prediction_log(
        self, name: str, since_ms: int = 0, version: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        return self._backend.prediction_log(name, since_ms, version, limit)
