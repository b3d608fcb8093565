"""The desired state an agent pulls from ``GET /api/v1/agent/desired``: endpoints, the versions
each serves with their weights and files, and an optional shadow version. Parsed strictly, so a
malformed answer is refused whole and the agent keeps serving what it had."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from mlpipex.domain.manifest import FileEntry, Manifest
from mlpipex.errors import Invalid


@dataclass(frozen=True, slots=True)
class VersionSpec:
    version: int
    weight: int  # 0 for the shadow, and for a version set up before a rollout sends it traffic
    files: tuple[FileEntry, ...]
    pickle: bool

    @property
    def manifest_digest(self) -> str:
        """Identity of the files: a version is loaded again only when they change."""
        return Manifest.of(self.files).digest


@dataclass(frozen=True, slots=True)
class ShadowSpec:
    spec: VersionSpec
    percent: float


@dataclass(frozen=True, slots=True)
class Autoscaling:
    min_replicas: int
    max_replicas: int
    target_ongoing_requests: float


@dataclass(frozen=True, slots=True)
class Resources:
    """What a runtime that places replicas gives each version of the endpoint (the local
    runtime serves one copy in its own process and ignores them)."""

    replicas: int | None = None
    autoscaling: Autoscaling | None = None
    num_cpus: float | None = None
    num_gpus: float | None = None
    memory: int | None = None  # bytes

    def __bool__(self) -> bool:
        return self != NO_RESOURCES


NO_RESOURCES = Resources()


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    name: str
    model: str
    sticky_header: str | None
    versions: tuple[VersionSpec, ...]
    shadow: ShadowSpec | None
    log_sample_rate: float = 1.0  # share of requests kept in the prediction log
    resources: Resources = NO_RESOURCES

    def all_versions(self) -> list[VersionSpec]:
        """Every version to keep loaded: the routed ones and the shadow."""
        listed = list(self.versions)
        if self.shadow is not None and all(v.version != self.shadow.spec.version for v in listed):
            listed.append(self.shadow.spec)
        return listed


@dataclass(frozen=True, slots=True)
class DesiredState:
    generation: int
    endpoints: tuple[EndpointSpec, ...]


def parse_desired(doc: Any) -> DesiredState:
    """The desired state in doc (decoded JSON); Invalid names the first thing wrong."""
    d = _obj(doc, "the desired state")
    generation = d.get("generation")
    if not isinstance(generation, int) or isinstance(generation, bool):
        raise Invalid("the desired state has no integer 'generation'")
    endpoints = [_endpoint(e) for e in _list(d.get("endpoints", []), "'endpoints'")]
    names = [e.name for e in endpoints]
    if len(set(names)) != len(names):
        raise Invalid("the desired state lists an endpoint twice")
    return DesiredState(generation, tuple(endpoints))


def _endpoint(doc: Any) -> EndpointSpec:
    e = _obj(doc, "an endpoint")
    name = e.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise Invalid(f"endpoint name {name!r} must be a non-empty string without '/'")
    model = e.get("model")
    if not isinstance(model, str) or not model:
        raise Invalid(f"endpoint {name!r} has no 'model'")
    sticky = e.get("sticky_header")
    if sticky is not None and (not isinstance(sticky, str) or not sticky):
        raise Invalid(f"endpoint {name!r}: 'sticky_header' must be a header name or null")
    versions = tuple(_version(v, name) for v in _list(e.get("versions", []), "'versions'"))
    numbers = [v.version for v in versions]
    if len(set(numbers)) != len(numbers):
        raise Invalid(f"endpoint {name!r} lists a version twice")
    if versions and sum(v.weight for v in versions) != 100:
        raise Invalid(f"the weights of endpoint {name!r} do not sum to 100")
    shadow = None
    if e.get("shadow") is not None:
        s = _obj(e["shadow"], f"the shadow of endpoint {name!r}")
        percent = s.get("percent")
        if not isinstance(percent, int | float) or not 0 <= percent <= 100:
            raise Invalid(f"endpoint {name!r}: shadow 'percent' must be between 0 and 100")
        shadow = ShadowSpec(_version({**s, "weight": 0}, name), float(percent))
    rate = e.get("log_sample_rate", 1.0)
    if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 1:
        raise Invalid(f"endpoint {name!r}: 'log_sample_rate' must be between 0 and 1")
    resources = _resources(e.get("resources"), name)
    return EndpointSpec(name, model, sticky, versions, shadow, float(rate), resources)


def _resources(doc: Any, endpoint: str) -> Resources:
    if doc is None:
        return NO_RESOURCES
    r = _obj(doc, f"the resources of endpoint {endpoint!r}")
    scaling = None
    if r.get("autoscaling") is not None:
        a = _obj(r["autoscaling"], f"the autoscaling of endpoint {endpoint!r}")
        low, high = _count(a, "min_replicas", endpoint), _count(a, "max_replicas", endpoint)
        target = _number(a, "target_ongoing_requests", endpoint)
        if low is None or high is None or target is None or high < max(low, 1):
            raise Invalid(f"endpoint {endpoint!r}: autoscaling needs min_replicas <= max_replicas")
        scaling = Autoscaling(low, high, target)
    memory = _number(r, "memory", endpoint)
    return Resources(
        replicas=_count(r, "replicas", endpoint),
        autoscaling=scaling,
        num_cpus=_number(r, "num_cpus", endpoint),
        num_gpus=_number(r, "num_gpus", endpoint),
        memory=None if memory is None else int(memory),
    )


def _count(doc: Mapping[str, Any], key: str, endpoint: str) -> int | None:
    value = doc.get(key)
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise Invalid(f"endpoint {endpoint!r}: {key!r} must be a whole number")
    return value


def _number(doc: Mapping[str, Any], key: str, endpoint: str) -> float | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise Invalid(f"endpoint {endpoint!r}: {key!r} must be a number >= 0")
    return float(value)


def _version(doc: Any, endpoint: str) -> VersionSpec:
    v = _obj(doc, f"a version of endpoint {endpoint!r}")
    number, weight = v.get("version"), v.get("weight")
    if not isinstance(number, int) or isinstance(number, bool):
        raise Invalid(f"endpoint {endpoint!r}: a version has no integer 'version'")
    if not isinstance(weight, int) or isinstance(weight, bool) or not 0 <= weight <= 100:
        raise Invalid(f"endpoint {endpoint!r}, version {number}: 'weight' must be 0 to 100")
    files = []
    for f in _list(v.get("files"), f"the files of version {number}"):
        f = _obj(f, f"a file of version {number}")
        path, digest, size = f.get("path"), f.get("digest"), f.get("size")
        if not isinstance(path, str) or not isinstance(digest, str) or not isinstance(size, int):
            raise Invalid(f"version {number}: each file needs 'path', 'digest' and 'size'")
        files.append(FileEntry(path, digest, size))
    if not files:
        raise Invalid(f"endpoint {endpoint!r}, version {number} lists no files")
    Manifest.of(files)  # refuses paths that would escape the package folder
    return VersionSpec(number, weight, tuple(files), v.get("pickle") is True)


def _obj(doc: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(doc, dict):
        raise Invalid(f"{what} must be a JSON object")
    return doc


def _list(doc: Any, what: str) -> list[Any]:
    if not isinstance(doc, list):
        raise Invalid(f"{what} must be a list")
    return doc


def desired_doc(state: DesiredState) -> dict[str, Any]:
    """state as the JSON document ``parse_desired`` reads (a runtime hands it to its replicas)."""
    endpoints = [_endpoint_doc(e) for e in state.endpoints]
    return {"generation": state.generation, "endpoints": endpoints}


def _endpoint_doc(e: EndpointSpec) -> dict[str, Any]:
    r = e.resources
    return {
        "name": e.name,
        "model": e.model,
        "sticky_header": e.sticky_header,
        "versions": [_version_doc(v) for v in e.versions],
        "shadow": None
        if e.shadow is None
        else {**_version_doc(e.shadow.spec), "percent": e.shadow.percent},
        "log_sample_rate": e.log_sample_rate,
        "resources": {
            "replicas": r.replicas,
            "autoscaling": None if r.autoscaling is None else asdict(r.autoscaling),
            "num_cpus": r.num_cpus,
            "num_gpus": r.num_gpus,
            "memory": r.memory,
        },
    }


def _version_doc(v: VersionSpec) -> dict[str, Any]:
    files = [{"path": f.path, "digest": f.digest, "size": f.size} for f in v.files]
    return {"version": v.version, "weight": v.weight, "files": files, "pickle": v.pickle}
