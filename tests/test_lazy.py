"""Names packages export but import on first use (mlpipex.lazy): each resolves, is kept once
read, and stays unloaded until then."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY_PACKAGES = ["mlpipex", "mlpipex.store", "mlpipex.store.registry", "mlpipex.objects"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_lazy_name_is_exported_and_resolves(package: str) -> None:
    module = importlib.import_module(package)
    table = vars(module)["_LAZY"]
    assert set(table) <= set(module.__all__)
    for name in table:
        value = getattr(module, name)
        assert vars(module)[name] is value  # kept: the next read is a plain attribute
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nope'"):
        module.nope  # noqa: B018


def test_the_queries_load_when_first_touched() -> None:
    probe = (
        "import sys\nimport mlpipex.store.registry as r\n"
        "print('sqlalchemy' in sys.modules)\nr.model_row\nprint('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["False", "True"]
