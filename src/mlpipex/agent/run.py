"""Running an agent: bind its port, serve its app under uvicorn in this process (one process:
the routing table and the counters live in it), stop cleanly on SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import socket
from collections.abc import Callable
from dataclasses import replace
from types import FrameType

import uvicorn

from mlpipex.agent.control import Agent, AgentConfig
from mlpipex.serving import bind
from mlpipex.serving.run import uvicorn_config

# Requests in flight get this long to finish once the agent is told to stop.
GRACEFUL_SHUTDOWN_S = 5


def advertised_url(host: str, port: int) -> str:
    """The URL others reach this agent at: a wildcard address means this host's name."""
    if host in ("0.0.0.0", "::", ""):
        host = socket.gethostname()
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def run_agent(
    config: AgentConfig,
    host: str,
    port: int,
    *,
    on_ready: Callable[[Agent], None] | None = None,
    log_level: str = "warning",
) -> None:
    """Serve until SIGTERM or SIGINT. ``config.url`` is filled in from the bound port when
    empty (port 0 picks a free one)."""
    sock = bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    if not config.url:
        config = replace(config, url=advertised_url(bound_host, bound_port))
    agent = Agent(config)
    server = uvicorn.Server(uvicorn_config(agent.app, log_level, GRACEFUL_SHUTDOWN_S))
    if on_ready is not None:
        on_ready(agent)
    # uvicorn raises the signal it stopped on again once it has shut down: with these handlers
    # that is a no-op, so a requested stop ends the process with status 0.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    server.run(sockets=[sock])


def _stopped(signum: int, frame: FrameType | None) -> None:
    """Nothing left to do: the server has already stopped."""
