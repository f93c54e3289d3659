"""The host's clock stepped back and forward under a running daemon (libfaketime preloaded into
the real `ingestd run`, its offset changed through a file while it runs; the monotonic clock,
which a real step leaves alone, is left real): what it docks is stored once, every job is
done once, deadlines are those of a dock whose clock never moved, and the audit chain, which
is ordered by sequence and not by time, verifies though its times go back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import copy_clip, make_dock
from tests.test_daemon import wait_for

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
CAMERAS = {"+0": ("CAM-A", "h264"), "-2h": ("CAM-B", "h264_b"), "+3d": ("CAM-C", "h264_c")}


def _settled(dock, count: int) -> bool:
    recs = dock.cli_json("recordings", "list")
    if len(recs) != count or any(r["sm3"] is None or r["upload_status"] is None for r in recs):
        return False
    kinds = dock.cli_json("jobs", "status")["kinds"]
    return not any(k["queued"] or k["running"] or k["held"] for k in kinds.values())


@pytest.mark.skipif(not LIBFAKETIME.exists(), reason="libfaketime is installed by `make system-deps`")
def test_clock_stepped_back_and_forward_under_the_daemon(tmp_path, clips):
    dock = make_dock(tmp_path / "stepped", INGESTD_INGEST__WORKERS="1")
    offset = tmp_path / "clock-offset"
    offset.write_text("+0\n")
    env = dict(dock.env, LD_PRELOAD=str(LIBFAKETIME), FAKETIME_TIMESTAMP_FILE=str(offset), FAKETIME_NO_CACHE="1",
               FAKETIME_DONT_FAKE_MONOTONIC="1", NO_FAKE_STAT="1", INGESTD_DAEMON__QUIET_S="0.3",
               INGESTD_JOBS__WORKERS="2", INGESTD_MEDIA__PROXY_POLICY="on_demand")  # no proxies: not what is tested
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    inbox = dock.settings.data_dir / "inbox"
    try:
        for n, (step, (serial, clip)) in enumerate(CAMERAS.items(), start=1):
            offset.write_text(f"{step}\n")  # the step, while the daemon is running
            copy_clip(clips[clip], inbox / serial / f"20261120_0{7 + n}0000.mp4")
            wait_for(lambda n=n: _settled(dock, n), timeout=120, step=0.5)
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err[-2000:]
    stepped = {r["device"]: r for r in dock.cli_json("recordings", "list")}

    # The steps took effect: B was stored "before" A, C three days after.
    at = {d: datetime.fromisoformat(r["ingested_at"]) for d, r in stepped.items()}
    assert at["CAM-B"] < at["CAM-A"] and (at["CAM-C"] - at["CAM-A"]).days >= 2

    # The same cameras on a dock whose clock never moved give the same deadlines.
    plain = make_dock(tmp_path / "plain")
    for n, (serial, clip) in enumerate(CAMERAS.values(), start=1):
        cam = copy_clip(clips[clip], tmp_path / "cams" / serial / f"20261120_0{7 + n}0000.mp4").parent
        plain.cli("ingest", str(cam), "--device", serial)
    reference = {r["device"]: r for r in plain.cli_json("recordings", "list")}
    for device, rec in stepped.items():
        for key in ("id", "start", "end", "deadline", "deadline_article"):
            assert rec[key] == reference[device][key], (device, key)

    # Every job done once: one `done` per recording and kind, none failed or taken twice.
    kinds = dock.cli_json("jobs", "status")["kinds"]
    assert all(not k["failed"] and not k["running"] for k in kinds.values())
    assert kinds["sm3"]["done"] == kinds["probe"]["done"] == 3

    audit = dock.cli_json("audit", "verify")
    assert audit["ok"], audit
    import sqlite3

    with sqlite3.connect(dock.settings.data_dir / "ingestd.db") as conn:
        rows = conn.execute("select seq, at from audit_events order by seq").fetchall()
    seqs = [seq for seq, _ in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    times = [str(t) for _, t in rows]
    assert any(later < earlier for earlier, later in zip(times, times[1:])), "the chain's times never went back"
    assert os.environ.get("LD_PRELOAD") is None  # the test process itself ran on the real clock

    # The daemon noticed both steps as they happened (the wall clock moved, the monotonic did
    # not) and kept them where `ingestd doctor` finds them.
    steps = [e["detail"]["step_s"] for e in dock.cli_json("audit", "list", "--action", "dock.clock_stepped")]
    assert sorted(round(s / 3600) for s in steps) == [-2, 74], steps
