"""The artifact proxy's paths (``mlflow-artifacts:/...``) mapped onto content-addressed records:

    <experiment>/<run id>/artifacts/<path>          a run's artifacts (service/tracking)
    <experiment>/models/<model id>/artifacts/<path> a logged model's files
    registry/<model>/<version>/<path>               a registered version's files, read only
    anything else                                   free files

Uploads stream into the object store and become records; nothing is copied afterwards."""

from __future__ import annotations

import io
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlparse

from sqlalchemy.engine import Connection

from mlpipex.domain.manifest import FileEntry
from mlpipex.domain.workspaces import DEFAULT_WORKSPACE
from mlpipex.errors import Invalid, NotFound
from mlpipex.objects.store import Readable, VerifyingReader
from mlpipex.service.context import Registry
from mlpipex.service.registry import versions
from mlpipex.service.tracking import checks, logged_models
from mlpipex.service.tracking import runs as tracking
from mlpipex.store.mlflow import records
from mlpipex.store.tracking import logged_models as models_store
from mlpipex.store.tracking import runs as runs_store

_RUN = re.compile(r"^(\d+)/([0-9a-f]{32})/artifacts(?:/(.*))?$")
_MODEL = re.compile(r"^(\d+)/models/(m-[0-9a-f]{32})/artifacts(?:/(.*))?$")
_VERSION = re.compile(r"^registry/([^/]+)/(\d+)(?:/(.*))?$")
_PROXY = "/mlflow-artifacts/artifacts"


def run_dir(experiment_id: str, run_id: str) -> str:
    return f"{experiment_id}/{run_id}/artifacts"


def model_dir(experiment_id: str, model_id: str) -> str:
    return f"{experiment_id}/models/{model_id}/artifacts"


def version_dir(name: str, version: int) -> str:
    return f"registry/{name}/{version}"


@dataclass(frozen=True, slots=True)
class Place:
    kind: str  # run | model | version | free
    key: str  # run id, logged model id, NAME/VERSION, or "" (free)
    path: str  # inside the place


def locate(path: str) -> Place:
    """Where a proxy path lives; paths that are absolute or climb out with '..' are refused."""
    p = checks.check_artifact_path(path)
    if m := _RUN.fullmatch(p):
        return Place("run", m.group(2), m.group(3) or "")
    if m := _MODEL.fullmatch(p):
        return Place("model", m.group(2), m.group(3) or "")
    if m := _VERSION.fullmatch(p):
        return Place("version", f"{m.group(1)}/{m.group(2)}", m.group(3) or "")
    return Place("free", "", p)


def locate_uri(uri: str) -> Place:
    """The place a model version source names: ``runs:/ID/path``, ``models:/m-...``,
    ``mlflow-artifacts:/...`` or this server's ``http(s)://.../mlflow-artifacts/artifacts/...``."""
    parsed = urlparse(uri)
    if parsed.scheme == "runs":
        run_id, _, rest = (parsed.netloc + parsed.path).strip("/").partition("/")
        return Place("run", run_id, checks.check_artifact_path(rest))
    if parsed.scheme == "models":
        key = (parsed.netloc + parsed.path).strip("/")
        if key.startswith("m-") and "/" not in key:
            return Place("model", key, "")
        name, _, number = key.partition("/")
        if name and number.isdigit():  # models:/NAME/VERSION, as copy_model_version names it
            return Place("version", key, "")
    if parsed.scheme == "mlflow-artifacts":
        return locate(unquote(parsed.path))
    if parsed.scheme in ("http", "https") and _PROXY in parsed.path:
        return locate(unquote(parsed.path.split(_PROXY, 1)[1]))
    raise Invalid(
        f"source {uri!r} is not an artifact this server holds",
        hint="register runs:/RUN_ID/PATH, models:/m-... or mlflow-artifacts:/... sources",
    )


def files(reg: Registry, place: Place) -> list[FileEntry]:
    """The files at place.path or under it, with their paths inside the place."""
    reg.require("viewer")
    if place.kind == "run":
        return tracking.list_artifacts(reg, place.key, place.path)
    if place.kind == "version":
        name, _, number = place.key.rpartition("/")
        found = versions.get_version(reg, f"{name}/{number}").files
        return [f for f in found if _under(f.path, place.path)]
    with reg.store.read() as conn:
        if place.kind == "model" and models_store.row(conn, reg.workspace, place.key) is None:
            raise NotFound(f"logged model {place.key!r} does not exist")
        rows = records.files_of(conn, _scope(reg, place), place.path)
    return [FileEntry(p, d, s) for p, d, s in rows]


def _held(conn: Connection, ws: str, place: Place) -> bool:
    """Whether the run or logged model place names is in the workspace (free places are)."""
    if place.kind == "run":
        return runs_store.run_row(conn, ws, place.key) is not None
    if place.kind == "model":
        return models_store.row(conn, ws, place.key) is not None
    return True


def _scope(reg: Registry, place: Place) -> str:
    """Whose files a model or free place holds: the logged model's, or the workspace's own free
    paths (``default`` keeps the scope it always had; "@" never starts a model id)."""
    if place.kind == "free" and reg.workspace != DEFAULT_WORKSPACE:
        return f"@{reg.workspace}"
    return place.key


def _under(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith(prefix + "/")


def relative(entries: Iterable[FileEntry], prefix: str) -> list[FileEntry]:
    """entries under prefix with paths relative to it (a file named by prefix keeps its name)."""
    out = []
    for e in entries:
        if e.path == prefix:
            out.append(FileEntry(posixpath.basename(e.path), e.digest, e.size))
        else:
            out.append(FileEntry(e.path[len(prefix) + 1 :] if prefix else e.path, e.digest, e.size))
    return out


@dataclass(frozen=True, slots=True)
class Listed:
    name: str
    is_dir: bool
    size: int | None


def listing(reg: Registry, path: str) -> list[Listed]:
    """The entries directly in the directory path (or the file path itself), by name."""
    place = locate(path)
    found = files(reg, place)
    exact = [f for f in found if f.path == place.path and place.path]
    if exact:
        return [Listed(posixpath.basename(exact[0].path), False, exact[0].size)]
    out: dict[str, Listed] = {}
    for f in relative(found, place.path):
        head, sep, _ = f.path.partition("/")
        out[head] = Listed(head, True, None) if sep else Listed(head, False, f.size)
    return [out[k] for k in sorted(out)]


def file_of(reg: Registry, path: str) -> FileEntry:
    place = locate(path)
    if not place.path and place.kind != "free":
        raise NotFound(f"{path!r} is a directory")
    for f in files(reg, place):
        if f.path == place.path:
            return f
    raise NotFound(f"artifact {path!r} does not exist")


def open_file(reg: Registry, path: str) -> tuple[VerifyingReader, int]:
    f = file_of(reg, path)
    return reg.objects.open(f.digest), f.size


def upload_to_run(reg: Registry, run_id: str, path: str, data: bytes) -> FileEntry:
    """Store the bytes as the run's artifact at path (MLflow UI's upload)."""
    try:
        path = checks.check_artifact_path(path)
    except Invalid as exc:
        raise Invalid(f"Invalid path: {exc.message}") from None
    if not path:
        raise Invalid("Request must specify path.")
    if not data:
        raise Invalid("Request must specify data.")
    tracking.get_run(reg, run_id)
    reg.require("editor")
    stored = reg.objects.put_stream(io.BytesIO(data))
    entry = FileEntry(path, stored.digest, stored.size)
    tracking.record_artifacts(reg, run_id, [entry])
    return entry


def open_model_file(reg: Registry, model_id: str, path: str) -> tuple[VerifyingReader, int]:
    """A logged model's file by the model's id and its path in the model."""
    lm = logged_models.get(reg, model_id)
    return open_file(reg, f"{model_dir(lm.experiment_id, lm.id)}/{path}")


def open_run_file(reg: Registry, run_id: str, path: str) -> tuple[VerifyingReader, int]:
    """A run's artifact by the run's id and its path in the run."""
    return _open_in(reg, "run", run_id, path)


def open_version_file(
    reg: Registry, name: str, version: int, path: str
) -> tuple[VerifyingReader, int]:
    """A registered version's file by the model's name, the version and its path in it."""
    return _open_in(reg, "version", f"{name}/{version}", path)


def _open_in(reg: Registry, kind: str, key: str, path: str) -> tuple[VerifyingReader, int]:
    path = checks.check_artifact_path(path)
    for f in files(reg, Place(kind, key, path)):
        if f.path == path:
            return reg.objects.open(f.digest), f.size
    raise NotFound(f"{kind} {key} has no file {path!r}")


def upload(reg: Registry, path: str, body: Readable, size: int | None = None) -> FileEntry:
    """Store the bytes (hashed as they stream in; size: how many, when declared) and record
    them at path."""
    place = locate(path)
    if not place.path:
        raise Invalid(f"artifact path {path!r} names a directory, not a file")
    if place.kind == "version":
        raise Invalid("a registered version's files cannot change; register a new version")
    reg.require("editor")
    stored = reg.objects.put_stream(body, size=size)
    entry = FileEntry(place.path, stored.digest, stored.size)
    if place.kind == "run":
        tracking.record_artifacts(reg, place.key, [entry])
        return entry
    with reg.store.write() as conn:
        if place.kind == "model" and models_store.row(conn, reg.workspace, place.key) is None:
            raise NotFound(f"logged model {place.key!r} does not exist")
        records.put_files(conn, _scope(reg, place), [(entry.path, entry.digest, entry.size)])
    return entry


def delete(reg: Registry, path: str) -> None:
    """Forget the records at path or under it (the objects stay until gc finds them unused)."""
    place = locate(path)
    if place.kind == "version":
        raise Invalid("a registered version's files cannot be deleted")
    reg.require("editor")
    with reg.store.write() as conn:
        if not _held(conn, reg.workspace, place):
            n = 0  # another workspace's run or logged model holds nothing here
        elif place.kind == "run":
            n = records.delete_run_files(conn, place.key, place.path)
        else:
            n = records.delete_files(conn, _scope(reg, place), place.path)
    if n == 0:
        raise NotFound(f"artifact {path!r} does not exist")
