"""The UI's own static files (stylesheet, htmx), shipped inside the package: no CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from mlpipex.errors import NotFound

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
# Only the files that ship, looked up by name: a path can never leave the folder.
FILES = {p.name: p for p in STATIC.iterdir() if p.suffix in TYPES}


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    path = FILES.get(name)
    if path is None:
        raise NotFound(f"no static file {name!r}")
    return FileResponse(
        path,
        media_type=TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=3600"},
    )
