"""The inbox source on real watchdog observers, and `ingestd run` end to end: a file is
taken only once complete, bursts are taken exactly once, the daemon tells systemd it is
ready and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from ingestd.deep_path import lstat_path
from ingestd.sources.folder import FolderSource, SettleTracker
from tests.conftest import copy_clip, make_dock


def wait_for(condition, timeout: float = 30.0, step: float = 0.1):
    """Poll a real file-system effect (not a deadline: those use an injected clock)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        result = condition()
        if result:
            return result
        time.sleep(step)
    raise AssertionError("condition not met in time")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_tracker_waits_for_quiet_or_close(tmp_path):
    f = tmp_path / "a.mp4"
    f.write_bytes(b"x")
    tracker = SettleTracker(quiet_s=5)
    tracker.touch(str(f), now=100.0)
    assert tracker.pop_settled(104.9) == []
    with open(f, "ab") as fh:
        fh.write(b"more")  # still being copied: the quiet period starts again
    assert tracker.pop_settled(105.0) == []
    assert tracker.pop_settled(109.9) == []
    assert tracker.pop_settled(110.0) == [str(f)]
    g = tmp_path / "b.mp4"
    g.write_bytes(b"y")
    tracker.touch(str(g), now=200.0, closed=True)  # IN_CLOSE_WRITE: complete at once
    assert tracker.pop_settled(200.0) == [str(g)]


def _collector():
    got, lock = [], threading.Lock()

    def on_batch(root, serial, files):
        with lock:
            got.append((serial, [(os.path.basename(f), lstat_path(f).st_size) for f in files]))
    return got, on_batch


def test_slowly_written_file_is_not_taken_early(tmp_path):
    got, on_batch = _collector()
    source = FolderSource(tmp_path / "inbox", on_batch, quiet_s=1.0, poll_s=0.1)
    source.start()
    try:
        (tmp_path / "inbox" / "CAM-9").mkdir()
        path = tmp_path / "inbox" / "CAM-9" / "slow.mp4"
        with open(path, "wb") as fh:  # one open file written in pieces, as a slow copy does
            for _ in range(8):
                fh.write(b"z" * 1000)
                fh.flush()
                time.sleep(0.3)
                assert got == []
        wait_for(lambda: got)
    finally:
        source.stop()
    assert got == [("CAM-9", [("slow.mp4", 8000)])]


def test_burst_of_200_files_is_taken_exactly_once(tmp_path):
    got, on_batch = _collector()
    source = FolderSource(tmp_path / "inbox", on_batch, quiet_s=0.5, poll_s=0.1)
    source.start()
    try:
        for i in range(200):
            (tmp_path / "inbox" / f"cam{i % 4}").mkdir(exist_ok=True)
            (tmp_path / "inbox" / f"cam{i % 4}" / f"{i:03d}.mp4").write_bytes(b"v" * (i + 1))
        wait_for(lambda: sum(len(files) for _, files in got) >= 200)
        time.sleep(1.0)  # anything taken twice would show up now
    finally:
        source.stop()
    names = [name for _, files in got for name, _ in files]
    assert len(names) == 200 and len(set(names)) == 200
    assert {serial for serial, _ in got} == {"cam0", "cam1", "cam2", "cam3"}


def test_daemon_ingests_the_inbox_and_stops_on_sigterm(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    port = _free_port()
    env = dict(dock.env, NOTIFY_SOCKET=str(sock_path), INGESTD_DAEMON__QUIET_S="0.5",
               INGESTD_LOG_FORMAT="json", INGESTD_LOG_LEVEL="INFO", INGESTD_METRICS__PORT=str(port))
    inbox = dock.settings.data_dir / "inbox"
    copy_clip(clips["h264"], inbox / "CAM-7" / "20261120_083000.mp4")  # there before the start
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert b"READY=1" in sock.recv(4096)
        copy_clip(clips["h264_b"], inbox / "CAM-7" / "20261120_090000.mp4")  # docked while running
        wait_for(lambda: len(dock.cli_json("recordings", "list")) == 2, timeout=60)
        import urllib.request

        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        assert 'ingestd_files_total{outcome="ingested"} 2.0' in metrics
        assert "ingestd_store_free_bytes" in metrics and "ingestd_docks_in_flight" in metrics
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    assert proc.returncode == 0, err
    events = [json.loads(line)["event"] for line in err.splitlines() if line.startswith("{")]
    assert "daemon.ready" in events and events[-1] == "daemon.stopped"
    recs = dock.cli_json("recordings", "list")
    assert {r["device"] for r in recs} == {"CAM-7"}
    assert dock.cli_json("audit", "verify")["ok"]


def test_systemd_unit_verifies(tmp_path):
    import shutil

    import pytest

    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    from pathlib import Path

    unit = (Path(__file__).resolve().parents[1] / "systemd" / "ingestd.service").read_text()
    for key in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/ingestd",
                "PrivateTmp=yes", "RestrictAddressFamilies=", "WatchdogSec="):
        assert key in unit
    # Point ExecStart at this checkout's command, which exists here, as /opt/venvs/ingestd does on a dock.
    local = unit.replace("/opt/venvs/ingestd/bin/python", sys.executable)
    (tmp_path / "ingestd.service").write_text(local)
    proc = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "ingestd.service")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "ingestd.service" not in proc.stderr, proc.stderr  # no warning about our unit


def test_eight_cameras_at_once_and_one_broken_camera_does_not_matter(tmp_path, clips):
    """Eight cameras docked together, each its own dock session on the daemon's pool; one
    camera's reads fail (a real EIO), and only its file fails."""
    import hashlib

    import pytest

    from ingestd.daemon import Daemon

    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    app = dock.app()
    daemon = Daemon(app)
    names = ["h264", "h264_b", "h264_c", "hevc", "silent"]
    cams = []
    for i in range(8):
        cam = tmp_path / "inbox" / f"CAM-{i}"
        copy_clip(clips[names[i % 5]], cam / f"20261120_08{i:02d}00.mp4")
        with open(cam / f"20261120_09{i:02d}00.mp4", "wb") as fh:  # distinct bytes per camera
            fh.write(clips[names[(i + 1) % 5]].read_bytes() + f"cam{i}".encode())
        cams.append(cam)
    if os.geteuid() != 0:
        pytest.skip("the broken camera's failing file is a bind mount, which needs root")
    bad = cams[3] / "20261120_120000.mp4"
    bad.write_bytes(b"")
    holder = subprocess.Popen(["sleep", "120"])
    if subprocess.run(["mount", "--bind", f"/proc/{holder.pid}/mem", str(bad)]).returncode != 0:
        holder.kill()
        pytest.skip("cannot bind-mount a failing file here")
    try:
        app.open_staging()
        for i, cam in enumerate(cams):
            daemon.submit(cam, f"CAM-{i}", sorted(str(p) for p in cam.rglob("*.mp4")))
        wait_for(lambda: not daemon.inflight, timeout=120)
    finally:
        subprocess.run(["umount", str(bad)])
        holder.kill()
    daemon.pool.shutdown(wait=True)
    daemon.offloader.__exit__(None, None, None)
    devices = {d["serial"]: d for d in dock.cli_json("devices", "list")}
    assert len(devices) == 8
    for i in range(8):
        files = devices[f"CAM-{i}"]["files"]
        expect_failed = 1 if i == 3 else 0
        assert (files["failed"], files["seen"] - files["failed"]) == (expect_failed, 2), (i, files)
    recs = dock.cli_json("recordings", "list")
    expected = {hashlib.sha256(p.read_bytes()).hexdigest() for cam in cams for p in cam.rglob("*.mp4")
                if p.stat().st_size}
    assert {r["sha256"] for r in recs} == expected
    assert dock.cli_json("verify")["ok"] and dock.cli_json("audit", "verify")["ok"]


def test_stop_commits_the_file_in_flight_and_leaves_the_rest(tmp_path, clips):
    """SIGTERM mid-dock: the copy in flight is finished and committed whole, nothing else is
    begun, the session is `interrupted`, and the next dock takes the rest without copying
    anything twice."""
    from ingestd.afterdock import DockRequest, dock as dock_now

    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    cam = tmp_path / "cam"
    (cam / "0_big.mp4").parent.mkdir(parents=True)
    (cam / "0_big.mp4").write_bytes(os.urandom(300 << 20))  # taken first (largest first), long enough to catch
    for i, name in enumerate(["h264", "h264_b", "h264_c"]):
        copy_clip(clips[name], cam / f"{i + 1}.mp4")
    stop = threading.Event()
    staging = dock.settings.data_dir / "staging"

    def stop_once_copying() -> None:
        try:
            wait_for(lambda: any(p.stat().st_size for p in staging.glob("*/*.part.mp4")), timeout=120, step=0.001)
        finally:
            stop.set()  # the signal arrives while the big file is being copied (or the test fails below)

    signaller = threading.Thread(target=stop_once_copying)
    signaller.start()
    app = dock.app()
    [run] = dock_now(app, DockRequest([cam], None, "CAM-S"), stop)
    signaller.join()
    assert [(o.rel_path, o.status) for o in run.outcomes] == [("0_big.mp4", "damaged")]
    with app.db.reading() as s:
        from sqlalchemy import select

        from ingestd.db.models import DockSession
        assert s.execute(select(DockSession.status)).scalar_one() == "interrupted"
    app.close()
    out = dock.cli_json("ingest", str(cam), "--device", "CAM-S")
    assert sorted(f["status"] for f in out["files"]) == ["duplicate", "ingested", "ingested", "ingested"]
    assert dock.cli_json("verify")["ok"]
    assert list((dock.settings.data_dir / "staging").iterdir()) == []


def test_udev_rule_names_every_profile_usb_id():
    """The shipped udev rule keeps automounters off every camera family a profile knows."""
    from pathlib import Path

    from ingestd.device_profiles import load_profiles

    rule = (Path(__file__).resolve().parents[1] / "systemd" / "70-ingestd-camera.rules").read_text()
    for profile in load_profiles().values():
        for usb_id in profile.match.usb_ids:
            vendor, product = usb_id.split(":")
            assert f'ENV{{ID_VENDOR_ID}}=="{vendor}"' in rule and product in rule, usb_id
        for label in profile.match.volume_labels:
            assert label in rule, label


def test_reload_reads_profiles_again_and_survives_a_bad_edit(tmp_path):
    from ingestd.daemon import Daemon

    extra = tmp_path / "profiles"
    extra.mkdir()
    dock = make_dock(tmp_path, INGESTD_PROFILES_DIR=str(extra))
    settings = dock.settings.model_copy(update={"profiles_dir": extra})
    from ingestd.app import App

    app = App.open(settings)
    daemon = Daemon(app)
    assert "site-cam" not in app.profiles
    (extra / "site-cam.toml").write_text('name = "site-cam"\n')
    daemon.reload()
    assert "site-cam" in app.profiles
    (extra / "site-cam.toml").write_text('name = "site cam"\n')  # a bad edit
    daemon.reload()  # logged, not raised: the dock keeps running on what it had
    assert "site-cam" in app.profiles
    daemon.offloader.__exit__(None, None, None)
    daemon.pool.shutdown()
    app.close()


def test_the_inbox_takes_files_deeper_than_the_system_resolves(tmp_path):
    """A camera folder with a file under a path longer than PATH_MAX, there at the start and
    docked while watching (where inotify cannot watch: the periodic walk finds it): neither
    stops the inbox, the ordinary file beside it is taken, and nothing is handed on twice."""
    from tests.test_hostile_input import _deep_file

    got, on_batch = _collector()
    inbox = tmp_path / "inbox"
    (inbox / "CAM-5").mkdir(parents=True)
    source_clip = tmp_path / "clip.mp4"
    source_clip.write_bytes(b"c" * 700)
    there = _deep_file(inbox / "CAM-5", source_clip, name="early.mp4")
    source = FolderSource(inbox, on_batch, quiet_s=0.3, poll_s=0.1, rescan_s=1.0)
    source.start()
    try:
        (inbox / "CAM-5" / "plain.mp4").write_bytes(b"p" * 300)
        late = _deep_file(inbox / "CAM-5", source_clip, name="late.mp4")
        wait_for(lambda: sum(len(files) for _, files in got) >= 3, timeout=20)
        walked = source._walked_at
        wait_for(lambda: source._walked_at > walked, timeout=20)  # one more walk: nothing new to hand on
    finally:
        source.stop()
    assert {serial for serial, _ in got} == {"CAM-5"}
    assert sorted(name for _, files in got for name, _ in files) == ["early.mp4", "late.mp4", "plain.mp4"]
    assert there != late


def test_a_camera_refused_for_want_of_space_is_taken_once_space_returns(tmp_path, clips):
    """The daemon refuses an inbox camera below the reserve (nothing copied), and takes it by
    itself once the space is there again — no restart, the files still where they were."""
    from sqlalchemy import func, select

    from ingestd.daemon import Daemon
    from ingestd.db.models import Recording

    dock = make_dock(tmp_path)
    settings = dock.settings.model_copy(deep=True)
    settings.daemon.quiet_s, settings.daemon.rescan_s = 0.2, 0.5
    settings.ingest.reserve_mb = 1 << 40  # more than any disk here: every dock is refused
    app = dock.app()
    app.settings = settings
    daemon = Daemon(app)
    copy_clip(clips["h264"], dock.settings.data_dir / "inbox" / "CAM-8" / "20261120_083000.mp4")

    def stored() -> int:
        with app.db.reading() as s:
            return s.execute(select(func.count()).select_from(Recording)).scalar()

    refusals = []

    class Refusals(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "dock.refused" in record.getMessage():
                refusals.append(record)

    def refused() -> int:
        return len(refusals)

    heard = Refusals()
    logging.getLogger("ingestd.afterdock").addHandler(heard)
    [source] = daemon.sources
    source.start()
    try:
        wait_for(lambda: refused() >= 2, timeout=60)  # refused, and refused again at the next walk
        assert stored() == 0
        settings.ingest.reserve_mb = 0  # space freed
        wait_for(lambda: stored() == 1, timeout=60)
    finally:
        logging.getLogger("ingestd.afterdock").removeHandler(heard)
        source.stop()
        daemon.pool.shutdown(wait=True)
        app.close()
