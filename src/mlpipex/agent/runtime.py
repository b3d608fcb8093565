"""Where an agent's versions run: the extension point between the agent's loops (pull the
desired state, route by its weights, report counters) and the engine that serves requests.
The agent decides what to load and builds the routing table; a runtime loads one version,
serves a table, and brings the counters of what it served back into the agent's process."""

from __future__ import annotations

from typing import Any, Protocol

from mlpipex.agent.desired import EndpointSpec, VersionSpec
from mlpipex.agent.predlog import PredictionLog
from mlpipex.agent.table import LiveVersion, Table


class Runtime(Protocol):
    name: str  # as ``mlpipex agent --runtime`` spells it
    # Whether it gives each version the endpoint's resources (replicas, CPUs): the local
    # runtime serves one copy in its own process and says so in the agent's status.
    places_replicas: bool

    async def load(self, endpoint: EndpointSpec, spec: VersionSpec) -> LiveVersion:
        """The version, ready to take traffic; raises what made it fail (Unavailable: the
        control plane could not be reached, so it is tried again at the next poll)."""
        ...

    async def install(self, table: Table) -> None:
        """Serve table from the next request on, then let the versions it dropped go once
        their last requests are answered."""
        ...

    async def collect(self, predictions: PredictionLog) -> None:
        """Bring what was served since the last call into this process: each live version's
        ``metrics``, and the sampled requests into predictions."""
        ...

    async def publish(self, own: dict[str, Any]) -> None:
        """The agent's own part of its status (pulls, reports), after each report: for a
        runtime whose ``GET /health`` another process answers."""
        ...

    async def close(self) -> None:
        """Stop serving (the agent is stopping)."""
        ...
