"""Authentication (placeholder until the users/tokens tables land in this issue)."""

from __future__ import annotations

from fastapi import FastAPI


def install(app: FastAPI) -> None:
    return None
