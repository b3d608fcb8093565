"""`mlpipex server`: the control plane on uvicorn."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from mlpipex.cli.context import err
from mlpipex.location import resolve


def server(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(5000, "--port", help="Port (MLflow's default is 5000 too)."),
    store: str | None = typer.Option(
        None, "--store", help="Registry database or folder (default: --uri / nearest .mlpipex)."
    ),
    objects: str | None = typer.Option(
        None, "--objects", help="Object store URL (any fsspec URL)."
    ),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="strict (default), permissive (plain MLflow behaviour) or a YAML file.",
    ),
    auth: bool = typer.Option(False, "--auth", help="Require users or tokens, enforce roles."),
    enable_workspaces: bool = typer.Option(
        False,
        "--enable-workspaces",
        help="Serve many workspaces: the X-MLFLOW-WORKSPACE header (mlflow.set_workspace, "
        "--workspace) picks one; without it everything is in `default`.",
    ),
    workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
    log_level: str = typer.Option("warning", "--log-level"),
) -> None:
    """Run the control plane: native API /api/v1, MLflow-compatible /api/2.0/mlflow, UI.

    Stateless: several servers on one PostgreSQL database and object store act as one."""
    import uvicorn

    state = ctx.find_root().obj
    loc = resolve(store or state.settings.uri, objects or state.settings.objects)
    target = loc.url if loc.kind == "database" else str(loc.root)
    env = {
        "MLPIPEX_STORE": target,
        "MLPIPEX_AUTH": "true" if auth else "false",
        "MLPIPEX_ENABLE_WORKSPACES": "true" if enable_workspaces else "false",
    }
    if objects or state.settings.objects:
        env["MLPIPEX_OBJECTS"] = str(objects or state.settings.objects)
    if policy:
        env["MLPIPEX_POLICY"] = str(Path(policy).resolve()) if Path(policy).is_file() else policy
    os.environ.update(env)  # the app factory reads its settings from here, in every worker
    from mlpipex.server.app import create_app

    create_app()  # fail here, in one line, if the store or object store cannot be opened
    from mlpipex.server.malloc import keep_upload_buffers

    keep_upload_buffers()
    err.print(f"MLPipeX control plane on http://{host}:{port} (store {_redacted(target)})")
    uvicorn.run(
        "mlpipex.server.app:serve_app",  # freezes its startup heap where it serves
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="mlpipex.server.http_protocol:BodyProtocol",  # httptools, fewer copies of a body
        log_level=log_level,
        access_log=False,
    )


def _redacted(url: str) -> str:
    from mlpipex.store.engine import _redact

    return _redact(url) if "://" in url else url
