"""Promotion is deployment: when the stage or alias an endpoint follows moves to another
version, a rollout starts from the version serving to the new one. The controller (``advance``,
run by every control plane) judges each step on the new version's own requests of that step
and moves on, succeeds, pauses or rolls back; a rollback reverts the registry too."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sqlalchemy.engine import Connection

from mlpipex.domain import events as ev
from mlpipex.domain.deployment import (
    Deployment,
    DeploymentState,
    DriftShare,
    Endpoint,
    Revert,  # also for promotion and aliases: how a rollout they start is undone
    RevertKind,
    Share,
    StepVerdict,
    Strategy,
)
from mlpipex.domain.durations import parse_duration
from mlpipex.domain.endpoint import EndpointSpec
from mlpipex.domain.latency import quantile
from mlpipex.domain.manifest import require_deployable
from mlpipex.domain.stage import Stage
from mlpipex.service.context import Registry
from mlpipex.service.deploy import quality_gate
from mlpipex.service.registry import versions
from mlpipex.store import registry
from mlpipex.store.deploy import endpoints as deploy
from mlpipex.store.deploy import traffic
from mlpipex.store.registry import ModelRecord

CONTROLLER = "mlpipex-controller"
__all__ = [
    "CONTROLLER",
    "Revert",
    "advance",
    "analyze",
    "end",
    "rollback",
    "start",
    "sync_followers",
    "target_version",
    "traffic_for",
]


def traffic_for(stable: int | None, new: int, share: int) -> tuple[Share, ...]:
    if stable is None or stable == new:
        return (Share(new, 100),)
    return (Share(stable, 100 - share), Share(new, share))


def target_version(
    conn: Connection, reg: Registry, model_row: ModelRecord, spec: EndpointSpec
) -> int | None:
    """The version the endpoint's stage or alias names now."""
    if spec.alias is not None:
        return registry.alias_version(conn, model_row.id, spec.alias)
    assert spec.follow is not None
    stage = reg.policy_of(model_row.policy).stage(spec.follow)
    newest = versions.newest_row(conn, model_row.id, stage)
    return None if newest is None else newest.version


def sync_followers(
    conn: Connection,
    reg: Registry,
    model: str,
    revert: Revert | None,
    skip_endpoint: int | None = None,
) -> None:
    """After a registry change of model: start a rollout on every endpoint following it whose
    target moved; end rollouts whose target moved back to what serves."""
    model_row = registry.model_row(conn, reg.workspace, model)
    if model_row is None:
        return
    now = reg.clock()
    for ep in deploy.endpoints(conn, reg.workspace, model):
        if ep.id == skip_endpoint:
            continue
        spec = ep.spec
        if spec.follow is None:
            continue
        target = target_version(conn, reg, model_row, spec)
        active = deploy.active_deployment(conn, ep.id)
        if target is None or (active is not None and active.to_version == target):
            continue
        if active is not None:
            end(
                conn,
                ep,
                active,
                DeploymentState.ROLLED_BACK,
                f"superseded: {spec.follow} is now version {target}",
                now,
            )
        if target == ep.stable_version:
            continue
        start(conn, reg, ep, spec, target, revert, now)


def start(
    conn: Connection,
    reg: Registry,
    ep: Endpoint,
    spec: EndpointSpec,
    target: int,
    revert: Revert | None,
    now: int,
) -> int:
    """Begin rolling ep out to target (straight to 100% when nothing serves yet)."""
    model_row = registry.model_row(conn, reg.workspace, ep.model)
    target_row = registry.version_row(conn, model_row.id, target) if model_row else None
    if target_row is not None:
        require_deployable(f"{ep.model}/{target}", target_row.artifact_digest)
    plan = [100] if ep.stable_version is None else spec.rollout.plan()
    done = plan == [100]
    did = deploy.insert_deployment(
        conn,
        endpoint_id=ep.id,
        from_version=ep.stable_version,
        to_version=target,
        strategy=Strategy(spec.rollout.strategy)
        if ep.stable_version is not None
        else Strategy.FIRST,
        steps=plan,
        state=DeploymentState.SUCCEEDED if done else DeploymentState.PROGRESSING,
        revert=revert,
        now=now,
    )
    if done:
        deploy.update_endpoint(
            conn, ep.id, now, traffic=traffic_for(None, target, 100), stable_version=target
        )
    else:
        deploy.update_endpoint(
            conn, ep.id, now, traffic=traffic_for(ep.stable_version, target, plan[0])
        )
    reg.record(
        conn,
        time=now,
        kind=ev.DEPLOYMENT_STARTED,
        model=ep.model,
        version=target,
        payload={
            "endpoint": ep.name,
            "deployment": did,
            "from": ep.stable_version,
            "to": target,
            "steps": plan,
        },
    )
    if done:
        reg.record(
            conn,
            time=now,
            kind=ev.DEPLOYMENT_SUCCEEDED,
            model=ep.model,
            version=target,
            payload={"endpoint": ep.name, "deployment": did},
        )
    return did


def analyze(
    conn: Connection,
    ep: Endpoint,
    spec: EndpointSpec,
    d: Deployment,
    share: int,
    now: int,
    drift: float | None = None,
) -> StepVerdict:
    """The step's verdict from the new version's requests in [step start, now]."""
    rules = spec.rollout.analysis
    requests, errors, _client, buckets = traffic.window(
        conn, ep.workspace, ep.name, d.to_version, d.step_started_at, now
    )
    rate = errors / requests if requests else 0.0
    p99 = quantile(buckets, 0.99)
    breached = []
    if requests >= rules.min_requests or share == 100:
        if requests and rate > rules.max_error_rate:
            breached.append(f"error rate {rate:.3f} > max_error_rate {rules.max_error_rate}")
        if rules.max_p99_latency_ms is not None and requests and p99 > rules.max_p99_latency_ms:
            breached.append(
                f"p99 latency {p99:g} ms > max_p99_latency_ms {rules.max_p99_latency_ms:g}"
            )
        if rules.max_drift is not None and drift is not None and drift >= rules.max_drift:
            breached.append(f"drift share {drift:.2f} >= max_drift {rules.max_drift}")
    enough = share == 0 or requests >= rules.min_requests
    return StepVerdict(
        step=d.step,
        weight=share,
        requests=requests,
        errors=errors,
        error_rate=round(rate, 6),
        p99_latency_ms=p99,
        drift=drift,
        breached=tuple(breached),
        enough_data=enough,
        passed=enough and not breached,
        window=(d.step_started_at, now),
    )


def advance(
    reg: Registry,
    drift_share: DriftShare | None = None,
    quality: quality_gate.QualityFn | None = None,
) -> int:
    """One controller pass over deployments under way in every workspace; returns how many
    changed state. ``drift_share(endpoint, version, since, workspace)`` gives the share of
    drifted features, if known; ``quality`` the live quality that ``min_quality`` judges. Each
    deployment is advanced in its endpoint's workspace, so its events join that chain.

    Drift and quality read logged predictions and score them: they are measured between a read
    of the steps that are due and the write transaction, which holds its lock only to judge."""
    now = reg.clock()
    with reg.store.read() as conn:
        due = [
            (ep, d, analyze(conn, ep, ep.spec, d, d.steps[d.step], now).enough_data)
            for d in deploy.progressing(conn)
            if (ep := deploy.endpoint_by_id(conn, d.endpoint_id)) is not None
            and now - d.step_started_at >= ep.spec.rollout.interval_s * 1000
        ]
    measured = {
        (d.id, d.step, d.step_started_at): _measure(ep, d, enough, drift_share, quality)
        for ep, d, enough in due
    }
    changed = 0
    with reg.store.write() as conn:
        for d in deploy.claim_progressing(conn):
            m = measured.get((d.id, d.step, d.step_started_at))
            ep = deploy.endpoint_by_id(conn, d.endpoint_id)
            if m is None or ep is None:  # not due, or moved on since the read: the next pass
                continue
            changed += _step(conn, replace(reg, workspace=ep.workspace), ep, d, m, now)
    return changed


def _measure(
    ep: Endpoint,
    d: Deployment,
    enough: bool,
    drift_share: DriftShare | None,
    quality: quality_gate.QualityFn | None,
) -> quality_gate.Measured:
    """Drift and live quality of the step's new version; quality only when the step has the
    requests to be judged on (without them it cannot go on, whatever the labels say)."""
    since = d.step_started_at
    drift = drift_share(ep.name, d.to_version, since, ep.workspace) if drift_share else None
    wanted = quality is not None and enough and quality_gate.wanted(ep.spec, d.steps[d.step])
    live = quality(ep.name, d.to_version, since, ep.workspace) if quality and wanted else None
    return quality_gate.Measured(drift, live)


def _step(
    conn: Connection,
    reg: Registry,
    ep: Endpoint,
    d: Deployment,
    measured: quality_gate.Measured,
    now: int,
) -> int:
    spec = ep.spec
    share = d.steps[d.step]
    judged = quality_gate.judge(
        analyze(conn, ep, spec, d, share, now, measured.drift),
        spec,
        d.step_started_at,
        now,
        measured.quality,
    )
    if judged is None:  # waiting for labels
        return 0
    result = judged
    if result.breached:
        if spec.rollout.on_failure == "rollback":
            rollback(conn, reg, ep, d, "; ".join(result.breached), result)
        else:
            _pause(conn, reg, ep, d, result, now)
        return 1
    if not result.enough_data:
        wait = spec.rollout.max_wait
        if wait and now - d.step_started_at > parse_duration(wait) * 1000:
            _pause(conn, reg, ep, d, replace(result, breached=("not enough requests",)), now)
            return 1
        return 0
    analysis = [*d.analysis, result]
    if d.step + 1 < len(d.steps):
        nxt = d.steps[d.step + 1]
        deploy.update_deployment(
            conn, d.id, step=d.step + 1, step_started_at=now, analysis=analysis
        )
        deploy.update_endpoint(
            conn, ep.id, now, traffic=traffic_for(d.from_version, d.to_version, nxt)
        )
        _event(conn, reg, ep, d, ev.DEPLOYMENT_STEP, now, weight=nxt, analysis=result.to_json())
        return 1
    deploy.update_deployment(
        conn, d.id, state=DeploymentState.SUCCEEDED, analysis=analysis, finished_at=now
    )
    deploy.update_endpoint(
        conn, ep.id, now, traffic=traffic_for(None, d.to_version, 100), stable_version=d.to_version
    )
    _event(conn, reg, ep, d, ev.DEPLOYMENT_SUCCEEDED, now)
    return 1


def _pause(
    conn: Connection, reg: Registry, ep: Endpoint, d: Deployment, result: StepVerdict, now: int
) -> None:
    reason = "; ".join(result.breached)
    deploy.update_deployment(
        conn, d.id, state=DeploymentState.PAUSED, analysis=[*d.analysis, result], reason=reason
    )
    _event(conn, reg, ep, d, ev.DEPLOYMENT_PAUSED, now, reason=reason, analysis=result.to_json())


def _event(
    conn: Connection,
    reg: Registry,
    ep: Endpoint,
    d: Deployment,
    kind: str,
    now: int,
    *,
    actor: str = CONTROLLER,
    reason: str = "",
    **payload: object,
) -> None:
    """An event of d's rollout, by the controller unless another actor is named; its payload
    names the endpoint and the deployment, then what is given."""
    reg.record(
        conn,
        time=now,
        actor=actor,
        kind=kind,
        model=ep.model,
        version=d.to_version,
        reason=reason,
        payload={"endpoint": ep.name, "deployment": d.id, **payload},
    )


def end(
    conn: Connection,
    ep: Endpoint,
    d: Deployment,
    state: DeploymentState,
    reason: str,
    now: int,
    analysis: Sequence[StepVerdict] | None = None,
) -> None:
    """Close d in state (its analysis, when given, with it); all traffic to the stable version."""
    deploy.update_deployment(
        conn, d.id, state=state, reason=reason, finished_at=now, analysis=analysis
    )
    if ep.stable_version is not None:
        deploy.update_endpoint(conn, ep.id, now, traffic=traffic_for(None, ep.stable_version, 100))


def rollback(
    conn: Connection,
    reg: Registry,
    ep: Endpoint,
    d: Deployment,
    reason: str,
    measured: StepVerdict | None = None,
    actor: str = CONTROLLER,
) -> None:
    """Traffic back to the stable version, then the registry: the failed version leaves the
    stage (or the alias moves back) and the stable version returns to it. The endpoint's stable
    version is the deployment's from_version (a manual rollback of a finished one sets it back
    first)."""
    now = reg.clock()
    analysis = [*d.analysis, measured] if measured else list(d.analysis)
    end(conn, ep, d, DeploymentState.ROLLED_BACK, reason, now, analysis)
    stable = d.from_version
    _event(
        conn,
        reg,
        ep,
        d,
        ev.ROLLBACK,
        now,
        actor=actor,
        reason=reason,
        # "from" is a keyword of Python's: the payload's words are the API's
        **{
            "from": d.to_version,
            "to": stable,
            "measured": measured.to_json() if measured else None,
        },
    )
    for kind, version, payload in _revert_registry(conn, reg.workspace, ep.model, d, now):
        reg.record(
            conn,
            time=now,
            actor=actor,
            kind=kind,
            model=ep.model,
            version=version,
            reason=f"rollback: {reason}",
            payload=payload,
        )
    sync_followers(conn, reg, ep.model, None, skip_endpoint=ep.id)


def _revert_registry(
    conn: Connection, ws: str, model: str, d: Deployment, now: int
) -> list[tuple[str, int, dict[str, object]]]:
    """Undo the registry change d's rollout started from (none when nothing served before it);
    what changed, as events to record: (kind, version, payload)."""
    revert, failed, stable = d.revert, d.to_version, d.from_version
    if revert is None or stable is None:
        return []
    model_row = registry.model_row(conn, ws, model)
    if model_row is None:
        return []
    if revert.kind == RevertKind.ALIAS:
        registry.set_alias(conn, model_row.id, revert.target, stable)
        return [(ev.ALIAS_SET, stable, {"alias": revert.target, "previous": failed})]
    undone: list[tuple[str, int, dict[str, object]]] = []
    for version, to in [(failed, revert.failed_from or Stage.NONE.value), (stable, revert.target)]:
        row = registry.version_row(conn, model_row.id, version)
        if row is None or row.stage == to:
            continue
        registry.set_stage(conn, row.id, to, now)
        undone.append((ev.TRANSITION_DONE, version, {"from": row.stage, "to": to}))
    return undone
