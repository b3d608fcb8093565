from __future__ import annotations

import pytest

from mlpipex.domain.durations import parse_duration
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.domain.policy import (
    PERMISSIVE,
    STRICT,
    failed_gates,
    missing_for_registration,
    parse_policy,
)
from mlpipex.errors import Invalid


def version(stage: str = "Staging", entered: int = 0, **metrics: float) -> ModelVersion:
    return ModelVersion(
        model="m",
        version=2,
        stage=stage,
        status="READY",
        description="",
        commit="c",
        commit_dirty=False,
        run_id=None,
        flavor=None,
        artifact_digest="d",
        artifact_size=1,
        created_at=0,
        created_by="a",
        stage_entered_at=entered,
        metrics=metrics,
    )


def test_strict_policy_names_every_missing_field() -> None:
    missing = missing_for_registration(STRICT, None, [], {}, {})
    assert [m.split(" ")[0] for m in missing] == ["commit", "dataset", "metric"]
    assert (
        missing_for_registration(
            STRICT, "abc", [DatasetRef("t", "u", "blake3:" + "0" * 64)], {"auc": 1.0}, {}
        )
        == []
    )
    assert missing_for_registration(PERMISSIVE, None, [], {}, {}) == []


def test_required_tags_extend_the_requirements() -> None:
    p = parse_policy({"require": {"tags": ["owner"], "dataset": False}})
    assert [m.split(" ")[0] for m in missing_for_registration(p, "c", [], {"a": 1}, {})] == ["tag"]


def test_metric_gates_report_the_value_measured() -> None:
    p = parse_policy({"gates": {"production": {"auc": ">= 0.9", "latency": "< 10"}}})
    failed = failed_gates(p, version(auc=0.85, latency=5), "Production", None, 0)
    assert failed == ["metric gate auc >= 0.9: the version has auc = 0.85"]
    assert failed_gates(p, version(auc=0.95, latency=5), "production", None, 0) == []
    assert "no metric 'latency'" in failed_gates(p, version(auc=0.95), "Production", None, 0)[0]


def test_must_beat_current_compares_with_the_production_version() -> None:
    p = parse_policy({"must_beat_current": {"metric": "rmse", "direction": "lower"}})
    current = version("Production", rmse=1.0)
    assert failed_gates(p, version(rmse=0.9), "Production", current, 0) == []
    (msg,) = failed_gates(p, version(rmse=1.0), "Production", current, 0)
    assert "does not beat version 2's 1" in msg
    assert failed_gates(p, version(rmse=5.0), "Staging", current, 0) == []


def test_soak_requires_time_in_the_previous_stage() -> None:
    p = parse_policy({"soak": {"production": "1h"}})
    assert failed_gates(p, version("Staging", entered=0), "Production", None, 3_600_000) == []
    (early,) = failed_gates(p, version("Staging", entered=0), "Production", None, 60_000)
    assert "60s in Staging so far, 3600s" in early
    (skipped,) = failed_gates(p, version("None"), "Production", None, 10**10)
    assert "must spend 1h in Staging first" in skipped


@pytest.mark.parametrize(
    "bad",
    [
        {"gatez": {}},
        {"gates": {"prod": {"auc": ">= 1"}}},
        {"gates": {"production": {"auc": "at least 0.9"}}},
        {"approvals": {"production": {"count": 0}}},
        {"soak": {"production": "soon"}},
        {"stages": ["Staging", "Production"]},
    ],
)
def test_invalid_policies_are_refused_with_the_field(bad: dict[str, object]) -> None:
    with pytest.raises(Invalid, match=r"polic|stage|duration|gate"):
        parse_policy(bad)


def test_stage_names_match_without_case_and_custom_stage_sets_work() -> None:
    p = parse_policy(
        {
            "stages": ["None", "Dev", "Canary", "Production", "Archived"],
            "approvals": {"canary": {"count": 2, "role": "approver"}},
        }
    )
    assert p.stage("CANARY") == "Canary"
    assert p.approval_rule("Canary") is not None and p.approval_rule("Canary").count == 2  # type: ignore[union-attr]
    assert p.previous_stage("Production") == "Canary"


def test_durations() -> None:
    assert parse_duration("90s") == 90
    assert parse_duration("1h30m") == 5400
    assert parse_duration(5) == 5
    with pytest.raises(Invalid):
        parse_duration("5 parsecs")
