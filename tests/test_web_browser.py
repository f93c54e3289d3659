"""The console in a real browser: Playwright driving Debian's /usr/bin/chromium (installed
by `make system-deps`; no browser is downloaded) against the real daemon (`ingestd run`)
serving on a loopback port. Any request that does not go to that server fails the test.
A screenshot of each main page at 1366×768 is kept under test-artifacts/screenshots/."""

from __future__ import annotations

from contextlib import contextmanager
import hashlib
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from ingestd.media.synthetic import ClipSpec, make_clip
from tests.conftest import copy_clip, make_dock
from tests.test_daemon import _free_port, wait_for

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
NEW_PASSWORD = "dock office 2026"

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")


def first_log_in(page, base: str, first_password: str) -> None:
    """The first admin signs in with the one-time password and must set a new one."""
    page.fill("input[name=badge]", "admin")
    page.fill("input[name=password]", first_password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/password")
    page.fill("input[name=current_password]", first_password)
    page.fill("input[name=new_password]", NEW_PASSWORD)
    page.fill("input[name=repeat_password]", NEW_PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


@contextmanager
def signed_in_console(dock, language: str, ready=None):
    """`ingestd run` serving the console on a loopback port in `language`, and a 1366×768
    page of headless Chromium signed in as the first admin; stopped afterwards. `ready`, if
    given, is waited for before the browser starts (a derivative the page will play)."""
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.skip("chromium is installed by `make system-deps`")
    port = _free_port()
    env = dict(dock.env, INGESTD_WEB__ENABLED="true", INGESTD_WEB__PORT=str(port), INGESTD_WEB__LANGUAGE=language,
               INGESTD_METRICS__ENABLED="false")
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    SHOTS.mkdir(parents=True, exist_ok=True)

    def answering() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", port)) == 0

    try:
        wait_for(answering, timeout=60, step=0.2)
        if ready is not None:
            wait_for(ready, timeout=120, step=0.3)
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            page = browser.new_context(viewport={"width": 1366, "height": 768}, locale=language).new_page()
            page.goto(f"{base}/login")
            first_log_in(page, base, dock.first_admin_password)
            yield page, base
            browser.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def arrive(camera: Path, inbox: Path) -> None:
    """A camera's whole folder appears in the inbox at once (one rename), as one dock: files
    copied in one by one may each settle before the next arrives on a loaded machine."""
    inbox.mkdir(parents=True, exist_ok=True)
    os.rename(camera, inbox / camera.name)


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

        page.goto(f"{base}/login")
        page.screenshot(path=str(SHOTS / "login.png"))
        first_log_in(page, base, dock.first_admin_password)
        page.screenshot(path=str(SHOTS / "dashboard.png"))

        # The live stream's opening, as htmx's SSE extension announces it, rather than a pause.
        page.add_init_script("document.addEventListener('htmx:sseOpen', () => { window.__sseOpen = true; }, true)")
        page.goto(f"{base}/dock")
        page.wait_for_selector("#docks .idle")
        page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded
        page.wait_for_function("window.__sseOpen === true")
        long_clip = make_clip(dock.root / "long.mp4", ClipSpec(seconds=35, width=320, height=240))
        staged = dock.root / "staged" / "CAM-WEB-1"
        copy_clip(clips["h264"], staged / "20261120_083000.mp4")
        copy_clip(long_clip, staged / "20261120_090000.mp4")
        arrive(staged, dock.settings.data_dir / "inbox")
        page.wait_for_selector("article.camera.released", timeout=60_000)
        text = page.inner_text("#docks")
        assert "CAM-WEB-1" in text and "可以拔出" in text
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
        assert "登录" in page.inner_text("table.audit")  # web.login, by its name

        page.click("header button[type=submit]")  # log out
        page.wait_for_url(f"{base}/login")
        page.goto(f"{base}/audit")
        assert page.url.startswith(f"{base}/login")
        browser.close()
    assert strays == [], strays
    assert console_errors == [], console_errors  # a CSP violation would show here


def test_a_day_at_the_console_explain_at_the_dock_approve_export_and_report(console, tmp_path):
    """The officer explains a gap at the dock with badge + PIN; another team's officer asks to
    see a recording and the team head approves; 法制科 enters 证明对象, exports the case and
    downloads its ISO, then downloads the report in every format. Every main page is kept as
    a screenshot."""
    from playwright.sync_api import sync_playwright

    from ingestd.db.models import Officer
    from ingestd.users import add_user, set_pin

    dock, base = console
    SHOTS.mkdir(parents=True, exist_ok=True)
    app = dock.app()
    try:
        for badge, name, role, team in (("O1", "张三", "officer", "一中队"), ("O2", "李四", "officer", "二中队"),
                                        ("H1", "王队长", "team_head", "一中队"), ("L1", "赵法制", "legal", None),
                                        ("A1", "钱信息", "admin", None)):
            add_user(app, badge, name, role, team, None, None, "admin", NEW_PASSWORD)
        set_pin(app, "O1", "246810", "admin")
        with app.changes.begin("admin") as ch:  # as a roster import would bring them
            for badge, team in (("O1", "一中队"), ("O2", "二中队")):
                ch.session.add(Officer(badge=badge, name=badge, team=team, updated_at=app.clock.now()))
                ch.record("officer.added", "officer", badge, team=team)
    finally:
        app.close()
    staged = tmp_path / "staged" / "CAM-WEB-2"
    make_clip(staged / "DCIM" / "20261120_083000.mp4", ClipSpec(seconds=2, tone_hz=300))
    make_clip(staged / "DCIM" / "20261120_083500.mp4", ClipSpec(seconds=6, tone_from_s=3, tone_hz=500))
    arrive(staged, dock.settings.data_dir / "inbox")
    wait_for(lambda: dock.cli_json("devices", "list") and dock.cli_json("devices", "list")[0]["state"] == "released",
             timeout=120, step=0.5)
    dock.cli("devices", "owner", "CAM-WEB-2", "O1", "--by", "admin")
    wait_for(lambda: any(g["status"] == "open" and g.get("officer") == "O1" for g in dock.cli_json("gaps", "list"))
             if dock.cli_json("gaps", "list") else False, timeout=120, step=0.5)
    after_id = next(r["id"] for r in dock.cli_json("recordings", "list") if r["original_name"].endswith("083500.mp4"))
    wait_for(lambda: (dock.settings.data_dir / "derivatives" / after_id[:2] / after_id / "proxy" / "proxy.mp4")
             .is_file(), timeout=120, step=0.5)

    strays: list[str] = []
    console_errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])

        def person(badge: str | None):
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN",
                                          accept_downloads=True)
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base + "/")
                          else (strays.append(route.request.url), route.abort()))
            page = context.new_page()
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
            if badge:
                page.goto(f"{base}/login")
                page.fill("input[name=badge]", badge)
                page.fill("input[name=password]", NEW_PASSWORD)
                page.click("main button[type=submit]")
                page.wait_for_url(f"{base}/")
            return page

        # At the dock: badge + PIN, the gap, the clip after it, "I said it here", saved.
        officer = person(None)
        officer.goto(f"{base}/dock/signin")
        officer.fill("input[name=badge]", "O1")
        officer.fill("input[name=pin]", "246810")
        officer.click(".keypad button[type=submit]")
        officer.wait_for_url(f"{base}/dock/explain")
        officer.wait_for_function("() => { const v = document.getElementById('player');"
                                  " return v && v.readyState >= 2; }", timeout=30_000)
        officer.click("label.tile:has(input[value=low_battery])")
        officer.click("#play")  # played, then moved to where the officer spoke
        officer.wait_for_function("() => { const p = document.getElementById('player').played;"
                                  " return p.length > 0 && p.end(0) - p.start(0) > 0.2; }", timeout=30_000)
        officer.evaluate("document.getElementById('player').pause()")
        officer.evaluate("document.getElementById('player').currentTime = 3.5")
        officer.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 3.5) < 0.3")
        officer.screenshot(path=str(SHOTS / "gap.png"))
        officer.click("#said_and_save")
        officer.wait_for_load_state()
        assert "saved=1" in officer.url, officer.inner_text("main")  # a refusal would stay, and say why
        assert "全部说明完毕，可以离开" in officer.inner_text("main")
        [gap] = [g for g in dock.cli_json("gaps", "list") if g.get("officer") == "O1"]
        assert gap["status"] == "explained" and abs(gap["voice_at_s"] - 3.5) < 0.3, gap

        # Another team's officer asks; the team head approves; now the recording plays.
        other = person("O2")
        before = len(console_errors)
        assert other.goto(f"{base}/recordings/{after_id}").status == 403
        other.wait_for_selector("textarea[name=purpose]")
        assert all("403" in e for e in console_errors[before:])  # the browser notes the refusal; nothing else
        del console_errors[before:]
        other.fill("textarea[name=purpose]", "复核二中队案件")
        other.click("main button[type=submit]")
        other.wait_for_url(f"{base}/access")
        head = person("H1")
        head.goto(f"{base}/access")
        head.screenshot(path=str(SHOTS / "access.png"))
        with head.expect_navigation():
            head.click("form.decide button[value=approve]")
        assert "已批准" in head.inner_text("main")
        head.goto(f"{base}/")
        head.screenshot(path=str(SHOTS / "dashboard-team-head.png"))
        other.goto(f"{base}/recordings/{after_id}")
        other.wait_for_function("() => { const v = document.getElementById('player');"
                                " return v && v.readyState >= 2; }", timeout=30_000)

        # 法制科: 证明对象 and the case, the export in the background, the ISO downloaded.
        legal = person("L1")
        legal.goto(f"{base}/recordings/{after_id}")
        legal.fill("textarea[name=proves]", "当事人拒绝检查的经过")
        legal.fill("input[name=case_no]", "2026-行-021")
        legal.click("form[action$='/evidence'] button[type=submit]")
        legal.wait_for_url(f"**/recordings/{after_id}#evidence")
        legal.screenshot(path=str(SHOTS / "recording-evidence.png"), full_page=True)
        legal.goto(f"{base}/cases")
        legal.screenshot(path=str(SHOTS / "cases.png"))
        legal.click("text=2026-行-021")
        legal.select_option("select[name=disc]", "cd")
        legal.click("form[action$='/export'] button[type=submit]")
        legal.wait_for_url("**/exports/*")
        legal.wait_for_selector("a[download]", timeout=120_000)  # the page follows the job without a reload
        legal.screenshot(path=str(SHOTS / "export.png"))
        with legal.expect_download() as got:
            legal.click("a[download]")
        iso = tmp_path / "case.iso"
        got.value.save_as(iso)
        assert iso.read_bytes()[32769:32774] == b"CD001"
        legal.goto(f"{base}/cases/2026-行-021")
        legal.screenshot(path=str(SHOTS / "case.png"))

        legal.goto(f"{base}/report?start=2026-11-01&end=2026-11-30")
        legal.screenshot(path=str(SHOTS / "report.png"))
        for fmt, magic in (("html", b"<!doctype"), ("pdf", b"%PDF"), ("xlsx", b"PK"), ("csv", b"\xef\xbb\xbf"),
                           ("json", b"{")):
            with legal.expect_download() as got:
                legal.click(f"a[href^='/report/download?fmt={fmt}&']")
            path = tmp_path / f"report.{fmt}"
            got.value.save_as(path)
            assert path.read_bytes()[:len(magic)].lower() == magic.lower(), fmt

        admin = person("A1")
        for name in ("devices", "roster", "alerts", "retention", "holds", "incidents"):
            admin.goto(f"{base}/{name}")
            assert admin.url == f"{base}/{name}"
            admin.screenshot(path=str(SHOTS / f"{name}.png"))
        browser.close()
    assert strays == [], strays
    assert console_errors == [], console_errors
