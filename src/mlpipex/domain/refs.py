"""Parsing the ways a user names a version: NAME/VERSION, NAME@ALIAS, NAME:STAGE, models:/ URIs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlpipex.errors import Invalid

# Checked with fullmatch: "$" alone would let a trailing newline through. No trailing space either.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_.\- ]{0,254}[A-Za-z0-9_.\-])?")
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]{0,255}")  # dots: GTO's v1.2.0
_RESERVED_ALIAS = re.compile(r"latest|v\d+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class VersionRef:
    """Exactly one of version, alias, stage is set (``latest`` is the alias ``None``/stage None)."""

    model: str
    version: int | None = None
    alias: str | None = None
    stage: str | None = None
    latest: bool = False


def check_model_name(name: str) -> str:
    if not _NAME.fullmatch(name or "") or "/" in name:
        raise Invalid(
            f"invalid model name {name!r}",
            hint="start with a letter or digit, end without a space; use letters, digits, "
            "space, _ . - (at most 256)",
        )
    return name


def check_label(what: str, name: str, limit: int = 256) -> str:
    """A free-form name (a user, an experiment, a run): 1 to limit characters, no control
    characters, no space at either end, so that what is shown is what is stored."""
    if (
        not name
        or len(name) > limit
        or name != name.strip()
        or any(c < " " or c == "\x7f" for c in name)
    ):
        raise Invalid(
            f"invalid {what} name {name[:60]!r}",
            hint=f"1 to {limit} characters, no control characters, no space at either end",
        )
    return name


def check_alias(alias: str) -> str:
    if not _ALIAS.fullmatch(alias or ""):
        raise Invalid(
            f"invalid alias {alias!r}",
            hint="use letters, digits, _ . and -, starting with a letter",
        )
    if _RESERVED_ALIAS.fullmatch(alias):
        raise Invalid(f"alias {alias!r} is reserved ('latest' and v<digits> are, as in MLflow)")
    return alias


def parse_version_ref(text: str) -> VersionRef:
    """``NAME/3``, ``NAME@champion``, ``NAME:Production``, ``models:/NAME/3`` (/STAGE, /latest)."""
    raw = text.strip()
    if raw.startswith("models:/"):
        body = raw.removeprefix("models:/").strip("/")
        if "@" in body:
            model, alias = body.rsplit("@", 1)
            return VersionRef(check_model_name(model), alias=alias)
        model, sep, tail = body.rpartition("/")
        if not sep:
            raise Invalid(
                f"{text!r} names no version", hint="write models:/NAME/VERSION, /STAGE or @ALIAS"
            )
        return _by_tail(check_model_name(model), tail)
    if "@" in raw:
        model, alias = raw.rsplit("@", 1)
        return VersionRef(check_model_name(model), alias=alias)
    if ":" in raw:
        model, stage = raw.rsplit(":", 1)
        return VersionRef(check_model_name(model), stage=stage)
    model, sep, tail = raw.rpartition("/")
    if not sep:
        raise Invalid(
            f"{text!r} names no version", hint="write NAME/VERSION, NAME@ALIAS or NAME:STAGE"
        )
    return _by_tail(check_model_name(model), tail)


def _by_tail(model: str, tail: str) -> VersionRef:
    if tail.isdigit():
        return VersionRef(model, version=int(tail))
    if tail.lower() == "latest":
        return VersionRef(model, latest=True)
    return VersionRef(model, stage=tail)
