from __future__ import annotations

from collections.abc import Callable

import pytest

from mlpipex.client import Client
from mlpipex.errors import Conflict, Forbidden, NotFound, PolicyViolation
from tests.conftest import Backend

POLICY = {
    "gates": {"staging": {"auc": ">= 0.7"}, "production": {"auc": ">= 0.8"}},
    "must_beat_current": "auc",
    "approvals": {"production": {"count": 2, "role": "approver"}},
}


def test_without_approvals_a_promotion_is_done_at_once(
    client: Client, make_version: Callable[..., int]
) -> None:
    make_version()
    r = client.promote("fraud", 1, "staging", "looks good")
    assert (r.status, r.version.stage) == ("done", "Staging")
    (done,) = client.events(kind="transition_done")
    assert (
        done.payload["from"] == "None"
        and done.payload["to"] == "Staging"
        and done.reason == "looks good"
    )


def test_failed_gates_are_all_named_and_recorded(
    client: Client, make_version: Callable[..., int]
) -> None:
    client.create_model(
        "fraud", policy={"gates": {"staging": {"auc": ">= 0.7", "recall": ">= 0.5"}}}
    )
    make_version(auc=0.6)
    with pytest.raises(PolicyViolation) as exc:
        client.promote("fraud", 1, "Staging")
    assert exc.value.reasons == [
        "metric gate auc >= 0.7: the version has auc = 0.6",
        "metric gate recall >= 0.5: the version has no metric 'recall'",
    ]
    assert client.get_version("fraud/1").stage == "None"
    (refused,) = client.events(kind="transition_refused")
    assert len(refused.payload["failed"]) == 2


def test_approvals_by_others_complete_the_transition(
    backend: Backend, make_version: Callable[..., int]
) -> None:
    alice, bob, carol = backend.client("alice"), backend.client("bob"), backend.client("carol")
    alice.create_model("fraud", policy=POLICY)
    make_version(auc=0.9)
    alice.promote("fraud", 1, "Staging")
    r = alice.promote("fraud", 1, "Production", "go")
    assert (r.status, r.approvals_missing) == ("pending", 2)
    again = alice.promote("fraud", 1, "Production")
    assert (
        again.status == "pending" and again.request is not None and again.request.id == r.request.id
    )  # type: ignore[union-attr]
    with pytest.raises(Forbidden, match="cannot approve"):
        alice.approve("fraud", 1, "Production")
    r = bob.approve("fraud", 1, "Production", "ok")
    assert (r.status, r.approvals_missing) == ("pending", 1)
    with pytest.raises(Conflict, match="already approved"):
        bob.approve("fraud", 1, "Production")
    r = carol.approve("fraud", 1, "Production")
    assert (r.status, r.version.stage) == ("done", "Production")
    assert [a.actor for a in r.request.approvals] == ["bob", "carol"]  # type: ignore[union-attr]
    assert alice.transition_requests("fraud") == []
    with pytest.raises(NotFound, match="no pending request"):
        carol.approve("fraud", 1, "Production")
    kinds = [e.kind for e in alice.events(model="fraud")]
    assert kinds[-4:] == [
        "transition_requested",
        "transition_approved",
        "transition_approved",
        "transition_done",
    ]
    for c in (alice, bob, carol):
        c.close()


def test_entering_production_archives_the_previous_version_and_must_beat_it(
    backend: Backend, client: Client, make_version: Callable[..., int]
) -> None:
    client.create_model("fraud", policy={"must_beat_current": "auc"})
    make_version(auc=0.9)
    make_version(auc=0.85)
    make_version(auc=0.95)
    client.promote("fraud", 1, "Production")
    with pytest.raises(PolicyViolation, match=r"does not beat version 1's 0\.9"):
        client.promote("fraud", 2, "Production")
    r = client.promote("fraud", 3, "Production")
    assert r.replaced == [1]
    assert client.get_version("fraud/1").stage == "Archived"
    assert client.get_version("fraud:production").version == 3


@pytest.mark.direct
def test_soak_time_in_staging_is_enforced(client: Client, make_version: Callable[..., int]) -> None:
    client.create_model("fraud", policy={"soak": {"production": "1h"}})
    make_version()
    client.promote("fraud", 1, "Staging")
    with pytest.raises(PolicyViolation, match="soak"):
        client.promote("fraud", 1, "Production")
    reg = client.registry
    real = reg.clock
    reg.clock = lambda: real() + 3_600_001
    assert client.promote("fraud", 1, "Production").status == "done"


def test_unknown_stage_same_stage_and_missing_version(
    client: Client, make_version: Callable[..., int]
) -> None:
    from mlpipex.errors import Invalid

    make_version()
    with pytest.raises(Invalid, match="unknown stage"):
        client.promote("fraud", 1, "prod")
    client.promote("fraud", 1, "Staging")
    with pytest.raises(Conflict, match="already in Staging"):
        client.promote("fraud", 1, "staging")
    with pytest.raises(NotFound, match="fraud/7"):
        client.promote("fraud", 7, "Staging")
    with pytest.raises(NotFound, match="'nope'"):
        client.promote("nope", 1, "Staging")


@pytest.mark.direct
def test_viewer_cannot_promote_and_editor_cannot_approve(
    backend: Backend, make_version: Callable[..., int]
) -> None:
    from mlpipex.service.context import Actor

    admin = backend.client("admin")
    admin.create_model("fraud", policy={"approvals": {"production": {"count": 1}}})
    make_version()
    viewer = Client(backend.uri, objects=backend.objects, actor=Actor("vic", frozenset({"viewer"})))
    with pytest.raises(Forbidden, match="editor"):
        viewer.promote("fraud", 1, "Staging")
    editor = Client(
        backend.uri,
        objects=backend.objects,
        actor=Actor("ed", frozenset({"viewer"}), {"fraud": frozenset({"editor"})}),
    )
    assert editor.promote("fraud", 1, "Production").status == "pending"
    other_editor = Client(
        backend.uri, objects=backend.objects, actor=Actor("eve", frozenset({"editor"}))
    )
    with pytest.raises(Forbidden, match="approver"):
        other_editor.approve("fraud", 1, "Production")
    approver = Client(
        backend.uri, objects=backend.objects, actor=Actor("ann", frozenset({"approver"}))
    )
    assert approver.approve("fraud", 1, "Production").status == "done"
    for c in (admin, viewer, editor, other_editor, approver):
        c.close()
