"""The local runtime: versions loaded in the agent's own process, served by its ASGI app on
the agent's port (``mlpipex agent``'s default)."""

from __future__ import annotations

from typing import Any

from mlpipex.agent.app import AgentApp
from mlpipex.agent.desired import EndpointSpec, VersionSpec
from mlpipex.agent.loader import VersionLoader
from mlpipex.agent.predlog import PredictionLog
from mlpipex.agent.table import LiveVersion, Table
from mlpipex.agent.threads import off_loop


class LocalRuntime:
    name = "local"
    places_replicas = False

    def __init__(self, loader: VersionLoader, app: AgentApp) -> None:
        self._loader = loader
        self.app = app

    async def load(self, endpoint: EndpointSpec, spec: VersionSpec) -> LiveVersion:
        return LiveVersion.of(await off_loop(self._loader.load, endpoint, spec))

    async def install(self, table: Table) -> None:
        self.app.install(table)

    async def collect(self, predictions: PredictionLog) -> None:
        """Nothing to fetch: the app counts into the versions' metrics and logs into
        predictions in this process."""

    async def publish(self, own: dict[str, Any]) -> None:
        """The app's /health asks the agent itself."""

    async def close(self) -> None:
        """The app closes its versions when the server's lifespan ends."""
