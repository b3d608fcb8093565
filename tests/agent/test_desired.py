"""Parsing the desired state: strict, so a malformed answer is refused whole."""

from __future__ import annotations

from typing import Any

import pytest

from mlpipex.agent.desired import desired_doc, parse_desired
from mlpipex.errors import Invalid

FILE = {"path": "model.skops", "digest": "a" * 64, "size": 10}


def _doc(**endpoint: Any) -> dict[str, Any]:
    e = {
        "name": "fraud",
        "model": "fraud",
        "sticky_header": None,
        "versions": [
            {"version": 3, "weight": 90, "files": [FILE], "pickle": False},
            {"version": 4, "weight": 10, "files": [FILE], "pickle": False},
        ],
        "shadow": None,
    }
    return {"generation": 7, "endpoints": [{**e, **endpoint}]}


def test_parses_the_protocol_example() -> None:
    shadow = {"version": 5, "percent": 100, "files": [FILE], "pickle": True}
    state = parse_desired(_doc(sticky_header="X-User-Id", shadow=shadow))
    assert state.generation == 7
    (e,) = state.endpoints
    assert e.sticky_header == "X-User-Id"
    assert [(v.version, v.weight) for v in e.versions] == [(3, 90), (4, 10)]
    assert e.shadow is not None
    assert e.shadow.percent == 100.0
    assert e.shadow.spec.pickle is True
    assert [v.version for v in e.all_versions()] == [3, 4, 5]


def test_a_shadow_that_is_also_routed_is_loaded_once() -> None:
    shadow = {"version": 4, "percent": 10, "files": [FILE], "pickle": False}
    (e,) = parse_desired(_doc(shadow=shadow)).endpoints
    assert [v.version for v in e.all_versions()] == [3, 4]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"endpoints": []}, "generation"),
        (_doc(versions=[{"version": 3, "weight": 90, "files": [FILE]}]), "sum to 100"),
        (_doc(name="a/b"), "without '/'"),
        (_doc(versions=[{"version": 3, "weight": 100, "files": []}]), "no files"),
        (
            _doc(versions=[{"version": 3, "weight": 100, "files": [{**FILE, "path": "../x"}]}]),
            "unsafe",
        ),
        (_doc(shadow={"version": 5, "percent": 101, "files": [FILE]}), "percent"),
        ({"generation": 1, "endpoints": [_doc()["endpoints"][0]] * 2}, "twice"),
    ],
)
def test_refuses_malformed_states(doc: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        parse_desired(doc)


def test_resources_are_parsed_and_the_state_round_trips() -> None:
    resources = {
        "replicas": None,
        "autoscaling": {"min_replicas": 1, "max_replicas": 3, "target_ongoing_requests": 2},
        "num_cpus": 0.25,
        "num_gpus": None,
        "memory": 2**30,
    }
    shadow = {"version": 5, "percent": 50, "files": [FILE], "pickle": True}
    state = parse_desired(_doc(resources=resources, shadow=shadow, log_sample_rate=0.5))
    (e,) = state.endpoints
    assert e.resources.autoscaling is not None and e.resources.autoscaling.max_replicas == 3
    assert (e.resources.num_cpus, e.resources.memory) == (0.25, 2**30)
    # What a runtime hands its replicas reads back as the same state.
    assert parse_desired(desired_doc(state)) == state
    assert not parse_desired(_doc()).endpoints[0].resources  # none given: nothing to place


@pytest.mark.parametrize(
    "resources",
    [
        {"replicas": -1},
        {"replicas": True},
        {"num_cpus": "2"},
        {"autoscaling": {"min_replicas": 3, "max_replicas": 1, "target_ongoing_requests": 1}},
        {"autoscaling": {"min_replicas": 1}},
        [],
    ],
)
def test_bad_resources_are_refused(resources: Any) -> None:
    with pytest.raises(Invalid):
        parse_desired(_doc(resources=resources))
