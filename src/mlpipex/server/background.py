"""Work a server does besides answering: sending due webhook deliveries (every replica may; the
claim in the database keeps one delivery to one sender)."""

from __future__ import annotations

import logging
import threading

from mlpipex.server.deps import ServerState
from mlpipex.service import webhooks
from mlpipex.service.context import Actor

log = logging.getLogger("mlpipex.server")


class Dispatcher:
    def __init__(self, state: ServerState, interval_s: float = 1.0) -> None:
        self.state, self.interval_s = state, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mlpipex-webhooks", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=15)

    def _run(self) -> None:
        reg = self.state.registry(Actor("mlpipex-server"))
        while not self._stop.wait(self.interval_s):
            try:
                while webhooks.deliver_due(reg) and not self._stop.is_set():
                    pass
            except Exception:  # keep serving; the delivery stays queued for the next pass
                log.exception("webhook dispatch failed")
