"""`mlpipex data ...`, `mlpipex repro`, `mlpipex dag`: thin commands over ``mlpipex.data``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import typer

from mlpipex.cli.context import console, echo
from mlpipex.cli.datarun import reporter, repro, status, workspace
from mlpipex.data.workspace import Workspace

app = typer.Typer(help="Version data by content hash, in git, as DVC does.", no_args_is_help=True)
remote_app = typer.Typer(help="Where `push` and `pull` send and get objects.", no_args_is_help=True)
app.add_typer(remote_app, name="remote")

out = console(highlight=False, soft_wrap=True)

Targets = typer.Argument(None, help="Data paths or .mpx files (default: every pointer).")


@app.command("add")
def add_cmd(paths: list[str] = typer.Argument(..., help="Files or folders to track.")) -> None:
    """Cache PATH and write PATH.mpx (commit that to git); PATH goes into .gitignore."""
    from mlpipex.data.add import add

    for a in add(workspace(), paths, reporter()):
        o = a.out
        echo(f"added {a.pointer}: {o.digest} ({o.nfiles} file(s), {o.size} bytes)")


@app.command("status")
def status_cmd(targets: list[str] | None = Targets) -> None:
    """What changed against the pointers: modified, new, deleted."""
    status(targets)


@app.command("checkout")
def checkout_cmd(
    targets: list[str] | None = Targets,
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite changes not in the cache."),
) -> None:
    """Make the workspace match the pointers, from the cache."""
    from mlpipex.data.checkout import checkout

    written = checkout(workspace(), targets, force=force, reporter=reporter())
    out.print(f"{len(written)} file(s) checked out")


RemoteOpt = typer.Option(None, "--remote", "-r", help="Remote name (default: the default remote).")
JobsOpt = typer.Option(0, "--jobs", "-j", help="Parallel transfers (default: from the CPU count).")


@app.command("push")
def push_cmd(
    targets: list[str] | None = Targets, remote: str | None = RemoteOpt, jobs: int = JobsOpt
) -> None:
    """Send the objects the pointers reference to a remote; resumes where it stopped."""
    from mlpipex.data.transfer import push

    r = push(workspace(), remote, targets, reporter(), jobs)
    out.print(f"{r.sent} object(s) pushed, {r.present} already there")


@app.command("fetch")
def fetch_cmd(
    targets: list[str] | None = Targets, remote: str | None = RemoteOpt, jobs: int = JobsOpt
) -> None:
    """Get the objects the pointers reference from a remote into the cache."""
    from mlpipex.data.transfer import fetch

    r = fetch(workspace(), remote, targets, reporter(), jobs)
    _resolved(r.resolved)
    out.print(f"{r.sent} object(s) fetched, {r.present} already in the cache")


@app.command("pull")
def pull_cmd(
    targets: list[str] | None = Targets,
    remote: str | None = RemoteOpt,
    jobs: int = JobsOpt,
    force: bool = typer.Option(False, "--force", "-f", help="Overwrite changes not in the cache."),
) -> None:
    """fetch, then checkout."""
    from mlpipex.data.transfer import pull

    r, written = pull(workspace(), remote, targets, reporter(), jobs, force)
    _resolved(r.resolved)
    out.print(f"{r.sent} object(s) fetched, {len(written)} file(s) checked out")


def _resolved(pointers: list[str]) -> None:
    for pointer in pointers:
        out.print(f"resolved {pointer} from the DVC remote (commit it)")


@app.command("gc")
def gc_cmd(
    all_commits: bool = typer.Option(
        False, "--all-commits", help="Keep what any git commit references."
    ),
    dry: bool = typer.Option(False, "--dry", help="Only say what would be removed."),
) -> None:
    """Remove cached objects that no pointer (in the working tree, or any commit) references."""
    from mlpipex.data.gc import gc

    r = gc(workspace(), all_commits=all_commits, dry=dry)
    verb = "would remove" if dry else "removed"
    out.print(f"{verb} {r.removed} object(s) ({r.freed} bytes), kept {r.kept}")


@app.command("config")
def config_cmd(
    key: str = typer.Argument(..., help="link (types to try, e.g. reflink,hardlink,copy) or jobs"),
    value: str | None = typer.Argument(None, help="New value; omit to show the current one."),
) -> None:
    """Show or set a data setting in .mlpipex/config.yaml."""
    from mlpipex.data import settings
    from mlpipex.errors import Invalid

    ws = workspace()
    conf = settings.load(ws.meta)
    if key not in ("link", "jobs"):
        raise Invalid(f"unknown data setting {key!r}", hint="use link or jobs")
    if value is None:
        out.print(",".join(conf.link) if key == "link" else str(conf.jobs or "auto"))
        return
    if key == "link":
        conf.link = tuple(settings.parse_link(value))
    else:
        conf.jobs = _int(value)
    settings.save(ws.meta, conf)


def _int(value: str) -> int:
    from mlpipex.errors import Invalid

    if not value.isdigit():
        raise Invalid(f"{value!r} is not a number of jobs")
    return int(value)


@app.command("import-dvc")
def import_dvc_cmd(
    keep: bool = typer.Option(False, "--keep", help="Leave the .dvc files in place."),
    no_data: bool = typer.Option(
        False, "--no-data", help="Convert without reading data; `data pull` gets it later."
    ),
    remote: str | None = typer.Option(
        None, "--remote", "-r", help="The DVC remote to read (default: DVC's default remote)."
    ),
) -> None:
    """Convert a DVC repository: .dvc pointers, dvc.yaml and dvc.lock, and the data they name
    (from .dvc/cache, the workspace, or the DVC remote, each object checked against its md5)."""
    from mlpipex.data.dvc import import_dvc

    r = import_dvc(workspace(), keep=keep, data=not no_data, remote=remote, reporter=reporter())
    for pointer in r.pointers:
        out.print(f"converted {pointer}")
    for name in r.files:
        out.print(f"wrote {name}")
    if no_data:
        out.print(f"no data read; `mlpipex data pull` gets it from {r.remote or 'nowhere'}")
    else:
        out.print(f"{r.objects} object(s) imported, {r.fetched} from the DVC remote")


@remote_app.command("add")
def remote_add(
    name: str,
    url: str = typer.Argument(..., help="Any fsspec URL: a folder, s3://, gs://, az://, ssh://"),
    default: bool = typer.Option(False, "--default", "-d", help="Make it the default remote."),
    force: bool = typer.Option(False, "--force", "-f", help="Replace a remote of that name."),
) -> None:
    """Add a remote; the first one is the default."""
    from mlpipex.data.remote import add_remote

    stored = add_remote(workspace(), name, url, default=default, replace=force)
    out.print(f"remote {name}: {stored}")


@remote_app.command("list")
def remote_list() -> None:
    from mlpipex.data.remote import list_remotes

    remotes, default = list_remotes(workspace())
    for name, url in remotes.items():
        out.print(f"{name}\t{url}" + ("\t(default)" if name == default else ""))


@remote_app.command("remove")
def remote_remove(name: str) -> None:
    from mlpipex.data.remote import remove_remote

    remove_remote(workspace(), name)


def repro_cmd(
    ctx: typer.Context,
    stage: str | None = typer.Argument(None, help="Run this stage and what it depends on."),
    dry: bool = typer.Option(False, "--dry", help="Only say what would run."),
    force: bool = typer.Option(False, "--force", "-f", help="Run even unchanged stages."),
    set_param: list[str] = typer.Option(
        [],
        "--set-param",
        "-S",
        help="Set a param first (train.lr=0.2, or FILE:KEY=VALUE) and record the run as an "
        "experiment run, as `dvc exp run -S` does.",
    ),
    experiment: str = typer.Option(
        "repro", "--experiment", help="The experiment that --set-param runs are recorded in."
    ),
) -> None:
    """Run, in dependency order, the pipeline stages whose command, deps or params changed."""
    from mlpipex.data.setparam import ParamSet, apply

    ws = workspace()
    sets = [ParamSet.parse(text) for text in set_param]
    if not sets or dry:
        repro(ws, stage, dry=dry, force=force)
        return
    from mlpipex.cli.context import client

    apply(ws, sets)
    c = client(ctx)
    run = c.create_run(
        c.set_experiment(experiment).id,
        tags={"mlpipex.source": "repro", "mlpipex.set_params": " ".join(set_param)[:5000]},
    )
    try:
        repro(ws, stage, force=force)
    except BaseException:
        c.set_terminated(run.id, "FAILED")
        raise
    params, metrics = _outcome(ws)
    c.log_batch(run.id, metrics, params)
    c.set_terminated(run.id)
    out.print(f"recorded run {run.id} in experiment {experiment}")


def _outcome(ws: Workspace) -> tuple[dict[str, Any], list[Any]]:
    """The pipeline's params (as its stages read them) and numeric metrics, to log with a run;
    keys of a file other than params.yaml (or of a second metrics file) carry the file name."""
    from mlpipex.data.metrics import Revision, metrics
    from mlpipex.data.pipeline import PARAMS, load_pipeline, read_params
    from mlpipex.service.context import now_ms
    from mlpipex.service.tracking.checks import Metric

    wanted = tuple(sorted({p for st in load_pipeline(ws.root).stages.values() for p in st.params}))
    values = read_params(ws.root, wanted, {})
    params = {
        (k if file == PARAMS else f"{file}:{k}"): v
        for file, kv in values.items()
        for k, v in kv.items()
    }
    found = metrics(Revision(ws, None))
    now = now_ms()
    rows = [
        Metric(k if i == 0 else f"{path}:{k}", float(v), now)
        for i, (path, kv) in enumerate(found.items())
        for k, v in kv.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ]
    return params, rows


def dag_cmd(dot: bool = typer.Option(False, "--dot", help="Print Graphviz dot.")) -> None:
    """Print the pipeline graph: each stage with the stages it depends on."""
    from mlpipex.data.pipeline import load_pipeline

    pipeline = load_pipeline(workspace().root)
    stages = pipeline.order()
    if dot:
        out.print("digraph pipeline {")
        for st in stages:
            out.print(f'  "{st.name}";')
        for up, down in pipeline.edges():
            out.print(f'  "{up}" -> "{down}";')
        out.print("}")
        return
    for st in stages:
        ups = pipeline.upstream(st.name)
        out.print(f"{st.name}" + (f"  <- {', '.join(ups)}" if ups else ""))


ROOT_COMMANDS: dict[str, Callable[..., Any]] = {"repro": repro_cmd, "dag": dag_cmd}
for _name, _fn in ROOT_COMMANDS.items():
    app.command(_name)(_fn)
