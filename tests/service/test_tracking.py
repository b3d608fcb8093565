"""Tracking on both databases: experiments, runs, metric history, MLflow's limits and rules."""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.errors import AlreadyExists, Invalid, NotFound
from mlpipex.service.tracking import checks
from mlpipex.service.tracking.checks import Metric

pytestmark = pytest.mark.direct  # reaches into the database or objects, or tracks runs


@pytest.fixture
def run_id(client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    return client.create_run(client.create_experiment("fraud"), run_name="r", entry_point="t.py").id


def test_default_experiment_is_created_lazily_with_id_0(client: Client) -> None:
    run = client.create_run()
    assert run.experiment_id == "0"
    assert client.get_experiment("0").name == "Default"
    exp_id = client.create_experiment("fraud", tags={"team": "risk"})
    assert exp_id != "0" and client.get_experiment_by_name("fraud").tags == {"team": "risk"}  # type: ignore[union-attr]
    assert client.get_experiment_by_name("nope") is None
    with pytest.raises(AlreadyExists):
        client.create_experiment("fraud")
    names = [e.name for e in client.search_experiments("name LIKE 'fr%'").items]
    assert names == ["fraud"]


def test_run_records_commit_entry_point_and_user(
    client: Client, tmp_path: Path, git_repo: Callable[[Path], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = git_repo(tmp_path / "repo")
    monkeypatch.chdir(tmp_path / "repo")
    (tmp_path / "repo" / "README").write_text("changed\n")
    run = client.create_run(run_name="train", entry_point="train.py")
    assert (run.commit, run.commit_dirty, run.entry_point) == (sha, True, "train.py")
    assert (run.status, run.user_id, run.name) == ("RUNNING", "alice", "train")
    ended = client.set_terminated(run.id, "FAILED")
    assert ended.status == "FAILED" and ended.end_time is not None


def test_metric_history_keeps_every_step_and_latest_follows_the_highest_step(
    client: Client, run_id: str
) -> None:
    client.log_metric(run_id, "loss", 0.5, timestamp=100, step=2)
    client.log_metric(run_id, "loss", 0.9, timestamp=50, step=0)
    client.log_batch(run_id, [Metric("loss", 0.7, 10, 1), Metric("loss", 0.4, 300, 2)])
    history = client.get_metric_history(run_id, "loss")
    assert [(m.step, m.value, m.timestamp) for m in history] == [
        (0, 0.9, 50),
        (1, 0.7, 10),
        (2, 0.5, 100),
        (2, 0.4, 300),
    ]
    assert client.get_run(run_id).metrics == {"loss": 0.4}
    client.log_metric(run_id, "loss", 0.1, timestamp=999, step=1)  # older step: history only
    assert client.get_run(run_id).metrics == {"loss": 0.4}
    assert len(client.get_metric_history(run_id, "loss")) == 5


def test_nan_and_infinity_are_stored_as_mlflow_does(client: Client, run_id: str) -> None:
    client.log_metrics(run_id, {"nan": math.nan, "inf": math.inf, "ninf": -math.inf}, step=0)
    m = client.get_run(run_id).metrics
    assert math.isnan(m["nan"])
    assert (m["inf"], m["ninf"]) == (sys.float_info.max, -sys.float_info.max)
    assert math.isnan(client.get_metric_history(run_id, "nan")[0].value)


def test_a_param_keeps_its_first_value(client: Client, run_id: str) -> None:
    client.log_param(run_id, "lr", 0.1)
    client.log_param(run_id, "lr", "0.1")  # the same value again is fine
    with pytest.raises(Invalid, match=r"'lr'.*cannot change"):
        client.log_param(run_id, "lr", 0.2)
    assert client.get_run(run_id).params == {"lr": "0.1"}


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"params": {"k" * 251: "v"}}, "param key"),
        ({"params": {"ok": "v" * 6001}}, "param 'ok'"),
        ({"tags": {"team": "v" * 8001}}, "tag 'team'"),
        ({"tags": {"../up": "v"}}, "tag key"),
        ({"metrics": [Metric("bad key!", 1.0, 1, 0)]}, "metric key"),
        ({"metrics": [Metric("auc", "high", 1, 0)]}, "metric 'auc'"),  # type: ignore[arg-type]
        ({"metrics": [Metric("auc", 1.0, 1, 1.5)]}, "step"),  # type: ignore[arg-type]
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    client: Client, run_id: str, kwargs: dict[str, object], field: str
) -> None:
    extra_metrics: list[Metric] = kwargs.get("metrics", [])  # type: ignore[assignment]
    extra_params: dict[str, str] = kwargs.get("params", {})  # type: ignore[assignment]
    extra_tags: dict[str, str] = kwargs.get("tags", {})  # type: ignore[assignment]
    with pytest.raises(Invalid, match=field):
        client.log_batch(
            run_id,
            [Metric("fine", 1.0, 1, 0), *extra_metrics],
            params={"fine": "1", **extra_params},
            tags={"fine": "1", **extra_tags},
        )
    run = client.get_run(run_id)
    assert (run.params, run.metrics, run.tags) == ({}, {}, {})


@pytest.mark.parametrize("key", ["a/../b", "a/..", "..", "x//..", "a/./../b"])
def test_a_key_that_climbs_is_refused_wherever_the_parent_step_is(key: str) -> None:
    with pytest.raises(Invalid, match="invalid metric key"):
        checks.check_key("metric", key)


@pytest.mark.parametrize("key", ["a..b", "a/.b", "a/...", "v1.0/loss", "a/b/c"])
def test_dots_that_do_not_climb_are_fine_in_a_key(key: str) -> None:
    assert checks.check_key("metric", key) == key


def test_metric_values_and_counters_of_other_types_are_checked_as_before() -> None:
    assert checks.check_metric(Metric("k", 3, 5, 7)) == ("k", 3.0, 5, 7)  # type: ignore[arg-type]
    assert type(checks.check_metric(Metric("k", 3, 5, 7))[1]) is float  # type: ignore[arg-type]
    with pytest.raises(Invalid, match="timestamp True is not an integer"):
        checks.check_metric(Metric("k", 1.0, True, 0))
    with pytest.raises(Invalid, match=r"step 2\.0 is not an integer"):
        checks.check_metric(Metric("k", 1.0, 0, 2.0))  # type: ignore[arg-type]
    assert checks.check_metric(Metric("k", True, 0, 0)) == ("k", 1.0, 0, 0)
    with pytest.raises(Invalid, match="'x' is not a number"):
        checks.check_metric(Metric("k", "x", 0, 0))  # type: ignore[arg-type]


def test_unknown_runs_and_statuses(client: Client, run_id: str) -> None:
    with pytest.raises(NotFound):
        client.log_metric("0" * 32, "auc", 1.0)
    with pytest.raises(Invalid, match="does not end a run"):
        client.set_terminated(run_id, "RUNNING")
    client.delete_run(run_id)
    with pytest.raises(Invalid, match="deleted"):
        client.log_metric(run_id, "auc", 1.0)
    assert client.search_runs("fraud").items == []
    assert [r.id for r in client.search_runs("fraud", run_view_type="deleted").items] == [run_id]


def test_artifacts_are_objects_listed_by_path_and_kept_by_gc(
    client: Client, run_id: str, make_file: Callable[..., Path], tmp_path: Path
) -> None:
    d = tmp_path / "plots"
    d.mkdir()
    (d / "roc.png").write_bytes(b"png")
    (d / "sub").mkdir()
    (d / "sub" / "pr.png").write_bytes(b"pr")
    client.log_artifacts(run_id, d, "plots")
    client.log_artifact(run_id, make_file("notes.txt", content=b"hi"))
    listed = {a.path: a.size for a in client.list_artifacts(run_id)}
    assert listed == {"notes.txt": 2, "plots/roc.png": 3, "plots/sub/pr.png": 2}
    assert [a.path for a in client.list_artifacts(run_id, "plots/sub")] == ["plots/sub/pr.png"]
    with pytest.raises(Invalid, match="relative"):
        client.log_artifact(run_id, d, "../escape")
    report = client.gc(grace_s=0)
    assert report.removed == []
    assert len(list(client.registry.objects.iter_digests())) == 3


def test_log_dataset_from_a_file_and_from_a_dataframe(
    client: Client, run_id: str, make_file: Callable[..., Path]
) -> None:
    import pandas as pd

    csv = make_file("train.csv", content=b"a,b\n1,2\n3,4\n5,6\n")
    ds = client.log_dataset(run_id, "train", str(csv), context="training")
    assert ds.digest.startswith("blake3:") and (ds.num_rows, ds.size) == (3, csv.stat().st_size)
    assert ds.schema == {"a": "string", "b": "string"}
    df = pd.DataFrame({"x": [1.0, 2.0], "y": ["a", "b"]})
    frame = client.log_dataset(run_id, "eval", df)
    assert frame.uri == f"runs:/{run_id}/datasets/eval.parquet"
    assert frame.num_rows == 2 and frame.schema is not None and frame.schema["x"] == "double"
    assert "string" in frame.schema["y"]
    assert {i.name for i in client.get_run(run_id).inputs} == {"train", "eval"}
    with pytest.raises(Invalid, match="neither a path nor a DataFrame"):
        client.log_dataset(run_id, "bad", 42)


@pytest.mark.parametrize("path", ["a\x00b", "model/m\n.bin", "./x/\ty"])
def test_run_artifact_paths_with_control_characters_are_refused(path: str) -> None:
    with pytest.raises(Invalid):
        checks.check_artifact_path(path)
    assert checks.check_artifact_path("./model//m.bin") == "model/m.bin"
