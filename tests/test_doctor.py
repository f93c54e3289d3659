"""`ingestd doctor`, one finding at a time: a faked `timedatectl` (synchronised, not, not
there), a clock stepped under the app, a filesystem of its own filled to days from full, a
missing udev or polkit rule, an unreachable replica, a dock screen that is not running, a
signing key others can read, a damaged database file. Each is the real command line or the
real function over a real data directory; nothing stored changes."""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingestd.clock import FixedClock
from ingestd.doctor import CheckName, CheckState, SystemPaths, check_kiosk, check_rules, diagnose, recent_steps
from ingestd.dock_clock import StepWatch
from tests.conftest import copy_clip, make_dock

SYNCED = "Timezone=Asia/Shanghai\nLocalRTC=no\nCanNTP=yes\nNTP=yes\nNTPSynchronized=yes\n"
UNSYNCED = "Timezone=Asia/Shanghai\nLocalRTC=no\nCanNTP=yes\nNTP=no\nNTPSynchronized=no\n"


def fake_tool(folder: Path, name: str, stdout: str, code: int = 0) -> Path:
    """A program of that name on a PATH of the test's own, answering as the real one would."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}EOF\nexit {code}\n")
    path.chmod(0o755)
    return folder


def doctor(dock, *, bin_dir: Path | None = None, **env: str) -> tuple[int, dict]:
    path = f"{bin_dir}:{os.environ['PATH']}" if bin_dir else os.environ["PATH"]
    got = subprocess.run([sys.executable, "-m", "ingestd", "doctor", "--json"], env={**dock.env, "PATH": path, **env},
                         capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert got.returncode in (0, 1), got.stderr
    return got.returncode, json.loads(got.stdout)


def codes(report: dict, name: str | None = None) -> list[str]:
    return [f["code"] for c in report["checks"] if name in (None, c["name"]) for f in c["findings"]]


def state_of(report: dict, name: str) -> str:
    return next(c["state"] for c in report["checks"] if c["name"] == name)


def test_a_new_dock_with_its_clock_synchronised_is_healthy(tmp_path):
    dock = make_dock(tmp_path)
    (dock.settings.data_dir / "inbox").mkdir(exist_ok=True)
    code, report = doctor(dock, bin_dir=fake_tool(tmp_path / "bin", "timedatectl", SYNCED))
    assert code == 0 and report["ok"], report
    assert [c["name"] for c in report["checks"]] == [n.value for n in (
        CheckName.STORE, CheckName.SIGNING_KEY, CheckName.DATABASE, CheckName.CLOCK, CheckName.DISK,
        CheckName.REPLICA, CheckName.RULES, CheckName.INBOX, CheckName.KIOSK)]
    assert state_of(report, "clock") == "ok" and state_of(report, "database") == "ok"
    assert state_of(report, "replica") == "skipped" and state_of(report, "kiosk") == "skipped"
    text = subprocess.run([sys.executable, "-m", "ingestd", "doctor"], capture_output=True, text=True,
                          env={**dock.env, "PATH": f"{tmp_path / 'bin'}:{os.environ['PATH']}"}).stdout
    assert text.splitlines()[-1] == "healthy"


def test_an_unsynchronised_or_unknown_clock_is_a_finding(tmp_path):
    dock = make_dock(tmp_path)
    (dock.settings.data_dir / "inbox").mkdir(exist_ok=True)
    code, report = doctor(dock, bin_dir=fake_tool(tmp_path / "off", "timedatectl", UNSYNCED))
    assert code == 1 and codes(report, "clock") == ["clock_unsynchronised"]
    finding = next(c for c in report["checks"] if c["name"] == "clock")["findings"][0]
    assert "time sync off" in finding["message"] and "timedatectl set-ntp true" in finding["message"]
    assert "时间同步未开启" in finding["message_zh"]
    # No systemd to ask (a container, a box without it): said, not taken as synchronised.
    code, report = doctor(dock, bin_dir=fake_tool(tmp_path / "nosd", "timedatectl",
                                                  "System has not been booted with systemd\n", 1))
    assert code == 1 and codes(report, "clock") == ["clock_sync_unknown"]


def test_a_clock_stepped_under_the_app_is_recorded_and_reported_for_a_day(tmp_path):
    dock = make_dock(tmp_path)
    clock = FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc))
    app = dock.app(clock)
    try:
        watch = StepWatch(app)
        clock.advance(timedelta(seconds=5))  # the monotonic clock moved only microseconds: a 5 s step is noise
        assert watch.observe() is None
        clock.advance(timedelta(days=3))
        assert watch.observe() == pytest.approx(3 * 86400, abs=2)
        clock.advance(timedelta(hours=-2))
        assert watch.observe() == pytest.approx(-7200, abs=2)
        steps = recent_steps(app)
        assert [f.detail["step"] for f in steps] == ["3 d forward", "2 h back"]
        assert [f.detail["step_zh"] for f in steps] == ["拨快 3 天", "拨慢 2 小时"]
        assert "clock jumped 3 d forward at 2026-11-26 10:00" in steps[0].message
        clock.advance(timedelta(days=2))  # a day on: history, no longer a finding
        assert recent_steps(app) == []
    finally:
        app.close()
    audit = dock.cli_json("audit", "list", "--action", "dock.clock_stepped")
    assert len(audit) == 2


def test_a_filesystem_days_from_full_is_a_finding(tmp_path, small_disk, clips):
    subprocess.run(["mount", "-o", "remount,size=16m", str(small_disk)], check=True)
    dock = make_dock(tmp_path, INGESTD_DATA_DIR=str(small_disk / "var"), INGESTD_INGEST__RESERVE_MB="4")
    dock.settings = dock.settings.model_copy(update={"data_dir": small_disk / "var"})
    # make_dock set up the dock under tmp_path; this one lives on the small disk
    from ingestd.app import initialise

    initialise(dock.settings)
    dock.env["INGESTD_DATA_DIR"] = str(small_disk / "var")
    cam = tmp_path / "CAM-D"
    copy_clip(clips["h264"], cam / "20261120_083000.mp4")
    dock.cli("ingest", str(cam), "--device", "CAM-D")
    size = clips["h264"].stat().st_size
    free = os.statvfs(small_disk).f_bavail * os.statvfs(small_disk).f_frsize
    # Leave room for three days of today's intake above the reserve.
    (small_disk / "filler").write_bytes(b"\0" * (free - (4 << 20) - 3 * size))
    code, report = doctor(dock, bin_dir=fake_tool(tmp_path / "bin", "timedatectl", SYNCED))
    assert code == 1 and codes(report, "disk") == ["store_filling_urgent"]
    assert state_of(report, "disk") == "problem"


def test_a_missing_udev_or_polkit_rule_is_a_finding(tmp_path):
    dock = make_dock(tmp_path)
    settings = dock.settings.model_copy(update={"usb": dock.settings.usb.model_copy(update={"enabled": True})})
    system = SystemPaths(root=tmp_path / "root")
    check = check_rules(settings, system)
    assert check.state == CheckState.PROBLEM
    assert [f.detail["path"] for f in check.findings] == [
        str(tmp_path / "root/etc/udev/rules.d/70-ingestd-camera.rules"),
        str(tmp_path / "root/etc/polkit-1/rules.d/50-ingestd-udisks.rules")]
    # The package's place counts as installed as much as an admin's.
    for rule, place in (("70-ingestd-camera.rules", "usr/lib/udev/rules.d"),
                        ("50-ingestd-udisks.rules", "usr/share/polkit-1/rules.d")):
        (tmp_path / "root" / place).mkdir(parents=True)
        (tmp_path / "root" / place / rule).write_text("# rule\n")
    assert check_rules(settings, system).state == CheckState.OK
    assert check_rules(dock.settings, system).state == CheckState.SKIPPED  # USB docking off: not needed


def test_a_dock_screen_that_is_not_running_is_a_finding(tmp_path, monkeypatch):
    system = SystemPaths(root=tmp_path / "root")
    assert check_kiosk(system).state == CheckState.SKIPPED  # the kiosk package is not installed
    units = tmp_path / "root/usr/lib/systemd/system"
    units.mkdir(parents=True)
    (units / "ingestd-kiosk.service").write_text("[Service]\n")
    bin_dir = fake_tool(tmp_path / "bin", "systemctl", "failed\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    check = check_kiosk(system)
    assert check.state == CheckState.PROBLEM and check.findings[0].code == "kiosk_not_running"
    assert "systemctl restart ingestd-kiosk.service" in check.findings[0].message
    fake_tool(tmp_path / "bin", "systemctl", "active\n")
    assert check_kiosk(system).state == CheckState.OK


def test_an_unreachable_replica_and_an_exposed_signing_key_are_findings(tmp_path):
    with socket.socket() as s:  # a loopback port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dock = make_dock(tmp_path, INGESTD_REPLICA__ENABLED="true", INGESTD_REPLICA__ENDPOINT=f"http://127.0.0.1:{port}",
                     INGESTD_REPLICA__BUCKET="evidence", INGESTD_REPLICA__ACCESS_KEY_ID="k",
                     INGESTD_REPLICA__SECRET_ACCESS_KEY="s", INGESTD_REPLICA__TIMEOUT_S="2")
    key = dock.settings.data_dir / "keys" / "signing-ed25519.pem"
    key.chmod(0o644)
    code, report = doctor(dock, bin_dir=fake_tool(tmp_path / "bin", "timedatectl", SYNCED))
    assert code == 1
    assert codes(report, "replica") == ["replica_unreachable"]
    assert codes(report, "signing_key") == ["signing_key_exposed"]
    assert "mode 0644" in report["checks"][1]["findings"][0]["message"]
    assert stat.S_IMODE(key.stat().st_mode) == 0o644  # doctor says; it changes nothing


def test_a_damaged_database_file_is_a_finding_and_the_rest_still_looked_at(tmp_path):
    dock = make_dock(tmp_path)
    (dock.settings.data_dir / "inbox").mkdir(exist_ok=True)
    db = dock.settings.data_dir / "ingestd.db"
    with open(db, "r+b") as f:
        f.write(b"this is not a database header")
    code, report = doctor(dock, bin_dir=fake_tool(tmp_path / "bin", "timedatectl", SYNCED))
    assert code == 1 and codes(report, "database") == ["database_damaged"]
    assert state_of(report, "disk") == "skipped" and state_of(report, "store") == "ok"
    assert state_of(report, "clock") == "ok"  # time sync is asked of the system, not the database


def test_the_console_healthz_carries_the_doctors_findings(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from ingestd.web.server import create_app

    dock = make_dock(tmp_path)
    bin_dir = fake_tool(tmp_path / "bin", "timedatectl", UNSYNCED)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    app = dock.app()
    try:
        body = TestClient(create_app(app)).get("/healthz").json()
    finally:
        app.close()
    assert "clock_unsynchronised" in codes(body["doctor"], "clock")
    assert diagnose(dock.settings).ok is False


def test_with_the_inbox_off_no_folder_is_watched_and_its_check_is_skipped(tmp_path):
    from ingestd.daemon import Daemon
    from ingestd.doctor import check_inbox

    dock = make_dock(tmp_path, INGESTD_DAEMON__INBOX_ENABLED="false")
    settings = dock.settings.model_copy(update={"daemon": dock.settings.daemon.model_copy(
        update={"inbox_enabled": False})})
    assert check_inbox(settings).state == CheckState.SKIPPED
    app = dock.app()
    try:
        app.settings = settings
        daemon = Daemon(app)
        assert daemon.sources == []
        daemon.pool.shutdown()
        daemon.offloader.close()
    finally:
        app.close()


def test_a_rule_in_a_folder_this_user_cannot_read_is_not_called_missing(tmp_path):
    """polkit's rules folders are polkitd's alone (0700): the ingestd user cannot see the rule
    the package put there, and is not told it is missing. Looked at by a child process that
    has become `nobody` (root reads every folder)."""
    import tempfile

    dock = make_dock(tmp_path)
    settings = dock.settings.model_copy(update={"usb": dock.settings.usb.model_copy(update={"enabled": True})})
    top = Path(tempfile.mkdtemp(prefix="ingestd-rules-"))
    try:
        top.chmod(0o755)
        (top / "usr/lib/udev/rules.d").mkdir(parents=True)
        (top / "usr/lib/udev/rules.d/70-ingestd-camera.rules").write_text("# rule\n")
        for folder in (top / "usr", top / "usr/lib", top / "usr/lib/udev", top / "usr/lib/udev/rules.d"):
            folder.chmod(0o755)
        closed = top / "usr/share/polkit-1/rules.d"
        closed.mkdir(parents=True)
        (closed / "50-ingestd-udisks.rules").write_text("// rule\n")
        for folder in (top / "usr/share", top / "usr/share/polkit-1"):
            folder.chmod(0o755)
        closed.chmod(0o700)  # root's: `nobody` cannot look in
        check = _as_nobody(lambda: check_rules(settings, SystemPaths(root=top)))
    finally:
        shutil.rmtree(top)
    assert check == ("ok", "1 installed; 50-ingestd-udisks.rules not readable by this user (run as root to check)")


def _as_nobody(look):
    """`look()` in a forked child that has become the unprivileged user nobody: (state, said)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no exec, so the interpreter under root's home is not needed again
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)
            got = look()
            os.write(write, json.dumps([got.state.value, got.said]).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        data = answer.read()
    os.waitpid(pid, 0)
    return tuple(json.loads(data))
