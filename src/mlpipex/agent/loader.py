"""Fetching a version's files from the control plane into the agent's cache, verified, and
loading them as a served version. Blocking: the agent calls it off the event loop."""

from __future__ import annotations

import os
from pathlib import Path

from mlpipex.agent.desired import EndpointSpec, VersionSpec
from mlpipex.client.http import Http
from mlpipex.client.models import materialize
from mlpipex.errors import Invalid
from mlpipex.flavors import load_model
from mlpipex.serving import ServedModel


def refuse_code(spec: VersionSpec, allow_pickle: bool) -> None:
    """Raise Invalid when loading spec would run its code and the agent does not allow it:
    the host's operator decides, not the control plane."""
    if spec.pickle and not allow_pickle:
        raise Invalid(
            f"version {spec.version} runs its own code on load (a pickle or Python code); "
            "start the agent with --allow-pickle to serve it"
        )


class _Download:
    """materialize's fetcher over ``GET /api/v1/objects/{digest}`` (each object verified)."""

    def __init__(self, http: Http) -> None:
        self._http = http

    def get_file(self, digest: str, dest: str | os.PathLike[str]) -> None:
        self._http.download(digest, Path(dest))


class VersionLoader:
    """Packages are cached under ``cache_dir/models`` by manifest digest, so an agent restarted
    without its control plane finds them there (re-verified before each load)."""

    def __init__(self, http: Http, cache_dir: Path, *, allow_pickle: bool = False) -> None:
        self._fetcher = _Download(http)
        self._root = cache_dir / "models"
        self.allow_pickle = allow_pickle

    def load(self, endpoint: EndpointSpec, spec: VersionSpec) -> ServedModel:
        """The version, ready to serve; raises Corrupt, Unavailable or whatever loading raised."""
        refuse_code(spec, self.allow_pickle)
        package = materialize(self._fetcher, spec.files, self._root)
        # The package decides too: a code model registered before it was tagged is refused.
        model = load_model(package, allow_pickle=self.allow_pickle, verify=True)
        return ServedModel(
            model,
            name=endpoint.name,
            version=str(spec.version),
            label=f"{endpoint.model}/{spec.version}",
            allow_pickle=self.allow_pickle,
        )
