"""GTO's model registry, read from a git repository: annotations and tags, folded into state.

DVC's registry lives in ``dvc.yaml``'s ``artifacts:`` section (or GTO's ``artifacts.yaml``) and
in annotated git tags: ``name@v1.2.0`` registers a version at a commit (``name@v1.2.0!``
deregisters it), ``name#prod#3`` assigns a stage to the version at the tag's commit
(``name#prod!#4`` unassigns it), ``name@deprecated`` deprecates the artifact. Tags are applied
in the order of their dates; the state is what ``gto show`` reports with its defaults: the
latest registered version, and per stage the greatest (semver) active version holding it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from mlpipex.data.git import run_git
from mlpipex.domain.pointer import load_yaml
from mlpipex.errors import Invalid

_NAME = r"[a-zA-Z0-9](?:[a-zA-Z0-9\-/_]*[a-zA-Z0-9])?"
_SEMVER = (
    r"v(?P<major>0|[1-9]\d*)\.(?P<minor>0|[1-9]\d*)\.(?P<patch>0|[1-9]\d*)"
    r"(?:-(?P<pre>[0-9a-zA-Z\-]+(?:\.[0-9a-zA-Z\-]+)*))?(?:\+[0-9a-zA-Z\-]+(?:\.[0-9a-zA-Z\-]+)*)?"
)
_TAG = re.compile(
    rf"^(?P<artifact>(?:[a-zA-Z0-9\-_./]+=)?{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>{_SEMVER}))(?P<cancel>!?)"
    r"|@(?P<deprecated>deprecated)|@(?P<created>created))(?:#(?P<counter>[0-9]+))?$"
)
_SEP = "\x1f"
_FORMAT = _SEP.join(
    (
        "%(refname:strip=2)",
        "%(objecttype)",
        "%(*objectname)",
        "%(taggername)",
        "%(taggeremail:trim)",
        "%(taggerdate:unix)",
    )
)
MAX_TAGS = 100_000


class Action(StrEnum):
    REGISTER = "register"
    DEREGISTER = "deregister"
    ASSIGN = "assign"
    UNASSIGN = "unassign"
    DEPRECATE = "deprecate"
    CREATE = "create"


@dataclass(frozen=True, slots=True)
class TagEvent:
    """One GTO tag: what it does, to which artifact, at which commit, by whom and when."""

    tag: str
    artifact: str
    action: Action
    commit: str
    tagger: str
    email: str
    time: int  # seconds since the epoch (git's tag date)
    version: str | None = None
    stage: str | None = None


@dataclass(frozen=True, slots=True)
class Annotation:
    """An artifact as dvc.yaml (``artifacts:``) or artifacts.yaml describe it."""

    name: str
    type: str = ""
    path: str = ""
    description: str = ""
    labels: tuple[str, ...] = ()


@dataclass
class VersionState:
    version: str  # vX.Y.Z, or the commit for a version only ever given a stage
    commit: str
    registered: bool = False
    active: bool = True
    stages: dict[str, bool] = field(default_factory=dict)  # stage -> currently assigned
    stage_time: dict[str, int] = field(default_factory=dict)  # when it first got each stage
    history: list[TagEvent] = field(default_factory=list)


@dataclass
class ArtifactState:
    name: str
    versions: dict[str, VersionState] = field(default_factory=dict)
    active: bool = True
    registered: bool = False

    def ordered(self) -> list[VersionState]:
        """Active versions, greatest semver first (commit-named ones after, by name)."""
        live = [v for v in self.versions.values() if v.active]
        semver = sorted((v for v in live if _TAG_VERSION.match(v.version)), key=_key, reverse=True)
        return semver + sorted((v for v in live if not _TAG_VERSION.match(v.version)), key=_name)

    def latest(self) -> str | None:
        registered = [v for v in self.ordered() if v.registered]
        return registered[0].version if registered else None

    def stages(self) -> dict[str, str]:
        """Each stage and the active version most recently given it (``gto show``'s default
        order, by the time each version first got the stage)."""
        held = sorted(
            (
                (v.stage_time[s], v.version, s)
                for v in self.ordered()
                for s, on in v.stages.items()
                if on
            ),
            reverse=True,
        )
        out: dict[str, str] = {}
        for _, version, stage in held:
            out.setdefault(stage, version)
        return out


_TAG_VERSION = re.compile(f"^{_SEMVER}$")


def _key(v: VersionState) -> tuple[int, int, int, int, str]:
    m = _TAG_VERSION.match(v.version)
    assert m is not None
    pre = m["pre"] or ""
    return (int(m["major"]), int(m["minor"]), int(m["patch"]), 0 if pre else 1, pre)


def semver_order(version: str) -> tuple[int, tuple[Any, ...]]:
    """Semver precedence (a pre-release before its release, numeric identifiers as numbers);
    commit-named versions after every semver."""
    m = _TAG_VERSION.match(version)
    if m is None:
        return (1, (version,))
    pre = m["pre"] or ""
    ids = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".") if p)
    return (0, (int(m["major"]), int(m["minor"]), int(m["patch"]), 0 if pre else 1, ids))


def _name(v: VersionState) -> str:
    return v.version


def parse_tag(name: str) -> tuple[str, Action, str | None, str | None] | None:
    """(artifact, action, version, stage) of a GTO tag name, or None for any other tag."""
    m = _TAG.match(name)
    if m is None:
        return None
    artifact = m["artifact"].replace("=", ":")
    if m["deprecated"]:
        return artifact, Action.DEPRECATE, None, None
    if m["created"]:
        return artifact, Action.CREATE, None, None
    cancel = bool(m["cancel"])
    if m["version"]:
        return artifact, Action.DEREGISTER if cancel else Action.REGISTER, m["version"], None
    return artifact, Action.UNASSIGN if cancel else Action.ASSIGN, None, m["stage"]


def read_tags(root: Path) -> list[TagEvent]:
    """Every annotated GTO tag of the repository, oldest first (lightweight tags are not GTO's)."""
    out = run_git(root, "for-each-ref", "--sort=taggerdate", f"--format={_FORMAT}", "refs/tags")
    if out is None:
        raise Invalid(f"{root} is not a git repository", hint="pass --repo PATH")
    events = []
    for line in out.decode("utf-8", errors="replace").splitlines()[:MAX_TAGS]:
        name, kind, commit, tagger, email, when = line.split(_SEP)
        parsed = parse_tag(name)
        if parsed is None or kind != "tag" or not when:
            continue
        artifact, action, version, stage = parsed
        events.append(
            TagEvent(name, artifact, action, commit, tagger, email, int(when), version, stage)
        )
    return events


def fold(events: list[TagEvent]) -> dict[str, ArtifactState]:
    """The registry state the events (oldest first) lead to."""
    state: dict[str, ArtifactState] = {}
    for e in sorted(events, key=lambda e: e.time):
        art = state.setdefault(e.artifact, ArtifactState(e.artifact))
        art.registered = True  # any GTO tag makes it a registered artifact, as in GTO
        if e.action in (Action.DEPRECATE, Action.CREATE):
            art.active = e.action == Action.CREATE
            continue
        art.active = True  # a later event on a version outdates a deprecation
        if e.version is not None:
            v = art.versions.setdefault(e.version, VersionState(e.version, e.commit))
            v.registered = v.registered or e.action == Action.REGISTER
            v.active = e.action == Action.REGISTER
        else:
            v = _at_commit(art, e.commit)
            assert e.stage is not None
            v.stages[e.stage] = e.action == Action.ASSIGN
            if e.action == Action.ASSIGN:
                v.stage_time.setdefault(e.stage, e.time)
        v.history.append(e)
    return state


def _at_commit(art: ArtifactState, commit: str) -> VersionState:
    for v in art.versions.values():
        if v.commit == commit and v.registered:
            return v
    return art.versions.setdefault(commit, VersionState(commit, commit))


def show(state: dict[str, ArtifactState]) -> dict[str, dict[str, Any]]:
    """The state in the shape of ``gto show --json`` (active artifacts)."""
    stages = sorted({s for a in state.values() for s in a.stages()})
    return {
        a.name: {
            "version": a.latest(),
            "stage": {s: a.stages().get(s) for s in stages},
            "registered": a.registered,
            "active": a.active,
        }
        for a in state.values()
        if a.active
    }


def read_annotations(text_of: dict[str, str | None]) -> dict[str, Annotation]:
    """Artifacts described in dvc.yaml's ``artifacts:`` and in artifacts.yaml (texts by name)."""
    found: dict[str, Annotation] = {}
    for filename in ("artifacts.yaml", "dvc.yaml"):
        text = text_of.get(filename)
        if not text:
            continue
        data = load_yaml(text, filename)
        section = (
            data.get("artifacts") if filename == "dvc.yaml" and isinstance(data, dict) else data
        )
        if not isinstance(section, dict):
            continue
        for name, raw in section.items():
            if not isinstance(raw, dict):
                continue
            labels = raw.get("labels") or []
            found[str(name)] = Annotation(
                str(name),
                str(raw.get("type") or ""),
                str(raw.get("path") or ""),
                str(raw.get("desc") or raw.get("description") or ""),
                tuple(str(x) for x in labels) if isinstance(labels, list) else (),
            )
    return found
