"""MLflow's scorer routes (/api/3.0/mlflow/scorers/*): register a version, list the latest
versions or one scorer's versions, get, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from mlpipex.domain.bounds import VersionNumber
from mlpipex.domain.evaluation import ScorerVersion
from mlpipex.server.deps import global_role
from mlpipex.server.mlflow.wire import Args, Payload, Reg, StrList, ok, parse
from mlpipex.service.tracking import scorers

router = APIRouter(prefix="/mlflow/scorers", tags=["mlflow scorers"], dependencies=[global_role()])


def scorer_json(v: ScorerVersion) -> dict[str, Any]:
    return {
        "experiment_id": int(v.experiment_id),
        "scorer_name": v.name,
        "scorer_version": v.version,
        "serialized_scorer": v.serialized,
        "creation_time": v.creation_time,
        "scorer_id": v.scorer_id,
    }


class Register(Args):
    experiment_id: str
    name: str
    serialized_scorer: str


@router.post("/register")
def register(reg: Reg, args: Payload) -> Response:
    a = parse(Register, args)
    v = scorers.register(reg, a.experiment_id, a.name, a.serialized_scorer)
    return ok(
        {
            "version": v.version,
            "scorer_id": v.scorer_id,
            "experiment_id": v.experiment_id,
            "name": v.name,
            "serialized_scorer": v.serialized,
            "creation_time": v.creation_time,
        }
    )


class Listing(Args):
    experiment_id: str | None = None
    experiment_ids: StrList = []


@router.get("/list")
def list_scorers(reg: Reg, args: Payload) -> Response:
    """The latest version of each scorer under the experiments."""
    a = parse(Listing, args)
    ids = ([a.experiment_id] if a.experiment_id else []) + a.experiment_ids
    return ok({"scorers": [scorer_json(v) for v in scorers.list_latest(reg, ids)]})


class Named(Args):
    experiment_id: str
    name: str


@router.get("/versions")
def list_versions(reg: Reg, args: Payload) -> Response:
    a = parse(Named, args)
    found = scorers.list_versions(reg, a.experiment_id, a.name)
    return ok({"scorers": [scorer_json(v) for v in found]})


class Versioned(Named):
    version: VersionNumber | None = None


@router.get("/get")
def get(reg: Reg, args: Payload) -> Response:
    """One version, or the latest when none is named."""
    a = parse(Versioned, args)
    return ok({"scorer": scorer_json(scorers.get(reg, a.experiment_id, a.name, a.version))})


@router.delete("/delete")
def delete(reg: Reg, args: Payload) -> Response:
    """One version, or every version when none is named."""
    a = parse(Versioned, args)
    scorers.delete(reg, a.experiment_id, a.name, a.version)
    return ok()
