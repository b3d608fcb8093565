"""Names packages export but import on first use (mlpipex.lazy): each resolves, is kept once
read, and stays unloaded until then."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

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


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_name_typed_for_the_checker_is_in_the_table(package: str) -> None:
    """The names a package imports under TYPE_CHECKING are what mypy lets callers use: each must
    be in the table too, or a call mypy passes fails at run time."""
    module = importlib.import_module(package)
    assert module.__file__ is not None
    typed: set[str] = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text())):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for n in ast.walk(node):
                if isinstance(n, ast.ImportFrom):
                    typed |= {a.asname or a.name for a in n.names}
    assert typed, package
    assert typed <= set(vars(module)["_LAZY"])


def test_the_queries_load_when_first_touched() -> None:
    probe = (
        "import sys\nimport mlpipex.store.registry as r\n"
        "print('sqlalchemy' in sys.modules)\nr.model_row\nprint('sqlalchemy' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.split() == ["False", "True"]
