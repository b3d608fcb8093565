"""Flavors are plugins: the built-ins are registered, and a package that declares a flavor under
the ``mlpipex.flavors`` entry-point group saves and loads through the same calls."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mlpipex.errors import Invalid
from mlpipex.flavors import ENTRY_POINT_GROUP, load_model, read_package, registry, save_model

_PLUGIN = '''
import json
from pathlib import Path

import numpy as np

from mlpipex.flavors.base import Saved, Stored, Trust


class Doubler:
    """The whole model: a factor, stored as JSON."""

    def __init__(self, factor):
        self.factor = factor
        self.raw = self

    def predict(self, data, params=None):
        return np.asarray(data, dtype=float).sum(axis=1) * self.factor


class DoublerFlavor:
    name = "doubler"
    loader = "mpx_doubler"
    framework = None
    help = "a mpx_doubler.Doubler"

    def accepts(self, model):
        return isinstance(model, Doubler)

    def save(self, dest, model, options):
        (dest / "factor.json").write_text(json.dumps(model.factor))
        return Saved("factor.json", "json", model, requirements=[])

    def load(self, info, file, allow_pickle):
        return Doubler(json.loads(file.read_text()))

    def trust(self, serialization):
        return Trust.NONE

    def from_mlmodel(self, flavors):
        conf = flavors.get("doubler")
        return None if conf is None else Stored(conf["data"], "json")
'''


@pytest.fixture
def plugin(tmp_path: Path) -> Iterator[object]:
    """An installed distribution (a dist-info folder on sys.path) declaring one flavor."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "mpx_doubler.py").write_text(_PLUGIN)
    info = site / "mpx_doubler-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: mpx-doubler\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\ndoubler = mpx_doubler:DoublerFlavor\n"
    )
    sys.path.insert(0, str(site))
    registry.registered.cache_clear()
    try:
        import mpx_doubler  # type: ignore[import-not-found]

        yield mpx_doubler
    finally:
        if str(site) in sys.path:
            sys.path.remove(str(site))
        sys.modules.pop("mpx_doubler", None)
        registry.registered.cache_clear()


def test_builtins_are_registered_in_order():
    assert list(registry.registered())[:6] == [
        "xgboost",
        "lightgbm",
        "catboost",
        "sklearn",
        "onnx",
        "python",
    ]


def test_a_plugin_saves_and_loads_through_the_same_calls(plugin, tmp_path: Path):
    model = plugin.Doubler(2.0)  # type: ignore[attr-defined]
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    info = save_model(tmp_path / "m", model, input_example=X)
    assert (info.flavor, info.loader, info.pickle) == ("doubler", "mpx_doubler", False)
    loaded = load_model(tmp_path / "m")
    assert loaded.predict(X).tolist() == [6.0, 14.0]


def test_a_plugin_reads_its_mlflow_directories(plugin, tmp_path: Path):
    d = tmp_path / "mlflow"
    d.mkdir()
    (d / "MLmodel").write_text("flavors:\n  doubler:\n    data: f.json\n")
    (d / "f.json").write_text(json.dumps(5))
    assert read_package(d).flavor == "doubler"
    assert load_model(d).predict(np.array([[1.0, 1.0]])).tolist() == [10.0]


def test_without_the_plugin_its_packages_are_refused(plugin, tmp_path: Path):
    save_model(tmp_path / "m", plugin.Doubler(1.0))  # type: ignore[attr-defined]
    sys.path.remove(str(tmp_path / "site"))
    registry.registered.cache_clear()
    with pytest.raises(Invalid, match="cannot load flavor 'doubler'; supported flavors: xgboost"):
        load_model(tmp_path / "m")


def test_a_broken_plugin_does_not_stop_the_others(plugin, tmp_path: Path, caplog):
    ep = tmp_path / "site" / "mpx_doubler-1.0.dist-info" / "entry_points.txt"
    ep.write_text(f"[{ENTRY_POINT_GROUP}]\ndoubler = mpx_doubler:Missing\n")
    registry.registered.cache_clear()
    assert "doubler" not in registry.registered()
    assert "sklearn" in registry.registered()
    assert "flavor plugin doubler" in caplog.text
