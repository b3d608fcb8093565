"""Saving a model package: pick the flavor, write the model, infer the signature, profile the
reference data, then record every file's digest. Everything is written into a hidden sibling
folder and renamed into place at the end, so a failure leaves nothing behind."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import uuid
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np

from mlpipex.domain.profile import profile
from mlpipex.errors import AlreadyExists, Invalid
from mlpipex.flavors import registry
from mlpipex.flavors.base import Flavor, PackageInfo, Saved, SaveOptions, Trust
from mlpipex.flavors.framework import version_of
from mlpipex.flavors.package import (
    EXAMPLE,
    FORMAT_VERSION,
    PROFILE,
    read_package,
    write_input_example,
    write_manifest,
)
from mlpipex.flavors.signature import (
    Signature,
    as_table,
    infer_outputs,
    infer_signature,
    validate_input,
)
from mlpipex.objects.manifest import hash_tree

# Output types come from predicting on a few example rows, never on all the reference data.
_EXAMPLE_ROWS = 5


def save_model(
    path: Path,
    model: object | None = None,
    *,
    python_model: str | Path | None = None,
    artifacts: Mapping[str, str | Path] | None = None,
    input_example: Any = None,
    reference_data: Any = None,
    allow_pickle: bool = False,
    pip_requirements: Sequence[str] | None = None,
    flavor: str | None = None,
) -> PackageInfo:
    """Write a model package directory at path, which must not exist or be empty."""
    path = Path(path)
    if isinstance(model, str | Path) and str(model).endswith(".py") and python_model is None:
        model, python_model = None, model
    chosen = _flavor_of(model, python_model, flavor)
    name = chosen.name
    if artifacts and name != "python":
        raise Invalid("artifacts= goes with python_model=: other flavors hold the whole model")
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise AlreadyExists(f"{path} already exists and is not an empty directory")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex[:12]}.tmp"
    tmp.mkdir()
    try:
        options = SaveOptions(allow_pickle, artifacts)
        saved = chosen.save(tmp, model if python_model is None else python_model, options)
        signature = _signature(saved, input_example, reference_data)
        if reference_data is not None:
            (tmp / PROFILE).write_text(json.dumps(profile(reference_data)))
        if input_example is not None:
            write_input_example(tmp, input_example)
        doc = {
            "mlpipex_package": FORMAT_VERSION,
            "flavor": name,
            "loader": chosen.loader,
            "model": saved.model_file,
            "serialization": saved.serialization,
            # True whenever loading runs the package's code (a pickle, a Python file).
            "pickle": saved.pickle or chosen.trust(saved.serialization) is Trust.CODE,
            "framework": _framework(chosen),
            "flavor_options": saved.options or None,
            "skops_trusted_types": saved.trusted_types,
            "artifacts": saved.artifacts,
            "signature": None if signature is None else signature.to_dict(),
            "python_version": platform.python_version(),
            "requirements": requirements(saved.requirements, pip_requirements or ()),
            "profile": PROFILE if reference_data is not None else None,
            "input_example": EXAMPLE if input_example is not None else None,
            "files": [
                {"path": e.path, "digest": e.digest, "size": e.size} for e in hash_tree(tmp).files
            ],
        }
        write_manifest(tmp, doc)
        try:
            # On POSIX a rename replaces an empty directory, and fails if it gained files.
            os.rename(tmp, path)
        except OSError as e:
            raise AlreadyExists(f"{path} already exists and is not an empty directory") from e
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return read_package(path)


def _flavor_of(model: object | None, python_model: str | Path | None, flavor: str | None) -> Flavor:
    named = None if flavor is None else registry.get(flavor)
    if python_model is not None:
        if model is not None:
            raise Invalid("pass either a model or python_model=, not both")
        found = registry.get("python")
    elif model is None:
        raise Invalid("nothing to save: pass a model, or python_model='model.py'")
    elif named is not None and named.accepts(model):
        # flavor= overrides the choice: a model two flavors accept goes to the named one.
        return named
    else:
        found = registry.for_model(model)
    if named is not None and named.name != found.name:
        raise Invalid(
            f"flavor={flavor!r} does not fit this model, which is saved as {found.name!r}"
        )
    return found


def _framework(flavor: Flavor) -> dict[str, str] | None:
    """The framework and its version, so loading under another major version warns."""
    found = None if flavor.framework is None else version_of(flavor.framework)
    return None if found is None else {"name": str(flavor.framework), "version": found}


def _signature(saved: Saved, input_example: Any, reference_data: Any) -> Signature | None:
    example = input_example if input_example is not None else reference_data
    if example is None:
        return saved.signature
    sig = infer_signature(example)
    table = as_table(example)
    head = table[:_EXAMPLE_ROWS] if isinstance(table, np.ndarray) else table.iloc[:_EXAMPLE_ROWS]
    try:
        output = saved.predictor.predict(validate_input(sig, head))
    except Exception as e:
        raise Invalid(
            f"the model cannot predict on the example data: {type(e).__name__}: {e}",
            hint="input_example (or reference_data) must be what predict accepts",
        ) from e
    return Signature(sig.inputs, infer_outputs(output), sig.format)


def requirements(dists: Sequence[str], extra: Sequence[str]) -> list[str]:
    """Pinned versions of what the flavor needs, then the user's; a user's line for the same
    distribution wins over our pin."""

    def key(req: str) -> str:
        m = re.match(r"[A-Za-z0-9_.-]+", req.strip())
        return (m.group(0) if m else req).lower().replace("_", "-")

    theirs = {key(r) for r in extra}
    ours = [_pin(d) for d in (*dists, "numpy", "pandas") if key(d) not in theirs]
    return list(dict.fromkeys([*ours, *extra]))


def _pin(dist: str) -> str:
    try:
        return f"{dist}=={version(dist)}"
    except PackageNotFoundError:
        return dist
