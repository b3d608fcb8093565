"""``mlpipex agent``: a serving host following a control plane (its endpoints, their versions
and traffic splits), answering requests and reporting what each version did."""

from __future__ import annotations

import logging
import socket
import sys
from enum import StrEnum
from pathlib import Path

import typer

from mlpipex.cli.context import echo
from mlpipex.errors import Invalid


class RuntimeName(StrEnum):
    """Where the agent runs its versions (mlpipex.agent.runtime)."""

    LOCAL = "local"  # in the agent's own process, on its port
    RAY = "ray"  # on Ray Serve: replicas across the cluster, Serve's HTTP proxy on the port


def agent(
    control_plane: str = typer.Option(
        ..., "--control-plane", help="URL of the control plane (mlpipex server)."
    ),
    token: str | None = typer.Option(
        None, "--token", envvar="MLPIPEX_TOKEN", help="API token of the agent (Bearer)."
    ),
    workspace: str | None = typer.Option(
        None,
        "--workspace",
        envvar="MLPIPEX_WORKSPACE",
        help="Workspace whose endpoints to serve (default: the token's, else default).",
    ),
    name: str = typer.Option(
        "", "--name", help="Name the control plane knows this agent by (default: hostname)."
    ),
    host: str = typer.Option("127.0.0.1", "--host", "-h", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", "-p", help="Port to listen on (0: a free one)."),
    poll_interval: str = typer.Option(
        "1s", "--poll-interval", help="How often to pull the desired state."
    ),
    report_interval: str = typer.Option(
        "1s", "--report-interval", help="How often to report counters."
    ),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Serve versions whose loading runs their code too (pickles, Python code models).",
    ),
    cache_dir: Path | None = typer.Option(
        None,
        "--cache-dir",
        help="Model files and the last desired state (default ~/.cache/mlpipex/agent).",
    ),
    runtime: RuntimeName = typer.Option(
        RuntimeName.LOCAL,
        "--runtime",
        help="local: serve in this process. ray: serve on Ray Serve (pip install 'mlpipex[ray]').",
    ),
    ray_address: str | None = typer.Option(
        None,
        "--ray-address",
        help="Ray cluster to attach to with --runtime ray (default: start one on this machine).",
    ),
) -> None:
    """Serve the endpoints the control plane assigns to this host.

    POST /endpoints/NAME/invocations (MLflow) and /v2/models/NAME/infer (KServe); GET /health.
    Every answer names its version in X-MLPipeX-Model-Version. Keeps serving its last state
    when the control plane is unreachable, and restores it from disk when restarted. Stops on
    Ctrl-C or SIGTERM."""
    from mlpipex.agent import Agent, AgentConfig, run_agent
    from mlpipex.domain.durations import parse_duration

    if not control_plane.startswith(("http://", "https://")):
        raise Invalid(f"--control-plane {control_plane!r} is not an http(s):// URL")
    poll, report = parse_duration(poll_interval), parse_duration(report_interval)
    if poll <= 0 or report <= 0:
        raise Invalid("--poll-interval and --report-interval must be positive")
    config = AgentConfig(
        control_plane=control_plane.rstrip("/"),
        name=name or socket.gethostname(),
        cache_dir=(cache_dir or Path.home() / ".cache" / "mlpipex" / "agent").expanduser(),
        url="",
        token=token,
        workspace=workspace or None,
        allow_pickle=allow_pickle,
        poll_interval=poll,
        report_interval=report,
    )
    # Pull and report failures are logged once per outage, on stderr.
    logging.basicConfig(level=logging.WARNING, format="mlpipex agent: %(message)s")

    def ready(a: Agent) -> None:
        echo(f"agent {a.config.name} serving on {a.config.url} (control plane {control_plane})")
        sys.stdout.flush()

    if runtime is RuntimeName.LOCAL:
        if ray_address is not None:
            raise Invalid("--ray-address needs --runtime ray")
        run_agent(config, host, port, on_ready=ready)
        return
    try:
        from mlpipex.agent.ray_runtime import run_ray_agent
    except ImportError as e:
        raise Invalid(f"--runtime ray needs Ray Serve ({e}): pip install 'mlpipex[ray]'") from None
    run_ray_agent(config, host, port, ray_address=ray_address, on_ready=ready)
