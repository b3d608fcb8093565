"""The UI as a person uses it: a real `mlpipex server --auth` process on loopback, a seeded
registry, Debian's headless Chromium driven by Playwright. Each page is saved as a screenshot
under test-output/ui/ (gitignored) to be looked at."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from mlpipex.client import Client
from tests.conftest import start_server, stop_server
from tests.server.ui.conftest import PASSWORD, Seeded, seed

CHROMIUM = os.environ.get("MLPIPEX_TEST_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling out, which this network refuses.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUT = Path(os.environ.get("MLPIPEX_TEST_OUTPUT", Path(__file__).parents[3] / "test-output")) / "ui"

try:
    from playwright.sync_api import Browser, Page, expect, sync_playwright
except ImportError:  # pragma: no cover
    sync_playwright = None  # type: ignore[assignment]

missing = (
    "the playwright package is not installed"
    if sync_playwright is None
    else f"no Chromium at {CHROMIUM}"
    if not shutil.which(CHROMIUM)
    else None
)
# .ci/run installs both and sets this, so that a lost install step fails instead of skipping.
if missing and os.environ.get("MLPIPEX_REQUIRE_BROWSER") == "1":
    raise RuntimeError(f"browser tests cannot run: {missing}")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(missing is not None, reason=missing or ""),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        yield b
        b.close()


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Seeded]]:
    seeded = seed(tmp_path)
    proc, url = start_server(seeded.uri, seeded.objects, "--auth")
    yield url, seeded
    stop_server(proc)


def session(browser: Browser, url: str, user: str) -> Page:
    """A new browser session signed in as user through the login page."""
    page = browser.new_context(base_url=url, viewport={"width": 1360, "height": 900}).new_page()
    page.goto("/ui/models/fraud")
    expect(page).to_have_url(f"{url}/ui/login?next=%2Fui%2Fmodels%2Ffraud")
    page.fill("input[name=user]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/ui/models/fraud")
    return page


def shot(page: Page, name: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)


def test_every_page_shows_the_seeded_data(browser: Browser, site: tuple[str, Seeded]) -> None:
    url, seeded = site
    page = browser.new_context(base_url=url, viewport={"width": 1360, "height": 900}).new_page()
    page.goto("/ui/login")
    shot(page, "login")
    page.fill("input[name=user]", "ann")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator("p.error")).to_have_text("Wrong user name or password.")

    page = session(browser, url, "ann")
    expect(page.locator("header .user")).to_have_text("ann")

    page.goto("/")
    rows = page.locator("#models tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(1)).to_contain_text("fraud")
    expect(rows.nth(1)).to_contain_text("Card fraud <scorer>")
    expect(rows.nth(1)).to_contain_text("@champion")
    expect(rows.nth(1)).to_contain_text("Staging")
    shot(page, "models")

    page.goto("/ui/models/fraud")
    expect(page.locator("#versions tbody tr")).to_have_count(3)
    expect(page.locator("#versions tbody tr").first).to_contain_text("auc 0.93")
    expect(page.locator("#pending")).to_contain_text("beats v1")
    expect(page.locator("#pending button", has_text="Approve")).to_have_count(1)
    expect(page.locator("#history")).to_contain_text("first candidate")
    expect(page.locator("#policy pre")).to_contain_text("role: approver")
    shot(page, "model")

    page.goto("/ui/models/fraud/versions/2")
    expect(page.locator("#lineage")).to_contain_text("deeper")
    expect(page.locator("#lineage")).to_contain_text("fraud-training")
    expect(page.locator("#files")).to_contain_text("weights.bin")
    expect(page.locator("#events")).to_contain_text("transition_requested")
    shot(page, "version")

    page.goto(f"/ui/experiments/{seeded.experiment_id}")
    expect(page.locator("table.runs tbody tr")).to_have_count(2)
    shot(page, "experiment")
    page.goto("/ui/experiments")
    expect(page.locator("main")).to_contain_text("fraud-training")
    shot(page, "experiments")

    page.goto(f"/ui/runs/{seeded.runs['deeper']}")
    expect(page.locator("#params")).to_contain_text("depth")
    expect(page.locator("#charts svg")).to_have_count(2)
    expect(page.locator("#artifacts")).to_contain_text("model/deeper.bin")
    shot(page, "run")

    # compare: tick both runs in the experiment's table
    page.goto(f"/ui/experiments/{seeded.experiment_id}")
    page.locator("input[name=runs]").nth(0).check()
    page.locator("input[name=runs]").nth(1).check()
    page.click("button:has-text('Compare')")
    expect(page.locator("table.compare tr.differs")).to_contain_text("depth")
    expect(page.locator("#charts polyline")).to_have_count(4)
    shot(page, "compare")

    page.goto("/ui/audit")
    expect(page.locator("#chain-status")).to_contain_text("Hash chain verified")  # by htmx
    page.select_option("select[name=kind]", "transition_done")
    page.click("form.filters button")
    expect(page.locator("table.events tbody tr")).to_have_count(1)
    page.goto("/ui/audit")
    expect(page.locator("#chain-status")).to_be_visible()
    shot(page, "audit")

    page.goto("/ui/endpoints")  # none applied yet
    expect(page.locator("main")).to_contain_text("No endpoints yet")
    shot(page, "endpoints")

    page.goto("/ui/models/nope")
    expect(page.locator("p.error")).to_contain_text("does not exist")
    shot(page, "error")


def test_search_box_filters_as_you_type(browser: Browser, site: tuple[str, Seeded]) -> None:
    url, _ = site
    page = session(browser, url, "vic")
    page.goto("/")
    expect(page.locator("#models tbody tr")).to_have_count(2)
    page.locator("input[name=q]").press_sequentially("chu", delay=30)
    expect(page.locator("#models tbody tr")).to_have_count(1)
    expect(page.locator("#models")).to_contain_text("churn")
    expect(page).to_have_url(f"{url}/?q=chu")
    page.locator("input[name=q]").fill("")
    page.locator("input[name=q]").press("Backspace")
    expect(page.locator("#models tbody tr")).to_have_count(2)


def test_approving_by_click_completes_the_transition(
    browser: Browser, site: tuple[str, Seeded]
) -> None:
    url, seeded = site
    page = session(browser, url, "ann")
    page.fill("#pending input[name=comment]", "looks good")
    page.click("#pending button:has-text('Approve')")
    expect(page).to_have_url(f"{url}/ui/models/fraud")
    expect(page.locator("#pending")).to_contain_text("None.")
    expect(page.locator("#history tbody tr").first).to_contain_text("Production")
    expect(page.locator("#history tbody tr").first).to_contain_text("approved by ann")
    shot(page, "model-after-approval")
    with Client(seeded.uri, objects=seeded.objects) as c:
        assert c.get_version("fraud/2").stage == "Production"


def test_viewer_has_no_approve_button_and_is_refused(
    browser: Browser, site: tuple[str, Seeded]
) -> None:
    url, seeded = site
    page = session(browser, url, "vic")
    expect(page.locator("#pending")).to_contain_text("beats v1")
    expect(page.locator("#pending button")).to_have_count(0)
    expect(page.locator("#pending")).to_contain_text("needs the approver role")
    token = page.locator("header input[name=csrf]").get_attribute("value")
    assert token
    # The same form post a button would send, from this page's session, with a valid token.
    r = page.request.post(
        "/ui/models/fraud/versions/2/approve",
        form={"csrf": token, "to_stage": "Production", "comment": "sneaky"},
        max_redirects=0,
    )
    assert r.status == 403 and "lacks the approver role" in r.text()
    with Client(seeded.uri, objects=seeded.objects) as c:
        assert c.get_version("fraud/2").stage == "None"
    page.click("header button:has-text('Sign out')")
    expect(page).to_have_url(f"{url}/ui/login")


def test_the_workspace_switcher_shows_each_workspace_its_own_models(
    browser: Browser, tmp_path: Path
) -> None:
    seeded = seed(tmp_path)
    with Client(seeded.uri, objects=seeded.objects, user="root") as root:
        root.create_workspace("risk-team")
    with Client(seeded.uri, objects=seeded.objects, user="root", workspace="risk-team") as c:
        c.create_model("risk-scorer", description="only in risk-team")
    proc, url = start_server(seeded.uri, seeded.objects, "--auth", "--enable-workspaces")
    try:
        page = session(browser, url, "ann")
        page.goto("/")
        expect(page.locator("header form.workspace select")).to_have_value("default")
        expect(page.locator("#models")).to_contain_text("fraud")
        page.select_option("header form.workspace select", "risk-team")
        page.click("header form.workspace button")
        expect(page).to_have_url(f"{url}/")
        expect(page.locator("header form.workspace select")).to_have_value("risk-team")
        expect(page.locator("#models tbody tr")).to_have_count(1)
        expect(page.locator("#models")).to_contain_text("risk-scorer")
        expect(page.locator("#models")).not_to_contain_text("fraud")
        shot(page, "workspace-switched")
        page.goto("/ui/models/fraud")  # fraud lives in default only
        expect(page.locator("main")).to_contain_text("does not exist")
        page.select_option("header form.workspace select", "default")
        page.click("header form.workspace button")
        expect(page.locator("#models")).to_contain_text("fraud")
    finally:
        stop_server(proc)
