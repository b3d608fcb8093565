"""`mlpipex endpoint ...`: serving targets that follow the registry, and their rollouts."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path

import typer
import yaml

from mlpipex.cli.context import client, echo, out
from mlpipex.cli.render import Columns, when
from mlpipex.domain.deployment import EndpointStatus
from mlpipex.errors import Invalid

app = typer.Typer(
    help="Endpoints: follow a stage or alias, roll out by canary, roll back.", no_args_is_help=True
)


def _traffic(status: EndpointStatus) -> str:
    return ", ".join(f"v{t.version}:{t.weight}%" for t in status.traffic) or "-"


@app.command("apply")
def apply(
    ctx: typer.Context, file: Path = typer.Argument(..., help="Endpoint spec (YAML).")
) -> None:
    """Create or update an endpoint from FILE.yaml (name, model, follow or traffic, rollout)."""
    if not file.is_file():
        raise Invalid(f"{file} does not exist")
    try:
        spec = yaml.safe_load(file.read_text())
    except yaml.YAMLError as exc:
        raise Invalid(f"{file} is not valid YAML: {exc}") from None
    status = client(ctx).apply_endpoint(spec)
    d = status.deployment
    rollout = f"; rollout {d.state} v{d.from_version} -> v{d.to_version}" if d else ""
    out.print(f"endpoint {status.name} applied: {_traffic(status)}{rollout}")


@app.command("list")
def list_(ctx: typer.Context) -> None:
    """Endpoints, what they follow, their traffic and their latest rollout."""
    t = Columns("endpoint", "model", "follows", "traffic", "rollout")
    for s in client(ctx).list_endpoints():
        d = s.deployment
        state = f"{d.state} v{d.from_version}->v{d.to_version}" if d else "-"
        t.add_row(s.name, s.model, s.follow or "fixed", _traffic(s), state)
    echo(t)


@app.command("status")
def status(ctx: typer.Context, name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Traffic split, the rollout under way with each step's analysis, last minute per version."""
    s = client(ctx).endpoint_status(name)
    if as_json:
        print(json.dumps(s.to_json(), indent=2, sort_keys=True, default=str))
        return
    out.print(f"[bold]{s.name}[/] serves {s.model} ({s.follow or 'fixed traffic'}): {_traffic(s)}")
    d = s.deployment
    if d:
        out.print(
            f"rollout {d.id}: {d.state} ({d.strategy}) v{d.from_version} -> "
            f"v{d.to_version}, step {d.step + 1}/{len(d.steps)} at "
            f"{d.weight}%" + (f" — {d.reason}" if d.reason else "")
        )
        t = Columns("step", "weight", "requests", "errors", "error rate", "p99 ms", "verdict")
        for a in d.analysis:
            verdict = "passed" if a.passed else "; ".join(a.breached) or "waiting"
            t.add_row(
                str(a.step + 1),
                f"{a.weight}%",
                str(a.requests),
                str(a.errors),
                f"{a.error_rate:.3f}",
                f"{a.p99_latency_ms:g}",
                verdict,
            )
        if d.analysis:
            echo(t)
    t = Columns("version", "requests/1m", "errors/1m", "p99 ms/1m")
    for version, st in s.stats.items():
        t.add_row(version, str(st.requests_1m), str(st.errors_1m), f"{st.p99_latency_ms_1m:g}")
    echo(t)
    out.print(f"updated {when(s.updated_at)}")
    for note in s.notes:
        out.print(f"note: {note}")


class ExportFormat(StrEnum):
    KSERVE = "kserve"  # an InferenceService (serving.kserve.io/v1beta1)


@app.command("export")
def export(
    ctx: typer.Context,
    name: str,
    fmt: ExportFormat = typer.Option(..., "--format", help="kserve: a KServe InferenceService."),
    output: Path | None = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
    namespace: str | None = typer.Option(None, "--namespace", help="Kubernetes namespace."),
    storage: str | None = typer.Option(
        None,
        "--storage-uri",
        help="Where the packages are published, a folder or URL (default: packages/ beside "
        "the object store's objects).",
    ),
) -> None:
    """The manifest that serves the endpoint's current versions elsewhere. Publishes each
    version's package (verified) under --storage-uri as MODEL/VERSION, which the manifest's
    storageUri names; a canary in progress becomes canaryTrafficPercent."""
    from mlpipex.service.deploy.kserve import ServedPackage, inference_service

    c = client(ctx)
    status = c.endpoint_status(name)
    prefix = storage or c.packages_uri()
    served = []
    for share in status.traffic:
        if share.weight <= 0:
            continue
        v = c.get_version(f"{status.model}/{share.version}")
        served.append(
            ServedPackage(
                share.version,
                share.weight,
                c.publish_package(v, prefix),
                v.flavor,
                any(f.path == "MLmodel" for f in v.files),
            )
        )
    text = yaml.safe_dump(inference_service(status, served, namespace), sort_keys=False)
    if output is None:
        print(text, end="")
        return
    tmp = output.with_name(f".{output.name}.tmp")
    tmp.write_text(text)
    tmp.replace(output)
    out.print(f"wrote {output}: InferenceService {name} ({fmt}) from {prefix}")


@app.command("rollback")
def rollback(ctx: typer.Context, name: str, reason: str = typer.Option("", "--reason")) -> None:
    """Undo the latest rollout: traffic back to the previous version, and the registry too."""
    s = client(ctx).rollback_endpoint(name, reason)
    out.print(f"endpoint {name} rolled back: {_traffic(s)}")


@app.command("delete")
def delete(ctx: typer.Context, name: str) -> None:
    client(ctx).delete_endpoint(name)
    out.print(f"deleted endpoint {name}")
