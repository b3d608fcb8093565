"""Names a package exports but imports on first use, so that importing the package stays cheap
(the CLI's fast commands import packages whose heavy parts they never touch)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def exports(package: str, table: Mapping[str, str]) -> Callable[[str], object]:
    """The package's ``__getattr__``: a name of table imported from the module table names
    (a submodule of the package named by it is the module itself), then kept in the package,
    so later reads are plain attributes."""
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> object:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(where)
        value = module if where == f"{package}.{name}" else getattr(module, name)
        namespace[name] = value
        return value

    return __getattr__
