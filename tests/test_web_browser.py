"""The console in a real browser: Playwright driving Debian's /usr/bin/chromium (installed
by `make system-deps`; no browser is downloaded) against the real daemon (`ingestd run`)
serving on a loopback port. Any request that does not go to that server fails the test.
A screenshot of each main page at 1366×768 is kept under test-artifacts/screenshots/."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingestd.media.synthetic import ClipSpec, make_clip
from tests.conftest import copy_clip, make_dock
from tests.test_daemon import _free_port, wait_for

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
NEW_PASSWORD = "dock office 2026"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")


@pytest.fixture
def console(tmp_path):
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    port = _free_port()
    env = dict(dock.env, INGESTD_WEB__ENABLED="true", INGESTD_WEB__PORT=str(port), INGESTD_DAEMON__QUIET_S="0.3",
               INGESTD_METRICS__ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        import urllib.request

        try:
            return urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200
        except OSError:
            return False

    try:
        wait_for(up, timeout=60, step=0.2)
        yield dock, base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_first_log_in_then_the_dock_screen_follows_a_dock_live(console, clips):
    from playwright.sync_api import sync_playwright

    dock, base = console
    SHOTS.mkdir(parents=True, exist_ok=True)
    strays: list[str] = []
    console_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")

        def only_ours(route):
            if route.request.url.startswith(base + "/"):
                route.continue_()
            else:
                strays.append(route.request.url)
                route.abort()

        context.route("**/*", only_ours)
        page = context.new_page()
        page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)

        page.goto(f"{base}/dock")
        assert page.url.startswith(f"{base}/login")
        page.screenshot(path=str(SHOTS / "login.png"))
        page.fill("input[name=badge]", "admin")
        page.fill("input[name=password]", dock.first_admin_password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/password")
        page.fill("input[name=current_password]", dock.first_admin_password)
        page.fill("input[name=new_password]", NEW_PASSWORD)
        page.fill("input[name=repeat_password]", NEW_PASSWORD)
        page.click("main button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.screenshot(path=str(SHOTS / "dashboard.png"))

        page.goto(f"{base}/dock")
        page.wait_for_selector("#docks .idle")
        page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
        time.sleep(1.0)  # the event stream is open (its first event replaces the panel)
        inbox = dock.settings.data_dir / "inbox"
        long_clip = make_clip(dock.root / "long.mp4", ClipSpec(seconds=35, width=320, height=240))
        copy_clip(clips["h264"], inbox / "CAM-WEB-1" / "20261120_083000.mp4")
        copy_clip(long_clip, inbox / "CAM-WEB-1" / "20261120_090000.mp4")
        page.wait_for_selector("article.camera.released", timeout=60_000)
        text = page.inner_text("#docks")
        assert "CAM-WEB-1" in text and "可以拔出" in text and "2/2" in text
        assert page.evaluate("window.__sameDocument === true"), "the dock screen reloaded instead of updating"
        page.screenshot(path=str(SHOTS / "dock.png"))

        # The player: the proxy made by the daemon's media workers, opened at ?t=30 (a deep
        # link), playable (readyState >= 2) and at 30 s; then → moves it 5 s on.
        rec_id = hashlib.sha256(long_clip.read_bytes()).hexdigest()
        wait_for(lambda: (dock.settings.data_dir / "derivatives" / rec_id[:2] / rec_id / "proxy" / "proxy.mp4").is_file(),
                 timeout=120, step=0.5)
        page.goto(f"{base}/recordings")
        page.screenshot(path=str(SHOTS / "recordings.png"))
        page.goto(f"{base}/recordings/{rec_id}?t=30")
        page.wait_for_function("() => { const v = document.getElementById('player');"
                               " return v && v.readyState >= 2 && Math.abs(v.currentTime - 30) < 0.5; }", timeout=30_000)
        page.keyboard.press("ArrowRight")
        page.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 35) < 0.6")
        page.screenshot(path=str(SHOTS / "recording.png"))

        for name in ("users", "audit"):
            page.goto(f"{base}/{name}")
            page.screenshot(path=str(SHOTS / f"{name}.png"))
        assert "web.login" in page.inner_text("table.audit")

        page.click("header button[type=submit]")  # log out
        page.wait_for_url(f"{base}/login")
        page.goto(f"{base}/dock")
        assert page.url.startswith(f"{base}/login")
        browser.close()
    assert strays == [], strays
    assert console_errors == [], console_errors  # a CSP violation would show here
