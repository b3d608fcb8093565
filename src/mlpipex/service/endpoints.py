"""Endpoints: named serving targets that reference registry entries. Applying a spec, reading
an endpoint's status, what agents must serve (desired state) and what they report back."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.endpoint import EndpointSpec, parse_endpoint
from mlpipex.domain.latency import LATENCY_BUCKETS_MS, merge, quantile
from mlpipex.domain.models import PICKLE_TAG
from mlpipex.errors import Conflict, Invalid, NotFound
from mlpipex.service import rollout
from mlpipex.service.context import Registry
from mlpipex.service.models import require_model
from mlpipex.store import deploy, events, registry


def _require(conn: Connection, name: str, *, lock: bool = False) -> Any:
    row = deploy.endpoint_row(conn, name, lock=lock)
    if row is None:
        raise NotFound(f"endpoint {name!r} does not exist", hint="see `mlpipex endpoint list`")
    return row


def apply(reg: Registry, data: Mapping[str, Any]) -> dict[str, Any]:
    """Create or update an endpoint from its spec. Following a stage or alias: the first
    deployment goes straight to 100%; a later target change starts a rollout."""
    spec = parse_endpoint(dict(data))
    reg.require("editor", spec.model)
    now = reg.clock()
    stored = spec.model_dump(mode="json", exclude_none=True)
    with reg.store.write() as conn:
        model_row = require_model(conn, spec.model)
        if spec.follow is not None and spec.alias is None:
            reg.policy_of(model_row.policy).stage(spec.follow)
        for v in _fixed_versions(spec):
            if registry.version_row(conn, model_row.id, v) is None:
                raise NotFound(f"version {spec.model}/{v} does not exist")
        ep = deploy.endpoint_row(conn, spec.name, lock=True)
        if ep is not None and ep.model != spec.model:
            raise Conflict(f"endpoint {spec.name!r} serves model {ep.model!r}; delete it first")
        if ep is None:
            eid = deploy.insert_endpoint(
                conn, spec.name, spec.model, stored, [], None, reg.actor.name, now
            )
        else:
            eid = ep.id
            deploy.update_endpoint(conn, eid, now, spec=stored)
        events.append(
            conn,
            time=now,
            actor=reg.actor.name,
            kind=ev.ENDPOINT_APPLIED,
            model=spec.model,
            payload={"endpoint": spec.name, "spec": stored},
        )
        ep = deploy.endpoint_by_id(conn, eid)
        assert ep is not None
        if spec.traffic is not None:
            traffic = [{"version": w.version, "weight": w.weight} for w in spec.traffic]
            stable = max(spec.traffic, key=lambda w: w.weight).version
            active = deploy.active_deployment(conn, eid)
            if active is not None:
                rollout.end(conn, reg, ep, active, "rolled_back", "replaced by fixed traffic", now)
            deploy.update_endpoint(conn, eid, now, traffic=traffic, stable_version=stable)
        else:
            target = rollout.target_version(conn, reg, model_row, spec)
            active = deploy.active_deployment(conn, eid)
            if (
                target is not None
                and target != ep.stable_version
                and (active is None or active.to_version != target)
            ):
                if active is not None:
                    rollout.end(conn, reg, ep, active, "rolled_back", "superseded", now)
                # The registry change already happened before this spec: nothing to revert.
                rollout.start(conn, reg, ep, spec, target, None, now)
        return _status(conn, reg, deploy.endpoint_by_id(conn, eid))


def _fixed_versions(spec: EndpointSpec) -> list[int]:
    out = [w.version for w in spec.traffic or []]
    return out + ([spec.shadow.version] if spec.shadow else [])


def endpoint(reg: Registry, name: str) -> Any:
    """The endpoint's row (model, spec, traffic, stable version), for readers of its model."""
    with reg.store.read() as conn:
        ep = _require(conn, name)
    reg.require("viewer", ep.model)
    return ep


def get_status(reg: Registry, name: str) -> dict[str, Any]:
    with reg.store.read() as conn:
        ep = _require(conn, name)
        reg.require("viewer", ep.model)
        return _status(conn, reg, ep)


def list_endpoints(reg: Registry) -> list[dict[str, Any]]:
    with reg.store.read() as conn:
        visible = reg.visible_models()
        return [
            _status(conn, reg, ep)
            for ep in deploy.endpoints(conn)
            if visible is None or ep.model in visible
        ]


def delete(reg: Registry, name: str) -> None:
    now = reg.clock()
    with reg.store.write() as conn:
        ep = _require(conn, name, lock=True)
        reg.require("editor", ep.model)
        deploy.delete_endpoint(conn, ep.id)
        events.append(
            conn,
            time=now,
            actor=reg.actor.name,
            kind=ev.ENDPOINT_DELETED,
            model=ep.model,
            payload={"endpoint": name},
        )


def rollback(reg: Registry, name: str, reason: str = "") -> dict[str, Any]:
    """By hand: the rollout under way (or the last one that succeeded) is undone, traffic and
    registry alike."""
    with reg.store.write() as conn:
        ep = _require(conn, name, lock=True)
        reg.require("editor", ep.model)
        d = deploy.active_deployment(conn, ep.id) or deploy.latest_deployment(conn, ep.id)
        if d is None or d.from_version is None or d.state == "rolled_back":
            raise Conflict(f"endpoint {name!r} has no deployment to roll back")
        if d.state == "succeeded":
            # The new version became stable: serve the previous one again.
            deploy.update_endpoint(conn, ep.id, reg.clock(), stable_version=d.from_version)
            ep = deploy.endpoint_by_id(conn, ep.id)
        why = f"manual rollback by {reg.actor.name}" + (f": {reason}" if reason else "")
        rollout.rollback(conn, reg, ep, d, why, None, actor=reg.actor.name)
        return _status(conn, reg, deploy.endpoint_by_id(conn, ep.id))


def _deployment(d: Any) -> dict[str, Any] | None:
    if d is None:
        return None
    return {
        "id": d.id,
        "state": d.state,
        "strategy": d.strategy,
        "from_version": d.from_version,
        "to_version": d.to_version,
        "step": d.step,
        "steps": d.steps,
        "weight": d.steps[d.step] if d.steps else None,
        "analysis": d.analysis,
        "reason": d.reason,
        "started_at": d.started_at,
        "finished_at": d.finished_at,
    }


def _status(conn: Connection, reg: Registry, ep: Any) -> dict[str, Any]:
    spec = ep.spec
    now = reg.clock()
    stats = {}
    for w in ep.traffic:
        req, err, cerr, buckets = deploy.window(conn, ep.name, w["version"], now - 60_000, now)
        stats[str(w["version"])] = {
            "requests_1m": req,
            "errors_1m": err,
            "client_errors_1m": cerr,
            "p99_latency_ms_1m": quantile(buckets, 0.99),
        }
    return {
        "name": ep.name,
        "model": ep.model,
        "follow": spec.get("follow"),
        "traffic": ep.traffic,
        "stable_version": ep.stable_version,
        "shadow": spec.get("shadow"),
        "sticky_header": spec.get("sticky_header"),
        "rollout": spec.get("rollout"),
        "deployment": _deployment(deploy.latest_deployment(conn, ep.id)),
        "stats": stats,
        "updated_at": ep.updated_at,
    }


def history(reg: Registry, name: str, limit: int = 20) -> list[dict[str, Any]]:
    with reg.store.read() as conn:
        ep = _require(conn, name)
        reg.require("viewer", ep.model)
        return [
            d
            for d in (_deployment(r) for r in deploy.deployments_of(conn, ep.id, limit))
            if d is not None
        ]


# -- agents ------------------------------------------------------------------------------------


def desired(reg: Registry) -> dict[str, Any]:
    """What every agent must serve: per endpoint, its versions with weights and files."""
    reg.require("viewer")
    out = []
    with reg.store.read() as conn:
        for ep in deploy.endpoints(conn):
            model_row = registry.model_row(conn, ep.model)
            if model_row is None:
                continue
            shadow = ep.spec.get("shadow")
            wanted = [w["version"] for w in ep.traffic] + ([shadow["version"]] if shadow else [])
            rows = [r for r in (registry.version_row(conn, model_row.id, v) for v in wanted) if r]
            files = {v.version: v for v in registry.to_versions(conn, rows, files=True)}

            versions = [
                {**e, "weight": w["weight"]}
                for w in ep.traffic
                if (e := _served(files, w["version"])) is not None
            ]
            shadow_entry = _served(files, shadow["version"]) if shadow else None
            out.append(
                {
                    "name": ep.name,
                    "model": ep.model,
                    "log_sample_rate": ep.spec.get("monitoring", {}).get("sample_rate", 1.0),
                    "sticky_header": ep.spec.get("sticky_header"),
                    "versions": versions,
                    "shadow": {**shadow_entry, "percent": shadow.get("percent", 100)}
                    if shadow and shadow_entry
                    else None,
                }
            )
    body = json.dumps(out, sort_keys=True).encode()
    generation = int(hashlib.blake2b(body, digest_size=7).hexdigest(), 16)
    return {"generation": generation, "endpoints": out}


def _served(versions: Mapping[int, Any], version: int) -> dict[str, Any] | None:
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
    agent = str(body.get("agent") or "")
    if not agent or len(agent) > 256:
        raise Invalid("a report names its agent (1 to 256 characters)")
    now = reg.clock()
    rows, errors = [], []
    n_buckets = len(LATENCY_BUCKETS_MS) + 1
    for endpoint, data in dict(body.get("endpoints") or {}).items():
        errors += [f"{endpoint}: {e}" for e in data.get("errors", [])][:20]
        for version, c in dict(data.get("versions") or {}).items():
            try:
                buckets = [int(x) for x in c.get("latency_ms_buckets", [])][:n_buckets]
                row = {
                    "endpoint": str(endpoint),
                    "version": int(version),
                    "agent": agent,
                    "time": now,
                    "requests": int(c.get("requests", 0)),
                    "errors": int(c.get("errors", 0)),
                    "client_errors": int(c.get("client_errors", 0)),
                    "latency_buckets": buckets + [0] * (n_buckets - len(buckets)),
                    "latency_sum_ms": float(c.get("latency_sum_ms", 0.0)),
                }
            except (TypeError, ValueError, AttributeError):
                raise Invalid(
                    f"report for {endpoint}/{version}: counters must be numbers"
                ) from None
            if row["requests"] or row["errors"]:
                rows.append(row)
    with reg.store.write() as conn:
        deploy.insert_samples(conn, rows)
        deploy.upsert_agent(
            conn, agent, str(body.get("url") or ""), int(body.get("generation") or 0), errors, now
        )


def agents(reg: Registry) -> list[dict[str, Any]]:
    reg.require("viewer")
    with reg.store.read() as conn:
        return [
            {
                "name": a.name,
                "url": a.url,
                "generation": a.generation,
                "errors": a.errors,
                "last_seen": a.last_seen,
            }
            for a in deploy.agents(conn)
        ]


def timeseries(reg: Registry, name: str, since_ms: int, bucket_s: int = 10) -> list[dict[str, Any]]:
    """Per version and time bucket: requests, errors, p50 and p99 latency (for charts)."""
    with reg.store.read() as conn:
        ep = _require(conn, name)
        reg.require("viewer", ep.model)
        samples = deploy.samples_since(conn, name, since_ms)
    buckets: dict[tuple[int, int], list[Any]] = {}
    step = bucket_s * 1000
    for s in samples:
        buckets.setdefault((s.time // step * step, s.version), []).append(s)
    out = []
    for (t, version), rows in sorted(buckets.items()):
        hist = merge([r.latency_buckets for r in rows])
        out.append(
            {
                "time": t,
                "version": version,
                "requests": sum(r.requests for r in rows),
                "errors": sum(r.errors for r in rows),
                "p50_ms": quantile(hist, 0.5),
                "p99_ms": quantile(hist, 0.99),
            }
        )
    return out
