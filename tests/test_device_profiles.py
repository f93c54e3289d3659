"""Every shipped device profile against a fixture tree of its camera's file names."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ingestd.device_profiles import load_profiles

TZ = ZoneInfo("Asia/Shanghai")
PROFILES = load_profiles()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize("profile, rel_path, facts", [
    ("dahua-dsj", "2026-11-20/001/dav/08/08.30.00-08.45.10[R][0@0][0].mp4",
     {"start": at("2026-11-20 08:30:00"), "end": at("2026-11-20 08:45:10"), "important": True}),
    ("dahua-dsj", "2026-11-20/001/dav/23/23.50.00-00.05.00[M][0@0][0].mp4",  # runs past midnight
     {"start": at("2026-11-20 23:50:00"), "end": at("2026-11-21 00:05:00"), "important": False}),
    ("device-badge", "DCIM/DSJ-A8_012345_20261120_083000_0007_IMP.MP4",
     {"device": "DSJ-A8", "badge": "012345", "start": at("2026-11-20 08:30:00"), "seq": "0007", "important": True}),
    ("device-badge", "DSJA8_012345_20261120_083000_0008.mp4",
     {"device": "DSJA8", "badge": "012345", "seq": "0008", "important": False}),
    ("timestamp-seq", "DCIM/100MEDIA/20261120083000_000123.MP4",
     {"start": at("2026-11-20 08:30:00"), "seq": "000123"}),
    ("generic", "DCIM/VID_20261120_083000.mp4", {"start": at("2026-11-20 08:30:00")}),
    ("generic", "IMG20261120083000.jpg", {"start": at("2026-11-20 08:30:00")}),
])
def test_name_patterns(profile, rel_path, facts):
    parsed = PROFILES[profile].parse_name(rel_path, TZ)
    assert parsed is not None
    for key, value in facts.items():
        assert getattr(parsed, key) == value, key


@pytest.mark.parametrize("profile, rel_path", [
    ("dahua-dsj", "2026-11-20/001/dav/08/08.30.00.mp4"),
    ("dahua-dsj", "2026-13-40/001/dav/08/08.30.00-08.45.10.mp4"),  # not a real date
    ("device-badge", "DSJA8_20261120_083000.MP4"),
    ("timestamp-seq", "20261120083000.MP4"),
    ("generic", "clip_2026.mp4"),
])
def test_names_that_do_not_match_give_no_facts(profile, rel_path):
    assert PROFILES[profile].parse_name(rel_path, TZ) is None


def test_every_shipped_profile_keeps_originals_on_the_camera():
    assert {"generic", "dahua-dsj", "device-badge", "timestamp-seq"} <= set(PROFILES)
    assert not any(p.wipe_after_verify for p in PROFILES.values())


def test_wiping_a_read_only_camera_is_refused_not_ignored(tmp_path):
    from ingestd.device_profiles import load_profile_file
    from ingestd.errors import UserError

    path = tmp_path / "wipe.toml"
    path.write_text('name = "wipe"\nwipe_after_verify = true\n')
    with pytest.raises(UserError, match="key 'wipe_after_verify': .*mounted read-only"):
        load_profile_file(path)


def test_dahua_tree_ingests_with_times_from_the_path(dock, clips, tmp_path):
    from tests.conftest import copy_clip

    root = tmp_path / "DSJ"
    copy_clip(clips["h264"], root / "2026-11-20/001/dav/08/08.30.00-08.30.02[R][0@0][0].mp4")
    copy_clip(clips["h264_b"], root / "2026-11-20/001/dav/09/09.00.00-09.00.02[M][0@0][0].mp4")
    (root / "2026-11-20/001/dav/09/09.00.00-09.00.02[M][0@0][0].idx").write_bytes(b"index")
    (root / "MISC").mkdir()
    (root / "MISC" / "device.log").write_text("2026-11-20 08:29:58 power on\n")  # a camera log: a sidecar
    out = dock.cli_json("ingest", str(root), "--profile", "dahua-dsj", "--device", "DSJ-0001")
    assert sorted(f["status"] for f in out["files"]) == ["ingested", "ingested", "ingested", "skipped"]
    listed = dock.cli_json("recordings", "list")
    [log] = [r for r in listed if r["kind"] == "sidecar"]
    assert log["status"] == "ok" and log["upload_status"] is None  # kept, but no deadline for a log
    recs = {r["start"]: r for r in listed if r["kind"] == "video"}
    assert recs["2026-11-20T08:30:00+08:00"]["important"] is True
    assert recs["2026-11-20T09:00:00+08:00"]["important"] is False
    assert recs["2026-11-20T08:30:00+08:00"]["end"] == "2026-11-20T08:30:02+08:00"
