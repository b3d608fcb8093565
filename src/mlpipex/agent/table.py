"""The routing table the agent serves from: per endpoint, its loaded versions, the split traffic
follows and the shadow. Built whole for each desired state and swapped in one assignment, so a
request sees either the old table or the new one, never a mix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from mlpipex.agent.desired import DesiredState, EndpointSpec, VersionSpec
from mlpipex.service.deploy.router import Split, effective_weights
from mlpipex.serving import ModelServer, ServedModel, VersionMetrics
from mlpipex.serving.app import Receive, Scope, Send

# (endpoint, version, manifest digest, pickle): a version is loaded again only if one changes.
VersionKey = tuple[str, int, str, bool]


def version_key(endpoint: EndpointSpec, spec: VersionSpec) -> VersionKey:
    return (endpoint.name, spec.version, spec.manifest_digest, spec.pickle)


class VersionServer(Protocol):
    """What answers a version's requests: an ASGI app that can be closed."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None: ...

    def close(self) -> None: ...


@dataclass(eq=False)
class LiveVersion:
    """A version ready to serve. ``server`` gets the requests unchanged, so the protocols,
    errors and version header are the model server's (in process, or behind a runtime's
    handle); ``metrics`` counts what it answered."""

    version: int
    server: VersionServer
    metrics: VersionMetrics
    inflight: int = 0  # requests (and shadow copies) it is answering: it closes only at 0
    closed: bool = False

    @classmethod
    def of(cls, served: ServedModel) -> LiveVersion:
        """A version loaded in this process: a one-version ModelServer."""
        return cls(int(served.version), ModelServer([served]), served.metrics)


@dataclass(frozen=True, eq=False)
class LiveEndpoint:
    spec: EndpointSpec
    versions: dict[int, LiveVersion]  # loaded: routed, at weight 0, and the shadow
    split: Split[LiveVersion]
    sticky: bytes | None  # the header's name as ASGI gives it (lower case)
    shadow: LiveVersion | None
    shadow_percent: float
    errors: tuple[str, ...]

    @property
    def primary(self) -> LiveVersion | None:
        """The version answering metadata requests: the one with the largest share."""
        if not self.split:
            return None
        shares = self.split.shares()
        return max(self.split.targets, key=lambda v: (shares[v], v.version))


@dataclass(frozen=True)
class Table:
    generation: int | None  # None: nothing pulled or restored yet
    endpoints: dict[str, LiveEndpoint]

    def live_versions(self) -> set[LiveVersion]:
        return {v for e in self.endpoints.values() for v in e.versions.values()}


EMPTY = Table(None, {})


def build_table(
    state: DesiredState,
    loaded: Mapping[VersionKey, LiveVersion],
    errors: Mapping[str, list[str]],
) -> Table:
    """The table for state from the versions that loaded; a version that did not gets no
    traffic (``effective_weights`` moves its weight to the others)."""
    endpoints = {}
    for spec in state.endpoints:
        live = {
            v.version: loaded[k]
            for v in spec.all_versions()
            if (k := version_key(spec, v)) in loaded
        }
        weights = {v.version: v.weight for v in sorted(spec.versions, key=_number)}
        split = Split.of({live[n]: w for n, w in effective_weights(weights, live).items()})
        shadow = None
        if spec.shadow is not None:
            shadow = live.get(spec.shadow.spec.version)
        endpoints[spec.name] = LiveEndpoint(
            spec=spec,
            versions=live,
            split=split,
            sticky=spec.sticky_header.lower().encode("latin-1") if spec.sticky_header else None,
            shadow=shadow,
            shadow_percent=spec.shadow.percent if spec.shadow is not None else 0.0,
            errors=tuple(errors.get(spec.name, ())),
        )
    return Table(state.generation, endpoints)


def _number(v: VersionSpec) -> int:
    # Ascending version order: a canary (the higher number) takes the top of [0, 1), so raising
    # its weight only moves sticky keys onto it, never off it.
    return v.version
