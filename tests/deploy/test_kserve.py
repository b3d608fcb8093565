"""`mlpipex endpoint export --format kserve`: the InferenceService it writes is valid against
KServe's published CRD schema (read from ../shared/kserve beside the checkout, never copied
here), names the packages it published (loadable, verified) and carries a canary's share."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from mlpipex.client import Client
from mlpipex.flavors import load_model
from tests.conftest import CliResult, start_server, stop_server
from tests.deploy.stack import register_model

CRD = Path(
    os.environ.get(
        "MLPIPEX_KSERVE_CRD",
        Path(__file__).resolve().parents[2]
        / ".."
        / "shared"
        / "kserve"
        / "serving.kserve.io_inferenceservices.yaml",
    )
)


@cache
def _schema() -> dict[str, Any]:
    if not CRD.is_file():
        pytest.fail(f"KServe's CRD is missing at {CRD}: put ../shared/kserve beside the checkout")
    crd = yaml.safe_load(CRD.read_text())
    (version,) = [v for v in crd["spec"]["versions"] if v["name"] == "v1beta1"]
    schema: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return schema


def _validate(doc: dict[str, Any]) -> None:
    jsonschema.Draft7Validator(_schema()).validate(doc)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Client, list[str]]]:
    uri, objects = str(tmp_path / ".mlpipex"), str(tmp_path / "objects")
    c = Client(uri, objects=objects, user="alice")
    yield c, ["--uri", uri, "--objects", objects]
    c.close()


def test_a_canary_in_progress_exports_as_a_valid_inference_service(
    registry: tuple[Client, list[str]], tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    c, opts = registry
    v1, v2 = register_model(c, tmp_path, 1), register_model(c, tmp_path, 2)
    c.apply_endpoint(
        {
            "name": "ep",
            "model": "m",
            "traffic": [{"version": v1, "weight": 80}, {"version": v2, "weight": 20}],
            "autoscaling": {"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 2},
            "ray_actor_options": {"num_cpus": 0.5, "memory": 2**30},
        }
    )
    out = tmp_path / "isvc.yaml"
    r = cli(*opts, "endpoint", "export", "ep", "--format", "kserve", "-o", str(out))
    assert r.code == 0, r.err
    doc = yaml.safe_load(out.read_text())
    _validate(doc)
    predictor = doc["spec"]["predictor"]
    assert doc["kind"] == "InferenceService" and doc["metadata"]["name"] == "ep"
    assert predictor["canaryTrafficPercent"] == 20  # the canary is the latest revision
    assert predictor["model"]["protocolVersion"] == "v2"
    assert (predictor["minReplicas"], predictor["maxReplicas"]) == (1, 4)
    assert predictor["model"]["resources"]["requests"] == {"cpu": "500m", "memory": str(2**30)}
    # storageUri is the canary's package, published beside the object store's objects
    uri = predictor["model"]["storageUri"]
    assert uri == f"{tmp_path / 'objects'}/packages/m/{v2}"
    model = load_model(Path(uri), allow_pickle=True, verify=True)
    assert model.predict([[1.0]]) == [2]
    assert (tmp_path / "objects" / "packages" / "m" / str(v1)).is_dir()  # the stable one too


def test_one_version_exports_without_a_canary_and_a_bad_manifest_is_refused(
    registry: tuple[Client, list[str]], tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    c, opts = registry
    v1 = register_model(c, tmp_path, 1)
    c.apply_endpoint({"name": "ep", "model": "m", "traffic": [{"version": v1, "weight": 100}]})
    r = cli(*opts, "endpoint", "export", "ep", "--format", "kserve", "--namespace", "ml")
    assert r.code == 0, r.err
    doc = yaml.safe_load(r.out)
    _validate(doc)
    assert "canaryTrafficPercent" not in doc["spec"]["predictor"]
    assert doc["metadata"]["namespace"] == "ml"
    # The schema is really checked: a share written as text is refused.
    doc["spec"]["predictor"]["canaryTrafficPercent"] = "20"
    with pytest.raises(jsonschema.ValidationError):
        _validate(doc)


def test_an_unknown_format_or_endpoint_is_one_line(
    registry: tuple[Client, list[str]], cli: Callable[..., CliResult]
) -> None:
    c, opts = registry
    c.registry  # an empty registry  # noqa: B018
    r = cli(*opts, "endpoint", "export", "ep", "--format", "helm")
    assert r.code != 0 and "helm" in r.err
    r = cli(*opts, "endpoint", "export", "nope", "--format", "kserve")
    assert r.code != 0 and "nope" in r.err and "Traceback" not in r.err


@pytest.mark.slow
def test_export_against_a_server_publishes_under_the_storage_uri_given(
    registry: tuple[Client, list[str]], tmp_path: Path, cli: Callable[..., CliResult]
) -> None:
    c, _ = registry
    v1 = register_model(c, tmp_path, 1)
    c.apply_endpoint({"name": "ep", "model": "m", "traffic": [{"version": v1, "weight": 100}]})
    server, url = start_server(str(tmp_path / ".mlpipex"), str(tmp_path / "objects"))
    try:
        # The server's object store is not the caller's to write: it names where to publish.
        r = cli("--uri", url, "endpoint", "export", "ep", "--format", "kserve")
        assert r.code != 0 and "--storage-uri" in r.err and "Traceback" not in r.err
        published = tmp_path / "published"
        args = ("--uri", url, "endpoint", "export", "ep", "--format", "kserve")
        r = cli(*args, "--storage-uri", str(published))
        assert r.code == 0, r.err
    finally:
        stop_server(server)
    doc = yaml.safe_load(r.out)
    _validate(doc)
    uri = doc["spec"]["predictor"]["model"]["storageUri"]
    assert uri == f"{published}/m/{v1}"
    # The package came over HTTP from the server, verified, and loads.
    model = load_model(Path(uri), allow_pickle=True, verify=True)
    assert model.predict([[1.0]]) == [1]
