"""`mlpipex models ...`: create, list, show, set-policy."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
import yaml

from mlpipex.cli import render
from mlpipex.cli.context import client, echo, out
from mlpipex.errors import Invalid

app = typer.Typer(
    help="Registered models: create, list, show, and set their policy.", no_args_is_help=True
)


def read_policy_file(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    if not path.is_file():
        raise Invalid(f"policy file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise Invalid(f"policy file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise Invalid(f"policy file {path} must hold a mapping")
    return data


@app.command("create")
def create(
    ctx: typer.Context,
    name: str,
    policy: Path | None = typer.Option(
        None, "--policy", help="Policy YAML (gates, approvals, soak)."
    ),
    description: str = typer.Option("", "--description", "-d"),
) -> None:
    """Create a registered model, optionally with its own policy."""
    m = client(ctx).create_model(name, description, read_policy_file(policy))
    out.print(f"created model {m.name}" + (" with its own policy" if m.policy else ""))


@app.command("list")
def list_(
    ctx: typer.Context,
    query: str | None = typer.Option(None, "--query", "-q", help="Part of the name."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
    page_token: str | None = typer.Option(None, "--page-token"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """List registered models with their latest version, stages and aliases."""
    c = client(ctx)
    page = c.list_models(query, limit, page_token)
    if as_json:
        out.print_json(render.to_json({"models": page.items, "next_page_token": page.next_token}))
        return
    if not page.items:
        out.print("no models yet: `mlpipex register NAME PATH ...` creates one")
        return
    echo(render.models_table(page.items, c.stage_summary([m.name for m in page.items])))
    if page.next_token:
        out.print(f"more: --page-token {page.next_token}")


@app.command("show")
def show(ctx: typer.Context, name: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Show a model: description, tags, aliases, stages and the policy in force."""
    c = client(ctx)
    m = c.get_model(name)
    policy = c.get_policy(name)
    if as_json:
        out.print_json(render.to_json({"model": m, "policy": policy.model_dump(mode="json")}))
        return
    out.print(f"[bold]{m.name}[/]  latest version {m.last_version or '-'}")
    if m.description:
        out.print(m.description)
    echo(render.models_table([m], c.stage_summary([name])))
    out.print(f"policy ({'own' if m.policy else 'registry default'}):")
    out.print(
        yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False).rstrip(), markup=False
    )


@app.command("set-policy")
def set_policy(
    ctx: typer.Context,
    name: str,
    policy: Path | None = typer.Argument(None, help="Policy YAML; omit with --default."),
    default: bool = typer.Option(
        False, "--default", help="Go back to the registry's default policy."
    ),
    reason: str = typer.Option("", "--reason"),
) -> None:
    """Replace a model's policy (admins only)."""
    if (policy is None) == (not default):
        raise Invalid("give a policy file or --default, not both or neither")
    client(ctx).set_policy(name, read_policy_file(policy), reason)
    out.print(
        f"policy of {name} set" + (" to the registry default" if default else f" from {policy}")
    )


@app.command("import-gto")
def import_gto(
    ctx: typer.Context,
    repo: Path = typer.Option(Path("."), "--repo", help="The git repository GTO's tags are in."),
    no_data: bool = typer.Option(
        False, "--no-data", help="Record the versions' files as external (DVC md5), unfetched."
    ),
    remote: str | None = typer.Option(None, "--remote", help="DVC remote (default: DVC's)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import GTO's registry (dvc.yaml artifacts and git tags) into this registry (admins only).

    Each model artifact becomes a registered model; each `name@vX.Y.Z` a version at its commit
    (tag gto.version, alias vX.Y.Z); stage tags, deregistrations and deprecations are replayed
    with GTO's tagger and date, marked imported. Running it again imports only new tags. Not
    through a server: point --uri at the registry's database."""
    report = client(ctx).import_gto(repo, data=not no_data, remote=remote)
    if as_json:
        out.print_json(render.to_json(report))
        return
    for name in report.created:
        out.print(f"created model {name}")
    for name, gto_version, n in report.versions:
        out.print(f"{name}/{n}  {gto_version}")
    out.print(f"{len(report.versions)} version(s), {report.moves} stage move(s) imported")
    for ref, missing in report.missing.items():
        lacks = ", ".join(m.split(" (")[0] for m in missing)
        out.print(f"{ref} cannot be promoted until completed; it lacks: {lacks}")
