"""``RemoteBackend``: the client's operations over a control plane's native API
(``MLPIPEX_URI=http://...``), returning the same values and raising the same errors as the
embedded registry. Small artifact files are hashed here, the server is asked which digests it
lacks, and only those are streamed up; large ones are streamed once, unhashed, and named by
the server."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mlpipex.client import wire
from mlpipex.client.http import Http
from mlpipex.client.remote_tracking import RemoteTracking
from mlpipex.config import Settings
from mlpipex.domain import api
from mlpipex.domain.deployment import EndpointStatus, TrafficBucket
from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.domain.models import Event, ModelVersion, Page, RegisteredModel, TransitionRequest
from mlpipex.domain.policy import Policy, parse_policy
from mlpipex.domain.workspaces import Quotas, Usage, Workspace
from mlpipex.errors import Invalid, NotFound
from mlpipex.objects.hashing import Progress
from mlpipex.objects.manifest import hash_files, list_files
from mlpipex.service.access import users as access
from mlpipex.service.events import webhooks
from mlpipex.service.events.audit import ChainReport
from mlpipex.service.registry.gto_import import ImportReport
from mlpipex.service.registry.lineage import Lineage
from mlpipex.service.registry.maintenance import FsckReport, GcReport
from mlpipex.service.registry.promote import TransitionResult
from mlpipex.service.registry.register import Registration

if TYPE_CHECKING:
    from mlpipex.client.backend import Fetcher
    from mlpipex.monitor.feedback import FeedbackResult
    from mlpipex.monitor.quality import QualityReport


# files this large go up unhashed, read once, and the server names them: hashing first read each
# twice (a 1 GB registration through a server took 2.9x `cp`, the upload alone 2x); identical
# bytes are still stored once, but sent again
STREAM_MIN = 64 * 1024 * 1024


def _q(name: str) -> str:
    return quote(name, safe="")


class RemoteBackend(RemoteTracking):
    def __init__(self, url: str, settings: Settings) -> None:
        self.http = Http(
            url, token=settings.token, user=settings.user, workspace=settings.workspace
        )

    def close(self) -> None:
        self.http.close()

    def fetcher(self) -> Fetcher:
        return _Downloads(self.http)

    # -- models --------------------------------------------------------------------------------
    def create_model(
        self,
        name: str,
        description: str,
        policy: Mapping[str, Any] | None,
        tags: Mapping[str, str],
    ) -> RegisteredModel:
        body = api.ModelCreate.model_construct(
            name=name,
            description=description,
            policy=dict(policy) if policy is not None else None,
            tags=dict(tags),
        )
        return wire.read(RegisteredModel, self.http.send("POST", "/api/v1/models", body))

    def get_model(self, name: str) -> RegisteredModel:
        return wire.read(RegisteredModel, self.http.call("GET", f"/api/v1/models/{_q(name)}"))

    def list_models(
        self, query: str | None, limit: int, page_token: str | None
    ) -> Page[RegisteredModel]:
        params = {
            k: v
            for k, v in {"query": query, "limit": limit, "page_token": page_token}.items()
            if v is not None
        }
        return wire.read(
            Page[RegisteredModel], self.http.call("GET", "/api/v1/models", params=params)
        )

    def stage_summary(self, names: list[str]) -> dict[str, dict[str, list[int]]]:
        return {n: self.http.call("GET", f"/api/v1/models/{_q(n)}/stages") for n in names}

    def get_policy(self, name: str) -> Policy:
        return parse_policy(self.http.call("GET", f"/api/v1/models/{_q(name)}/policy"))

    def set_policy(self, name: str, policy: Mapping[str, Any] | None, reason: str) -> Policy:
        body = api.PolicyBody.model_construct(
            policy=dict(policy) if policy else None, reason=reason
        )
        return parse_policy(self.http.send("PUT", f"/api/v1/models/{_q(name)}/policy", body))

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        body = api.TagBody.model_construct(value=value)
        self.http.send("PUT", f"/api/v1/models/{_q(name)}/tags/{_q(key)}", body)

    def delete_model_tag(self, name: str, key: str) -> None:
        self.http.call("DELETE", f"/api/v1/models/{_q(name)}/tags/{_q(key)}")

    # -- versions ------------------------------------------------------------------------------
    def check_registration(self, r: Registration) -> None:
        self.http.send("POST", f"/api/v1/models/{_q(r.name)}/versions/check", _body(r))

    def register_version(self, r: Registration, progress: Progress | None) -> ModelVersion:
        """r's files when it has them (a run's, already uploaded); else the artifact at r.path,
        after asking whether the registration would pass: a refusal must not leave uploaded
        objects behind."""
        files = r.files
        if files is None:
            assert r.path is not None
            if not r.path.exists():
                raise NotFound(
                    f"{r.path} does not exist", hint="give the model file or directory to register"
                )
            self.check_registration(r)
            files = self._store_tree(r.path, progress).files
        target = f"/api/v1/models/{_q(r.name)}/versions"
        return wire.read(ModelVersion, self.http.send("POST", target, _body(r, files)))

    def _store_tree(self, root: Path, progress: Progress | None) -> Manifest:
        """Every file under root stored on the server; their manifest. Files under STREAM_MIN
        are hashed first and sent only when the server lacks them; larger ones are sent once."""
        small: list[tuple[str, Path]] = []
        large: list[tuple[str, Path]] = []
        for rel, p in list_files(root):
            (small if p.stat().st_size < STREAM_MIN else large).append((rel, p))
        hashed = hash_files(small, progress)
        self._upload(hashed, dict(small), progress)
        sent = []
        for rel, p in large:
            stored = self.http.upload_unnamed(p, progress)
            sent.append(FileEntry(rel, stored.digest, stored.size))
        return Manifest.of([*hashed.files, *sent])

    def _upload(
        self, manifest: Manifest, local: dict[str, Path], progress: Progress | None
    ) -> None:
        if not manifest.files:
            return
        asked = api.DigestList.model_construct(digests=[f.digest for f in manifest.files])
        answer = self.http.send("POST", "/api/v1/objects/missing", asked)
        missing = set(api.MissingDigests.model_validate(answer).missing)
        for f in manifest.files:
            if f.digest in missing:
                self.http.upload(f.digest, local[f.path], progress)
                missing.discard(f.digest)

    def get_version(self, ref: str) -> ModelVersion:
        return wire.read(
            ModelVersion, self.http.call("GET", "/api/v1/resolve", params={"ref": ref})
        )

    def list_versions(
        self, name: str, limit: int, page_token: str | None, stage: str | None
    ) -> Page[ModelVersion]:
        params = {
            k: v
            for k, v in {"limit": limit, "page_token": page_token, "stage": stage}.items()
            if v is not None
        }
        return wire.read(
            Page[ModelVersion],
            self.http.call("GET", f"/api/v1/models/{_q(name)}/versions", params=params),
        )

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        path = f"/api/v1/models/{_q(name)}/versions/{version}/tags/{_q(key)}"
        self.http.send("PUT", path, api.TagBody.model_construct(value=value))

    def delete_version_tag(self, name: str, version: int, key: str) -> None:
        self.http.call("DELETE", f"/api/v1/models/{_q(name)}/versions/{version}/tags/{_q(key)}")

    # -- transitions and aliases --------------------------------------------------------------
    def _transition(
        self, kind: str, name: str, version: int, stage: str, text: str
    ) -> TransitionResult:
        body = api.TransitionBody.model_construct(to_stage=stage, reason=text)
        d = self.http.send("POST", f"/api/v1/models/{_q(name)}/versions/{version}/{kind}", body)
        return wire.read(TransitionResult, d)

    def promote(self, name: str, version: int, stage: str, reason: str) -> TransitionResult:
        return self._transition("transitions", name, version, stage, reason)

    def approve(self, name: str, version: int, stage: str, comment: str) -> TransitionResult:
        return self._transition("approvals", name, version, stage, comment)

    def transition_requests(self, name: str, status: str | None) -> list[TransitionRequest]:
        params = {"status": status} if status else {}
        rows = self.http.call("GET", f"/api/v1/models/{_q(name)}/requests", params=params)
        return wire.read(list[TransitionRequest], rows)

    def set_alias(self, name: str, alias: str, version: int) -> int | None:
        body = api.AliasBody.model_construct(version=version)
        d = self.http.send("PUT", f"/api/v1/models/{_q(name)}/aliases/{_q(alias)}", body)
        return api.AliasMoved.model_validate(d).previous

    def delete_alias(self, name: str, alias: str) -> None:
        self.http.call("DELETE", f"/api/v1/models/{_q(name)}/aliases/{_q(alias)}")

    # -- lineage, audit, maintenance -----------------------------------------------------------
    def lineage(self, name: str, version: int) -> Lineage:
        path = f"/api/v1/models/{_q(name)}/versions/{version}/lineage"
        return wire.read(Lineage, self.http.call("GET", path))

    def events(
        self,
        model: str | None,
        version: int | None,
        kind: str | None,
        limit: int | None,
        newest_first: bool,
    ) -> list[Event]:
        params = {
            k: v
            for k, v in {
                "model": model,
                "version": version,
                "kind": kind,
                "limit": limit,
                "newest_first": newest_first,
            }.items()
            if v is not None
        }
        return wire.read(list[Event], self.http.call("GET", "/api/v1/events", params=params))

    def verify_audit(self) -> ChainReport:
        return wire.read(ChainReport, self.http.call("GET", "/api/v1/events/verify"))

    def import_gto(self, repo: Path, data: bool, remote: str | None) -> ImportReport:
        # The import writes history (GTO's taggers and dates, moves past gates): an admin runs
        # it against the registry's database, not through a server's API.
        raise Invalid(
            "models import-gto does not run through a server",
            hint="run it with --uri (or MLPIPEX_URI) set to the registry's database "
            "(postgresql://... or the .mlpipex folder) and its objects",
        )

    def fsck(self) -> FsckReport:
        return wire.read(FsckReport, self.http.call("POST", "/api/v1/admin/fsck"))

    def gc(self, grace_s: float, dry_run: bool) -> GcReport:
        params = {"grace_s": grace_s, "dry_run": dry_run}
        return wire.read(GcReport, self.http.call("POST", "/api/v1/admin/gc", params=params))

    def upgrade_schema(self) -> str:
        raise NotFound("a server upgrades its own schema when it starts")

    # -- users and tokens ----------------------------------------------------------------------
    def create_user(self, name: str, roles: list[str], password: str | None) -> access.User:
        body = api.UserCreate.model_construct(name=name, roles=roles, password=password)
        return wire.read(access.User, self.http.send("POST", "/api/v1/users", body))

    def list_users(self) -> list[access.User]:
        return wire.read(list[access.User], self.http.call("GET", "/api/v1/users"))

    def update_user(
        self, name: str, roles: list[str] | None, password: str | None, disabled: bool | None
    ) -> access.User:
        body = api.UserUpdate.model_construct(roles=roles, password=password, disabled=disabled)
        return wire.read(access.User, self.http.send("PATCH", f"/api/v1/users/{_q(name)}", body))

    def grant(self, user: str, model: str, role: str | None) -> access.User:
        path = f"/api/v1/users/{_q(user)}/grants/{_q(model)}"
        body = api.GrantBody.model_construct(role=role)
        return wire.read(access.User, self.http.send("PUT", path, body))

    def create_token(
        self, user: str | None, name: str, expires_in_s: int | None, workspace: str | None
    ) -> tuple[access.Token, str]:
        body = api.TokenCreate.model_construct(
            user=user, name=name, expires_in_s=expires_in_s, workspace=workspace
        )
        made = api.TokenCreated.model_validate(self.http.send("POST", "/api/v1/tokens", body))
        return access.Token(made.id, made.user, name, 0, None, None, workspace), made.token

    def list_tokens(self, user: str | None) -> list[access.Token]:
        params = {"user": user} if user else {}
        return wire.read(list[access.Token], self.http.call("GET", "/api/v1/tokens", params=params))

    def revoke_token(self, token_id: str) -> None:
        self.http.call("DELETE", f"/api/v1/tokens/{_q(token_id)}")

    # -- workspaces ----------------------------------------------------------------------------
    def create_workspace(self, name: str, description: str, artifact_root: str | None) -> Workspace:
        body = api.WorkspaceCreate.model_construct(
            name=name, description=description, default_artifact_root=artifact_root
        )
        return wire.read(Workspace, self.http.send("POST", "/api/v1/workspaces", body))

    def list_workspaces(self) -> list[Workspace]:
        return wire.read(list[Workspace], self.http.call("GET", "/api/v1/workspaces"))

    def get_workspace(self, name: str) -> Workspace:
        return wire.read(Workspace, self.http.call("GET", f"/api/v1/workspaces/{_q(name)}"))

    def update_workspace(
        self, name: str, description: str | None, artifact_root: str | None
    ) -> Workspace:
        body = api.WorkspaceUpdate.model_construct(
            description=description, default_artifact_root=artifact_root
        )
        path = f"/api/v1/workspaces/{_q(name)}"
        return wire.read(Workspace, self.http.send("PATCH", path, body))

    def delete_workspace(self, name: str) -> None:
        self.http.call("DELETE", f"/api/v1/workspaces/{_q(name)}")

    def set_quotas(self, name: str, quotas: Quotas) -> Workspace:
        body = api.QuotaBody.model_construct(
            models=quotas.models,
            versions=quotas.versions,
            bytes=quotas.bytes,
            endpoints=quotas.endpoints,
        )
        path = f"/api/v1/workspaces/{_q(name)}/quotas"
        return wire.read(Workspace, self.http.send("PUT", path, body))

    def workspace_usage(self, name: str) -> Usage:
        return wire.read(Usage, self.http.call("GET", f"/api/v1/workspaces/{_q(name)}/usage"))

    def set_workspace_role(self, name: str, user: str, role: str | None) -> list[tuple[str, str]]:
        body = api.WorkspaceRoleBody.model_construct(role=role)
        path = f"/api/v1/workspaces/{_q(name)}/members/{_q(user)}"
        return [
            (m.user, m.role) for m in wire.read(list[api.Member], self.http.send("PUT", path, body))
        ]

    def workspace_members(self, name: str) -> list[tuple[str, str]]:
        path = f"/api/v1/workspaces/{_q(name)}/members"
        return [(m.user, m.role) for m in wire.read(list[api.Member], self.http.call("GET", path))]

    # -- webhooks ------------------------------------------------------------------------------
    def create_webhook(self, url: str, events: list[str], secret: str) -> webhooks.Webhook:
        body = api.WebhookCreate.model_construct(url=url, events=events, secret=secret)
        return wire.read(webhooks.Webhook, self.http.send("POST", "/api/v1/webhooks", body))

    def list_webhooks(self) -> list[webhooks.Webhook]:
        return wire.read(list[webhooks.Webhook], self.http.call("GET", "/api/v1/webhooks"))

    def delete_webhook(self, webhook_id: int) -> None:
        self.http.call("DELETE", f"/api/v1/webhooks/{webhook_id}")

    def test_webhook(self, webhook_id: int) -> int:
        return int(self.http.call("POST", f"/api/v1/webhooks/{webhook_id}/test")["status"])

    def webhook_deliveries(self, webhook_id: int, limit: int) -> list[webhooks.Delivery]:
        rows = self.http.call(
            "GET", f"/api/v1/webhooks/{webhook_id}/deliveries", params={"limit": limit}
        )
        return wire.read(list[webhooks.Delivery], rows)

    def deliver_webhooks(self) -> int:
        raise NotFound("servers send deliveries themselves")

    # -- endpoints -----------------------------------------------------------------------------
    def apply_endpoint(self, spec: Mapping[str, Any]) -> EndpointStatus:
        return EndpointStatus.from_json(self.http.call("PUT", "/api/v1/endpoints", json=dict(spec)))

    def endpoint_status(self, name: str) -> EndpointStatus:
        return EndpointStatus.from_json(self.http.call("GET", f"/api/v1/endpoints/{_q(name)}"))

    def list_endpoints(self) -> list[EndpointStatus]:
        return [EndpointStatus.from_json(s) for s in self.http.call("GET", "/api/v1/endpoints")]

    def rollback_endpoint(self, name: str, reason: str) -> EndpointStatus:
        return EndpointStatus.from_json(
            self.http.call(
                "POST", f"/api/v1/endpoints/{_q(name)}/rollback", json={"reason": reason}
            )
        )

    def delete_endpoint(self, name: str) -> None:
        self.http.call("DELETE", f"/api/v1/endpoints/{_q(name)}")

    def endpoint_timeseries(self, name: str, since_ms: int, bucket_s: int) -> list[TrafficBucket]:
        found = self.http.call(
            "GET",
            f"/api/v1/endpoints/{_q(name)}/timeseries",
            params={"since_ms": since_ms, "bucket_s": bucket_s},
        )
        return [TrafficBucket.from_json(b) for b in found]

    # -- monitoring ----------------------------------------------------------------------------
    def endpoint_drift(self, name: str, version: int | None, window: int | None) -> dict[str, Any]:
        params = {k: v for k, v in {"version": version, "window": window}.items() if v is not None}
        result: dict[str, Any] = self.http.call(
            "GET", f"/api/v1/endpoints/{_q(name)}/drift", params=params
        )
        return result

    def log_feedback(self, name: str, labels: Sequence[Mapping[str, Any]]) -> FeedbackResult:
        from mlpipex.monitor import feedback

        def post(part: Sequence[Mapping[str, Any]]) -> FeedbackResult:
            path = f"/api/v1/endpoints/{_q(name)}/feedback"
            answer = self.http.call("POST", path, json=list(part))
            return feedback.FeedbackResult.from_dict(answer)

        return feedback.in_batches(labels, post)

    def endpoint_quality(self, name: str, version: int | None, window: str | None) -> QualityReport:
        from mlpipex.monitor.quality import QualityReport

        params = {k: v for k, v in {"version": version, "window": window}.items() if v is not None}
        return QualityReport.from_dict(
            self.http.call("GET", f"/api/v1/endpoints/{_q(name)}/quality", params=params)
        )

    def endpoint_report(self, name: str, since_ms: int) -> str:
        return str(
            self.http.text(
                "GET", f"/api/v1/endpoints/{_q(name)}/report", params={"since_ms": since_ms}
            )
        )

    def prediction_log(
        self, name: str, since_ms: int, version: int | None, limit: int
    ) -> list[dict[str, Any]]:
        params = {
            k: v
            for k, v in {"since_ms": since_ms, "version": version, "limit": limit}.items()
            if v is not None
        }
        result: list[dict[str, Any]] = self.http.call(
            "GET", f"/api/v1/endpoints/{_q(name)}/predictions", params=params
        )
        return result


def _body(r: Registration, files: Sequence[FileEntry] = ()) -> api.VersionCreate:
    return api.VersionCreate.model_construct(
        files=[
            api.FileBody.model_construct(path=f.path, digest=f.digest, size=f.size) for f in files
        ],
        run_id=r.run_id,
        commit=r.commit,
        commit_dirty=r.commit_dirty,
        datasets=[
            api.DatasetBody.model_construct(
                name=d.name, uri=d.uri, digest=d.digest, size=d.size, stage=d.stage
            )
            for d in r.datasets
        ],
        metrics=dict(r.metrics),
        tags=dict(r.tags),
        description=r.description,
        flavor=r.flavor,
    )


class _Downloads:
    def __init__(self, http: Http) -> None:
        self.http = http

    def get_file(self, digest: str, dest: str | os.PathLike[str]) -> None:
        self.http.download(digest, Path(dest))
