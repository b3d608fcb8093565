"""The agent's two loops, on the server's event loop: pull the desired state, load what it
lists and switch traffic to it; report counters to the control plane. Blocking work (HTTP,
hashing, loading a model) runs in daemon threads, so serving never waits for it and a hung
control plane cannot hold up the process's exit."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlpipex.agent.app import AgentApp
from mlpipex.agent.desired import DesiredState, parse_desired
from mlpipex.agent.ledger import Ledger
from mlpipex.agent.loader import VersionLoader
from mlpipex.agent.local import LocalRuntime
from mlpipex.agent.predlog import PredictionLog
from mlpipex.agent.runtime import Runtime
from mlpipex.agent.table import (
    EMPTY,
    LiveEndpoint,
    LiveVersion,
    Table,
    VersionKey,
    build_table,
    version_key,
)
from mlpipex.agent.threads import off_loop
from mlpipex.client.http import Http
from mlpipex.domain.endpoint import RESOURCES_NOTE
from mlpipex.errors import MLPipeXError, Unavailable

log = logging.getLogger("mlpipex.agent")

DESIRED_PATH = "/api/v1/agent/desired"
REPORT_PATH = "/api/v1/agent/report"
# A version that failed to load for a reason other than an unreachable control plane (bad
# bytes, a refused pickle, a broken package) is tried again this much later, not every poll.
RETRY_FAILED_S = 30.0
# On shutdown, the last counters get this long to reach the control plane.
FINAL_REPORT_S = 2.0


@dataclass(frozen=True)
class AgentConfig:
    control_plane: str
    name: str
    cache_dir: Path
    url: str  # where the control plane and callers reach this agent
    token: str | None = None
    # sent as X-MLFLOW-WORKSPACE (None: the token's only workspace, else ``default``)
    workspace: str | None = None
    poll_interval: float = 1.0
    report_interval: float = 1.0
    timeout: float = 10.0  # per call to the control plane (downloads: per chunk)
    allow_pickle: bool = False  # serve pickled versions (their loading runs their code)


@dataclass(frozen=True, slots=True)
class _Failure:
    message: str
    retry_at: float  # time.monotonic()


class Agent:
    """One agent process. With the local runtime, ``app`` is what the HTTP server runs and the
    loops start with its lifespan; another runtime serves elsewhere and ``run`` drives the
    loops. ``runtime`` defaults to the local one."""

    def __init__(self, config: AgentConfig, runtime: Runtime | None = None) -> None:
        self.config = config

        def http() -> Http:
            return Http(
                config.control_plane,
                token=config.token,
                user=None,
                workspace=config.workspace,
                timeout=config.timeout,
            )

        self._pull, self._push = http(), http()
        self._ledger = Ledger()
        self._loaded: dict[VersionKey, LiveVersion] = {}
        self._failed: dict[VersionKey, _Failure] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._last_pull: float | None = None
        self._last_report: float | None = None
        self._pull_error: str | None = None
        self._report_error: str | None = None
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", config.name)
        # agents of one name serving two workspaces from one cache keep their own states
        where = f"{config.workspace}." if config.workspace else ""
        self.state_file = config.cache_dir / f"desired-{where}{safe}.json"
        self.app = AgentApp(self.status, self._start, self._stop)
        self.predictions = PredictionLog()
        self.app.predictions = self.predictions
        self.table: Table = EMPTY
        loader = VersionLoader(self._pull, config.cache_dir, allow_pickle=config.allow_pickle)
        self.runtime: Runtime = runtime or LocalRuntime(loader, self.app)

    # -- lifespan -------------------------------------------------------------------------------
    async def _start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._pull_forever(), name="agent-pull"),
            asyncio.create_task(self._report_forever(), name="agent-report"),
        ]

    async def run(self, stop: asyncio.Event) -> None:
        """The loops until stop is set, for a runtime that serves outside this process."""
        await self._start()
        try:
            await stop.wait()
        finally:
            await self._stop()

    async def _stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.report(), FINAL_REPORT_S)
        self._pull.close()
        self._push.close()
        await self.runtime.close()

    # -- pulling --------------------------------------------------------------------------------
    async def _pull_forever(self) -> None:
        await self._guarded(self.restore)
        while True:
            await self._guarded(self.pull)
            await asyncio.sleep(self.config.poll_interval)

    async def _report_forever(self) -> None:
        while True:
            await asyncio.sleep(self.config.report_interval)
            await self._guarded(self.report)
            await self._guarded(self._publish)

    async def _guarded(self, step: Callable[[], Any]) -> None:
        # The loops must outlive any one failure: a bug here would otherwise stop the agent
        # following its control plane while it keeps serving an old state.
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("agent step %s failed", getattr(step, "__name__", step))

    async def restore(self) -> None:
        """Serve the last desired state saved on disk, before the control plane answers."""
        try:
            doc = json.loads(self.state_file.read_bytes())
            state = parse_desired(doc)
        except FileNotFoundError:
            return
        except (ValueError, MLPipeXError) as e:
            log.warning("ignoring the saved state %s: %s", self.state_file, e)
            return
        await self.apply(state)

    async def pull(self) -> None:
        params = {"agent": self.config.name}
        try:
            doc = await off_loop(self._pull.call, "GET", DESIRED_PATH, params=params)
            state = parse_desired(doc)
        except MLPipeXError as e:
            if self._pull_error is None:
                log.warning("cannot pull the desired state (serving the last one): %s", e)
            self._pull_error = str(e)
            return
        if self._pull_error is not None:
            log.warning("pulling the desired state again")
        self._pull_error = None
        self._last_pull = time.time()
        if state.generation == self.table.generation and not self._retry_due():
            return
        await self.apply(state)
        await off_loop(self._save, doc)

    def _retry_due(self) -> bool:
        now = time.monotonic()
        return any(f.retry_at <= now for f in self._failed.values())

    async def apply(self, state: DesiredState) -> None:
        """Load every version state lists that is not loaded yet, then switch traffic to the
        new table in one step, then let the versions it no longer lists go."""
        wanted = {version_key(e, v): (e, v) for e in state.endpoints for v in e.all_versions()}
        errors: dict[str, list[str]] = {}
        # A new generation may be the fix (objects repaired, a pickle allowed): try again.
        changed = state.generation != self.table.generation
        for key, (endpoint, spec) in wanted.items():
            if key in self._loaded:
                continue
            failure = self._failed.get(key)
            if failure is None or changed or failure.retry_at <= time.monotonic():
                try:
                    live = await self.runtime.load(endpoint, spec)
                except Exception as e:
                    failure = self._fail(key, e)
                else:
                    self._failed.pop(key, None)
                    self._loaded[key] = live
                    self._ledger.track(endpoint.name, live)
                    continue
            errors.setdefault(endpoint.name, []).append(
                f"version {spec.version}: {failure.message}"
            )
        for gone in [k for k in self._loaded if k not in wanted]:
            del self._loaded[gone]
        for gone in [k for k in self._failed if k not in wanted]:
            del self._failed[gone]
        self.predictions.rates = {e.name: e.log_sample_rate for e in state.endpoints}
        table = build_table(state, self._loaded, errors)
        dropped = self.table.live_versions() - table.live_versions()
        self.table = table
        await self.runtime.install(table)
        for live in dropped:
            self._ledger.retire(live)

    def _fail(self, key: VersionKey, e: Exception) -> _Failure:
        message = str(e) if isinstance(e, MLPipeXError) else f"{type(e).__name__}: {e}"
        # Unreachable: try again at the next poll; anything else will not mend by itself soon.
        wait = self.config.poll_interval if isinstance(e, Unavailable) else RETRY_FAILED_S
        if key not in self._failed:
            log.warning("endpoint %s, version %s cannot be served: %s", key[0], key[1], message)
        failure = _Failure(message, time.monotonic() + wait)
        self._failed[key] = failure
        return failure

    def _save(self, doc: Any) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_name(f".{self.state_file.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, self.state_file)

    # -- reporting ------------------------------------------------------------------------------
    async def report(self) -> None:
        """Send the counters since the last acknowledged report; on failure they stay pending
        and go with the next one."""
        await self.runtime.collect(self.predictions)
        deltas, sent = self._ledger.collect()
        table = self.table
        endpoints: dict[str, dict[str, Any]] = {
            name: {"versions": {}, "errors": list(e.errors)} for name, e in table.endpoints.items()
        }
        for name, per in deltas.items():
            entry = endpoints.setdefault(name, {"versions": {}, "errors": []})
            entry["versions"].update({v: c.to_json() for v, c in per.items()})
        body = {
            "agent": self.config.name,
            "url": self.config.url,
            "generation": table.generation,
            "endpoints": endpoints,
        }
        try:
            await off_loop(self._push.call, "POST", REPORT_PATH, json=body)
        except MLPipeXError as e:
            if self._report_error is None:
                log.warning("cannot report (counters kept for the next report): %s", e)
            self._report_error = str(e)
            return
        self._report_error = None
        self._last_report = time.time()
        self._ledger.acknowledge(sent)
        # Logged predictions go with the report, parsed off the event loop.
        await off_loop(self.predictions.flush, self._push)

    # -- status ---------------------------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        return health(self.table, self.runtime.places_replicas, self.own_status())

    def own_status(self) -> dict[str, Any]:
        """The part of ``GET /health`` that this process knows (the pulls, the reports)."""
        return {
            "runtime": self.runtime.name,
            "agent": self.config.name,
            "url": self.config.url,
            "control_plane": self.config.control_plane,
            "last_pull": _iso(self._last_pull),
            "pull_error": self._pull_error,
            "last_report": _iso(self._last_report),
            "report_error": self._report_error,
        }

    async def _publish(self) -> None:
        await self.runtime.publish(self.own_status())


def health(table: Table, places_replicas: bool, own: dict[str, Any]) -> dict[str, Any]:
    """``GET /health``: what the served table decides, and the agent's own part, with the age
    of its last pull as of now (whichever process answers)."""
    pulled = own.get("last_pull")
    age = None if pulled is None else _age(dt.datetime.fromisoformat(pulled).timestamp())
    return {**table_status(table, places_replicas), **own, "last_pull_age_s": age}


def table_status(table: Table, places_replicas: bool) -> dict[str, Any]:
    """The part of ``GET /health`` that the served table decides."""
    routable = all(e.split for e in table.endpoints.values())
    return {
        "status": "starting" if table.generation is None else "ok" if routable else "degraded",
        "generation": table.generation,
        "endpoints": {
            name: _endpoint_status(e, places_replicas) for name, e in table.endpoints.items()
        },
    }


def _endpoint_status(e: LiveEndpoint, places_replicas: bool) -> dict[str, Any]:
    shares = {live.version: share for live, share in e.split.shares().items()}
    shadow = e.spec.shadow
    return {
        "model": e.spec.model,
        "sticky_header": e.spec.sticky_header,
        "versions": {
            str(v.version): {
                "weight": v.weight,
                "traffic_percent": round(shares.get(v.version, 0.0), 3),
                "loaded": v.version in e.versions,
            }
            for v in e.spec.versions
        },
        "shadow": None
        if shadow is None
        else {
            "version": shadow.spec.version,
            "percent": shadow.percent,
            "loaded": e.shadow is not None,
        },
        "errors": list(e.errors),
        "notes": [] if places_replicas or not e.spec.resources else [RESOURCES_NOTE],
    }


def _iso(t: float | None) -> str | None:
    return None if t is None else dt.datetime.fromtimestamp(t, dt.UTC).isoformat()


def _age(t: float | None) -> float | None:
    return None if t is None else round(time.time() - t, 3)
