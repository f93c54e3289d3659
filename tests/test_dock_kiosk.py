"""The dock screen as the officer meets it, in headless Chromium: a kiosk that needs no log-in
and never expires (left 40 minutes on the console's injected clock it still shows a camera
docked then), one card per camera with what comes next, and the officer's 说明 of four
interruptions (one of them a recording cut off by damage, explained in writing together with
its damaged file's 书面说明) counted in actions. Every page is screenshotted at the sizes of
the dock's panels, in Chinese and English, and checked with axe-core (no serious or moderate
violation). The console runs in this process on the test's clock (`WebServer`), so the clock
moves without a sleep."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingestd.afterdock import ingest, set_owner
from ingestd.app import App
from ingestd.db.models import Gap, Incident, Officer
from ingestd.media.synthetic import ClipSpec, make_clip
from ingestd.users import add_user, set_pin
from ingestd.web.server import WebServer
from tests.conftest import make_dock
from tests.test_daemon import _free_port
from tests.test_web_browser import CHROMIUM
from tests.web_fixtures import cli, shot

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`"),
              pytest.mark.xdist_group("kiosk")]  # one dock built for the module, on one worker

PIN = "246810"
PANELS = {"1280x800": (1280, 800), "1366x768": (1366, 768), "1920x1080": (1920, 1080)}


class MovingClock:
    """The real time, moved on by the test: the dock copies in real time, and the test jumps
    forty minutes without waiting them."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


def _camera(root: Path, serial: str) -> Path:
    """Three interruptions between clips (the clips after them have speech-like tone at 3 s),
    then, an hour later, a recording cut off by damage: four items for the officer."""
    folder = root / serial
    make_clip(folder / "DCIM" / "20261120_083000.mp4", ClipSpec(seconds=2, tone_hz=300))
    for minute, tone in (("35", 500), ("40", 600), ("45", 700)):  # each its own bytes
        make_clip(folder / "DCIM" / f"20261120_08{minute}00.mp4", ClipSpec(seconds=6, tone_from_s=3, tone_hz=tone))
    damaged = make_clip(root / "whole.mp4", ClipSpec(seconds=6, tone_hz=400))
    data = damaged.read_bytes()
    (folder / "DCIM" / "20261120_093000.mp4").write_bytes(data[: len(data) // 2])  # the battery died mid-file
    return folder


@pytest.fixture(scope="module")
def kiosk(tmp_path_factory):
    root = tmp_path_factory.mktemp("kiosk")
    dock = make_dock(root)
    clock = MovingClock()
    app = App.open(dock.settings, clock)
    add_user(app, "O1", "张三", "officer", "一中队", None, None, "admin", "correct horse 42")
    set_pin(app, "O1", PIN, "admin")
    with app.changes.begin("admin") as ch:  # as a roster import would bring him
        ch.session.add(Officer(badge="O1", name="张三", team="一中队", updated_at=clock.now()))
        ch.record("officer.added", "officer", "O1", team="一中队")
    ingest(app, [_camera(root, "CAM-K1")], None, "CAM-K1")
    set_owner(app, "CAM-K1", "O1", "admin")
    cli(app, "jobs", "work", "--until-idle", "--derivatives")
    servers = {}
    try:
        for language in ("zh-CN", "en"):
            settings = dock.settings.model_copy(update={"web": dock.settings.web.model_copy(
                update={"language": language, "port": _free_port()})})
            face = app if language == "zh-CN" else App.open(settings, clock)
            server = WebServer(face, host="127.0.0.1", port=settings.web.port)
            assert server.start()
            servers[language] = (server, f"http://127.0.0.1:{settings.web.port}", face)
        yield dock, app, clock, {k: v[1] for k, v in servers.items()}, root
    finally:
        for server, _base, face in servers.values():
            server.stop()
            if face is not app:
                face.close()
        app.close()


def _browser(pw):
    return pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                              args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])


def _page(browser, base: str, size: str, language: str, strays: list, errors: list):
    width, height = PANELS[size]
    context = browser.new_context(viewport={"width": width, "height": height}, locale=language)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base + "/")
                  else (strays.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" and "400" not in m.text else None)
    return page


def _fits(page) -> bool:
    """Nothing below the fold: the page does not scroll."""
    return page.evaluate("document.scrollingElement.scrollHeight <= window.innerHeight + 1")


def test_the_kiosk_needs_no_log_in_never_expires_and_says_when_its_connection_breaks(kiosk, tmp_path):
    from playwright.sync_api import sync_playwright

    dock, app, clock, bases, root = kiosk
    base = bases["zh-CN"]
    strays, errors, problems = [], [], []
    with sync_playwright() as pw:
        browser = _browser(pw)
        for size in PANELS:
            page = _page(browser, base, size, "zh-CN", strays, errors)
            page.goto(f"{base}/dock")
            card = page.wait_for_selector("article.camera.released")
            text = card.inner_text()
            assert "张三" in text and "可以拔出" in text and "4 处中断待说明" in text and "1 个文件损坏" in text, text
            assert page.query_selector("header nav") is None  # no menu on the kiosk
            sizes = page.evaluate("""() => ({state: parseFloat(getComputedStyle(document.querySelector('.camera .state')).fontSize),
                                            counts: parseFloat(getComputedStyle(document.querySelector('.camera .awaits')).fontSize)})""")
            if size == "1920x1080":  # reads at two metres: the status word and the counts grow with the panel
                assert sizes["state"] >= 56 and sizes["counts"] >= 28, sizes
            problems += shot(page, f"kiosk-dock-{size}")
            page.context.close()

        page = _page(browser, base, "1920x1080", "zh-CN", strays, errors)
        page.goto(f"{base}/dock")
        page.wait_for_selector("article.camera.released")
        page.evaluate("window.__sameDocument = true")
        time.sleep(1.0)  # the event stream is open
        # Forty minutes untouched: the released camera has gone from the screen, the stream of
        # half an hour has ended and been opened again (no session to expire), and a camera
        # docked now appears on the same page.
        clock.advance(timedelta(minutes=40))
        page.wait_for_selector("#docks .idle", timeout=30_000)
        folder = root / "CAM-K2"
        make_clip(folder / "DCIM" / "20261120_150000.mp4", ClipSpec(seconds=2))
        ingest(app, [folder], None, "CAM-K2", wait=False)
        page.wait_for_selector("article.camera:has-text('CAM-K2')", timeout=30_000)
        assert page.evaluate("window.__sameDocument === true"), "the dock screen reloaded instead of updating"
        assert len(page.query_selector_all("article.camera")) == 1

        # The live connection broken: said in big letters, and gone once it is back.
        page.context.route("**/dock/events", lambda route: route.abort())
        clock.advance(timedelta(minutes=31))  # the open stream ends; the next cannot connect
        page.wait_for_selector("#connection-lost:not([hidden])", timeout=30_000)
        problems += shot(page, "kiosk-dock-connection-lost")
        page.context.unroute("**/dock/events")
        page.wait_for_selector("#connection-lost[hidden]", state="attached", timeout=60_000)
        browser.close()
    assert strays == [], strays
    # A stream that ends (on time, or broken on purpose) is an error event of EventSource's, which
    # htmx logs, and the broken one a failed load: nothing else may be (a CSP violation would be).
    assert not [e for e in errors if e != "[object Event]" and "net::ERR_FAILED" not in e], errors
    assert problems == [], problems


def test_the_dock_screen_and_an_officer_s_steps_in_english(kiosk):
    """The same pages with `[web] language = "en"`: no Chinese of the frame leaks in (names and
    the reasons' own Chinese labels are the unit's words)."""
    from playwright.sync_api import sync_playwright

    dock, app, clock, bases, root = kiosk
    base = bases["en"]
    clock.offset = timedelta(0)
    strays, errors, problems = [], [], []
    with sync_playwright() as pw:
        browser = _browser(pw)
        page = _page(browser, base, "1280x800", "en", strays, errors)
        page.goto(f"{base}/dock")
        assert "4 interruption(s) to explain" in page.wait_for_selector("article.camera:has-text('CAM-K1')").inner_text()
        problems += shot(page, "kiosk-dock-en-1280x800")
        page.goto(f"{base}/dock/signin")
        problems += shot(page, "kiosk-signin-en-1280x800")
        page.fill("input[name=badge]", "O1")
        page.fill("input[name=pin]", PIN)
        page.click(".keypad button[type=submit]")
        page.wait_for_url(f"{base}/dock/explain")
        problems += shot(page, "kiosk-explain-en-1280x800")
        shown = page.inner_text("body")
        for word in ("中断", "说明", "保存", "可以拔出", "请输入", "返回"):
            assert word not in shown, (word, shown)
        browser.close()
    assert strays == [] and errors == [], (strays, errors)
    assert problems == [], problems


def test_an_officer_explains_four_interruptions_in_twelve_actions_and_the_dock_screen_returns(kiosk):
    from playwright.sync_api import sync_playwright

    dock, app, clock, bases, root = kiosk
    base = bases["zh-CN"]
    strays, errors, problems = [], [], []
    with sync_playwright() as pw:
        browser = _browser(pw)
        page = _page(browser, base, "1280x800", "zh-CN", strays, errors)
        clock.offset = timedelta(0)
        page.goto(f"{base}/dock")
        page.click("article.camera:has-text('CAM-K1') a.button.big")  # 说明
        page.wait_for_selector("text=张三，请输入 PIN")
        problems += shot(page, "kiosk-signin-1280x800")
        for digit in PIN:
            page.click(f".keypad button[data-key='{digit}']")
        page.click(".keypad button[type=submit]")
        page.wait_for_url(f"{base}/dock/explain")

        # A voice second no one marked is refused, in Chinese, and the reason picked stays.
        page.click("label.tile:has(input[value=low_battery])")
        page.click("#said_and_save")
        page.wait_for_selector("p.error")
        assert "未标记说明的位置" in page.inner_text("p.error")
        assert page.is_checked("input[value=low_battery]")
        problems += shot(page, "kiosk-explain-refused-1280x800")
        with app.db.reading() as s:
            assert all(g.status == "open" for g in s.query(Gap).all())

        page.goto(f"{base}/dock/explain")  # the officer's count starts on a fresh step
        actions = 0
        started = time.monotonic()
        voice_at: list[float] = []
        for n in range(1, 5):
            assert f"第 {n} 处，共 {5 - n} 处" in page.inner_text(".step-count") or n > 1
            assert _fits(page), f"step {n} scrolls at 1280×800"
            if n == 1:
                problems += shot(page, "kiosk-explain-1280x800")
                page.set_viewport_size({"width": 1366, "height": 768})
                assert _fits(page), "the step scrolls at 1366×768"
                problems += shot(page, "kiosk-explain-1366x768")
                page.set_viewport_size({"width": 1280, "height": 800})
            if page.query_selector("#player"):
                page.click("label.tile:has(input[value=low_battery])")
                page.click("#play")
                page.wait_for_function("() => document.getElementById('player').currentTime > 3.2", timeout=30_000)
                voice_at.append(page.evaluate("document.getElementById('player').currentTime"))
                page.click("#said_and_save")
                actions += 3
            else:
                assert "文件被截断" in page.inner_text("h1")
                problems += shot(page, "kiosk-explain-cut-off-1280x800")
                page.click("label.tile:has(input[value=low_battery])")
                page.fill("textarea[name=note]", "电池耗尽，记录仪关机")
                page.click("button[value=written]")
                actions += 3
            page.wait_for_load_state()
        page.wait_for_selector("text=全部说明完毕，可以离开")
        took = time.monotonic() - started
        problems += shot(page, "kiosk-done-1280x800")
        assert actions <= 12, actions
        print(f"\nofficer: 4 interruptions in {actions} actions, {took:.1f} s")
        page.click("button:has-text('完成')")
        page.wait_for_url(f"{base}/dock")
        assert page.query_selector("header form#leave") is None  # the PIN session has ended
        assert page.goto(f"{base}/dock/explain").url.startswith(f"{base}/login")
        browser.close()

    with app.db.reading() as s:
        gaps = s.query(Gap).filter(Gap.status != "superseded").order_by(Gap.start).all()
        assert [g.explanation for g in gaps] == ["voice", "voice", "voice", "written"]
        assert all(abs(g.voice_at_s - at) < 0.6 for g, at in zip(gaps, voice_at))
        [incident] = s.query(Incident).filter(Incident.code == "damaged_file").all()
        assert (incident.status, incident.explanation, incident.explained_by) == ("closed", "电池耗尽，记录仪关机", "O1")
    assert dock.cli_json("audit", "verify")["ok"]
    assert strays == [], strays
    assert errors == [], errors
    assert problems == [], problems
