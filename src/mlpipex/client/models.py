"""Models in runs and in the registry: ``log_model`` writes a package (``flavors.save_model``)
as run artifacts and can register it; ``load_model`` materializes a version's or a run's files
from the object store into a local cache, verified, and loads them with ``flavors.load_model``."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlpipex.domain.manifest import FileEntry, Manifest, require_deployable
from mlpipex.domain.models import ModelVersion
from mlpipex.errors import Corrupt, Invalid, MLPipeXError, NotFound
from mlpipex.objects.manifest import hash_tree
from mlpipex.service.registry import register
from mlpipex.service.tracking import checks

if TYPE_CHECKING:
    from mlpipex.client.backend import Backend, Fetcher
    from mlpipex.flavors.base import PackageInfo


@dataclass(frozen=True)
class ModelInfo:
    """What ``log_model`` wrote: the package's run artifacts and, when asked, the new version."""

    run_id: str
    artifact_path: str
    flavor: str
    signature: Any
    pickle: bool
    files: tuple[FileEntry, ...]
    registered_model_version: ModelVersion | None = None

    @property
    def model_uri(self) -> str:
        return f"runs:/{self.run_id}/{self.artifact_path}"


def parse_runs_uri(uri: str) -> tuple[str, str]:
    """(run id, artifact path) of ``runs:/RUN_ID/path``."""
    body = uri.removeprefix("runs:/").strip("/")
    run_id, _, path = body.partition("/")
    if not run_id:
        raise Invalid(f"{uri!r} names no run", hint="write runs:/RUN_ID/ARTIFACT_PATH")
    return run_id, path


def package_tags(info: PackageInfo | None, tags: Mapping[str, str] | None) -> dict[str, str]:
    """The user's tags, then what the package says of itself (``flavors.version_tags``)."""
    if info is None:  # a plain file: the flavors (numpy, pandas: 0.5 s to import) are not needed
        return dict(tags or {})
    from mlpipex.flavors.registry import version_tags

    return {**(tags or {}), **version_tags(info)}


def local_package(path: Path) -> PackageInfo | None:
    """What a package directory being registered says of itself (its flavor, whether loading
    runs code, its framework), or None for anything else."""
    if not path.is_dir() or not any((path / n).is_file() for n in ("MLPIPEX.yaml", "MLmodel")):
        return None  # checked first: the flavors (numpy, pandas) are imported only for a package
    from mlpipex import flavors

    try:
        return flavors.read_package(path)
    except MLPipeXError:
        return None


class ModelMethods:
    """Mixed into ``Client``, which holds the backend and ``cache_dir``."""

    cache_dir: Path
    _backend: Backend

    def log_model(
        self,
        run_id: str,
        model: Any = None,
        artifact_path: str = "model",
        *,
        registered_model_name: str | None = None,
        python_model: str | Path | None = None,
        artifacts: Mapping[str, str | Path] | None = None,
        input_example: Any = None,
        reference_data: Any = None,
        allow_pickle: bool = False,
        pip_requirements: Sequence[str] | None = None,
        flavor: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> ModelInfo:
        """Write model as a package under the run's artifact_path; with registered_model_name,
        register it as the next version, inheriting the run's commit, datasets and metrics.
        A refused registration leaves the run as it was (it is checked before any upload)."""
        from mlpipex import flavors

        prefix = checks.check_artifact_path(artifact_path)
        if not prefix:
            raise Invalid("artifact_path must name a folder of the run, such as 'model'")
        run = self._backend.get_run(run_id)
        with tempfile.TemporaryDirectory(prefix="mlpipex-model-") as tmp:
            pkg = Path(tmp) / "model"
            info = flavors.save_model(
                pkg,
                model,
                python_model=python_model,
                artifacts=artifacts,
                input_example=input_example,
                reference_data=reference_data,
                allow_pickle=allow_pickle,
                pip_requirements=pip_requirements,
                flavor=flavor,
            )
            pending = None
            if registered_model_name is not None:
                pending = register.Registration(
                    name=registered_model_name,
                    path=None,
                    run_id=run_id,
                    flavor=info.flavor,
                    tags=package_tags(info, tags),
                    # as the run has them: a server keeps the dirty flag as a tag of the run
                    commit=run.commit,
                    commit_dirty=run.commit_dirty,
                )
                self._backend.check_registration(pending)
            files = self._backend.log_artifacts(run_id, pkg, prefix)
        version = None
        if pending is not None:
            version = self._backend.register_version(
                replace(pending, files=_relative(files, prefix)), None
            )
        return ModelInfo(
            run_id, prefix, info.flavor, info.signature, info.pickle, tuple(files), version
        )

    def _register_run_artifacts(self, uri: str, name: str, **fields: Any) -> ModelVersion:
        """Register the files under runs:/RUN_ID/PATH (already stored) as a version."""
        run_id, path = parse_runs_uri(uri)
        files = self._run_files(run_id, path, hint="log the model with log_model first")
        info = self._package_facts(files)
        tags = package_tags(info, fields.pop("tags", None))
        return self._backend.register_version(
            register.Registration(
                name=name,
                path=None,
                files=files,
                run_id=run_id,
                flavor=fields.pop("flavor", None) or (info.flavor if info else None),
                tags=tags,
                **fields,
            ),
            None,
        )

    def _run_files(self, run_id: str, path: str, hint: str | None = None) -> list[FileEntry]:
        files = _relative(self._backend.list_artifacts(run_id, path), path)
        if not files:
            raise NotFound(f"run {run_id} has no artifacts under {path or '/'!r}", hint=hint)
        return files

    def _package_facts(self, files: Sequence[FileEntry]) -> PackageInfo | None:
        """What the package among files says about itself, if they form a package."""
        from mlpipex import flavors

        try:
            return flavors.read_package(self.materialize(files))
        except MLPipeXError:
            return None

    def load_model(self, model_uri: str | os.PathLike[str], *, allow_pickle: bool = False) -> Any:
        """``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/NAME/STAGE``,
        ``runs:/RUN_ID/PATH`` or a local package (or MLflow model) directory: every file is
        checked against its digest before anything is loaded. Returns an object with
        ``.predict(data)``."""
        from mlpipex import flavors

        uri = os.fspath(model_uri)
        if uri.startswith("models:/"):
            v = self._backend.get_version(uri)
            require_deployable(v.ref, v.artifact_digest)
            return flavors.load_model(self.materialize(v.files), allow_pickle=allow_pickle)
        if uri.startswith("runs:/"):
            files = self._run_files(*parse_runs_uri(uri))
            return flavors.load_model(self.materialize(files), allow_pickle=allow_pickle)
        if "://" in uri:
            raise Invalid(
                f"cannot load {uri!r}",
                hint="use models:/NAME/VERSION, models:/NAME@ALIAS, runs:/RUN_ID/PATH "
                "or a local directory",
            )
        return flavors.load_model(Path(uri), allow_pickle=allow_pickle)

    def materialize(self, files: Sequence[FileEntry]) -> Path:
        """A local directory holding exactly files, copied from the object store (or the
        server) and verified; kept in the cache by manifest digest and re-verified each use."""
        return materialize(self._backend.fetcher(), files, self.cache_dir / "models")

    def packages_uri(self) -> str:
        """Where ``publish_package`` copies packages by default: ``packages/`` beside the
        objects of the registry's object store."""
        from mlpipex.client.local import LocalBackend

        if not isinstance(self._backend, LocalBackend):
            raise Invalid(
                "publishing a package needs the registry's object store: run this against the "
                "registry's URI, or pass --storage-uri"
            )
        return self._backend.open(create=False).objects.url.rstrip("/") + "/packages"

    def publish_package(self, version: ModelVersion, prefix: str) -> str:
        """Copy version's package (verified) to PREFIX/MODEL/VERSION, a folder or an fsspec URL,
        for a serving system that fetches a model directory (KServe's storageUri); returns
        that URI. Copied under a temporary name and renamed, so a reader never sees half of
        it; a copy already there is kept."""
        import fsspec

        src = self.materialize(version.files)
        uri = f"{prefix.rstrip('/')}/{version.model}/{version.version}"
        fs, dest = fsspec.core.url_to_fs(uri)
        if fs.exists(dest):
            return uri
        tmp = f"{dest}.{uuid.uuid4().hex}.tmp"
        fs.makedirs(tmp, exist_ok=True)
        try:
            for f in src.rglob("*"):
                if f.is_file():
                    target = f"{tmp}/{f.relative_to(src).as_posix()}"
                    fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
                    fs.put_file(str(f), target)
            fs.mv(tmp, dest, recursive=True)
        finally:
            if fs.exists(tmp):
                fs.rm(tmp, recursive=True)
        return uri


def _relative(files: Sequence[FileEntry], prefix: str) -> list[FileEntry]:
    """Run artifact paths made relative to prefix (a single file keeps its name)."""
    if not prefix:
        return list(files)
    out = []
    for f in files:
        rel = f.path[len(prefix) + 1 :] if f.path != prefix else f.path.rsplit("/", 1)[-1]
        out.append(FileEntry(rel, f.digest, f.size))
    return out


def materialize(objects: Fetcher, files: Sequence[FileEntry], root: Path) -> Path:
    manifest = Manifest.of(files)
    dest = root / manifest.digest
    if dest.is_dir():
        try:
            if hash_tree(dest).digest == manifest.digest:
                return dest
        except MLPipeXError:
            pass
        shutil.rmtree(dest, ignore_errors=True)  # changed under us: rebuild from the objects
    tmp = root / f".{manifest.digest}.{uuid.uuid4().hex}.tmp"
    try:
        for f in manifest.files:
            objects.get_file(f.digest, tmp / f.path)
        if hash_tree(tmp).digest != manifest.digest:
            raise Corrupt(f"files materialized for manifest {manifest.digest} do not match it")
        try:
            os.replace(tmp, dest)
        except OSError:
            if not dest.is_dir():  # another process won the race with the same bytes
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest
