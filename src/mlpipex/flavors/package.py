"""A model package on disk: a directory with ``MLPIPEX.yaml`` (what the model is, how to load it,
and the digest of every other file), read back and verified here."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from mlpipex.domain.manifest import FileEntry
from mlpipex.errors import Corrupt, Invalid, NotFound
from mlpipex.flavors import mlmodel, registry
from mlpipex.flavors.base import PackageInfo, Trust, inside
from mlpipex.flavors.signature import Signature, as_table
from mlpipex.objects.manifest import hash_tree

MANIFEST = "MLPIPEX.yaml"
PROFILE = "reference_profile.json"
EXAMPLE = "input_example.json"
FORMAT_VERSION = 1


def read_package(path: Path) -> PackageInfo:
    """Read ``MLPIPEX.yaml``, or an MLflow ``MLmodel`` file, from a package directory."""
    path = Path(path)
    if not path.is_dir():
        raise NotFound(f"no model package at {path}")
    if (path / mlmodel.MLMODEL).is_file() and not (path / MANIFEST).is_file():
        return mlmodel.read(path)
    if not (path / MANIFEST).is_file():
        raise NotFound(f"{path} is not a model package (no {MANIFEST} or {mlmodel.MLMODEL})")
    try:
        doc = yaml.safe_load((path / MANIFEST).read_text())
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise Corrupt(f"{path / MANIFEST} is not valid YAML: {e}") from e
    if not isinstance(doc, dict) or "flavor" not in doc or "files" not in doc:
        raise Corrupt(f"{path / MANIFEST} is not an MLPipeX package manifest")
    try:
        files = tuple(
            FileEntry(inside(str(f["path"])), str(f["digest"]), int(f["size"]))
            for f in doc["files"]
        )
        sig = doc.get("signature")
        profile = None
        if doc.get("profile"):
            profile = json.loads((path / inside(doc["profile"])).read_text())
        flavor = str(doc["flavor"])
        serialization = doc.get("serialization")
        return PackageInfo(
            path=path,
            flavor=flavor,
            signature=Signature.from_dict(sig) if sig else None,
            pickle=bool(doc.get("pickle", False)) or _runs_code(flavor, serialization),
            profile=profile,
            requirements=tuple(doc.get("requirements") or ()),
            loader=str(doc.get("loader", "")),
            model_file=inside(doc["model"]) if doc.get("model") else None,
            serialization=serialization,
            trusted_types=tuple(doc.get("skops_trusted_types") or ()),
            artifacts={str(k): inside(v) for k, v in (doc.get("artifacts") or {}).items()},
            python_version=doc.get("python_version"),
            input_example=inside(doc["input_example"]) if doc.get("input_example") else None,
            files=files,
            framework_version=_framework_version(doc.get("framework")),
            options=dict(doc.get("flavor_options") or {}),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise Corrupt(f"{path / MANIFEST} is malformed: {type(e).__name__}: {e}") from e


def _runs_code(flavor: str, serialization: str | None) -> bool:
    """Whatever the manifest's pickle flag says (packages written before code models needed
    trust say false), the flavor decides whether loading runs code."""
    known = registry.find(flavor)
    return known is not None and known.trust(serialization) is Trust.CODE


def _framework_version(doc: Any) -> str | None:
    if isinstance(doc, Mapping) and doc.get("version") is not None:
        return str(doc["version"])
    return None


def write_manifest(path: Path, doc: Mapping[str, Any]) -> None:
    (path / MANIFEST).write_text(yaml.safe_dump(dict(doc), sort_keys=False))


def write_input_example(path: Path, data: Any) -> None:
    """Store example input as JSON: {"columns", "data"} for a table, {"data"} for an array."""
    table = as_table(data)
    if isinstance(table, pd.DataFrame):
        text = table.to_json(orient="split", index=False, date_format="iso")
    else:
        text = json.dumps({"data": table.tolist()})
    (path / EXAMPLE).write_text(text)


def read_input_example(info: PackageInfo) -> pd.DataFrame | np.ndarray | None:
    """The stored example input, as a DataFrame or an array (what a server smoke test sends)."""
    if info.input_example is None:
        return None
    doc = json.loads((info.path / info.input_example).read_text())
    if "columns" in doc:
        return pd.DataFrame(doc["data"], columns=doc["columns"])
    return np.asarray(doc["data"])


def verify_package(path: Path) -> None:
    """Re-hash every file and compare with the manifest; raise Corrupt naming the first file
    that is missing, changed, or not listed. MLflow directories record no digests: nothing to
    check there (a registry verifies them by its own artifact manifest)."""
    verify_info(read_package(path))


def verify_info(info: PackageInfo) -> None:
    if info.source != "mlpipex":
        return
    actual = {e.path: e for e in hash_tree(info.path).files}
    actual.pop(MANIFEST, None)
    for recorded in info.files:
        found = actual.pop(recorded.path, None)
        if found is None:
            raise Corrupt(f"package file {recorded.path} is missing from {info.path}")
        if (found.digest, found.size) != (recorded.digest, recorded.size):
            raise Corrupt(
                f"package file {recorded.path} was modified: its digest differs from the manifest",
                hint=f"expected {recorded.digest}, found {found.digest}",
            )
    if actual:
        # An unlisted file could be picked up by model code reading an artifact directory.
        raise Corrupt(f"package file {min(actual)} is not listed in the manifest")


def check_loader(info: PackageInfo) -> None:
    """The manifest's loader is informative: we dispatch by flavor and never import a module a
    file names, but a mismatch means the manifest was not written by us."""
    known = registry.find(info.flavor)
    if info.source != "mlpipex" or not info.loader or known is None:
        return
    if known.loader != info.loader:
        raise Invalid(f"package loader {info.loader!r} does not match flavor {info.flavor!r}")
