"""Only the unit's cameras: a USB stick is never mounted, a camera of a known family is taken
only once its serial is registered, and each refusal is kept, audited, alerted to the admins
and shown on the dock screen; an admin registers a waiting camera on the cameras page (a team
head cannot) or with `ingestd devices register`, and a camera still plugged in is then taken.

The daemon's USB path runs as in `ingestd run` from the moment udev hands a volume on; the
mount is a prepared folder (udisks2 needs a system bus this sandbox has not), and udev's side
is tested under umockdev in test_usb.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ingestd.camera_admission import awaiting_registration, refusals, register_camera
from ingestd.daemon import Daemon
from ingestd.db.models import Alert, AuditEvent, DockSession, UsbRefusal
from ingestd.db.states import UsbRefusalReason
from ingestd.device_profiles import load_profiles
from ingestd.errors import Refused
from ingestd.sources.usb import BlockDevice, Recognition
from tests.conftest import copy_clip
from tests.test_web_browser import CHROMIUM
from tests.web_fixtures import client, csrf_of, log_in, officers, served, shot, sign_in

PROFILES = load_profiles()
CAMERA = BlockDevice("/dev/sdb1", "2207", "0010", "DSJ0001A8", "DSJ", "vfat", "usb-0:2")
STICK = BlockDevice("/dev/sdc1", "0781", "5567", "4C530001", "KINGSTON", "vfat", "usb-0:3")
AS_CAMERA = Recognition(PROFILES["dahua-dsj"], "usb_id")


class PreparedVolume:
    """Stands in for udisks2: hands back a folder prepared as the camera's volume and records
    what was mounted, so a refused device is seen never to have been."""

    def __init__(self, root):
        self.root, self.mounted, self.unmounted = root, [], []

    def mount(self, node, name):
        self.mounted.append(node)
        return self.root

    def unmount(self, node, path):
        self.unmounted.append(node)


class StillPlugged:
    """udev's answer to "what is at this node now" (UsbSource.current, tested under umockdev)."""

    def __init__(self, *devices: BlockDevice):
        self.devices = {d.node: d for d in devices}

    def current(self, node):
        return self.devices.get(node)


@pytest.fixture
def dock_daemon(web, tmp_path, clips):
    app, clock = web
    officers(app, clock)
    volume = tmp_path / "volume"
    copy_clip(clips["h264"], volume / "2026-11-20/001/dav/08/08.30.00-08.30.02[R][0@0][0].mp4")
    daemon = Daemon(app)
    daemon.mounter = PreparedVolume(volume)
    daemon.usb = StillPlugged(CAMERA)
    yield app, clock, daemon
    daemon.pool.shutdown(wait=True)
    daemon.offloader.close()


def _settle(daemon) -> None:
    """Wait for what the daemon's pool was handed (admission, and the dock it leads to)."""
    for future in list(daemon.inflight):
        future.result(timeout=120)


def test_a_usb_stick_is_never_mounted_and_is_said_audited_and_alerted(dock_daemon):
    app, clock, daemon = dock_daemon
    for _ in range(2):  # plugged in twice: one row, counted; one alert a day
        daemon.submit_camera(STICK, None)
        _settle(daemon)
    assert daemon.mounter.mounted == []
    [row] = refusals(app)
    assert (row.reason, row.serial, row.usb_id, row.label, row.times) == (
        UsbRefusalReason.NOT_A_CAMERA, "4C530001", "0781:5567", "KINGSTON", 2)
    assert row.what == "4C530001 0781:5567 «KINGSTON»"
    with app.db.reading() as s:
        audited = s.execute(select(AuditEvent.action).where(AuditEvent.action == "usb.refused")).scalars().all()
        alerts = s.execute(select(Alert)).scalars().all()
        sessions = s.execute(select(DockSession)).scalars().all()
    assert len(audited) == 2 and sessions == []
    assert [(a.code, a.recipients) for a in alerts] == [("usb_not_a_camera", ["A1", "admin"])]  # every enabled admin
    assert "was not mounted and nothing was read" in alerts[0].message


def test_a_camera_waits_for_its_registration_and_is_then_taken_while_still_plugged_in(dock_daemon):
    app, clock, daemon = dock_daemon
    daemon.submit_camera(CAMERA, AS_CAMERA)
    _settle(daemon)
    assert daemon.mounter.mounted == []
    assert [v.serial for v in awaiting_registration(app)] == ["DSJ0001A8"]
    daemon.recheck_waiting()  # not registered yet: nothing happens, nothing is said again
    _settle(daemon)
    assert daemon.mounter.mounted == [] and refusals(app)[0].times == 1

    register_camera(app, "DSJ0001A8", "dahua-dsj", "O1", "A1")
    assert awaiting_registration(app) == []
    daemon.recheck_waiting()
    _settle(daemon)
    assert daemon.mounter.mounted == ["/dev/sdb1"] and daemon.mounter.unmounted == ["/dev/sdb1"]
    with app.db.reading() as s:
        [ds] = s.execute(select(DockSession)).scalars().all()
    assert ds.status == "released"
    assert daemon.waiting == {}

    # Plugged in again later: taken at once.
    daemon.submit_camera(CAMERA, AS_CAMERA)
    _settle(daemon)
    assert daemon.mounter.mounted == ["/dev/sdb1", "/dev/sdb1"]


def test_a_camera_unplugged_before_its_registration_is_forgotten_by_the_daemon(dock_daemon):
    app, clock, daemon = dock_daemon
    daemon.submit_camera(CAMERA, AS_CAMERA)
    _settle(daemon)
    daemon.usb = StillPlugged()  # unplugged
    register_camera(app, "DSJ0001A8", "dahua-dsj", None, "A1")
    daemon.recheck_waiting()
    _settle(daemon)
    assert daemon.mounter.mounted == [] and daemon.waiting == {}


def test_registration_is_refused_in_the_catalogues_words(web):
    app, clock = web
    officers(app, clock)
    register_camera(app, "DSJ0001A8", "dahua-dsj", None, "A1")
    for serial, profile, owner, code in (("DSJ0001A8", "dahua-dsj", None, "camera_already_registered"),
                                         ("", "dahua-dsj", None, "camera_serial_bad"),
                                         ("A\x1bB", "dahua-dsj", None, "camera_serial_bad"),
                                         ("X" * 129, "dahua-dsj", None, "camera_serial_bad"),
                                         ("DSJ0002", "nokia", None, "camera_profile_unknown"),
                                         ("DSJ0002", "dahua-dsj", "NOBODY", "camera_owner_unknown")):
        with pytest.raises(Refused) as got:
            register_camera(app, serial, profile, owner, "A1")
        assert got.value.finding.code == code


def test_registered_only_off_takes_any_camera_of_a_known_family_but_never_a_stick(dock_daemon, monkeypatch):
    app, clock, daemon = dock_daemon
    monkeypatch.setattr(app.settings.usb, "registered_only", False)
    daemon.submit_camera(STICK, None)
    daemon.submit_camera(CAMERA, AS_CAMERA)
    _settle(daemon)
    assert daemon.mounter.mounted == ["/dev/sdb1"]
    assert [v.reason for v in refusals(app)] == [UsbRefusalReason.NOT_A_CAMERA]


def test_the_cameras_page_registers_for_an_admin_and_refuses_a_team_head(dock_daemon):
    app, clock, daemon = dock_daemon
    daemon.submit_camera(CAMERA, AS_CAMERA)
    daemon.submit_camera(STICK, None)
    _settle(daemon)
    head = client(app)
    log_in(head, "H1")
    page = head.get("/devices").text
    assert "DSJ0001A8" not in page and "待登记" not in page  # the team head sees no registration
    denied = head.post("/devices/register", data={"serial": "DSJ0001A8", "profile": "dahua-dsj",
                                                  "csrf_token": csrf_of(head, "/devices")})
    assert denied.status_code == 403
    admin = client(app)
    log_in(admin, "A1")
    page = admin.get("/devices").text
    assert "待登记的记录仪" in page and "DSJ0001A8" in page and "4C530001 0781:5567 «KINGSTON»" in page
    bad = admin.post("/devices/register", data={"serial": "DSJ0001A8", "profile": "nokia",
                                                "csrf_token": csrf_of(admin, "/devices")})
    assert bad.status_code == 400 and "没有型号配置" in bad.text
    done = admin.post("/devices/register", data={"serial": "DSJ0001A8", "profile": "dahua-dsj", "owner": "O1",
                                                 "csrf_token": csrf_of(admin, "/devices")})
    assert done.status_code == 303
    assert awaiting_registration(app) == []
    with app.db.reading() as s:
        audited = s.execute(select(AuditEvent.actor).where(AuditEvent.action == "device.registered")).scalars().all()
    assert audited == ["A1"]


def test_the_command_line_registers_and_lists_refusals(dock):
    got = dock.cli("devices", "register", "DSJ0001A8", "--profile", "nokia", "--by", "admin", check=2)
    assert got.stderr.count("\n") == 1 and "no device profile 'nokia'" in got.stderr
    data = dock.cli_json("devices", "register", "DSJ0001A8", "--profile", "dahua-dsj", "--by", "admin")
    assert data == {"serial": "DSJ0001A8", "profile": "dahua-dsj", "owner": None}
    assert dock.cli_json("devices", "refused") == []
    assert [d["serial"] for d in dock.cli_json("devices", "list")] == ["DSJ0001A8"]


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_dock_screen_says_what_was_not_taken_and_the_admin_registers_it(dock_daemon, language):
    from playwright.sync_api import sync_playwright

    app, clock, daemon = dock_daemon
    daemon.submit_camera(STICK, None)
    daemon.submit_camera(CAMERA, AS_CAMERA)
    _settle(daemon)
    zh = language == "zh-CN"
    problems = []
    with served(app, language) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale=language)
        page.goto(f"{base}/dock")  # the dock's own screen: no log-in
        cards = page.locator("article.refused")
        assert cards.count() == 2
        text = page.inner_text("main")
        assert ("不是本单位的记录仪" if zh else "Not a camera of this unit") in text
        assert ("记录仪未登记" if zh else "Camera not registered") in text
        problems += shot(page, f"dock-refused-{language}")
        sign_in(page, base, "A1")
        page.goto(f"{base}/devices")
        problems += shot(page, f"devices-waiting-{language}", full=True)
        row = page.locator("section.waiting tr", has_text="DSJ0001A8")
        row.locator("select[name=owner]").select_option("O1")
        row.get_by_role("button", name="登记" if zh else "Register").click()
        page.wait_for_url(f"{base}/devices")
        assert page.locator("section.waiting").count() == 0
        problems += shot(page, f"devices-registered-{language}", full=True)
        browser.close()
    assert problems == []
    with app.db.reading() as s:
        assert s.execute(select(UsbRefusal.times)).scalars().all() == [1, 1]


def test_only_an_admin_registers_a_camera_on_the_command_line_too(dock):
    dock.cli("users", "add", "H9", "--name", "队长", "--role", "team_head", "--team", "一中队", "--by", "admin")
    got = dock.cli("devices", "register", "DSJ0001A8", "--profile", "dahua-dsj", "--by", "H9", check=2)
    assert "may not register cameras" in got.stderr and got.stderr.count("\n") == 1
    assert dock.cli_json("devices", "list") == []
