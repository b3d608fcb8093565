"""Work a server does besides answering: advancing rollouts and sending due webhook deliveries.
Every replica may; row locks in the database keep one deployment step or delivery to one."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from mlpipex.monitor import alerts, quality, request_index, serving
from mlpipex.server.deps import ServerState
from mlpipex.service.context import Actor
from mlpipex.service.deploy import rollout
from mlpipex.service.events import webhooks

log = logging.getLogger("mlpipex.server")


class Loop:
    """Run ``work`` every ``interval_s`` in a daemon thread until stopped; errors are logged."""

    def __init__(self, name: str, work: Callable[[], object], interval_s: float) -> None:
        self.work, self.interval_s = work, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.work()
            except Exception:  # keep serving; the work is still due at the next pass
                log.exception("%s failed", self._thread.name)


def loops(state: ServerState) -> list[Loop]:
    reg = state.registry(Actor(rollout.CONTROLLER))

    def deliver() -> None:
        while webhooks.deliver_due(reg):
            pass

    drift_share = serving.drift_share(reg)
    live = quality.live_quality(reg)
    return [
        Loop("mlpipex-rollouts", lambda: rollout.advance(reg, drift_share, live), 0.5),
        Loop("mlpipex-webhooks", deliver, 1.0),
        Loop("mlpipex-alerts", lambda: alerts.evaluate(reg), 10.0),
        Loop("mlpipex-prune", lambda: request_index.prune(reg), 3600.0),
    ]
