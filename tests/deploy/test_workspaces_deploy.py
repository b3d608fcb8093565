"""Deployment by workspace, on SQLite and PostgreSQL. End to end: a real `mlpipex server
--enable-workspaces --auth` (one per backend for the module), two new workspaces per test each
with a model `m` and an endpoint `fraud` following its own model, and real agents, one per
workspace (one with a token limited to its
workspace, one sending `--workspace`). Directly: the background loops (controller, alerts)
acting on every workspace, each in its own, and the request-id index kept per workspace."""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families

from mlpipex.client import Client
from mlpipex.config import Settings
from mlpipex.flavors import save_model
from mlpipex.monitor import alerts, exposition, feedback, predictions, request_index
from mlpipex.objects.local import LocalStore
from mlpipex.service.access import workspaces
from mlpipex.service.context import Actor, Registry
from mlpipex.service.deploy import endpoints, rollout
from mlpipex.service.events import audit
from mlpipex.service.registry import promote, register
from mlpipex.store import Store
from mlpipex.store.deploy import alerts as store_alerts
from mlpipex.store.deploy import predictions as logs
from mlpipex.store.deploy import traffic
from mlpipex.store.deploy.predictions import NamedPrediction
from mlpipex.store.deploy.traffic import TrafficSample
from tests.conftest import (
    BACKENDS,
    free_port,
    postgres_database,
    start_server,
    stop_server,
    wait_for,
)
from tests.deploy.stack import start_agent

A, B = "team-a", "team-b"
HEADER = "X-MLFLOW-WORKSPACE"
MODEL = """
from mlpipex.pyfunc import PythonModel, set_model

class Constant(PythonModel):
    def predict(self, context, model_input, params=None):
        return [{value}] * len(model_input)

set_model(Constant())
"""
ROW = {"dataframe_split": {"columns": ["x"], "data": [[1.0]]}}
FRAUD = {
    "name": "fraud",
    "model": "m",
    "follow": "production",
    "monitoring": {"sample_rate": 1.0},
    # no traffic needed to judge a step: the controller alone carries the rollout through
    "rollout": {
        "strategy": "canary",
        "steps": [50, 100],
        "interval": "1s",
        "analysis": {"min_requests": 0},
    },
}


@dataclass
class Agent:
    proc: subprocess.Popen[bytes]
    http: httpx.Client
    token: str
    answered: Counter[str] = field(default_factory=Counter)  # 200s per endpoint

    def ask(self, endpoint: str, request_id: str | None = None) -> tuple[int, Any]:
        headers = {"X-MLPipeX-Request-Id": request_id} if request_id else {}
        r = self.http.post(f"/endpoints/{endpoint}/invocations", json=ROW, headers=headers)
        if r.status_code == 200:
            self.answered[endpoint] += 1
            return 200, r.json()["predictions"][0]
        return r.status_code, None

    def serves(self, endpoint: str, value: int) -> bool:
        try:
            return self.ask(endpoint) == (200, value)
        except httpx.HTTPError:  # not listening yet
            return False


@dataclass
class Plane:
    url: str
    root: Path
    admin: dict[str, str]  # headers of an admin of every workspace
    a: str  # the workspaces, team-a-... and team-b-...
    b: str
    alice: dict[str, Client]  # per workspace, a client whose token acts only there
    agent_a: Agent  # token limited to a
    agent_b: Agent  # an unlimited token of a user of b only, with --workspace b

    def api(self, method: str, path: str, ws: str, **kw: Any) -> httpx.Response:
        headers = {**self.admin, HEADER: ws}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kw)

    def register(self, ws: str, value: int) -> int:
        """A version of ws's model m that answers value."""
        n = len(list(self.root.glob("pkg-*")))
        code = self.root / f"model_{n}.py"
        code.write_text(MODEL.format(value=value))
        pkg = self.root / f"pkg-{n}"
        save_model(pkg, python_model=code, input_example=pd.DataFrame({"x": [1.0, 2.0]}))
        data = self.root / "train.csv"
        data.write_text("x\n1\n")
        v = self.alice[ws].register(
            "m", pkg, commit="c" * 40, datasets={"train": str(data)}, metrics={"auc": 0.9}
        )
        return v.version


def _agent(root: Path, url: str, token: str, *extra: str) -> Agent:
    port = free_port()
    # both agents named edge: the same name in two workspaces is two agents
    proc = start_agent(url, port, "edge", root / f"agent-{port}", "--token", token, *extra)
    return Agent(proc, httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10), token)


@dataclass(frozen=True)
class Control:
    """A control plane shared by the end-to-end tests of one backend: its URL and the headers
    of its root admin. Each test makes workspaces and users of its own names."""

    url: str
    admin: dict[str, str]

    def call(self, method: str, path: str, body: Any = None, ws: str | None = None) -> Any:
        headers = {**self.admin, **({HEADER: ws} if ws else {})}
        r = httpx.request(method, self.url + path, json=body, headers=headers, timeout=30)
        assert r.status_code < 300, r.text
        return r.json() if r.content else None

    def token(self, user: str, ws: str | None) -> str:
        found: str = self.call("POST", "/api/v1/tokens", {"user": user, "workspace": ws})["token"]
        return found


@pytest.fixture(scope="module", params=BACKENDS[:2])  # SQLite, PostgreSQL
def control(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Control]:
    root = tmp_path_factory.mktemp("plane")
    uri, objects = str(root / ".mlpipex"), str(root / "objects")
    with contextlib.ExitStack() as stack:
        if request.param == "postgresql":
            # a database of its own: the direct tests empty the session's while this one serves
            uri = stack.enter_context(postgres_database(f"mlpipex_wsdeploy_{os.getpid()}"))
        with Client(uri, objects=objects, actor=Actor("root")) as boot:
            boot.create_user("root", ["admin"])
            admin = {"Authorization": "Bearer " + boot.create_token("root")[1]}
        server, url = start_server(uri, objects, "--enable-workspaces", "--auth")
        stack.callback(stop_server, server)
        control = Control(url, admin)
        control.call("POST", "/api/v1/users", {"name": "alice", "roles": ["approver"]})
        yield control


@pytest.fixture
def plane(control: Control, tmp_path: Path) -> Iterator[Plane]:
    """Two new workspaces on the shared control plane, a client of alice (an approver) in each
    through a token limited to it, and an agent for each."""
    tag = uuid.uuid4().hex[:8]
    a, b = f"{A}-{tag}", f"{B}-{tag}"
    started: list[Agent] = []
    clients: list[Client] = []
    try:
        for ws in (a, b):
            control.call("POST", "/api/v1/workspaces", {"name": ws})
        edge_a, edge_b = f"edge-a-{tag}", f"edge-b-{tag}"
        for user, ws in ((edge_a, a), (edge_b, b)):
            control.call("POST", "/api/v1/users", {"name": user, "roles": []})
            control.call("PUT", f"/api/v1/workspaces/{ws}/members/{user}", {"role": "editor"})
        alices = {}
        for ws in (a, b):
            alices[ws] = Client(control.url, settings=Settings(token=control.token("alice", ws)))
            clients.append(alices[ws])
        agent_a = _agent(tmp_path, control.url, control.token(edge_a, a))
        started.append(agent_a)
        agent_b = _agent(tmp_path, control.url, control.token(edge_b, None), "--workspace", b)
        started.append(agent_b)
        yield Plane(control.url, tmp_path, control.admin, a, b, alices, agent_a, agent_b)
    finally:
        for agent in started:
            agent.http.close()
            agent.proc.terminate()
            agent.proc.wait(timeout=20)
        for c in clients:
            c.close()


def _requests(p: Plane, ws: str, endpoint: str) -> int:
    r = p.api("GET", f"/api/v1/endpoints/{endpoint}/timeseries", ws)
    assert r.status_code == 200, r.text
    return sum(b["requests"] for b in r.json())


def _logged(p: Plane, ws: str) -> set[str]:
    r = p.api("GET", "/api/v1/endpoints/fraud/predictions", ws)
    assert r.status_code == 200, r.text
    return {row["request_id"] for row in r.json()}


@pytest.mark.slow
def test_each_workspace_serves_and_rolls_out_its_own_fraud(plane: Plane) -> None:
    p = plane
    for ws, value in ((p.a, 100), (p.b, 200)):
        v = p.register(ws, value)
        assert v == 1  # version numbers are per model, so per workspace
        p.alice[ws].promote("m", v, "Production")
        p.alice[ws].apply_endpoint(FRAUD)
    p.alice[p.b].apply_endpoint({"name": "scoring", "model": "m", "follow": "production"})

    # two endpoints named fraud, each following its own workspace's model
    wait_for(lambda: p.agent_a.serves("fraud", 100), 90, "agent A serving A's fraud")
    wait_for(lambda: p.agent_b.serves("fraud", 200), 90, "agent B serving B's fraud")
    wait_for(lambda: p.agent_b.serves("scoring", 200), 30, "agent B serving B's scoring")
    # agent A's token acts in A only: B's endpoints are not its business
    assert p.agent_a.ask("scoring") == (404, None)
    assert p.agent_a.http.get("/health").json()["endpoints"].keys() == {"fraud"}
    assert p.agent_b.http.get("/health").json()["endpoints"].keys() == {"fraud", "scoring"}

    # each agent's reports land in its own workspace's traffic only
    for i in range(7):
        assert p.agent_a.ask("fraud", f"a-{i}") == (200, 100)
    wait_for(lambda: _requests(p, p.a, "fraud") == p.agent_a.answered["fraud"], 30, "A's reports")
    wait_for(lambda: _requests(p, p.b, "fraud") == p.agent_b.answered["fraud"], 30, "B's reports")
    assert _requests(p, p.a, "fraud") == p.agent_a.answered["fraud"]
    agents = {ws: p.api("GET", "/api/v1/agents", ws).json() for ws in (p.a, p.b)}
    assert [a["name"] for a in agents[p.a]] == ["edge"] == [a["name"] for a in agents[p.b]]
    assert agents[p.a][0]["url"] == str(p.agent_a.http.base_url).rstrip("/")
    assert agents[p.b][0]["url"] == str(p.agent_b.http.base_url).rstrip("/")

    # so do its logged predictions: labels for them are A's, unknown to B's fraud
    wait_for(lambda: "a-6" in _logged(p, p.a), 30, "A's logged predictions")
    assert not {f"a-{i}" for i in range(7)} & _logged(p, p.b)
    labels = [{"request_id": f"a-{i}", "label": 1} for i in range(7)]
    to_b = p.api("POST", "/api/v1/endpoints/fraud/feedback", p.b, json=labels).json()
    assert (to_b["stored"], to_b["unknown"]) == (0, 7)
    to_a = p.api("POST", "/api/v1/endpoints/fraud/feedback", p.a, json=labels).json()
    assert (to_a["stored"], to_a["unknown"]) == (7, 0)

    # a promotion in B rolls out in B, driven by the controller, and nowhere else
    v2 = p.register(p.b, 201)
    p.alice[p.b].promote("m", v2, "Production")

    def b_rolled_out() -> bool:
        d = p.alice[p.b].endpoint_status("fraud").deployment
        return d is not None and d.to_version == v2 and d.state == "succeeded"

    wait_for(b_rolled_out, 60, "B's rollout to v2")
    wait_for(lambda: p.agent_b.serves("fraud", 201), 30, "agent B serving B's v2")
    assert p.agent_a.ask("fraud") == (200, 100)
    status_a = p.alice[p.a].endpoint_status("fraud")
    assert [(s.version, s.weight) for s in status_a.traffic] == [(1, 100)]
    assert len(p.api("GET", "/api/v1/endpoints/fraud/deployments", p.a).json()) == 1

    events = {ws: p.api("GET", "/api/v1/events", ws).json() for ws in (p.a, p.b)}
    rollout_b = [
        (e["kind"], e["actor"])
        for e in events[p.b]
        if e["kind"].startswith("deployment_")
        and e["version"] == v2
        and e["payload"]["endpoint"] == "fraud"
    ]
    assert rollout_b == [
        ("deployment_started", "alice"),
        ("deployment_step", "mlpipex-controller"),
        ("deployment_succeeded", "mlpipex-controller"),
    ]
    assert not [e for e in events[p.a] if e["version"] == v2]
    assert all(e["payload"].get("endpoint") != "scoring" for e in events[p.a])
    for ws in (p.a, p.b):
        verified = p.api("GET", "/api/v1/events/verify", ws).json()
        assert verified["ok"], verified


@pytest.mark.slow
def test_the_endpoint_quota_and_a_token_limited_to_one_workspace(plane: Plane) -> None:
    p = plane
    p.register(p.a, 100)
    p.alice[p.a].apply_endpoint(
        {"name": "fraud", "model": "m", "traffic": [{"version": 1, "weight": 100}]}
    )
    r = p.api("PUT", f"/api/v1/workspaces/{p.a}/quotas", p.a, json={"endpoints": 1})
    assert r.status_code == 200, r.text

    second = {"name": "second", "model": "m", "traffic": [{"version": 1, "weight": 100}]}
    refused = p.api("PUT", "/api/v1/endpoints", p.a, json=second)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "QUOTA_EXCEEDED"
    assert "limited to 1 endpoints" in error["message"] and p.a in error["message"]
    assert p.api("GET", "/api/v1/endpoints", p.a).json()[0]["name"] == "fraud"
    assert len(p.api("GET", "/api/v1/endpoints", p.a).json()) == 1
    # changing an endpoint adds none; the quota of A is not B's
    again = {"name": "fraud", "model": "m", "traffic": [{"version": 1, "weight": 100}]}
    assert p.api("PUT", "/api/v1/endpoints", p.a, json=again).status_code == 200
    p.register(p.b, 200)
    assert p.api("PUT", "/api/v1/endpoints", p.b, json=second).status_code == 200
    assert p.api("PUT", "/api/v1/endpoints", p.b, json=again).status_code == 200

    # the agent's token of A asked for B's desired state: refused; B's endpoints unseen in A
    refused_b = httpx.get(
        p.url + "/api/v1/agent/desired",
        headers={"Authorization": f"Bearer {p.agent_a.token}", HEADER: p.b},
        timeout=10,
    )
    assert refused_b.status_code == 403
    assert refused_b.json()["error"]["code"] == "PERMISSION_DENIED"
    assert p.api("GET", "/api/v1/endpoints/second", p.a).status_code == 404


# -- directly, on SQLite and PostgreSQL --------------------------------------------------------


@pytest.fixture
def two(
    client: Client, make_version: Callable[..., int], make_file: Callable[..., Path]
) -> tuple[Registry, Registry]:
    """The default workspace and team-b, each with model fraud v1 and v2 (none promoted)."""
    reg = client.registry
    workspaces.create(reg, B)
    reg_b = replace(reg, workspace=B)
    data = client.resolve_datasets({"train": str(make_file("t.csv", content=b"x,y\n1,0\n"))})
    for _ in range(2):
        make_version()
        r = register.Registration(
            "fraud", make_file(), commit="a" * 40, datasets=data, metrics={"auc": 0.9}
        )
        register.register_version(reg_b, r, None)
    return reg, reg_b


def _report(reg: Registry, requests: int, errors: int) -> None:
    """What agent a1 of reg's workspace counted on fraud-ep v1 (all within 1 ms)."""
    buckets = [0] * 16
    buckets[2] = requests
    counts = {"requests": requests, "errors": errors, "latency_ms_buckets": buckets}
    endpoints.report(
        reg,
        {
            "agent": "a1",
            "url": f"http://{reg.workspace}.invalid",
            "endpoints": {"fraud-ep": {"versions": {"1": counts}}},
        },
    )


def _scrape(reg: Registry) -> dict[tuple[str, tuple[str, ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.values()))): s.value
        for f in text_string_to_metric_families(exposition.render(reg).decode())
        for s in f.samples
    }


@pytest.mark.direct
def test_alerts_traffic_and_metrics_of_one_workspace_stay_there(
    two: tuple[Registry, Registry],
) -> None:
    reg, reg_b = two
    spec = {
        "name": "fraud-ep",
        "model": "fraud",
        "traffic": [{"version": 1, "weight": 100}],
        "rollout": {"analysis": {"max_error_rate": 0.05, "min_requests": 10}},
    }
    for r in (reg, reg_b):
        endpoints.apply(r, spec)
    _report(reg, 100, 0)
    _report(reg_b, 100, 50)

    assert endpoints.get_status(reg, "fraud-ep").stats["1"].errors_1m == 0
    assert endpoints.get_status(reg_b, "fraud-ep").stats["1"].errors_1m == 50
    assert [(a.name, a.url) for a in endpoints.agents(reg_b)] == [("a1", f"http://{B}.invalid")]
    assert [(a.name, a.url) for a in endpoints.agents(reg)] == [("a1", "http://default.invalid")]

    # the alert loop runs in the default workspace's registry and judges every workspace's
    assert alerts.evaluate(reg) == 1
    assert alerts.open_alerts(reg) == []
    [opened] = alerts.open_alerts(reg_b)
    assert (opened.endpoint, opened.version, opened.kind) == ("fraud-ep", 1, "error_rate")
    assert [e.actor for e in audit.list_events(reg_b, kind="alert_raised")] == [alerts.MONITOR]
    assert audit.list_events(reg, kind="alert_raised") == []
    assert audit.verify_chain(reg_b).ok and audit.verify_chain(reg).ok

    scraped = {ws: _scrape(r) for ws, r in (("default", reg), (B, reg_b))}
    key = ("mlpipex_endpoint_errors_total", ("1", "fraud-ep"))
    assert (scraped["default"][key], scraped[B][key]) == (0, 50)
    alert_key = ("mlpipex_alerts_open", ("1", "error_rate", "fraud-ep"))
    assert alert_key in scraped[B] and alert_key not in scraped["default"]


@pytest.mark.direct
def test_the_controller_advances_each_rollout_in_its_own_workspace(
    two: tuple[Registry, Registry],
) -> None:
    reg, reg_b = two
    spec = {
        "name": "fraud-ep",
        "model": "fraud",
        "follow": "production",
        "rollout": {"steps": [50, 100], "interval": "1s", "analysis": {"min_requests": 0}},
    }
    endpoints.apply(reg_b, spec)
    promote.promote(reg_b, "fraud", 1, "Production")
    promote.promote(reg_b, "fraud", 2, "Production")
    # the same name in the default workspace, following its own model, serving nothing new
    endpoints.apply(reg, spec)
    promote.promote(reg, "fraud", 1, "Production")

    seen: list[tuple[str, int, str]] = []

    def drift(endpoint: str, version: int, since: int, workspace: str) -> float | None:
        seen.append((endpoint, version, workspace))
        return None

    start = reg.clock()
    controller = replace(reg, actor=Actor(rollout.CONTROLLER), clock=lambda: start + 5_000)
    assert rollout.advance(controller, drift) == 1
    assert seen == [("fraud-ep", 2, B)]
    controller.clock = lambda: start + 10_000
    assert rollout.advance(controller, drift) == 1

    d = endpoints.get_status(reg_b, "fraud-ep").deployment
    assert d is not None and (d.to_version, d.state) == (2, "succeeded")
    served = endpoints.get_status(reg, "fraud-ep")
    assert [(s.version, s.weight) for s in served.traffic] == [(1, 100)]
    by_controller = [
        (e.kind, e.version) for e in audit.list_events(reg_b) if e.actor == rollout.CONTROLLER
    ]
    assert by_controller == [("deployment_step", 2), ("deployment_succeeded", 2)]
    assert not [e for e in audit.list_events(reg) if e.actor == rollout.CONTROLLER]


@pytest.mark.direct
def test_request_ids_and_labels_are_looked_up_in_the_workspace(
    two: tuple[Registry, Registry],
) -> None:
    reg, reg_b = two
    spec = {"name": "fraud-ep", "model": "fraud", "traffic": [{"version": 1, "weight": 100}]}
    now = reg.clock()
    for r, ids in ((reg, range(0, 10)), (reg_b, range(5, 15))):
        endpoints.apply(r, spec)
        rows = [
            {"request_id": f"r-{i}", "time": now - 1000 + i, "version": 1, "output": [1]}
            for i in ids
        ]
        assert predictions.ingest(r, "fraud-ep", rows) == 10
    labels = [{"request_id": f"r-{i}", "label": 1} for i in range(15)]
    # the same endpoint name and overlapping ids: each workspace knows only its own
    for r, unknown in (
        (reg, [f"r-{i}" for i in range(10, 15)]),
        (reg_b, [f"r-{i}" for i in range(5)]),
    ):
        result = feedback.ingest(r, "fraud-ep", labels)
        assert (result.stored, result.unknown) == (10, 5)
        assert sorted(result.unknown_ids) == sorted(unknown)
    assert set(feedback.read(reg, "fraud-ep").column("request_id").to_pylist()) == {
        f"r-{i}" for i in range(10)
    }
    logged = predictions.read(reg_b, "fraud-ep").column("request_id").to_pylist()
    assert logged == [f"r-{i}" for i in range(5, 15)]


def test_the_loops_hot_queries_seek_by_workspace_first(tmp_path: Path) -> None:
    """A small workspace's traffic window, request ids and open alert are found through the
    indexes that lead with the workspace, however many rows a big workspace holds."""
    store = Store(f"sqlite:///{tmp_path / 'registry.db'}")
    with store.write() as conn:
        for ws, n in (("big", 3000), ("small", 30)):
            samples = [TrafficSample("fraud", 1, "a1", i, 1, 0, 0, (1,), 1.0) for i in range(n)]
            traffic.insert_samples(conn, ws, samples)
            named = [NamedPrediction("fraud", f"r-{i}", 1, i) for i in range(n)]
            logs.index(conn, ws, [], named)
            for v in range(1, n // 10 + 1):
                store_alerts.raise_alert(conn, ws, "fraud", v, "drift", {}, 0)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()
    captured: list[tuple[str, Any]] = []
    sa.event.listen(
        store.engine,
        "before_cursor_execute",
        lambda c, cur, stmt, params, *a: captured.append((stmt, params)),
    )
    with store.read() as conn:
        assert traffic.window(conn, "small", "fraud", 1, -1, 10**6)[0] == 30
        assert store_alerts.open_alert(conn, "small", "fraud", 1, "drift") is not None
        wanted = {
            "traffic_samples": "ix_traffic_samples_workspace_endpoint_version_time",
            "alerts": "ix_alerts_workspace_endpoint_state",
        }
        plans = {}
        for stmt, params in list(captured):
            for table in (name for name in wanted if f"FROM {name}" in stmt):
                plans[table] = " ".join(
                    str(r) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + stmt, params)
                )
    objects = LocalStore(str(tmp_path / "objects"))
    # the ids' predictions are at times 0..n ms: the clock keeps them within the horizon
    small = Registry(store, objects, Actor("a"), clock=lambda: 10_000, workspace="small")
    assert request_index.lookup(small, "fraud", ["r-0", "r-29", "r-2999"]) == [
        (1, 0),
        (1, 29),
        None,  # the big workspace's id
    ]
    for table, index in wanted.items():
        assert f"USING INDEX {index} (workspace=? AND endpoint=?" in plans[table], plans[table]
    store.engine.dispose()


def test_agents_of_one_name_in_two_workspaces_keep_their_own_saved_state(tmp_path: Path) -> None:
    """One host, one cache, the same --name for two workspaces: neither restores the other's."""
    from mlpipex.agent import Agent, AgentConfig

    files = [
        Agent(AgentConfig("http://127.0.0.1:9", "edge", tmp_path, "", workspace=ws)).state_file
        for ws in (None, A, B)
    ]
    assert [f.name for f in files] == [
        "desired-edge.json",  # as before workspaces: a restarted agent finds its state
        f"desired-{A}.edge.json",
        f"desired-{B}.edge.json",
    ]
