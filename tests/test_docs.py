"""The references in docs/ are generated from the code; they must not fall behind it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == _generator().cli_md(), (
        "docs/cli.md is out of date: run .venv/bin/python scripts/gen_docs.py"
    )


def test_http_reference_is_current() -> None:
    assert (ROOT / "docs" / "http.md").read_text() == _generator().http_md(), (
        "docs/http.md is out of date: run .venv/bin/python scripts/gen_docs.py"
    )


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert block[0].startswith("make quickstart") and block[1].startswith("make test")
    makefile = (ROOT / "Makefile").read_text()
    assert "\nquickstart:" in makefile and "\ntest:" in makefile
