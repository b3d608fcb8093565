"""`mlpipex endpoint ...` on each backend: apply, list, status (its --json is the API's body),
rollback; the SDK's typed status read locally and rebuilt from the server's JSON agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from mlpipex.client import Client
from mlpipex.domain.deployment import DeploymentState, Share
from tests.conftest import Backend, CliResult

Cli = Callable[..., CliResult]
SPEC = {
    "name": "fraud-ep",
    "model": "fraud",
    "follow": "production",
    "shadow": {"version": 2, "percent": 10},
    "rollout": {"steps": [20, 100], "interval": "30s", "analysis": {"max_p99_latency_ms": 200}},
}


def test_apply_status_list_and_rollback(
    cli: Cli,
    backend: Backend,
    client: Client,
    make_version: Callable[..., int],
    tmp_path: Path,
) -> None:
    make_version()
    make_version()
    client.promote("fraud", 1, "Production")
    spec = tmp_path / "endpoint.yaml"
    spec.write_text(yaml.safe_dump(SPEC))
    applied = cli("endpoint", "apply", str(spec), env=backend.env())
    assert applied.code == 0, applied.err
    assert applied.out.strip() == (
        "endpoint fraud-ep applied: v1:100%; rollout succeeded vNone -> v1"
    )

    client.promote("fraud", 2, "Production")
    status = client.endpoint_status("fraud-ep")
    assert status.traffic == (Share(1, 80), Share(2, 20))
    assert status.deployment is not None and status.deployment.state == DeploymentState.PROGRESSING
    assert status.shadow is not None and status.shadow.percent == 10
    printed = cli("endpoint", "status", "fraud-ep", "--json", env=backend.env())
    assert printed.code == 0, printed.err
    body = json.loads(printed.out)
    assert body == status.to_json()  # the same record, whichever way it travelled
    assert list(body) == sorted(body)  # --json sorts its keys
    assert body["deployment"]["steps"] == [20, 100] and body["deployment"]["weight"] == 20
    assert body["rollout"]["analysis"] == {
        "max_error_rate": 0.01,
        "max_p99_latency_ms": 200.0,
        "min_requests": 50,
        "quality_wait": "5m",  # how long a step would wait for labels under min_quality
    }

    listed = cli("endpoint", "list", env=backend.env())
    assert listed.code == 0 and "fraud-ep" in listed.out and "progressing v1->v2" in listed.out

    rolled = cli("endpoint", "rollback", "fraud-ep", "--reason", "by hand", env=backend.env())
    assert rolled.code == 0, rolled.err
    assert rolled.out.strip() == "endpoint fraud-ep rolled back: v1:100%"
    after = client.endpoint_status("fraud-ep")
    assert after.deployment is not None and after.deployment.state == DeploymentState.ROLLED_BACK
    assert "by hand" in after.deployment.reason
    assert client.get_version("fraud:production").version == 1


def test_resources_travel_with_the_status_and_are_noted(
    cli: Cli, backend: Backend, client: Client, make_version: Callable[..., int], tmp_path: Path
) -> None:
    make_version()
    client.promote("fraud", 1, "Production")
    spec = tmp_path / "endpoint.yaml"
    resources = {
        "autoscaling": {"min_replicas": 1, "max_replicas": 4, "target_ongoing_requests": 2},
        "ray_actor_options": {"num_cpus": 0.5},
    }
    spec.write_text(yaml.safe_dump({**SPEC, "shadow": None, **resources}))
    assert cli("endpoint", "apply", str(spec), env=backend.env()).code == 0
    shown = cli("endpoint", "status", "fraud-ep", env=backend.env())
    assert shown.code == 0 and "note: replicas, autoscaling and ray_actor_options" in shown.out
    body = json.loads(cli("endpoint", "status", "fraud-ep", "--json", env=backend.env()).out)
    assert body["autoscaling"]["max_replicas"] == 4 and body["ray_actor_options"]["num_cpus"] == 0.5
    assert body == client.endpoint_status("fraud-ep").to_json()
    both = {**SPEC, "shadow": None, "replicas": 2, **resources}
    spec.write_text(yaml.safe_dump(both))
    refused = cli("endpoint", "apply", str(spec), env=backend.env())
    assert refused.code != 0 and "replicas or autoscaling" in refused.err
