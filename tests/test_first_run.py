"""The first run of a dock installed by its package: `ingestd init --no-first-admin` makes no
account and prints no password; until the installer sets the first administrator on the
dock's own screen, that screen shows the first-run form and every other address a plain
"being set up" page (with /healthz still answering); once set, the form is gone for good."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ingestd.app import initialise
from ingestd.clock import FixedClock
from ingestd.config import Settings
from ingestd.db.models import AuditEvent, User
from ingestd.errors import Refused
from ingestd.users import needs_first_admin, set_up_first_admin
from ingestd.web.server import create_app
from tests.test_web_browser import CHROMIUM
from tests.web_fixtures import START, served, shot

PASSWORD = "a long pass phrase 7"


@pytest.fixture
def fresh(tmp_path):
    """A dock set up as the package sets it up: no administrator."""
    settings = Settings(data_dir=tmp_path / "var", dock_name="test-dock")
    made = initialise(settings, first_admin=False)
    assert made["first_admin"] is None
    from ingestd.app import App

    app = App.open(settings, FixedClock(START))
    yield app
    app.close()


def _form(c: TestClient, **fields: str):
    page = c.get("/setup")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return c.post("/setup", data={"csrf_token": token, **fields})


def test_init_without_a_first_admin_prints_no_password(tmp_path):
    from tests.conftest import make_dock

    dock = make_dock(tmp_path / "other")  # for its environment only
    env = {**dock.env, "INGESTD_DATA_DIR": str(tmp_path / "pkg")}
    from tests.cli_runner import run_ingestd

    got = run_ingestd(["init", "--no-first-admin"], env)
    assert got.returncode == 0 and "password" not in got.stdout.lower()
    listed = run_ingestd(["users", "list", "--json"], env)
    assert listed.stdout.strip() == "[]"


def test_other_addresses_are_told_the_dock_is_being_set_up(fresh):
    c = TestClient(create_app(fresh), follow_redirects=False)
    for path in ("/", "/login", "/dock", "/recordings", "/setup"):
        got = c.get(path)
        assert got.status_code == 503 and "采集站正在设置" in got.text, path
        assert "<form" not in got.text
    assert c.post("/setup", data={"badge": "x"}).status_code == 503
    assert c.get("/healthz").headers["content-type"].startswith("application/json")
    assert needs_first_admin(fresh)


def test_the_docks_own_screen_sets_the_first_admin_once(fresh):
    fresh.settings.web.kiosk_addresses.append("testclient")  # TestClient's address: the dock's screen
    c = TestClient(create_app(fresh), follow_redirects=False, headers={"accept": "text/html"})
    assert c.get("/").headers["location"] == "/setup"
    assert c.get("/dock").headers["location"] == "/setup"
    assert c.get("/favicon.ico", headers={"accept": "image/*"}).status_code == 503  # never a second form
    form = c.get("/setup")
    assert form.status_code == 200 and "首次设置" in form.text

    differ = _form(c, badge="xxzx01", name="王五", new_password=PASSWORD, repeat_password=PASSWORD + "!")
    assert differ.status_code == 400 and "两次输入的新密码不一致" in differ.text and 'value="王五"' in differ.text
    short = _form(c, badge="xxzx01", name="王五", new_password="short", repeat_password="short")
    assert short.status_code == 400 and "too short" in short.text
    no_token = c.post("/setup", data={"badge": "xxzx01", "name": "王五", "new_password": PASSWORD,
                                      "repeat_password": PASSWORD, "csrf_token": "forged"})
    assert no_token.status_code == 403
    assert needs_first_admin(fresh)

    done = _form(c, badge="xxzx01", name="王五", new_password=PASSWORD, repeat_password=PASSWORD)
    assert done.status_code == 303 and done.headers["location"] == "/login"
    with fresh.db.reading() as s:
        user = s.get(User, "xxzx01")
        audited = s.execute(select(AuditEvent.actor, AuditEvent.detail).where(
            AuditEvent.action == "user.added")).all()
    assert user.role == "admin" and not user.password_temporary and user.password_hash != PASSWORD
    assert [a for a, _ in audited] == ["ingestd"] and "dock's own screen" in audited[0][1]
    assert PASSWORD not in audited[0][1]
    # Set up: the form is gone, the console is as usual.
    assert c.get("/setup").headers["location"] == "/login"
    again = c.post("/setup", data={"badge": "evil", "name": "x", "new_password": PASSWORD,
                                   "repeat_password": PASSWORD})
    assert again.headers["location"] == "/login"
    assert c.get("/dock").status_code == 200
    with pytest.raises(Refused) as got:
        set_up_first_admin(fresh, "evil", "x", PASSWORD)
    assert got.value.finding.code == "first_admin_exists"
    # Every admin disabled later: the dock's screen does not offer the form again.
    with fresh.changes.begin("ingestd") as ch:
        ch.session.get(User, "xxzx01").disabled = True
        ch.record("user.disabled", "user", "xxzx01")
    assert not needs_first_admin(fresh)
    assert TestClient(create_app(fresh), follow_redirects=False).get("/setup").headers["location"] == "/login"


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_first_run_form_in_the_browser(fresh, language, monkeypatch):
    from playwright.sync_api import sync_playwright

    problems = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale=language)
        monkeypatch.setattr(fresh.settings.web, "kiosk_addresses", [])
        with served(fresh, language) as base:  # an office PC, before the setup
            page.goto(f"{base}/")
            problems += shot(page, f"setting-up-{language}")
            assert ("采集站正在设置" if language == "zh-CN" else "This dock is being set up") in page.inner_text("main")
        monkeypatch.setattr(fresh.settings.web, "kiosk_addresses", ["127.0.0.1", "::1"])
        with served(fresh, language) as base:
            page.goto(f"{base}/dock")  # what the kiosk opens at power-on
            page.wait_for_url(f"{base}/setup")
            problems += shot(page, f"first-run-{language}")
            page.fill("input[name=badge]", "xxzx01")
            page.fill("input[name=name]", "王五")
            page.fill("input[name=new_password]", PASSWORD)
            page.fill("input[name=repeat_password]", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state()
            assert page.url == f"{base}/login", page.inner_text("main")
        browser.close()
    assert problems == []
