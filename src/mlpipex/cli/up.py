"""`mlpipex up`: the control plane and one local agent, for a single machine."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import typer

from mlpipex.cli.agent import RuntimeName
from mlpipex.cli.context import err
from mlpipex.errors import Unavailable


def up(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address both listen on."),
    port: int = typer.Option(5000, "--port", help="Control plane port (API, UI)."),
    agent_port: int = typer.Option(8080, "--agent-port", help="Agent port (endpoints)."),
    policy: str | None = typer.Option(None, "--policy", help="strict, permissive or a file."),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Let the agent serve versions whose loading runs code (pickles, Python code).",
    ),
    runtime: RuntimeName = typer.Option(
        RuntimeName.LOCAL, "--runtime", help="Where the agent serves: local or ray."
    ),
    ray_address: str | None = typer.Option(
        None, "--ray-address", help="Ray cluster for --runtime ray (default: a local one)."
    ),
) -> None:
    """Run `mlpipex server` and `mlpipex agent` together on this machine (the embedded registry
    by default; --uri chooses another). Endpoints answer on the agent port."""
    import httpx

    from mlpipex.cli.agent import agent

    state = ctx.find_root().obj
    cmd = [sys.executable, "-m", "mlpipex.cli"]
    if state.options.get("uri"):
        cmd += ["--uri", str(state.options["uri"])]
    if state.options.get("objects"):
        cmd += ["--objects", str(state.options["objects"])]
    cmd += ["server", "--host", host, "--port", str(port)]
    if policy:
        cmd += ["--policy", policy]
    server = subprocess.Popen(cmd, env=os.environ.copy())
    url = f"http://{host}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                raise Unavailable(f"the control plane exited with code {server.returncode}")
            try:
                if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise Unavailable(f"the control plane did not answer on {url} within 60 s")
            time.sleep(0.1)
        err.print(f"control plane on {url} (UI: {url}/, API: {url}/docs)")
        agent(
            control_plane=url,
            token=state.settings.token,
            workspace=None,  # the server `up` starts has the one workspace, default
            name="local",
            host=host,
            port=agent_port,
            poll_interval="1s",
            report_interval="1s",
            allow_pickle=allow_pickle,
            cache_dir=None,
            runtime=runtime,
            ray_address=ray_address,
        )
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
