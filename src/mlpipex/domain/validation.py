"""Pydantic models of what callers send, refused as bad input naming each field at fault."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from mlpipex.errors import Invalid

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or what}: {e['msg']}" for e in exc.errors()
        )
        raise Invalid(f"invalid {what}: {problems}") from None
