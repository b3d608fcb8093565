"""Workspaces through the SDK, on SQLite, PostgreSQL and a server: names repeat across
workspaces and each sees only its own; one audit chain per workspace; quotas; deletion."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.domain.traces import TraceInfo, TraceState
from mlpipex.domain.workspaces import Quotas
from mlpipex.errors import (
    AlreadyExists,
    Conflict,
    Invalid,
    NotFound,
    PolicyViolation,
    QuotaExceeded,
)
from mlpipex.service.mlflow import compat
from mlpipex.service.mlflow import registry as mlflow_registry
from mlpipex.service.tracking import traces
from tests.conftest import Backend


def _version(c: Client, make_file: Callable[..., Path], name: str = "fraud", size: int = 64) -> int:
    data = make_file("train.csv", content=b"x,y\n1,0\n")
    v = c.register(
        name,
        make_file(size=size),
        metrics={"auc": 0.9},
        commit="a" * 40,
        datasets={"train": str(data)},
    )
    return v.version


@pytest.fixture
def teams(backend: Backend) -> Iterator[Callable[[str], Client]]:
    """A client acting in the named workspace, created on first use."""
    admin = backend.client()
    opened: list[Client] = [admin]

    def make(ws: str) -> Client:
        with contextlib.suppress(AlreadyExists):
            admin.create_workspace(ws, f"team {ws}")
        c = Client(backend.uri, objects=backend.objects, user="alice", workspace=ws)
        opened.append(c)
        return c

    yield make
    for c in opened:
        c.close()


def test_the_same_name_in_two_workspaces_is_two_models(
    teams: Callable[[str], Client], make_file: Callable[..., Path], backend: Backend
) -> None:
    a, b = teams("team-a"), teams("team-b")
    for c in (a, b, a):
        _version(c, make_file)
    assert [v.version for v in a.list_versions("fraud").items] == [2, 1]
    assert [v.version for v in b.list_versions("fraud").items] == [1]
    assert a.get_version("fraud/2").artifact_digest != b.get_version("fraud/1").artifact_digest
    with pytest.raises(NotFound):
        b.get_version("fraud/2")
    a.set_alias("fraud", "champion", 2)
    with pytest.raises(NotFound):
        b.get_version("fraud@champion")
    # a models:/ URI (what load_model resolves) names the caller's workspace's version
    assert a.get_version("models:/fraud@champion").version == 2
    assert (
        b.get_version("models:/fraud/1").artifact_digest == b.get_version("fraud/1").artifact_digest
    )
    with pytest.raises(NotFound):
        b.get_version("models:/fraud@champion")
    default = backend.client()
    assert [m.name for m in default.list_models().items] == []
    assert {w.name for w in default.list_workspaces()} >= {"default", "team-a", "team-b"}


def test_an_unknown_workspace_is_refused_before_anything_is_written(
    backend: Backend, make_file: Callable[..., Path]
) -> None:
    c = Client(backend.uri, objects=backend.objects, user="alice", workspace="nowhere")
    with pytest.raises(NotFound, match="workspace 'nowhere' does not exist"):
        _version(c, make_file)
    c.close()
    bad = Client(backend.uri, objects=backend.objects, user="alice", workspace="Bad_Name")
    with pytest.raises(Invalid, match="workspace name"):
        bad.list_models()
    bad.close()


def test_each_workspace_keeps_its_own_audit_chain(
    teams: Callable[[str], Client], make_file: Callable[..., Path]
) -> None:
    a, b = teams("team-a"), teams("team-b")
    _version(a, make_file)
    _version(a, make_file)
    _version(b, make_file)
    kinds_a = [e.kind for e in a.events()]
    kinds_b = [e.kind for e in b.events()]
    assert kinds_a.count("version_registered") == 2 and kinds_b.count("version_registered") == 1
    for events in (a.events(), b.events()):
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert events[0].kind == "workspace_created"
    assert a.verify_audit().ok and a.verify_audit().checked == len(kinds_a)
    assert b.verify_audit().ok and b.verify_audit().checked == len(kinds_b)


def test_quotas_refuse_what_would_pass_them_and_write_nothing(
    teams: Callable[[str], Client], make_file: Callable[..., Path], backend: Backend
) -> None:
    a = teams("team-a")
    admin = backend.client()
    admin.set_quotas("team-a", Quotas(models=1, versions=2, bytes=1000))
    _version(a, make_file, size=100)
    _version(a, make_file, size=100)
    with pytest.raises(QuotaExceeded, match="limited to 2 versions"):
        _version(a, make_file, size=100)
    with pytest.raises(QuotaExceeded, match="limited to 1 models"):
        a.create_model("second")
    admin.set_quotas("team-a", Quotas(bytes=250))
    with pytest.raises(QuotaExceeded, match="250 bytes"):
        _version(a, make_file, size=100)
    assert [v.version for v in a.list_versions("fraud").items] == [2, 1]
    used = admin.workspace_usage("team-a")
    assert (used.models, used.versions, used.bytes) == (1, 2, 200)
    admin.set_quotas("team-a", Quotas())
    assert _version(a, make_file) == 3


def test_a_registration_that_creates_its_model_counts_it_against_the_models_quota(
    teams: Callable[[str], Client], make_file: Callable[..., Path], backend: Backend
) -> None:
    a = teams("team-a")
    admin = backend.client()
    admin.set_quotas("team-a", Quotas(models=1, versions=1))
    _version(a, make_file)
    # a version of a new model would pass both quotas: the models one is named, as it is first,
    # counting what was there before (the new model's row, written, is rolled back)
    with pytest.raises(QuotaExceeded, match="limited to 1 models and holds 1; this would add 1"):
        _version(a, make_file, name="second")
    with pytest.raises(NotFound):  # neither the model nor its version is left
        a.get_model("second")
    assert [e.model for e in a.events() if e.kind in ("model_created", "version_registered")] == [
        "fraud",
        "fraud",
    ]
    admin.set_quotas("team-a", Quotas(models=2, versions=2))
    assert _version(a, make_file, name="second") == 1
    assert admin.workspace_usage("team-a").models == 2


def test_a_workspace_holding_anything_is_not_deleted(
    teams: Callable[[str], Client], make_file: Callable[..., Path], backend: Backend
) -> None:
    a = teams("team-a")
    teams("team-empty")
    _version(a, make_file)
    admin = backend.client()
    with pytest.raises(Conflict, match="holds 1 models"):
        admin.delete_workspace("team-a")
    admin.delete_workspace("team-empty")
    assert "team-empty" not in {w.name for w in admin.list_workspaces()}
    with pytest.raises(Invalid, match="cannot be deleted"):
        admin.delete_workspace("default")
    with pytest.raises(Invalid, match="workspace name"):
        admin.create_workspace("API")


@pytest.mark.direct
def test_a_runs_artifacts_are_found_only_in_its_workspace(
    teams: Callable[[str], Client], make_file: Callable[..., Path]
) -> None:
    """Listing a run's artifacts and registering from them through the MLflow API ask the same
    question of the store; from another workspace the run holds nothing."""
    a, b = teams("team-a"), teams("team-b")
    run = a.create_run(a.create_experiment("churn"), commit="a" * 40)
    a.log_artifact(run.id, make_file("model.bin", content=b"weights"), "model")
    assert [f.path for f in a.list_artifacts(run.id, "model")] == ["model/model.bin"]
    assert a.list_artifacts(run.id, "m_del") == []  # a prefix, not a LIKE pattern
    with pytest.raises(NotFound, match="does not exist"):
        b.list_artifacts(run.id, "model")
    source = f"runs:/{run.id}/model"
    with pytest.raises(PolicyViolation, match="missing: dataset"):  # judged on the run
        mlflow_registry.create_version(a.registry, "fraud", source, run.id, {}, "", None)
    with pytest.raises(PolicyViolation, match="is not held by this registry"):
        mlflow_registry.create_version(b.registry, "fraud", source, run.id, {}, "", None)


def test_a_workspace_whose_experiments_are_deleted_can_be_deleted(tmp_path: Path) -> None:
    uri = str(tmp_path / ".mlpipex")
    with Client(uri, user="root") as admin:
        admin.create_workspace("team-a")
    a = Client(uri, user="alice", workspace="team-a")
    eid = a.create_experiment("churn")
    run = a.create_run(eid)
    a.log_metric(run.id, "auc", 0.9)
    admin = Client(uri, user="root")
    with pytest.raises(Conflict, match="holds 1 experiments"):
        admin.delete_workspace("team-a")
    compat.set_experiment_deleted(a.registry, eid, True)
    admin.delete_workspace("team-a")
    assert "team-a" not in {w.name for w in admin.list_workspaces()}
    # made again by that name, it starts empty
    admin.create_workspace("team-a")
    again = Client(uri, user="alice", workspace="team-a")
    assert [e.name for e in again.search_experiments().items] in ([], ["Default"])
    with pytest.raises(NotFound):
        again.get_run(run.id)
    for c in (a, admin, again):
        c.close()


def test_a_trace_linked_to_a_run_before_it_arrives_is_found_by_the_run(tmp_path: Path) -> None:
    """MLflow exports spans in the background: a link may come first. Another workspace's
    trace is never linked."""
    uri = str(tmp_path / ".mlpipex")
    with Client(uri, user="root") as admin:
        admin.create_workspace("team-b")
    a = Client(uri, user="alice")
    b = Client(uri, user="bob", workspace="team-b")
    eid_a, eid_b = a.create_experiment("chat"), b.create_experiment("chat")
    run = a.create_run(eid_a)

    def trace(c: Client, eid: str, n: int) -> str:
        info = TraceInfo(f"tr-{n:032x}", eid, 1_700_000_000_000, 5, TraceState.OK)
        return traces.start_trace(c.registry, info, "mlflow-artifacts:/traces").trace_id

    foreign = trace(b, eid_b, 2)
    traces.link_to_run(a.registry, [f"tr-{1:032x}", foreign], run.id)
    early = trace(a, eid_a, 1)  # arrives after its link
    found = traces.search_traces(
        a.registry, [eid_a], f"attribute.run_id = '{run.id}'", [], 10, None
    )
    assert [t.trace_id for t in found.items] == [early]
    assert not traces.search_traces(
        b.registry, [eid_b], f"attribute.run_id = '{run.id}'", [], 10, None
    ).items
    for c in (a, b):
        c.close()
