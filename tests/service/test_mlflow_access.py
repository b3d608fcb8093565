"""Who may register through the MLflow API: a caller without the editor role is refused before
anything of the run it names is read, so the refusal tells nothing of whether the run exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlpipex.client import Client
from mlpipex.errors import Forbidden
from mlpipex.service.context import Actor
from mlpipex.service.mlflow import registry as mlflow_registry

UNKNOWN_RUN = "0123456789abcdef0123456789abcdef"


def test_a_viewer_is_refused_before_the_run_it_names_is_read(tmp_path: Path) -> None:
    uri, objects = str(tmp_path / "r"), str(tmp_path / "o")
    Client(uri, objects=objects).create_model("m")
    viewer = Client(uri, objects=objects, actor=Actor("vic", frozenset({"viewer"})))
    # a run that does not exist, a source naming none, a logged model that does not exist
    for source, run_id, model_id in (
        (f"runs:/{UNKNOWN_RUN}/model", UNKNOWN_RUN, None),
        (f"runs:/{UNKNOWN_RUN}/model", None, None),
        ("", None, "m-0123456789abcdef0123456789abcdef"),
    ):
        with pytest.raises(Forbidden, match="lacks the editor role"):
            mlflow_registry.create_version(viewer.registry, "m", source, run_id, {}, "", model_id)
