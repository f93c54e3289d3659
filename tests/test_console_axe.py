"""Every console page in headless Chromium at 1366×768, in both languages, as the admin (who
opens them all) with something on each (tests/test_console_language.py's state): screenshotted
and checked with axe-core, no serious, moderate or critical violation, and nothing logged as an
error by the page (a Content-Security-Policy refusal would be)."""

from __future__ import annotations

import pytest

from tests.test_console_language import PAGES, _state
from tests.test_web_browser import CHROMIUM
from tests.web_fixtures import served, shot, sign_in

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")


def only_to(base: str, strays: list[str]):
    """A route handler letting through requests to the console only (Playwright passes the
    route alone to a one-parameter handler)."""
    def handle(route):
        if route.request.url.startswith(base + "/"):
            route.continue_()
        else:
            strays.append(route.request.url)
            route.abort()
    return handle


def test_every_console_page_passes_axe_in_both_languages(recorded):
    from playwright.sync_api import sync_playwright

    app, ids = recorded
    gap = _state(app, ids)
    problems, strays, errors = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        for language in ("zh-CN", "en"):
            with served(app, language) as base:
                context = browser.new_context(viewport={"width": 1366, "height": 768}, locale=language)
                context.route("**/*", only_to(base, strays))
                page = context.new_page()
                page.on("console", lambda m: errors.append(f"{page.url}: {m.text}") if m.type == "error" else None)
                page.goto(f"{base}/login")
                problems += shot(page, f"page-login-{language}")
                sign_in(page, base, "A1")
                for path in PAGES:
                    answer = page.goto(base + path.format(rec=ids["CAM-1"], gap=gap))
                    assert answer.status == 200, path
                    name = path.strip("/").replace("/", "-").replace("?", "-").replace("=", "") or "dashboard"
                    if "{rec}" in path:
                        name = "recordings-one"
                    problems += shot(page, f"page-{name}-{language}")
                context.close()
        browser.close()
    assert strays == [] and problems == [] and errors == [], (strays, problems, errors)  # a CSP refusal is one
