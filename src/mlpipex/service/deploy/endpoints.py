"""Endpoints: named serving targets that reference registry entries. Applying a spec, reading
an endpoint's status, what agents must serve (desired state) and what they report back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.agent_report import parse_report
from mlpipex.domain.deployment import (
    AgentInfo,
    Deployment,
    DeploymentState,
    Endpoint,
    EndpointStatus,
    Share,
    TrafficBucket,
    VersionStats,
)
from mlpipex.domain.endpoint import RESOURCES_NOTE, EndpointSpec, parse_endpoint
from mlpipex.domain.latency import LATENCY_BUCKETS_MS, merge, quantile
from mlpipex.domain.manifest import require_deployable
from mlpipex.domain.models import PICKLE_TAG, ModelVersion
from mlpipex.domain.workspaces import Quota
from mlpipex.errors import Conflict, NotFound
from mlpipex.service.access.workspaces import check_quota
from mlpipex.service.context import Registry
from mlpipex.service.deploy import rollout
from mlpipex.service.registry.models import require_model
from mlpipex.store import registry
from mlpipex.store.deploy import endpoints as deploy
from mlpipex.store.deploy import traffic
from mlpipex.store.deploy.traffic import TrafficSample


def _require(conn: Connection, ws: str, name: str, *, lock: bool = False) -> Endpoint:
    row = deploy.endpoint_row(conn, ws, name, lock=lock)
    if row is None:
        raise NotFound(f"endpoint {name!r} does not exist", hint="see `mlpipex endpoint list`")
    return row


def apply(reg: Registry, data: Mapping[str, Any]) -> EndpointStatus:
    """Create or update an endpoint from its spec. Following a stage or alias: the first
    deployment goes straight to 100%; a later target change starts a rollout."""
    spec = parse_endpoint(dict(data))
    reg.require("editor", spec.model)
    now = reg.clock()
    with reg.store.write() as conn:
        model_row = require_model(conn, reg.workspace, spec.model)
        if spec.follow is not None and spec.alias is None:
            reg.policy_of(model_row.policy).stage(spec.follow)
        for v in _fixed_versions(spec):
            vrow = registry.version_row(conn, model_row.id, v)
            if vrow is None:
                raise NotFound(f"version {spec.model}/{v} does not exist")
            require_deployable(f"{spec.model}/{v}", vrow.artifact_digest)
        ep = deploy.endpoint_row(conn, reg.workspace, spec.name, lock=True)
        if ep is not None and ep.model != spec.model:
            raise Conflict(f"endpoint {spec.name!r} serves model {ep.model!r}; delete it first")
        if ep is None:
            check_quota(conn, reg.workspace, Quota.ENDPOINTS)
            eid = deploy.insert_endpoint(conn, reg.workspace, spec, reg.actor.name, now)
        else:
            eid = ep.id
            deploy.update_endpoint(conn, eid, now, spec=spec)
        reg.record(
            conn,
            time=now,
            kind=ev.ENDPOINT_APPLIED,
            model=spec.model,
            payload={"endpoint": spec.name, "spec": spec.to_json()},
        )
        ep = _by_id(conn, eid)
        if spec.traffic is not None:
            shares = [Share(w.version, w.weight) for w in spec.traffic]
            stable = max(spec.traffic, key=lambda w: w.weight).version
            active = deploy.active_deployment(conn, eid)
            if active is not None:
                why = "replaced by fixed traffic"
                rollout.end(conn, ep, active, DeploymentState.ROLLED_BACK, why, now)
            deploy.update_endpoint(conn, eid, now, traffic=shares, stable_version=stable)
        else:
            target = rollout.target_version(conn, reg, model_row, spec)
            active = deploy.active_deployment(conn, eid)
            if (
                target is not None
                and target != ep.stable_version
                and (active is None or active.to_version != target)
            ):
                if active is not None:
                    rollout.end(conn, ep, active, DeploymentState.ROLLED_BACK, "superseded", now)
                # The registry change already happened before this spec: nothing to revert.
                rollout.start(conn, reg, ep, spec, target, None, now)
        return _status(conn, reg, _by_id(conn, eid))


def _by_id(conn: Connection, endpoint_id: int) -> Endpoint:
    """An endpoint this transaction holds (it was just written, or is locked)."""
    ep = deploy.endpoint_by_id(conn, endpoint_id)
    assert ep is not None
    return ep


def _fixed_versions(spec: EndpointSpec) -> list[int]:
    out = [w.version for w in spec.traffic or []]
    return out + ([spec.shadow.version] if spec.shadow else [])


def endpoint(reg: Registry, name: str) -> Endpoint:
    """The endpoint (model, spec, traffic, stable version), for readers of its model."""
    with reg.store.read() as conn:
        ep = _require(conn, reg.workspace, name)
    reg.require("viewer", ep.model)
    return ep


def get_status(reg: Registry, name: str) -> EndpointStatus:
    with reg.store.read() as conn:
        ep = _require(conn, reg.workspace, name)
        reg.require("viewer", ep.model)
        return _status(conn, reg, ep)


def list_endpoints(reg: Registry) -> list[EndpointStatus]:
    with reg.store.read() as conn:
        visible = reg.visible_models()
        return [
            _status(conn, reg, ep)
            for ep in deploy.endpoints(conn, reg.workspace)
            if visible is None or ep.model in visible
        ]


def delete(reg: Registry, name: str) -> None:
    now = reg.clock()
    with reg.store.write() as conn:
        ep = _require(conn, reg.workspace, name, lock=True)
        reg.require("editor", ep.model)
        deploy.delete_endpoint(conn, ep.id)
        reg.record(
            conn,
            time=now,
            kind=ev.ENDPOINT_DELETED,
            model=ep.model,
            payload={"endpoint": name},
        )


def rollback(reg: Registry, name: str, reason: str = "") -> EndpointStatus:
    """By hand: the rollout under way (or the last one that succeeded) is undone, traffic and
    registry alike."""
    with reg.store.write() as conn:
        ep = _require(conn, reg.workspace, name, lock=True)
        reg.require("editor", ep.model)
        d = deploy.active_deployment(conn, ep.id) or deploy.latest_deployment(conn, ep.id)
        if d is None or d.from_version is None or d.state == DeploymentState.ROLLED_BACK:
            raise Conflict(f"endpoint {name!r} has no deployment to roll back")
        if d.state == DeploymentState.SUCCEEDED:
            # The new version became stable: serve the previous one again.
            deploy.update_endpoint(conn, ep.id, reg.clock(), stable_version=d.from_version)
            ep = _by_id(conn, ep.id)
        why = f"manual rollback by {reg.actor.name}" + (f": {reason}" if reason else "")
        rollout.rollback(conn, reg, ep, d, why, None, actor=reg.actor.name)
        return _status(conn, reg, _by_id(conn, ep.id))


def _status(conn: Connection, reg: Registry, ep: Endpoint) -> EndpointStatus:
    spec = ep.spec
    now = reg.clock()
    stats = {}
    for w in ep.traffic:
        req, err, cerr, buckets = traffic.window(
            conn, ep.workspace, ep.name, w.version, now - 60_000, now
        )
        stats[str(w.version)] = VersionStats(req, err, cerr, quantile(buckets, 0.99))
    return EndpointStatus(
        name=ep.name,
        model=ep.model,
        follow=spec.follow,
        traffic=ep.traffic,
        stable_version=ep.stable_version,
        shadow=spec.shadow,
        sticky_header=spec.sticky_header,
        rollout=spec.rollout,
        deployment=deploy.latest_deployment(conn, ep.id),
        stats=stats,
        updated_at=ep.updated_at,
        notes=(RESOURCES_NOTE,) if spec.resources is not None else (),
        replicas=spec.replicas,
        autoscaling=spec.autoscaling,
        ray_actor_options=spec.ray_actor_options,
    )


def history(reg: Registry, name: str, limit: int = 20) -> list[Deployment]:
    with reg.store.read() as conn:
        ep = _require(conn, reg.workspace, name)
        reg.require("viewer", ep.model)
        return deploy.deployments_of(conn, ep.id, limit)


# -- agents ------------------------------------------------------------------------------------


def desired(reg: Registry) -> dict[str, Any]:
    """What every agent of the workspace must serve: per endpoint, its versions with weights and
    files."""
    reg.require("viewer")
    out = []
    with reg.store.read() as conn:
        for ep in deploy.endpoints(conn, reg.workspace):
            model_row = registry.model_row(conn, reg.workspace, ep.model)
            if model_row is None:
                continue
            shadow = ep.spec.shadow
            wanted = [w.version for w in ep.traffic] + ([shadow.version] if shadow else [])
            rows = [r for r in (registry.version_row(conn, model_row.id, v) for v in wanted) if r]
            files = {v.version: v for v in registry.to_versions(conn, rows, files=True)}

            versions = [
                {**e, "weight": w.weight}
                for w in ep.traffic
                if (e := _served(files, w.version)) is not None
            ]
            shadow_entry = _served(files, shadow.version) if shadow else None
            out.append(
                {
                    "name": ep.name,
                    "model": ep.model,
                    "log_sample_rate": ep.spec.monitoring.sample_rate,
                    "sticky_header": ep.spec.sticky_header,
                    "resources": ep.spec.resources,
                    "versions": versions,
                    "shadow": {**shadow_entry, "percent": shadow.percent}
                    if shadow and shadow_entry
                    else None,
                }
            )
    body = json.dumps(out, sort_keys=True).encode()
    generation = int(hashlib.blake2b(body, digest_size=7).hexdigest(), 16)
    return {"generation": generation, "endpoints": out}


def _served(versions: Mapping[int, ModelVersion], version: int) -> dict[str, Any] | None:
    v = versions.get(version)
    if v is None:
        return None
    return {
        "version": version,
        "pickle": v.tags.get(PICKLE_TAG) == "true",
        "files": [{"path": f.path, "digest": f.digest, "size": f.size} for f in v.files],
    }


def report(reg: Registry, body: Mapping[str, Any]) -> None:
    """An agent's counters since its last acknowledged report."""
    reg.require("editor")
    sent = parse_report(body)
    now = reg.clock()
    rows, errors = [], []
    n_buckets = len(LATENCY_BUCKETS_MS) + 1
    for endpoint, data in (sent.endpoints or {}).items():
        errors += [f"{endpoint}: {e}" for e in data.errors][:20]
        for version, c in (data.versions or {}).items():
            buckets = c.latency_ms_buckets[:n_buckets]
            if c.requests or c.errors:
                rows.append(
                    TrafficSample(
                        endpoint=endpoint,
                        version=version,
                        agent=sent.agent,
                        time=now,
                        requests=c.requests,
                        errors=c.errors,
                        client_errors=c.client_errors,
                        latency_buckets=(*buckets, *[0] * (n_buckets - len(buckets))),
                        latency_sum_ms=c.latency_sum_ms,
                    )
                )
    with reg.store.write() as conn:
        traffic.insert_samples(conn, reg.workspace, rows)
        traffic.upsert_agent(
            conn, reg.workspace, sent.agent, sent.url or "", sent.generation or 0, errors, now
        )


def agents(reg: Registry) -> list[AgentInfo]:
    reg.require("viewer")
    with reg.store.read() as conn:
        return [
            AgentInfo(a.name, a.url, a.generation, a.errors, a.last_seen)
            for a in traffic.agents(conn, reg.workspace)
        ]


def timeseries(reg: Registry, name: str, since_ms: int, bucket_s: int = 10) -> list[TrafficBucket]:
    """Per version and time bucket: requests, errors, p50 and p99 latency (for charts)."""
    with reg.store.read() as conn:
        ep = _require(conn, reg.workspace, name)
        reg.require("viewer", ep.model)
        samples = traffic.samples_since(conn, reg.workspace, name, since_ms)
    buckets: dict[tuple[int, int], list[TrafficSample]] = {}
    step = bucket_s * 1000
    for s in samples:
        buckets.setdefault((s.time // step * step, s.version), []).append(s)
    out = []
    for (t, version), rows in sorted(buckets.items()):
        hist = merge([r.latency_buckets for r in rows])
        out.append(
            TrafficBucket(
                time=t,
                version=version,
                requests=sum(r.requests for r in rows),
                errors=sum(r.errors for r in rows),
                p50_ms=quantile(hist, 0.5),
                p99_ms=quantile(hist, 0.99),
            )
        )
    return out
