"""Pages of the registry: the models, one model's versions and transitions, one version."""

from __future__ import annotations

from urllib.parse import quote

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mlpipex.domain import events as ev
from mlpipex.domain.bounds import VersionNumber
from mlpipex.domain.models import TransitionRequest
from mlpipex.domain.policy import Policy
from mlpipex.domain.refs import VersionRef
from mlpipex.server.deps import ActorDep, RegistryDep
from mlpipex.server.ui import csrf, render
from mlpipex.service.context import Actor
from mlpipex.service.events import audit
from mlpipex.service.registry import lineage, models, promote, versions

router = APIRouter(include_in_schema=False)

MODELS_PAGE = 50
VERSIONS_PAGE = 50
HISTORY = 50


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    reg: RegistryDep,
    q: str = Query("", max_length=200),
    after: str | None = Query(None, max_length=256),
) -> HTMLResponse:
    found = models.list_models(reg, q.strip() or None, MODELS_PAGE, after)
    stages = {
        name: sorted(by_stage.items(), key=lambda kv: _stage_order(kv[0]))
        for name, by_stage in models.stage_summary(reg, [m.name for m in found.items]).items()
    }
    # The search box asks for the table alone (htmx); a plain GET gets the whole page.
    template = "_models_table.html" if request.headers.get("hx-request") else "models.html"
    return render.page(
        request, template, models=found.items, stages=stages, next=found.next_token, q=q
    )


def _stage_order(stage: str) -> tuple[int, str]:
    """Serving stages first, the archive last, custom stages between."""
    rank = {"production": 0, "staging": 1, "archived": 3}
    return rank.get(stage.lower(), 2), stage


def can_approve(who: Actor, policy: Policy, req: TransitionRequest) -> bool:
    """What the service's approve() would allow, so that the button shows only when it works."""
    rule = policy.approval_rule(req.to_stage)
    role = rule.role if rule else "approver"
    if not who.can(role, req.model):
        return False
    if req.requested_by == who.name and not policy.self_approval:
        return False
    return all(a.actor != who.name for a in req.approvals)


@router.get("/ui/models/{name}", response_class=HTMLResponse)
def model_page(
    request: Request,
    reg: RegistryDep,
    who: ActorDep,
    name: str,
    before: str | None = Query(None, max_length=20),
    stage: str | None = Query(None, max_length=64),
) -> HTMLResponse:
    model = models.get_model(reg, name)
    listed = versions.list_versions(reg, name, VERSIONS_PAGE, before, stage or None)
    policy = models.effective_policy(reg, name)
    pending = promote.requests(reg, name)
    history = audit.list_events(
        reg, name, kind=ev.TRANSITION_DONE, limit=HISTORY, newest_first=True
    )
    return render.page(
        request,
        "model.html",
        model=model,
        versions=listed.items,
        next=listed.next_token,
        stage=stage or "",
        stages=policy.stages,
        pending=[
            (r, can_approve(who, policy, r), policy.approval_rule(r.to_stage)) for r in pending
        ],
        history=history,
        policy_yaml=yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False),
        custom_policy=model.policy is not None,
    )


@router.post("/ui/models/{name}/versions/{version}/approve")
async def approve(
    request: Request, reg: RegistryDep, name: str, version: VersionNumber
) -> RedirectResponse:
    form = await csrf.checked_form(request)
    promote.approve(reg, name, version, form.get("to_stage", ""), form.get("comment", "")[:4096])
    return RedirectResponse(f"/ui/models/{quote(name, safe='')}", status_code=303)


@router.get("/ui/models/{name}/versions/{version}", response_class=HTMLResponse)
def version_page(
    request: Request, reg: RegistryDep, name: str, version: VersionNumber
) -> HTMLResponse:
    v = versions.get_version(reg, VersionRef(name, version=version))
    lin = lineage.lineage(reg, name, version)
    events = audit.list_events(reg, name, version, limit=200, newest_first=True)
    return render.page(request, "version.html", v=v, lineage=lin, events=events)
