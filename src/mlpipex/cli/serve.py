"""``mlpipex serve MODEL_URI``: one model version behind MLflow's scoring protocol and the Open
Inference Protocol v2, no control plane (like ``mlflow models serve``)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from mlpipex.cli.context import client, echo
from mlpipex.errors import Invalid


def serve(
    ctx: typer.Context,
    model_uri: str = typer.Argument(
        ..., help="models:/NAME/VERSION, models:/NAME@ALIAS, models:/NAME/STAGE, runs:/, a folder."
    ),
    host: str = typer.Option("127.0.0.1", "--host", "-h", help="Address to listen on."),
    port: int = typer.Option(8080, "--port", "-p", help="Port to listen on (0: a free one)."),
    workers: int = typer.Option(1, "--workers", "-w", help="Worker processes sharing the port."),
    max_batch: int = typer.Option(
        64, "--max-batch", help="Rows predicted in one call at most (1: no batching)."
    ),
    max_wait_ms: float = typer.Option(
        1.0, "--max-wait-ms", help="How long requests queued behind a busy model wait for more."
    ),
    max_body_mb: float = typer.Option(32.0, "--max-body-mb", help="Larger requests get 413."),
    allow_pickle: bool = typer.Option(
        False,
        "--allow-pickle",
        help="Load a model whose loading runs its code (pickle, Python code); trust the source.",
    ),
) -> None:
    """Serve one model version: POST /invocations (MLflow) and /v2/models/NAME/infer (KServe).

    Every answer names the version in its X-MLPipeX-Model-Version header. Prints the URL once
    the port is open; stops on Ctrl-C or SIGTERM."""
    from mlpipex import serving

    if workers < 1 or max_batch < 1 or max_wait_ms < 0 or max_body_mb <= 0:
        raise Invalid("--workers and --max-batch must be at least 1, the limits positive")
    c = client(ctx)
    uri, name, version, label = model_uri, "", "", model_uri
    if model_uri.startswith("models:/"):
        # Pin the version first: an alias or stage that moves meanwhile cannot mix two versions.
        v = c.get_version(model_uri)
        uri, name, version = f"models:/{v.model}/{v.version}", v.model, str(v.version)
        label = f"{v.model}/{v.version}"
    elif model_uri.startswith("runs:/"):
        name = model_uri.removeprefix("runs:/").strip("/").split("/", 1)[0]
    else:
        path = Path(model_uri).expanduser().resolve()
        uri, name, label = str(path), path.name, str(path)
    model = c.load_model(uri, allow_pickle=allow_pickle)
    c.close()  # no database connection may be shared by forked workers
    served = serving.ServedModel(
        model,
        name=name,
        version=version,
        label=label,
        allow_pickle=allow_pickle,
        batch=serving.BatchConfig(max_rows=max_batch, max_wait_ms=max_wait_ms),
    )
    app = serving.ModelServer([served], max_body_bytes=int(max_body_mb * 2**20))
    sock = serving.bind(host, port)
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host

    def ready() -> None:
        echo(f"serving {label} on http://{shown}:{bound_port} ({workers} worker(s))")
        sys.stdout.flush()

    if not serving.serve(app, sock, workers=workers, on_ready=ready):
        raise Invalid("the workers kept exiting right after they started; see the messages above")
