"""Transitions between stages: gates, approvals, and the archiving of the version replaced.

A refusal is recorded as an event and then raised, so the audit log keeps every attempt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.models import ModelVersion, RequestStatus, TransitionRequest
from mlpipex.domain.policy import Policy, failed_gates
from mlpipex.domain.refs import VersionRef
from mlpipex.errors import Conflict, Forbidden, MLPipeXError, NotFound, PolicyViolation
from mlpipex.service.context import Registry
from mlpipex.service.deploy import rollout
from mlpipex.service.registry.models import require_model
from mlpipex.service.registry.versions import resolve_row
from mlpipex.store import registry
from mlpipex.store.registry import ModelRecord, VersionRecord


@dataclass(frozen=True)
class TransitionResult:
    """``done``: the version is in the stage. ``pending``: a request waits for approvals."""

    status: RequestStatus  # DONE or PENDING
    version: ModelVersion
    to_stage: str
    request: TransitionRequest | None = None
    approvals_missing: int = 0
    replaced: list[int] = field(default_factory=list)


def promote(
    reg: Registry, name: str, version: int, to_stage: str, reason: str = ""
) -> TransitionResult:
    reg.require("editor", name)
    refusal: MLPipeXError | None = None
    with reg.store.write() as conn:
        model, policy, row, v, stage = _load(conn, reg, name, version, to_stage)
        if v.stage == stage:
            raise Conflict(f"{name}/{version} is already in {stage}")
        failed = _gates(conn, policy, model, v, stage, reg.clock())
        if failed:
            _refuse(conn, reg, v, stage, failed, reason)
            refusal = PolicyViolation(f"{name}/{version} -> {stage} refused", failed)
        else:
            rule = policy.approval_rule(stage)
            if rule is None:
                return _complete(conn, reg, policy, model, row, v, stage, reason, None)
            req = registry.pending_request(conn, row.id, stage)
            if req is None:
                rid = registry.insert_request(
                    conn, row.id, stage, reg.actor.name, reason, reg.clock()
                )
                reg.record(
                    conn,
                    time=reg.clock(),
                    kind=ev.TRANSITION_REQUESTED,
                    model=name,
                    version=version,
                    reason=reason,
                    payload={
                        "from": v.stage,
                        "to": stage,
                        "request": rid,
                        "approvals_needed": rule.count,
                        "role": rule.role,
                    },
                )
            else:
                rid = req.id
            request = _request(conn, model.id, rid)
            if len(request.approvals) >= rule.count:
                return _complete(conn, reg, policy, model, row, v, stage, reason, request)
            return TransitionResult(
                RequestStatus.PENDING, v, stage, request, rule.count - len(request.approvals)
            )
    assert refusal is not None
    raise refusal


def approve(
    reg: Registry, name: str, version: int, to_stage: str, comment: str = ""
) -> TransitionResult:
    """Approve the pending request; the transition completes once enough approvals exist."""
    refusal: MLPipeXError | None = None
    with reg.store.write() as conn:
        model, policy, row, v, stage = _load(conn, reg, name, version, to_stage)
        req = registry.pending_request(conn, row.id, stage)
        if req is None:
            raise NotFound(
                f"no pending request to move {name}/{version} to {stage}",
                hint=f"request it with `mlpipex promote {name} {version} --to {stage}`",
            )
        rule = policy.approval_rule(stage)
        role = rule.role if rule else "approver"
        reg.require(role, name)
        if req.requested_by == reg.actor.name and not policy.self_approval:
            raise Forbidden(
                f"{reg.actor.name} requested this transition and cannot approve it too",
                hint="another person with the approver role must approve",
            )
        request = _request(conn, model.id, req.id)
        if any(a.actor == reg.actor.name for a in request.approvals):
            raise Conflict(f"{reg.actor.name} has already approved {name}/{version} -> {stage}")
        registry.add_approval(conn, req.id, reg.actor.name, comment, reg.clock())
        reg.record(
            conn,
            time=reg.clock(),
            kind=ev.TRANSITION_APPROVED,
            model=name,
            version=version,
            reason=comment,
            payload={"to": stage, "request": req.id},
        )
        request = _request(conn, model.id, req.id)
        needed = rule.count if rule else 0
        if len(request.approvals) < needed:
            return TransitionResult(
                RequestStatus.PENDING, v, stage, request, needed - len(request.approvals)
            )
        failed = _gates(conn, policy, model, v, stage, reg.clock())
        if not failed:
            return _complete(conn, reg, policy, model, row, v, stage, req.reason, request)
        registry.set_request_status(conn, req.id, RequestStatus.REFUSED)
        _refuse(conn, reg, v, stage, failed, comment)
        refusal = PolicyViolation(f"{name}/{version} -> {stage} refused after approval", failed)
    raise refusal


def requests(reg: Registry, name: str, status: str | None = "pending") -> list[TransitionRequest]:
    reg.require("viewer", name)
    with reg.store.read() as conn:
        return registry.requests_for(
            conn, require_model(conn, reg.workspace, name).id, status=status
        )


def _load(
    conn: Connection, reg: Registry, name: str, version: int, to_stage: str
) -> tuple[ModelRecord, Policy, VersionRecord, ModelVersion, str]:
    model = require_model(conn, reg.workspace, name, lock=True)
    policy = reg.policy_of(model.policy)
    stage = policy.stage(to_stage)
    row = resolve_row(conn, reg, VersionRef(name, version=version))
    return model, policy, row, registry.to_versions(conn, [row])[0], stage


def _gates(
    conn: Connection, policy: Policy, model: ModelRecord, v: ModelVersion, stage: str, now: int
) -> list[str]:
    prod = policy.production()
    rows = registry.version_rows(conn, model.id, stage=prod, limit=2) if prod else []
    holders = [r for r in rows if r.version != v.version]
    current = registry.to_versions(conn, holders[:1])[0] if holders else None
    return failed_gates(policy, v, stage, current, now)


def _refuse(
    conn: Connection, reg: Registry, v: ModelVersion, stage: str, failed: list[str], reason: str
) -> None:
    reg.record(
        conn,
        time=reg.clock(),
        kind=ev.TRANSITION_REFUSED,
        model=v.model,
        version=v.version,
        reason=reason,
        payload={"from": v.stage, "to": stage, "failed": failed},
    )


def _request(conn: Connection, model_id: int, rid: int) -> TransitionRequest:
    return next(r for r in registry.requests_for(conn, model_id) if r.id == rid)


def _complete(
    conn: Connection,
    reg: Registry,
    policy: Policy,
    model: ModelRecord,
    row: VersionRecord,
    v: ModelVersion,
    stage: str,
    reason: str,
    request: TransitionRequest | None,
) -> TransitionResult:
    now = reg.clock()
    replaced: list[int] = []
    into = policy.replaced_into(stage)
    if into is not None:
        for other in registry.version_rows(conn, model.id, stage=stage):
            if other.id == row.id:
                continue
            registry.set_stage(conn, other.id, into, now)
            replaced.append(other.version)
            reg.record(
                conn,
                time=now,
                kind=ev.TRANSITION_DONE,
                model=v.model,
                version=other.version,
                reason=f"replaced by version {v.version} in {stage}",
                payload={"from": stage, "to": into},
            )
    registry.set_stage(conn, row.id, stage, now)
    if request is not None:
        registry.set_request_status(conn, request.id, RequestStatus.DONE)
    reg.record(
        conn,
        time=now,
        kind=ev.TRANSITION_DONE,
        model=v.model,
        version=v.version,
        reason=reason,
        payload={
            "from": v.stage,
            "to": stage,
            "request": request.id if request else None,
            "approvals": [a.actor for a in request.approvals] if request else [],
        },
    )
    # Promotion is deployment: endpoints following this stage start rolling out.
    rollout.sync_followers(conn, reg, v.model, rollout.Revert.of_stage(stage, v.stage))
    done = registry.to_versions(conn, [resolve_row(conn, reg, VersionRef(v.model, v.version))])[0]
    return TransitionResult(RequestStatus.DONE, done, stage, request, 0, replaced)
