"""Governance policy: what a registration must carry and what a transition must pass.

Pure: evaluating a policy takes values and returns the list of what fails.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mlpipex.domain.durations import parse_duration
from mlpipex.domain.models import DatasetRef, ModelVersion
from mlpipex.domain.roles import ROLES, unknown_roles
from mlpipex.domain.stage import DEFAULT_STAGES, Stage, canonical_stage
from mlpipex.domain.validation import validated
from mlpipex.errors import Invalid

# A version recorded without all its policy asks for (imported from GTO, say) carries what it
# lacks in this tag; it cannot move to another stage until completed.
MISSING_TAG = "mlpipex.missing"
_CMP: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
_GATE = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Requirements(_Strict):
    """Metadata a version must carry to be registered at all."""

    commit: bool = True
    dataset: bool = True
    metrics: bool = True
    tags: list[str] = Field(default_factory=list)
    # Off, an MLflow registration naming a run this registry does not know, or a source whose
    # files it cannot read (s3://, dbfs:/), is recorded as an external reference, as MLflow
    # records it: no files, never deployed or served.
    files: bool = True


class ApprovalRule(_Strict):
    count: int = Field(1, ge=1, le=1000)
    role: str = "approver"

    @field_validator("role")
    @classmethod
    def _known_role(cls, v: str) -> str:
        # Checked when the policy is set: a misspelled role would leave no one able to approve.
        if unknown_roles([v]):
            raise ValueError(f"unknown role {v!r}; roles are {', '.join(ROLES)}")
        return v


class MustBeat(_Strict):
    metric: str
    direction: Literal["higher", "lower"] = "higher"


class Policy(_Strict):
    """A model's policy (YAML); unknown keys are refused so that a typo never relaxes a rule."""

    stages: list[str] = Field(default_factory=lambda: list(DEFAULT_STAGES))
    require: Requirements = Field(default_factory=Requirements)
    gates: dict[str, dict[str, str]] = Field(default_factory=dict)
    must_beat_current: MustBeat | None = None
    approvals: dict[str, ApprovalRule] = Field(default_factory=dict)
    soak: dict[str, str] = Field(default_factory=dict)
    required_tags: dict[str, list[str]] = Field(default_factory=dict)
    replace: dict[str, str] = Field(default_factory=lambda: {"Production": "Archived"})
    self_approval: bool = False

    @field_validator("must_beat_current", mode="before")
    @classmethod
    def _metric_name(cls, v: Any) -> Any:
        return {"metric": v} if isinstance(v, str) else v

    @field_validator("gates")
    @classmethod
    def _gates(cls, v: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        for stage, rules in v.items():
            for metric, expr in rules.items():
                if not _GATE.fullmatch(str(expr)):
                    raise ValueError(f"gate {stage}.{metric} = {expr!r}: write it like '>= 0.9'")
        return {s: {m: str(e) for m, e in r.items()} for s, r in v.items()}

    @field_validator("soak")
    @classmethod
    def _soak(cls, v: dict[str, str]) -> dict[str, str]:
        for d in v.values():
            parse_duration(d)
        return {k: str(d) for k, d in v.items()}

    def model_post_init(self, _: Any) -> None:
        if Stage.NONE not in self.stages:
            raise ValueError("stages must include None, where every version starts")
        for section in (self.gates, self.approvals, self.soak, self.required_tags):
            for s in section:
                self.stage(s)
        for a, b in self.replace.items():
            self.stage(a)
            self.stage(b)

    def stage(self, name: str) -> str:
        """The canonical spelling of a stage name (matched without case)."""
        found = canonical_stage(self.stages, name)
        if found is not None:
            return found
        raise Invalid(f"unknown stage {name!r}", hint="stages are " + ", ".join(self.stages))

    def _for(self, section: Mapping[str, Any], stage: str) -> Any:
        for k, v in section.items():
            if k.lower() == stage.lower():
                return v
        return None

    def approval_rule(self, stage: str) -> ApprovalRule | None:
        rule: ApprovalRule | None = self._for(self.approvals, stage)
        return rule

    def replaced_into(self, stage: str) -> str | None:
        target = self._for(self.replace, stage)
        return self.stage(target) if target else None

    def production(self) -> str | None:
        """The stage that serves (named Production, in any case), if the stage set has one."""
        return next((s for s in self.stages if s.lower() == "production"), None)

    def previous_stage(self, stage: str) -> str | None:
        i = self.stages.index(self.stage(stage))
        return self.stages[i - 1] if i > 1 else None


STRICT = Policy()
PERMISSIVE = Policy(require=Requirements(commit=False, dataset=False, metrics=False, files=False))
PRESETS = {"strict": STRICT, "default": STRICT, "permissive": PERMISSIVE}


def parse_policy(data: Mapping[str, Any] | None) -> Policy:
    if not data:
        return STRICT
    try:
        return validated(Policy, dict(data), "policy")
    except ValueError as exc:
        raise Invalid(f"invalid policy: {exc}") from None


def missing_for_registration(
    policy: Policy,
    commit: str | None,
    datasets: Sequence[DatasetRef],
    metrics: Mapping[str, float],
    tags: Mapping[str, str],
) -> list[str]:
    """Every requirement the registration misses, each as a phrase naming the field."""
    req = policy.require
    missing = []
    if req.commit and not commit:
        missing.append(
            "commit (the training commit: pass --commit SHA or register from a git checkout)"
        )
    if req.dataset and not any(d.digest for d in datasets):
        missing.append(
            "dataset (at least one dataset reference with a digest: --dataset NAME=PATH)"
        )
    if req.metrics and not metrics:
        missing.append("metric (at least one evaluation metric: --metric KEY=VALUE)")
    missing.extend(
        f"tag {t!r} (required by the policy: --tag {t}=...)" for t in req.tags if t not in tags
    )
    return missing


def failed_gates(
    policy: Policy,
    version: ModelVersion,
    to_stage: str,
    current: ModelVersion | None,
    now_ms: int,
) -> list[str]:
    """Every gate the transition of version into to_stage fails, with the values measured."""
    failed = []
    if version.tags.get(MISSING_TAG):
        failed.append(f"complete: the version lacks {version.tags[MISSING_TAG]}")
    for metric, expr in (policy._for(policy.gates, to_stage) or {}).items():
        m = _GATE.fullmatch(expr)
        assert m is not None
        op, bound = m.group(1), float(m.group(2))
        value = version.metrics.get(metric)
        if value is None:
            failed.append(
                f"metric gate {metric} {op} {bound:g}: the version has no metric {metric!r}"
            )
        elif math.isnan(value) or not _CMP[op](value, bound):
            failed.append(
                f"metric gate {metric} {op} {bound:g}: the version has {metric} = {value:g}"
            )
    beat = policy.must_beat_current
    if beat is not None and policy.stage(to_stage) == policy.production() and current:
        mine, theirs = version.metrics.get(beat.metric), current.metrics.get(beat.metric)
        better = operator.gt if beat.direction == "higher" else operator.lt
        if mine is None:
            failed.append(f"must beat current: the version has no metric {beat.metric!r}")
        elif theirs is not None and not better(mine, theirs):
            failed.append(
                f"must beat current: {beat.metric} = {mine:g} does not beat "
                f"version {current.version}'s {theirs:g} ({beat.direction} is better)"
            )
    soak = policy._for(policy.soak, to_stage)
    if soak is not None:
        prev = policy.previous_stage(to_stage)
        need = parse_duration(soak)
        if prev is None or version.stage != prev:
            failed.append(
                f"soak: the version must spend {soak} in {prev} first; it is in {version.stage}"
            )
        elif (now_ms - version.stage_entered_at) / 1000 < need:
            have = (now_ms - version.stage_entered_at) / 1000
            failed.append(f"soak: {have:.0f}s in {prev} so far, {need:.0f}s ({soak}) required")
    for t in policy._for(policy.required_tags, to_stage) or []:
        if t not in version.tags:
            failed.append(f"required tag {t!r} is not set on the version")
    return failed
