"""What a browser session may do beyond the UI's own forms, and the headers every page carries."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from mlpipex.client import Client
from tests.server.ui.conftest import Seeded
from tests.server.ui.test_pages import sign_in

App = Callable[..., TestClient]


def test_the_session_cookie_reads_the_api_but_never_writes_through_it(
    seeded: Seeded, make_app: App
) -> None:
    c = make_app(auth=True)
    assert sign_in(c, "root").status_code == 303  # an admin's session cookie is now held
    assert c.get("/api/v1/models/fraud").status_code == 200
    moves = [
        ("POST", "/api/2.0/mlflow/registered-models/alias", {"name": "fraud", "alias": "champion"}),
        ("PUT", "/api/v1/models/fraud/aliases/champion", {}),
    ]
    for method, path, body in moves:
        r = c.request(method, path, json={**body, "version": 2})
        assert r.status_code == 401, (path, r.text)
    with Client(seeded.uri, objects=seeded.objects) as admin:
        assert admin.get_version("fraud@champion").version == 1


def test_pages_forbid_framing_sniffing_and_foreign_scripts(seeded: Seeded, make_app: App) -> None:
    c = make_app(auth=True)
    sign_in(c, "vic")
    for path in ("/", "/ui/models/fraud", "/ui/login", "/ui/models/none-such", "/api/v1/models"):
        r = c.get(path)
        assert r.headers["x-frame-options"] == "DENY", path
        assert r.headers["x-content-type-options"] == "nosniff", path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path


def test_every_ui_form_needs_its_csrf_token(seeded: Seeded, make_app: App) -> None:
    from fastapi.routing import APIRoute

    from mlpipex.server.ui import ui_modules

    c = make_app(auth=True)
    sign_in(c, "root")
    routes = [r for m in ui_modules() for r in m.router.routes]
    forms = [r.path for r in routes if isinstance(r, APIRoute) and r.methods - {"GET", "HEAD"}]
    assert len(forms) >= 3
    for path in forms:
        url = path.replace("{name}", "fraud").replace("{version}", "2")
        r = c.post(url, data={"to_stage": "Production"}, follow_redirects=False)
        assert r.status_code == 403 and "CSRF" in r.text, (path, r.status_code)
