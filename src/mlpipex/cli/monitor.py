"""`mlpipex monitor ...`: drift of what a serving version receives, the prediction log, feedback
and live quality, the HTML report."""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import typer

from mlpipex.cli.context import client, echo, out
from mlpipex.cli.render import Columns, when
from mlpipex.domain.durations import parse_duration

app = typer.Typer(
    help="Monitoring: drift against each version's reference profile, the prediction log, "
    "feedback and live quality, reports.",
    no_args_is_help=True,
)


@app.command("drift")
def drift(
    ctx: typer.Context,
    endpoint: str,
    version: int | None = typer.Option(None, "--version", help="Default: the serving version."),
    window: int | None = typer.Option(
        None, "--window", help="Last N requests (default: the endpoint's monitoring.window)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Per feature: the test, its score and threshold, drifted or not; and the verdict."""
    d = client(ctx).endpoint_drift(endpoint, version, window)
    if as_json:
        print(json.dumps(d, indent=2, default=str))
        return
    verdict = {True: "DRIFTED", False: "no drift", None: "not enough data"}[d["drifted"]]
    out.print(
        f"{endpoint} v{d['version']}: {verdict} over {d['window']} requests"
        + (f" (share {d['share']:.2f})" if d["share"] is not None else "")
        + (f" — {d['reason']}" if d.get("reason") else "")
    )
    t = Columns("feature", "test", "score", "threshold", "psi", "drifted")
    for f in d["features"]:
        psi = "-" if f.get("psi") is None else f"{f['psi']:.3f}"
        score = "-" if f["score"] is None else f"{f['score']:.4g}"
        t.add_row(
            f["name"],
            f["test"],
            score,
            f"{f['threshold']:g}",
            psi,
            {True: "yes", False: "no", None: "-"}[f["drifted"]],
        )
    echo(t)


@app.command("feedback")
def send_feedback(
    ctx: typer.Context,
    endpoint: str,
    labels: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="CSV or Parquet with columns request_id, label."
    ),
) -> None:
    """Labels for logged predictions, joined by request id (the X-MLPipeX-Request-Id each
    answer carried; row i of a request of several rows is ID:i). The same id again keeps the
    later label; ids the log does not know are counted, not stored."""
    from mlpipex.monitor.feedback import read_labels

    got = client(ctx).log_feedback(endpoint, read_labels(labels))
    out.print(f"stored {got.stored:,} of {got.received:,} labels for {endpoint}")
    if got.unknown:
        shown = ", ".join(got.unknown_ids)
        unknown = f"{got.unknown:,} request ids not in the prediction log (e.g. {shown})"
        print(unknown, file=sys.stderr)


@app.command("quality")
def live_quality(
    ctx: typer.Context,
    endpoint: str,
    version: int | None = typer.Option(None, "--version", help="Default: every serving version."),
    window: str | None = typer.Option(
        None, "--window", help="Predictions of the last 1h, 7d... (default: its quality.window)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Per version: labelled predictions and the task's metrics with 95% intervals, beside the
    version's registered value of the same name."""
    report = client(ctx).endpoint_quality(endpoint, version, window)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
        return
    t = Columns("version", "labelled", "metric", "live", "95% interval", "registered")
    for v in report.versions:
        if not v.metrics:
            t.add_row(str(v.version), str(v.labelled), "-", "-", "-", "-")
        for name, m in v.metrics.items():
            registered = "-" if m.registered is None else f"{m.registered:.4g}"
            interval = f"{m.ci_low:.4f} to {m.ci_high:.4f}"
            t.add_row(str(v.version), str(v.labelled), name, f"{m.value:.4f}", interval, registered)
    echo(t)


@app.command("log")
def log(
    ctx: typer.Context,
    endpoint: str,
    since: str = typer.Option("1h", "--since", help="How far back, e.g. 30m, 1h, 2d."),
    version: int | None = typer.Option(None, "--version"),
    limit: int = typer.Option(1000, "--limit"),
    export: Path | None = typer.Option(None, "--out", help="Write CSV (or .jsonl) here."),
) -> None:
    """Logged predictions: time, request id, version, latency, status, input, output."""
    since_ms = int((time.time() - parse_duration(since)) * 1000)
    rows = client(ctx).prediction_log(endpoint, since_ms, version, limit)
    if export is not None:
        with export.open("w", newline="") as f:
            if export.suffix == ".jsonl":
                for r in rows:
                    f.write(json.dumps(r, default=str) + "\n")
            else:
                w = csv.writer(f)
                w.writerow(
                    ["time", "request_id", "version", "latency_ms", "status", "input", "output"]
                )
                for r in rows:
                    w.writerow(
                        [
                            r["time"],
                            r.get("request_id") or "",
                            r["version"],
                            r["latency_ms"],
                            r["status"],
                            json.dumps(r["input"]),
                            json.dumps(r["output"]),
                        ]
                    )
        out.print(f"wrote {len(rows)} rows to {export}")
        return
    t = Columns("time", "version", "ms", "status", "input", "output")
    for r in rows:
        t.add_row(
            when(r["time"]),
            str(r["version"]),
            f"{r['latency_ms']:.2f}",
            str(r["status"]),
            json.dumps(r["input"])[:60],
            json.dumps(r["output"])[:30],
        )
    echo(t)
    if not rows:
        print(f"no logged predictions for {endpoint} in the last {since}", file=sys.stderr)


@app.command("report")
def report(
    ctx: typer.Context,
    endpoint: str,
    out_file: Path = typer.Option(Path("report.html"), "--out", help="The HTML file to write."),
    since: str = typer.Option("24h", "--since"),
) -> None:
    """One self-contained HTML file: reference versus current distributions per feature, drift,
    request rate, error rate and latency over time per version."""
    since_ms = int((time.time() - parse_duration(since)) * 1000)
    html = client(ctx).endpoint_report(endpoint, since_ms)
    out_file.write_text(html)
    out.print(f"wrote {out_file} ({len(html):,} bytes)")
