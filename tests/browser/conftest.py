"""Browser journeys: the test app served on a loopback port, driven by Debian's Chromium.

The server runs in a thread of the test process, on the same app and database as the other
tests, so the ``build`` fixture prepares data and the database is emptied after each test.
Every page a journey reaches goes through ``check_page``: axe-core (WCAG 2.1 A and AA) and the
checks axe cannot make.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

HERE = Path(__file__).resolve().parent
AXE = HERE / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("PASSERELLE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# `make screenshots` sets this: every checked page is also photographed at both widths.
SCREENSHOTS = os.environ.get("PASSERELLE_SCREENSHOTS")
SIZES = ({"width": 1280, "height": 800}, {"width": 768, "height": 1024})


def pytest_collection_modifyitems(config, items):
    for item in items:
        if str(item.fspath).startswith(str(HERE)):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def live_server(app):
    """The app on 127.0.0.1:<free port>, threaded like a real server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make browser-deps` (apt install "
                    "chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, live_server):
    return {**browser_context_args, "base_url": live_server, "locale": "fr-FR",
            "viewport": {"width": 1280, "height": 800}}


AXE_PATH = "/__tests__/axe.min.js"


@pytest.fixture
def page(page, live_server):
    """Playwright's page, with axe-core served from the app's own origin (the pages' Content
    Security Policy allows same-origin scripts only, and stays on during the tests)."""
    page.set_default_timeout(10_000)
    serve_axe(page, live_server)
    yield page


def serve_axe(page, base_url: str) -> None:
    """axe-core answered at ``AXE_PATH`` of the app's origin, for this page."""
    source = _axe_source()  # here, not in the route handler, where a failure would just hang
    page.route(f"{base_url}{AXE_PATH}", lambda route: route.fulfill(
        status=200, content_type="text/javascript", body=source))


@pytest.fixture(scope="session")
def titles_seen() -> dict:
    """Page titles met by the journeys, per path: a title must name one page only."""
    return {}


def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"axe-core missing at {AXE}: run `make browser-deps` (npm ci)")
    return AXE.read_text(encoding="utf-8")


def check_page(page, titles_seen: dict | None = None) -> None:
    """axe-core with the WCAG 2.1 A/AA rules finds nothing, and the page has a meaningful title,
    one h1, a language, and every invalid field tied to its error message."""
    page.wait_for_load_state("load")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(url=AXE_PATH)
    result = page.evaluate(
        "async (tags) => { const r = await axe.run(document, {runOnly: {type: 'tag', values: tags}});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))})); }", WCAG)
    assert result == [], f"axe on {page.url}: {result}"
    title = page.title()
    assert title.endswith(" — Passerelle") and len(title) > len(" — Passerelle") + 3, title
    assert page.locator("h1").count() == 1, f"{page.url}: {page.locator('h1').count()} h1"
    assert page.get_attribute("html", "lang") in ("fr", "en")
    for field in page.locator("[aria-invalid=true]").all():
        described = (field.get_attribute("aria-describedby") or "").split()
        assert any(page.locator(f"#{d}.error-message").count() for d in described), \
            f"{page.url}: invalid field {field.get_attribute('id')} without its error message"
    if SCREENSHOTS:
        _screenshots(page, _route_shape(urlsplit(page.url).path))
    if titles_seen is not None and not title.startswith(("Erreur", "Error")):
        shape = _route_shape(urlsplit(page.url).path)
        shapes = titles_seen.setdefault(title, set())
        shapes.add(shape)
        assert len(shapes) == 1, f"the title {title!r} names several pages: {sorted(shapes)}"


def _screenshots(page, shape: str) -> None:
    """``docs/screenshots/<route>-<width>.png``; the desk screen and the tablet."""
    folder = Path(SCREENSHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^a-z0-9]+", "-", shape.lower()).strip("-") or "home"
    # The same page differs by role (a partner's orientation is not a coordinator's).
    role = page.locator(".site-header .who .role")
    if role.count():
        name = f"{_slug(role.inner_text())}--{name}"
    if page.get_attribute("html", "lang") == "en":
        name += "-en"
    before = page.viewport_size
    try:
        for size in SIZES:
            page.set_viewport_size(size)
            page.screenshot(path=str(folder / f"{name}-{size['width']}.png"), full_page=True,
                            animations="disabled")
    finally:
        page.set_viewport_size(before)


def _slug(text: str) -> str:
    import unicodedata

    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _route_shape(path: str) -> str:
    """/persons/3f2…/visits/new → /persons/<id>/visits/new: one route, whatever the ids."""
    return re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/<id>", path)


@pytest.fixture
def checked(titles_seen):
    """``checked(page)``: run the page checks and remember its title."""
    return lambda page: check_page(page, titles_seen)


def login(page, user, password: str | None = None) -> None:
    page.goto("/login")
    page.get_by_label("Adresse électronique").fill(user.email)
    page.get_by_label("Mot de passe").fill(password or user.password)
    with page.expect_navigation():
        page.get_by_role("button", name="Se connecter").click()


def logout(page) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name="Se déconnecter").click()
