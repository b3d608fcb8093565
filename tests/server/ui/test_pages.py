"""The UI's pages in-process: each shows what the registry holds, escaped, paginated; forms need
a CSRF token; errors are HTML pages; signing in and out with --auth."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mlpipex.client import Client
from mlpipex.domain.models import FRAMEWORK_TAG
from mlpipex.service.context import Actor
from mlpipex.service.deploy import endpoints, rollout
from tests.conftest import statements_sent
from tests.server.ui.conftest import PASSWORD, Seeded, bulk_versions

App = Callable[..., TestClient]
CSRF = re.compile(r'name="csrf" value="([0-9a-f]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def stage_of(seeded: Seeded, version: int) -> str:
    with Client(seeded.uri, objects=seeded.objects) as c:
        return c.get_version(f"fraud/{version}").stage


@pytest.fixture
def ui(seeded: Seeded, make_app: App) -> TestClient:
    return make_app()


def test_models_page_lists_models_stages_aliases(ui: TestClient) -> None:
    r = ui.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert 'href="/ui/models/fraud"' in html and 'href="/ui/models/churn"' in html
    assert "@champion" in html and "Staging" in html
    assert "Card fraud &lt;scorer&gt;" in html and "<scorer>" not in html
    assert '<script src="/static/htmx.min.js"' in html


def test_search_box_gets_the_table_alone(ui: TestClient) -> None:
    r = ui.get("/", params={"q": "chu"}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and "<table" in r.text
    assert "churn" in r.text and "/ui/models/fraud" not in r.text
    assert "No model matches" in ui.get("/", params={"q": "zzz"}).text


def test_model_page(ui: TestClient) -> None:
    html = ui.get("/ui/models/fraud").text
    versions = html.split('id="versions"')[1].split("</section>")[0]
    assert [int(v) for v in re.findall(r"/ui/models/fraud/versions/(\d+)\"", versions)] == [3, 2, 1]
    assert "auc" in versions and "bbbbbbbbbb" in versions and "train" in versions
    pending = html.split('id="pending"')[1].split("</section>")[0]
    assert "beats v1" in pending and "Production" in pending and "alice" in pending
    assert "Approve" in pending  # auth off: the anonymous user has every right
    history = html.split('id="history"')[1].split("</section>")[0]
    assert "first candidate" in history
    policy = html.split('id="policy"')[1]
    assert "approvals:" in policy and "Production:" in policy and "role: approver" in policy


def test_approval_needs_the_csrf_token(ui: TestClient, seeded: Seeded) -> None:
    token = csrf_of(ui.get("/ui/models/fraud").text)
    url = "/ui/models/fraud/versions/2/approve"
    r = ui.post(url, data={"to_stage": "Production", "csrf": "0" * 64})
    assert r.status_code == 403 and "CSRF" in r.text and "<html" in r.text
    r = ui.post(
        url,
        data={"to_stage": "Production", "csrf": token},
        headers={"Sec-Fetch-Site": "cross-site"},
    )
    assert r.status_code == 403
    assert stage_of(seeded, 2) == "None"
    r = ui.post(url, data={"to_stage": "Production", "csrf": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/models/fraud"
    assert stage_of(seeded, 2) == "Production"
    html = ui.get("/ui/models/fraud").text
    assert "Approve" not in html.split('id="pending"')[1].split("</section>")[0]


def test_version_page(ui: TestClient, seeded: Seeded) -> None:
    html = ui.get("/ui/models/fraud/versions/1").text
    assert "weights.bin" in html and "13 B" in html
    lineage = html.split('id="lineage"')[1].split("</section>")[0]
    assert "train" in lineage and "baseline" in lineage and "fraud-training" in lineage
    assert f"/ui/runs/{seeded.runs['baseline']}" in lineage
    assert "None → Staging" in lineage and "not deployed" in lineage
    events = html.split('id="events"')[1]
    assert "version_registered" in events and "transition_done" in events


def test_version_page_names_the_framework(ui: TestClient, seeded: Seeded) -> None:
    with Client(seeded.uri, objects=seeded.objects, actor=Actor("root")) as admin:
        admin.set_version_tag("fraud", 1, FRAMEWORK_TAG, "xgboost 3.2.0")
    html = ui.get("/ui/models/fraud/versions/1").text
    flavor = html.split("<dt>flavor</dt>")[1].split("</dd>")[0]
    assert "xgboost 3.2.0" in flavor


def test_run_page_charts_metric_history(ui: TestClient, seeded: Seeded) -> None:
    html = ui.get(f"/ui/runs/{seeded.runs['deeper']}").text
    assert "deeper" in html and "FINISHED" in html and "train.py" in html
    assert re.search(r"<th>depth</th><td>8</td>", html)
    charts = html.split('id="charts"')[1].split("</section>")[0]
    assert charts.count("<svg") == 2 and 'aria-label="auc"' in charts
    assert charts.count("<polyline") == 2 and ">step<" in charts
    assert "model/deeper.bin" in html


def test_experiments_and_runs_table(ui: TestClient, seeded: Seeded) -> None:
    assert "fraud-training" in ui.get("/ui/experiments").text
    html = ui.get(f"/ui/experiments/{seeded.experiment_id}").text
    assert "baseline" in html and "deeper" in html
    header = html.split("<thead>")[1].split("</thead>")[0]
    assert ">depth<" in header and ">lr<" in header and ">auc<" in header and ">loss<" in header
    filtered = ui.get(
        f"/ui/experiments/{seeded.experiment_id}", params={"filter": "params.depth = '8'"}
    ).text
    assert "deeper" in filtered and ">baseline<" not in filtered


def test_compare_runs_side_by_side(ui: TestClient, seeded: Seeded) -> None:
    a, b = seeded.runs["baseline"], seeded.runs["deeper"]
    html = ui.get(f"/ui/compare?runs={a},{b}").text
    assert html.index(">baseline<") < html.index(">deeper<")
    assert re.search(r'<tr class="differs"><th>depth</th><td>4</td><td>8</td>', html)
    assert re.search(r"<tr ><th>lr</th>|<tr><th>lr</th>", html)
    assert html.count("<polyline") == 4  # auc and loss, one line per run
    same = ui.get("/ui/compare", params=[("runs", a), ("runs", b)]).text
    assert same.count("<polyline") == 4
    assert ui.get("/ui/compare").status_code == 400


def test_audit_page_filters_and_verifies(ui: TestClient) -> None:
    html = ui.get("/ui/audit").text
    assert 'hx-get="/ui/audit/verify"' in html
    assert "model_created" in html and "user_created" in html
    only = ui.get("/ui/audit", params={"kind": "transition_requested"}).text
    body = only.split("<tbody>")[1]
    assert "transition_requested" in body and "model_created" not in body
    by_root = ui.get("/ui/audit", params={"actor": "root"}).text.split("<tbody>")[1]
    assert "user_created" in by_root and "model_created" not in by_root
    churn = ui.get("/ui/audit", params={"model": "churn"}).text.split("<tbody>")[1]
    assert "churn" in churn and "/ui/models/fraud" not in churn
    chain = ui.get("/ui/audit/verify", headers={"HX-Request": "true"}).text
    assert "Hash chain verified: 13 events" in chain and "<html" not in chain
    assert "Hash chain verified" in ui.get("/ui/audit/verify").text  # without htmx: a page


def test_audit_pages_by_cursor(ui: TestClient, seeded: Seeded) -> None:
    with Client(seeded.uri, objects=seeded.objects, user="alice") as c:
        for i in range(60):
            c.set_model_tag("churn", f"k{i}", "v")
    for params in ({}, {"actor": "alice"}):
        first = ui.get("/ui/audit", params=params).text
        seqs = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', first)]
        assert len(seqs) == 50 and seqs == sorted(seqs, reverse=True)
        cursor = re.search(r"before=(\d+)\">Older events", first)
        assert cursor and int(cursor.group(1)) == seqs[-1]
        second = ui.get("/ui/audit", params={**params, "before": cursor.group(1)}).text
        more = [int(s) for s in re.findall(r'<td class="num">(\d+)</td>', second)]
        assert more and max(more) < seqs[-1]


def test_versions_paginate(ui: TestClient, seeded: Seeded) -> None:
    bulk_versions(seeded.uri, seeded.objects, "fraud", 120)  # versions 4 to 123
    html = ui.get("/ui/models/fraud").text.split('id="versions"')[1]
    shown = [
        int(v)
        for v in re.findall(r'<td class="ver"><a href="/ui/models/fraud/versions/(\d+)"', html)
    ]
    assert shown[:50] == list(range(123, 73, -1))
    nxt = re.search(r'before=(\d+)">Older versions', html)
    assert nxt and nxt.group(1) == "74"
    page2 = ui.get("/ui/models/fraud", params={"before": "74"}).text.split('id="versions"')[1]
    shown2 = [
        int(v)
        for v in re.findall(r'<td class="ver"><a href="/ui/models/fraud/versions/(\d+)"', page2)
    ]
    assert shown2[:50] == list(range(73, 23, -1))
    staged = ui.get("/ui/models/fraud", params={"stage": "staging"}).text
    assert "Older versions" not in staged


def seed_endpoint(seeded: Seeded) -> None:
    """fraud-api follows Staging (v1); v3 then enters Staging and its canary passes its first
    step on reported traffic, so the rollout is under way at 25%."""
    with Client(
        seeded.uri, objects=seeded.objects, actor=Actor("alice", frozenset({"editor"}))
    ) as c:
        c.apply_endpoint(
            {
                "name": "fraud-api",
                "model": "fraud",
                "follow": "Staging",
                "rollout": {"steps": [5, 25, 100], "interval": "30s"},
            }
        )
        c.promote("fraud", 3, "Staging")
        reg, start = c.registry, c.registry.clock()
        for offset in (1_000, 11_000):  # two 10 s buckets of the endpoint's charts
            reg.clock = lambda t=start + offset: t
            counters = {"requests": 60, "errors": 0, "latency_ms_buckets": [0, 0, 60]}
            versions = {"1": counters, "3": counters}
            endpoints.report(
                reg, {"agent": "a1", "endpoints": {"fraud-api": {"versions": versions}}}
            )
        reg.clock = lambda: start + 31_000
        assert rollout.advance(reg) == 1


def test_endpoints_page_lists_the_endpoints(ui: TestClient, seeded: Seeded) -> None:
    assert "No endpoints yet" in ui.get("/ui/endpoints").text
    assert ui.get("/ui/endpoints/fraud-api").status_code == 404
    seed_endpoint(seeded)
    html = ui.get("/ui/endpoints").text
    assert 'href="/ui/endpoints/fraud-api"' in html and "No endpoints yet" not in html


def test_endpoint_page_shows_the_rollout_under_way(ui: TestClient, seeded: Seeded) -> None:
    seed_endpoint(seeded)
    html = ui.get("/ui/endpoints/fraud-api").text
    assert "fraud:Staging" in html and "v1 · 75%" in html and "v3 · 25%" in html
    assert re.search(r"progressing: v1 100%\s+→ v3 100%", html)
    steps = html.split('class="steps"')[1].split("</ol>")[0]
    assert re.findall(r'class="step step-(\w+)"', steps) == ["passed", "progressing", "pending"]
    assert "p99_latency_ms" in steps and "error_rate" in steps and ">pass<" in steps
    # requests/s, error rate and latency (p50 and p99), one line per version
    assert html.count("<svg") == 3 and html.count("<polyline") == 2 + 2 + 4
    assert "No open drift alert" in html


def test_errors_are_html_pages(ui: TestClient) -> None:
    r = ui.get("/ui/models/nope")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "does not exist" in r.text
    r = ui.get("/ui/models/fraud/versions/abc")
    assert r.status_code == 400 and "<html" in r.text
    assert ui.get("/ui/nothing-here").status_code == 404
    assert ui.get("/api/v1/models/nope").json()["error"]["code"] == "NOT_FOUND"


def test_static_files_and_no_external_urls(ui: TestClient, seeded: Seeded) -> None:
    assert ui.get("/static/ui.css").headers["content-type"].startswith("text/css")
    assert ui.get("/static/htmx.min.js").status_code == 200
    assert ui.get("/static/..%2Fmodels.py").status_code == 404
    pages = [
        "/",
        "/ui/models/fraud",
        "/ui/models/fraud/versions/1",
        "/ui/experiments",
        f"/ui/runs/{seeded.runs['baseline']}",
        "/ui/audit",
        "/ui/endpoints",
        "/ui/login",
    ]
    for page in pages:
        html = ui.get(page).text
        assert not re.search(r"(src|href|action)=\"(https?:)?//", html), page


# -- with --auth ---------------------------------------------------------------------------


def sign_in(c: TestClient, user: str, password: str = PASSWORD) -> Any:
    token = csrf_of(c.get("/ui/login").text)
    return c.post(
        "/ui/login",
        data={"user": user, "password": password, "csrf": token, "next": "/ui/models/fraud"},
        follow_redirects=False,
    )


def test_auth_sends_browsers_to_sign_in(seeded: Seeded, make_app: App) -> None:
    c = make_app(auth=True)
    r = c.get("/ui/models/fraud", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login?next=%2Fui%2Fmodels%2Ffraud"
    assert "www-authenticate" not in r.headers  # no password prompt: the page signs in
    assert c.get("/api/v1/models").status_code == 401  # the API still answers 401
    r = sign_in(c, "ann", "wrong-password")
    assert r.status_code == 401 and "Wrong user name or password" in r.text
    r = sign_in(c, "ann")
    assert r.status_code == 303 and r.headers["location"] == "/ui/models/fraud"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("mlpipex_token="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=43200" in cookie
    html = c.get("/ui/models/fraud").text
    assert ">ann<" in html and "Sign out" in html and "Approve" in html


def test_login_needs_csrf_and_stays_local(seeded: Seeded, make_app: App) -> None:
    c = make_app(auth=True)
    c.get("/ui/login")
    r = c.post("/ui/login", data={"user": "ann", "password": PASSWORD}, follow_redirects=False)
    assert r.status_code == 403
    token = csrf_of(c.get("/ui/login").text)
    r = c.post(
        "/ui/login",
        data={"user": "ann", "password": PASSWORD, "csrf": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    for target in ("/\t/evil.example", "/\\evil.example", "https://evil.example/", "/ok?x=1"):
        token = csrf_of(c.get("/ui/login").text)  # each sign-in starts a new CSRF secret
        r = c.post(
            "/ui/login",
            data={"user": "ann", "password": PASSWORD, "csrf": token, "next": target},
            follow_redirects=False,
        )
        assert r.headers["location"] == (target if target == "/ok?x=1" else "/"), target


def test_viewer_sees_no_approve_button_and_gets_403(seeded: Seeded, make_app: App) -> None:
    c = make_app(auth=True)
    assert sign_in(c, "vic").status_code == 303
    html = c.get("/ui/models/fraud").text
    assert "Approve" not in html and "needs the approver role" in html
    r = c.post(
        "/ui/models/fraud/versions/2/approve",
        data={"to_stage": "Production", "csrf": csrf_of(html)},
    )
    assert r.status_code == 403 and "lacks the approver role" in r.text
    assert stage_of(seeded, 2) == "None"


def test_requester_cannot_approve_own_request(seeded: Seeded, make_app: App) -> None:
    c = make_app(auth=True)
    sign_in(c, "root")  # an admin, but alice asked: root may approve
    assert "Approve" in c.get("/ui/models/fraud").text
    c2 = make_app(auth=True)
    sign_in(c2, "alice")
    html = c2.get("/ui/models/fraud").text
    assert "Approve" not in html and "your request" in html


def test_sign_out_revokes_the_session_token(seeded: Seeded, make_app: App, tmp_path: Path) -> None:
    c = make_app(auth=True)
    sign_in(c, "ann")
    html = c.get("/ui/models/fraud").text
    r = c.post("/ui/logout", data={"csrf": csrf_of(html)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/ui/login"
    with Client(seeded.uri, objects=seeded.objects) as admin:
        tokens = [t for t in admin.list_tokens("ann") if t.name == "ui session"]
    assert len(tokens) == 1 and tokens[0].revoked_at is not None
    assert tokens[0].expires_at is not None
    assert tokens[0].expires_at - tokens[0].created_at == 12 * 3600 * 1000


@pytest.fixture
def team_ui(seeded: Seeded, make_app: App) -> TestClient:
    """The UI of a server with workspaces on, and a workspace risk-team beside default."""
    with Client(seeded.uri, objects=seeded.objects, user="root") as root:
        root.create_workspace("risk-team")
    return make_app(enable_workspaces=True)


def test_the_workspace_switcher_refuses_strangers_and_forgets_a_stale_choice(
    team_ui: TestClient,
) -> None:
    ui = team_ui
    html = ui.get("/").text
    assert '<option value="risk-team"' in html
    token = csrf_of(html)
    r = ui.post("/ui/workspace", data={"workspace": "nowhere", "csrf": token})
    assert r.status_code == 404 and "does not exist" in r.text
    r = ui.post("/ui/workspace", data={"workspace": "risk-team", "csrf": "0" * 64})
    assert r.status_code == 403
    r = ui.post(
        "/ui/workspace", data={"workspace": "risk-team", "csrf": token}, follow_redirects=False
    )
    assert r.status_code == 303 and "mlpipex_workspace=risk-team" in r.headers["set-cookie"]
    assert "fraud" not in ui.get("/").text.split('id="models"')[1]
    ui.cookies.set("mlpipex_workspace", "deleted-team")
    assert "fraud" in ui.get("/").text.split('id="models"')[1]  # back to default


def test_the_sign_in_page_names_no_workspace(seeded: Seeded, make_app: App) -> None:
    with Client(seeded.uri, objects=seeded.objects, user="root") as root:
        root.create_workspace("secret-team")
    html = make_app(auth=True, enable_workspaces=True).get("/ui/login").text
    assert "secret-team" not in html and "workspace" not in html.lower()


def test_the_switcher_lists_workspaces_once_and_only_where_it_is_shown(
    team_ui: TestClient, make_app: App
) -> None:
    ui = team_ui
    engine = ui.app.state.mlpipex.store.engine  # type: ignore[attr-defined]

    def listings(path: str, **kw: Any) -> tuple[int, str]:
        with statements_sent(engine) as sent:
            r = ui.get(path, **kw)
        # the switcher's read: every workspace (the caller may enter), by name
        return len([s for s in sent if "FROM workspaces ORDER BY" in s]), r.text

    n, html = listings("/")
    assert n == 1 and '<option value="risk-team"' in html
    n, html = listings("/", params={"q": "fr"}, headers={"HX-Request": "true"})
    assert n == 0 and "<table" in html and "workspace" not in html  # a fragment: no header
    signed_out = make_app(auth=True, enable_workspaces=True)
    engine = signed_out.app.state.mlpipex.store.engine  # type: ignore[attr-defined]
    with statements_sent(engine) as sent:
        assert "risk-team" not in signed_out.get("/ui/login").text
    assert not [s for s in sent if "FROM workspaces ORDER BY" in s]


def test_a_workspace_name_past_the_bound_is_refused_as_any_bad_name(make_app: App) -> None:
    ui = make_app(enable_workspaces=True)
    token = csrf_of(ui.get("/").text)
    for name in ("a" * 64, "a" * 500):
        r = ui.post("/ui/workspace", data={"workspace": name, "csrf": token})
        assert r.status_code == 400 and "2 to 63 lowercase letters" in r.text
    ok = ui.post("/ui/workspace", data={"workspace": "default", "csrf": token})
    assert ok.status_code == 200
