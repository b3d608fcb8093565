"""Opening a registry from a location: the store, its object store and the default policy."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from mlpipex.domain.workspaces import DEFAULT_WORKSPACE, WorkspaceMissing, check_workspace_name
from mlpipex.errors import Invalid
from mlpipex.location import OBJECTS_SETTING, Location, PlainSettings, require_existing
from mlpipex.objects import open_store
from mlpipex.service.access.secrets import SecretBox
from mlpipex.service.context import Actor, Registry
from mlpipex.store import Store, registry
from mlpipex.store.access import workspaces

if TYPE_CHECKING:
    from mlpipex.config import Settings
    from mlpipex.domain.policy import Policy


def load_policy(spec: str) -> Policy:
    """``strict``, ``permissive``, or a YAML file."""
    from mlpipex.domain.policy import PRESETS, parse_policy

    if spec.lower() in PRESETS:
        return PRESETS[spec.lower()]
    path = Path(spec)
    if not path.is_file():
        raise Invalid(f"policy {spec!r} is neither strict, permissive nor a file")
    import yaml  # a policy file is rare: the common open does not pay for the parser

    return parse_policy(yaml.safe_load(path.read_text()) or {})


def open_registry(
    loc: Location,
    settings: Settings | PlainSettings,
    *,
    create: bool,
    actor: Actor | None = None,
    read_only: bool = False,
) -> Registry:
    """Open (and, for writes, create) the registry at loc. Objects: an explicit URL wins, then
    the one recorded in the database (the first opener records its own), then the folder beside
    a local database. A registry opened ``read_only`` and given its objects records nothing,
    so it need not ask the database (a `show` is then one round trip in all)."""
    if loc.kind == "http":
        raise Invalid("this operation needs direct access to the registry, not a server URL")
    if not create:
        require_existing(loc)
    store = Store(loc.url)
    ws = settings.workspace or DEFAULT_WORKSPACE
    recorded: str | None
    if settings.objects and read_only and ws == DEFAULT_WORKSPACE:
        recorded = settings.objects
    else:
        with store.lookup() as conn:  # every CLI command opens: one round trip, not three
            recorded = registry.get_setting(conn, OBJECTS_SETTING)
            if ws != DEFAULT_WORKSPACE and workspaces.get(conn, check_workspace_name(ws)) is None:
                raise WorkspaceMissing(ws)
    objects_url = settings.objects or recorded or loc.objects
    if objects_url is None:
        store.close()
        raise Invalid(
            "no object store is known for this database",
            hint="pass --objects URL (or set MLPIPEX_OBJECTS) once; it is recorded for everyone",
        )
    if recorded is None:
        with store.write() as conn:
            registry.record_setting(conn, OBJECTS_SETTING, objects_url)
    return Registry(
        store=store,
        objects=open_store(objects_url),
        actor=actor or Actor(settings.actor()),
        default_policy=load_policy(settings.policy) if settings.policy else None,
        secrets=SecretBox(settings.secret_key, loc.root / "secret.key" if loc.root else None),
        allow_private_webhooks=settings.allow_private_webhooks,
        workspace=ws,
    )
