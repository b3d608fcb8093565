"""The references in docs/ are generated from the code; they must not fall behind it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import script

ROOT = Path(__file__).resolve().parent.parent


def test_cli_reference_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == script("gen_docs").cli_md(), (
        "docs/cli.md is out of date: run .venv/bin/python scripts/gen_docs.py"
    )


def test_http_reference_is_current() -> None:
    assert (ROOT / "docs" / "http.md").read_text() == script("gen_docs").http_md(), (
        "docs/http.md is out of date: run .venv/bin/python scripts/gen_docs.py"
    )


def test_readme_starts_with_the_two_commands() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    block = lines[lines.index("```sh") + 1 : lines.index("```sh") + 3]
    assert block[0].startswith("make quickstart") and block[1].startswith("make test")
    makefile = (ROOT / "Makefile").read_text()
    assert "\nquickstart:" in makefile and "\ntest:" in makefile
