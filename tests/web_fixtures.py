"""The console's test fixtures (a pytest plugin, so that the state built once per session is
built once whichever test module asks for it): the people of every role, a client that logs
in, and two docked recordings of two teams with their derivatives."""

from __future__ import annotations

import os
from contextlib import contextmanager
import re
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from ingestd.clock import FixedClock
from ingestd.users import add_user
from ingestd.web.server import create_app
from tests.cli_runner import run_ingestd
from tests.conftest import copy_clip, copy_dock, make_dock

PASSWORD = "correct horse 42"
PEOPLE = {"officer": "O1", "team_head": "H1", "legal": "L1", "admin": "A1", "auditor": "D1"}
START = datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)


def _people(app) -> None:
    for role, badge in PEOPLE.items():
        add_user(app, badge, f"{role} person", role, "一中队", None, None, "admin", PASSWORD)


@pytest.fixture
def web(tmp_path):
    dock = make_dock(tmp_path)
    clock = FixedClock(START)
    app = dock.app(clock)
    _people(app)
    yield app, clock
    app.close()


def client(app) -> TestClient:
    return TestClient(create_app(app), follow_redirects=False)


def log_in(c: TestClient, badge: str, password: str = PASSWORD, next_path: str = "/"):
    c.get("/login")
    return c.post("/login", data={"badge": badge, "password": password, "next": next_path,
                                  "csrf_token": c.cookies.get("ingestd_login_csrf")})


def csrf_of(c: TestClient, path: str = "/") -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', c.get(path).text).group(1)


def cli(app, *args: str) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")},
           "INGESTD_DATA_DIR": str(app.settings.data_dir), "INGESTD_DOCK_NAME": "test-dock",
           "INGESTD_LOG_LEVEL": "WARNING"}
    got = run_ingestd(args, env)
    if got.returncode:
        raise AssertionError(f"ingestd {' '.join(args)} exited {got.returncode}: {got.stderr}")


def officers(app, clock) -> None:
    """O2 of 二中队 besides the fixture's people, and the officers a roster import would bring."""
    from ingestd.db.models import Officer

    add_user(app, "O2", "二中队员", "officer", "二中队", None, None, "admin", PASSWORD)
    with app.changes.begin("admin") as ch:
        for badge, team in (("O1", "一中队"), ("O2", "二中队")):
            ch.session.add(Officer(badge=badge, name=badge, team=team, updated_at=clock.now()))
            ch.record("officer.added", "officer", badge, team=team)


@pytest.fixture(scope="session")
def recorded_once(tmp_path_factory, clips):
    """Two recordings, one of O1 (一中队) and one of O2 (二中队), with their proxies, HLS and
    thumbnails: docked once for the session."""
    root = tmp_path_factory.mktemp("recorded")
    dock = make_dock(root)
    clock = FixedClock(START)
    app = dock.app(clock)
    try:
        _people(app)
        officers(app, clock)
        for serial, clip, owner in (("CAM-1", "h264", "O1"), ("CAM-2", "h264_b", "O2")):
            folder = copy_clip(clips[clip], root / serial / "20261120_083000.mp4").parent
            cli(app, "ingest", str(folder), "--device", serial)
            cli(app, "devices", "owner", serial, owner, "--by", "admin")
        cli(app, "jobs", "work", "--until-idle", "--derivatives")
        from ingestd.db.models import Device, Recording

        with app.db.reading() as s:
            ids = {serial: rec.id for rec, serial in
                   s.execute(select(Recording, Device.serial).join(Device, Device.id == Recording.device_id))}
    finally:
        app.close()
    return dock, ids


@pytest.fixture
def recorded(tmp_path, recorded_once):
    """A copy of the docked state of its own for each test, on a clock of its own."""
    dock, ids = recorded_once
    app = copy_dock(dock, tmp_path).app(FixedClock(START))
    yield app, ids
    app.close()


@contextmanager
def served(app, language: str):
    """The console of `app`'s data in `language`, served in this process on a loopback port of its
    own and on `app`'s clock (so the test moves time without sleeping): yields its base address."""
    from ingestd.app import App
    from ingestd.web.server import WebServer
    from tests.test_daemon import _free_port

    settings = app.settings.model_copy(update={"web": app.settings.web.model_copy(
        update={"language": language, "port": _free_port()})})
    face = App.open(settings, app.clock)
    server = WebServer(face, host="127.0.0.1", port=settings.web.port)
    assert server.start()
    try:
        yield f"http://127.0.0.1:{settings.web.port}"
    finally:
        server.stop()
        face.close()


def sign_in(page, base: str, badge: str, password: str = PASSWORD) -> None:
    """A Playwright page signs in on the console's log-in page and lands on the dashboard."""
    page.goto(f"{base}/login")
    page.fill("input[name=badge]", badge)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/")


def axe_problems(page) -> list[str]:
    """axe-core's serious, moderate and critical findings on the page as it is now."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}" for v in found
            if v["impact"] in ("serious", "moderate", "critical")]


def shot(page, name: str, full: bool = False) -> list[str]:
    """A screenshot for people to read (test-artifacts/screenshots), and axe's findings on it."""
    from tests.test_web_browser import SHOTS

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full)
    return [f"{name}: {v}" for v in axe_problems(page)]
