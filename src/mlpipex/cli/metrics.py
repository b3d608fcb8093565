"""`mlpipex metrics show/diff`, `params diff` and `plots diff`, as DVC users type them."""

from __future__ import annotations

import json
from collections.abc import Callable

import typer

from mlpipex.cli.data import out
from mlpipex.cli.datarun import workspace
from mlpipex.cli.render import Columns

metrics_app = typer.Typer(help="The pipeline's metrics files, across git revisions.")
params_app = typer.Typer(help="The pipeline's params files, across git revisions.")
plots_app = typer.Typer(help="The pipeline's plots files, across git revisions.")

RevA = typer.Argument(None, help="Old revision (default: HEAD).")
RevB = typer.Argument(None, help="New revision (default: the working tree).")
JsonOpt = typer.Option(False, "--json", help="Print JSON (the shape of DVC's --json).")
MdOpt = typer.Option(False, "--md", help="Print a Markdown table.")
AllOpt = typer.Option(False, "--all", "-a", help="Show unchanged values too.")


def _table(headers: list[str], rows: list[list[str]], md: bool) -> str:
    if not md:
        t = Columns(*headers)
        for r in rows:
            t.add_row(*r)
        return str(t)
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join(lines)


@metrics_app.command("show")
def metrics_show(
    rev: str | None = typer.Option(None, "--rev", help="A git revision (default: working tree)."),
    as_json: bool = JsonOpt,
    md: bool = MdOpt,
) -> None:
    """Every metric of the pipeline's metrics files."""
    from mlpipex.data.metrics import Revision, fmt, metrics

    found = metrics(Revision(workspace(), rev))
    if as_json:
        out.print(json.dumps(found, indent=2), markup=False)
        return
    rows = [[path, key, fmt(v)] for path, values in found.items() for key, v in values.items()]
    out.print(_table(["path", "metric", "value"], rows, md), markup=False)


def _diff(kind: str, a: str | None, b: str | None, all_keys: bool, as_json: bool, md: bool) -> None:
    from mlpipex.data import metrics as m

    ws = workspace()
    old, new = m.Revision(ws, a or "HEAD"), m.Revision(ws, b)
    read = m.metrics if kind == "metric" else m.params
    d = m.diff(read(old), read(new), all_keys=all_keys)
    if as_json:
        out.print(json.dumps(m.diff_json(d), indent=2), markup=False)
        return
    headers = ["path", kind, old.label, new.label] + (["change"] if kind == "metric" else [])
    rows = []
    for path, changes in d.items():
        for key, c in changes.items():
            row = [path, key, m.fmt(c.old), m.fmt(c.new)]
            if kind == "metric":
                row.append(m.fmt(c.to_dict().get("diff")))
            rows.append(row)
    out.print(_table(headers, rows, md) if rows else "no changes", markup=False)


def _diff_command(kind: str) -> Callable[..., None]:
    def command(
        a: str | None = RevA,
        b: str | None = RevB,
        all_keys: bool = AllOpt,
        as_json: bool = JsonOpt,
        md: bool = MdOpt,
    ) -> None:
        _diff(kind, a, b, all_keys, as_json, md)

    command.__doc__ = (
        f"{kind.title()}s that differ between two revisions (default: HEAD and the working tree)."
    )
    return command


metrics_app.command("diff")(_diff_command("metric"))
params_app.command("diff")(_diff_command("param"))


@plots_app.command("diff")
def plots_diff(
    revisions: list[str] = typer.Argument(
        None, help="Revisions to draw (default: HEAD and the working tree)."
    ),
    output: str = typer.Option("plots.html", "--output", "-o", help="The HTML file to write."),
    as_json: bool = JsonOpt,
) -> None:
    """Draw the pipeline's plots files at each revision over each other, in one HTML page."""
    from pathlib import Path

    from mlpipex.data.metrics import Revision
    from mlpipex.data.plots import collect, render

    ws = workspace()
    revs = [Revision(ws, r) for r in revisions] if revisions else []
    if len(revs) < 2:
        revs = [Revision(ws, "HEAD"), *revs] if revs else [Revision(ws, "HEAD"), Revision(ws, None)]
    if as_json:
        out.print(json.dumps(collect(revs), indent=2), markup=False)
        return
    Path(output).write_text(render(revs))
    out.print(f"wrote {output}")
