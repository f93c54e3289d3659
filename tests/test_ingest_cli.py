"""`ingestd ingest` end to end through the real CLI: the JSON contract, statuses, exit codes."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest
from cryptography.hazmat.primitives import hashes

from tests.conftest import copy_clip, ocfl_validate


def sm3_of(path) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(path.read_bytes())
    return h.finalize().hex()


def test_ingest_reports_every_file_and_stores_exact_copies(dock, clips, tmp_path):
    cam = tmp_path / "CAM01"
    a = copy_clip(clips["h264"], cam / "DCIM" / "20261120_083000.mp4")
    b = copy_clip(clips["hevc"], cam / "DCIM" / "20261120_090000.mp4")
    out = dock.cli_json("ingest", str(cam), "--device", "SN-0001")
    files = {os.path.basename(f["path"]): f for f in out["files"]}
    assert set(files) == {a.name, b.name}
    for src in (a, b):
        entry = files[src.name]
        assert entry["status"] == "ingested"
        assert entry["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
        assert entry["recording_id"] == entry["sha256"]
        assert entry["size"] == src.stat().st_size
        assert "reason" not in entry
    recs = {r["path"]: r for r in dock.cli_json("recordings", "list")}
    rec = recs["DCIM/20261120_083000.mp4"]
    assert rec["device"] == "SN-0001"
    assert rec["sm3"] == sm3_of(a)
    assert rec["start"] == "2026-11-20T08:30:00+08:00"  # file-name time is camera local time
    assert rec["end"] == "2026-11-20T08:30:02+08:00"
    assert rec["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert rec["status"] == "ok"
    assert rec["ingested_at"].endswith("+08:00")
    # The stored original is the same bytes, read-only, in a valid OCFL object.
    app = dock.app()
    stored = app.store.resolve(f"urn:ingestd:rec:{rec['sha256']}", "20261120_083000.mp4")
    assert stored.read_bytes() == a.read_bytes()
    assert not stored.stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    ok, root = ocfl_validate(dock.settings.data_dir / "store")
    assert ok and root.num_objects == root.good_objects == 2


def test_second_run_adds_nothing(dock, clips, tmp_path):
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "a.mp4")
    copy_clip(clips["h264_b"], cam / "b.mp4")
    dock.cli_json("ingest", str(cam))
    objects_before = sorted(p for p in (dock.settings.data_dir / "store").rglob("*") if p.is_file())
    again = dock.cli_json("ingest", str(cam))
    assert [f["status"] for f in again["files"]] == ["duplicate", "duplicate"]
    assert {f["code"] for f in again["files"]} == {"already_ingested"}
    assert all(f["recording_id"] for f in again["files"])
    assert sorted(p for p in (dock.settings.data_dir / "store").rglob("*") if p.is_file()) == objects_before
    assert len(dock.cli_json("recordings", "list")) == 2


def test_duplicate_under_other_name_is_not_stored_twice(dock, clips, tmp_path):
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "a.mp4")
    copy_clip(clips["h264"], cam / "sub" / "copy_of_a.mp4")
    out = dock.cli_json("ingest", str(cam))
    statuses = sorted(f["status"] for f in out["files"])
    assert statuses == ["duplicate", "ingested"]
    dup = next(f for f in out["files"] if f["status"] == "duplicate")
    first = next(f for f in out["files"] if f["status"] == "ingested")
    assert dup["recording_id"] == first["recording_id"]
    assert dup["code"] == "duplicate_content"
    assert len(list(dock.app().store.iter_objects())) == 1


def test_same_name_different_content_is_stored_and_flagged(dock, clips, tmp_path):
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "DCIM" / "clip.mp4")
    dock.cli_json("ingest", str(cam), "--device", "SN-9")
    copy_clip(clips["h264_b"], cam / "DCIM" / "clip.mp4")  # the camera reused the name after a wipe
    out = dock.cli_json("ingest", str(cam), "--device", "SN-9")
    assert out["files"][0]["status"] == "ingested"
    recs = dock.cli_json("recordings", "list")
    assert len(recs) == 2
    assert sorted(r["name_conflict"] for r in recs) == [False, True]


def test_damaged_files_are_stored_byte_for_byte_and_open_an_incident(dock, clips, tmp_path):
    cam = tmp_path / "cam"
    cam.mkdir()
    whole = clips["h264"].read_bytes()
    (cam / "empty.mp4").write_bytes(b"")
    (cam / "cut.mp4").write_bytes(whole[: len(whole) // 2])  # power lost mid-recording
    (cam / "garbage.mp4").write_bytes(os.urandom(4096))
    out = dock.cli_json("ingest", str(cam))
    by_name = {os.path.basename(f["path"]): f for f in out["files"]}
    for name in ("empty.mp4", "cut.mp4", "garbage.mp4"):
        entry = by_name[name]
        assert entry["status"] == "damaged", entry
        assert entry["code"] == "damaged_file"
        assert entry["reason"]
        assert entry["recording_id"]
        stored = dock.app().store.resolve(f"urn:ingestd:rec:{entry['sha256']}", name)
        assert stored.read_bytes() == (cam / name).read_bytes()
    assert "cut off" in by_name["cut.mp4"]["reason"]
    from sqlalchemy import select

    from ingestd.db.models import Incident
    with dock.app().db.reading() as s:
        incidents = s.execute(select(Incident)).scalars().all()
    assert len(incidents) == 3 and {i.status for i in incidents} == {"open"}
    assert {i.code for i in incidents} == {"damaged_file"}


@pytest.mark.parametrize("args, message", [
    (["ingest", "/nonexistent/camera"], "path does not exist: /nonexistent/camera"),
    (["ingest", "{tmp}", "--profile", "no-such-profile"], "unknown device profile 'no-such-profile'"),
    (["recordings", "show", "zzzz"], "recording id must be 8 or more hex digits"),
    (["recordings", "show", "deadbeef00"], "no recording with id deadbeef00"),
])
def test_bad_input_exits_2_with_one_line(dock, tmp_path, args, message):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    proc = dock.cli(*args, check=2)
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_uninitialised_data_dir_is_bad_input(tmp_path, dock):
    env = dict(dock.env, INGESTD_DATA_DIR=str(tmp_path / "nowhere"))
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "ingestd", "recordings", "list"], env=env,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "run `ingestd init` first" in proc.stderr


def test_single_file_argument(dock, clips, tmp_path):
    f = copy_clip(clips["h264"], tmp_path / "20261120_101010_0001.mp4")
    out = dock.cli_json("ingest", str(f))
    assert [x["status"] for x in out["files"]] == ["ingested"]
    assert dock.cli_json("recordings", "list")[0]["start"] == "2026-11-20T10:10:10+08:00"


def test_time_source_falls_back_to_container_then_mtime(dock, clips, tmp_path):
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "noname.mp4")  # container says 2026-11-20T00:30Z
    silent = copy_clip(clips["silent"], cam / "other.mp4")  # no creation_time at all
    # Camera closes the clip at 2026-11-18 19:06:40 local (11:06:40 UTC).
    os.utime(silent, ns=(1_795_000_000_000_000_000, 1_795_000_000_000_000_000))
    dock.cli_json("ingest", str(cam))
    recs = {r["path"]: r for r in dock.cli_json("recordings", "list")}
    assert recs["noname.mp4"]["time_source"] == "container"
    assert recs["noname.mp4"]["start"] == "2026-11-20T08:30:00+08:00"
    assert recs["other.mp4"]["time_source"] == "mtime"
    assert recs["other.mp4"]["end"] == "2026-11-18T19:06:40+08:00"
    assert recs["other.mp4"]["start"] == "2026-11-18T19:06:38+08:00"  # end minus the 2 s duration


def test_recordings_show_by_prefix(dock, clips, tmp_path):
    copy_clip(clips["h264"], tmp_path / "cam" / "a.mp4")
    sha = dock.cli_json("ingest", str(tmp_path / "cam"))["files"][0]["sha256"]
    shown = dock.cli_json("recordings", "show", sha[:10])
    assert shown["id"] == sha and shown["inventory_head"] == "v1"
    assert shown["probe"]["video"]["codec"] == "h264"
    assert json.dumps(shown)


def test_lone_damaged_clip_with_a_start_but_no_end(dock, clips, tmp_path):
    """A cut-off clip named by its start has no duration: nothing downstream may need one."""
    cam = tmp_path / "cam"
    cam.mkdir()
    (cam / "20261120_083000.mp4").write_bytes(clips["h264"].read_bytes()[:2000])
    out = dock.cli_json("ingest", str(cam))
    assert out["files"][0]["status"] == "damaged"
    [rec] = dock.cli_json("recordings", "list")
    assert rec["start"] == "2026-11-20T08:30:00+08:00" and rec["end"] is None
    assert rec["upload_status"] == "undetermined"
