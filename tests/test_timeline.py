"""Timeline: camera splits are not gaps, real pauses are, long pauses start a new
activity; reset clocks are ordered by sequence; cut-off clips end in an interruption;
voice hints; explanations survive re-docks. Clips are generated with known times."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ingestd.clock import FixedClock
from ingestd.db.models import DockSession, Incident, Recording
from ingestd.afterdock import ingest
from ingestd.media.synthetic import ClipSpec, make_clip
from ingestd.timeline.sessions import Clip, find_gaps, order
from tests.conftest import make_dock, ocfl_validate

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 8, 30, tzinfo=TZ)


def clip(i: str, start_s: float, length_s: float, damaged=False, seq=None) -> Clip:
    return Clip(i, T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=start_s + length_s), damaged, seq)


@pytest.mark.parametrize("pause, gaps, activities", [
    (0.0, 0, 1), (1.0, 0, 1), (2.0, 0, 1),  # camera splits at 0-2 s
    (2.5, 1, 1), (180.0, 1, 1), (29 * 60, 1, 1),  # interruptions inside the activity
    (30 * 60, 0, 2), (2 * 3600, 0, 2),  # a new activity
])
def test_pause_classification(pause, gaps, activities):
    found, n = find_gaps([clip("a", 0, 60), clip("b", 60 + pause, 60)], 2.0, 30 * 60)
    assert (len(found), n) == (gaps, activities)
    if gaps:
        assert found[0].start == T0 + timedelta(seconds=60) and found[0].seconds == pytest.approx(pause)


def test_damaged_clip_ends_in_an_interruption_with_a_suggested_reason():
    found, _ = find_gaps([clip("a", 0, 60, damaged=True), clip("b", 300, 60)], 2.0, 1800)
    assert [(g.kind, g.after, g.suggested_reason, g.seconds) for g in found] == \
        [("at_damaged_file", "b", "equipment_fault", 240.0)]
    last, _ = find_gaps([clip("a", 0, 60), clip("b", 61, 30, damaged=True)], 2.0, 1800)
    assert [(g.kind, g.after, g.suggested_reason) for g in last] == [("at_damaged_file", None, "low_battery")]


def test_reset_clock_is_ordered_by_sequence():
    clips = [Clip("c", T0, None, False, "000003"), Clip("a", T0 + timedelta(hours=5), None, False, "000001"),
             Clip("b", T0 - timedelta(hours=1), None, False, "000002")]
    assert [c.id for c in order(clips, by_seq=True)] == ["a", "b", "c"]
    assert [c.id for c in order(clips, by_seq=False)] == ["b", "c", "a"]


@pytest.fixture
def station(tmp_path):
    from ingestd.users import add_user

    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    clock = FixedClock(datetime(2026, 11, 20, 20, tzinfo=TZ))
    app = dock.app(clock)
    add_user(app, "012345", "张三", "officer", "一中队", None, None, "admin")  # who explains (--by)
    return dock, app, clock, tmp_path


def _camera(tmp, name, files: dict[str, ClipSpec]):
    cam = tmp / name
    for fname, spec in files.items():
        make_clip(cam / "DCIM" / fname, spec)
    return cam


def _gaps(dock, *args):
    return dock.cli_json("gaps", "list", *args)


def test_splits_pauses_and_activities_on_real_clips(station):
    dock, app, clock, tmp = station
    cam = _camera(tmp, "cam", {
        "20261120_083000.mp4": ClipSpec(seconds=3, tone_hz=300),
        "20261120_083004.mp4": ClipSpec(seconds=3, tone_hz=400),  # 1 s after: a camera split
        "20261120_083307.mp4": ClipSpec(seconds=3, tone_hz=500),  # 3 min after 08:30:07: a gap
        "20261120_104000.mp4": ClipSpec(seconds=3, tone_hz=600),  # 2 h later: a new activity
    })
    ingest(app, [cam], None, "CAM-T1")
    gaps = _gaps(dock, "--open")
    assert len(gaps) == 1
    g = gaps[0]
    assert (g["start"], g["end"], g["seconds"], g["kind"], g["device"]) == \
        ("2026-11-20T08:30:07+08:00", "2026-11-20T08:33:07+08:00", 180.0, "between_clips", "CAM-T1")
    assert g["status"] == "open" and g["reason"] is None and g["explanation"] is None
    assert g["voice_hint"]["sound"] is True and g["voice_hint"]["hint_only"] is True


def test_voice_hint_points_at_the_second_speech_starts(station):
    dock, app, clock, tmp = station
    cam = _camera(tmp, "cam", {
        "20261120_083000.mp4": ClipSpec(seconds=2, tone_hz=300),
        "20261120_083500.mp4": ClipSpec(seconds=6, tone_from_s=3, tone_hz=500),  # speaks at 3 s
        "20261120_084000.mp4": ClipSpec(seconds=4, silent_audio=True),  # says nothing
    })
    ingest(app, [cam], None, "CAM-V")
    hints = [g["voice_hint"] for g in _gaps(dock)]
    assert hints[0]["sound"] is True and hints[0]["at_s"] == pytest.approx(3.0, abs=0.5)
    assert hints[1]["sound"] is False and hints[1]["at_s"] is None


def test_truncated_clip_yields_an_interruption(station):
    dock, app, clock, tmp = station
    cam = _camera(tmp, "cam", {"20261120_083000.mp4": ClipSpec(seconds=3),
                               "20261120_083500.mp4": ClipSpec(seconds=3, tone_hz=700)})
    first = cam / "DCIM" / "20261120_083000.mp4"
    first.write_bytes(first.read_bytes()[:4000])  # the battery died mid-recording
    ingest(app, [cam], None, "CAM-X")
    [g] = _gaps(dock)
    assert g["kind"] == "at_damaged_file" and g["suggested_reason"] == "equipment_fault"
    assert g["end"] == "2026-11-20T08:35:00+08:00"


def test_gap_inside_a_file(station):
    dock, app, clock, tmp = station
    cam = _camera(tmp, "cam", {"20261120_083000.mp4": ClipSpec(seconds=4, audio=False, pts_jump_at_s=2,
                                                               pts_jump_s=5)})
    ingest(app, [cam], None, "CAM-J")
    [g] = _gaps(dock)
    assert g["kind"] == "inside_file"
    assert g["start"] == "2026-11-20T08:30:02+08:00" and g["seconds"] == pytest.approx(5.0, abs=0.1)


def test_reset_clock_camera_is_flagged_and_ordered_by_sequence(station):
    dock, app, clock, tmp = station
    cam = _camera(tmp, "cam", {
        "19700101080005_000002.MP4": ClipSpec(seconds=2, tone_hz=300),
        "19700101080000_000001.MP4": ClipSpec(seconds=2, tone_hz=400),
        "19700101080900_000003.MP4": ClipSpec(seconds=2, tone_hz=500),
    })
    ingest(app, [cam], "timestamp-seq", "CAM-R")
    with app.db.reading() as s:
        flags = set(s.execute(select(Recording.clock_flag)).scalars())
        seqs = sorted(s.execute(select(Recording.seq)).scalars())
    assert flags == {"clock_reset"} and seqs == ["000001", "000002", "000003"]
    assert _gaps(dock) == []  # times mean nothing: no pause is invented from them
    # Nor a deadline: counted from 1970 it would rate the upload 57 years late.
    shown = {(r["upload_status"], r["late_by_s"]) for r in (dock.cli_json("recordings", "show", r["id"])
                                                          for r in dock.cli_json("recordings", "list"))}
    assert shown == {("undetermined", None)}


def test_camera_clock_correction_keeps_the_raw_time(station):
    dock, app, clock, tmp = station
    cam = _camera(tmp, "cam", {"20261120_083000.mp4": ClipSpec(seconds=2)})
    # Docked at 20:00; the camera's clock said 20:05: it runs five minutes fast.
    ingest(app, [cam], None, "CAM-C", camera_clock=datetime(2026, 11, 20, 20, 5, tzinfo=TZ))
    [rec] = dock.cli_json("recordings", "list")
    assert rec["start"] == "2026-11-20T08:30:00+08:00"  # raw camera time, never overwritten
    with app.db.reading() as s:
        r = s.execute(select(Recording)).scalar_one()
        ds = s.execute(select(DockSession)).scalar_one()
    assert r.start_corrected.astimezone(TZ) == datetime(2026, 11, 20, 8, 25, tzinfo=TZ)
    assert (ds.clock_offset_s, ds.clock_source) == (300.0, "camera")


def test_clock_drift_over_3_s_a_day_is_a_device_finding(station):
    dock, app, clock, tmp = station
    for day, ahead in ((0, 10.0), (2, 20.0)):  # 5 s/day
        clock.at = datetime(2026, 11, 20, 20, tzinfo=TZ) + timedelta(days=day)
        cam = _camera(tmp, f"cam{day}", {f"202611{20 + day}_083000.mp4": ClipSpec(seconds=2, tone_hz=300 + day)})
        ingest(app, [cam], None, "CAM-D", camera_clock=clock.at + timedelta(seconds=ahead))
    with app.db.reading() as s:
        [incident] = s.execute(select(Incident).where(Incident.code == "clock_drift")).scalars().all()
    assert "CAM-D" in incident.detail and "5.0 s/day" in incident.detail


def test_explaining_and_redocking_keep_the_explanation(station):
    dock, app, clock, tmp = station
    cam = _camera(tmp, "cam", {
        "20261120_083000.mp4": ClipSpec(seconds=2, tone_hz=300),
        "20261120_083500.mp4": ClipSpec(seconds=6, tone_from_s=3, tone_hz=500),
        "20261120_084000.mp4": ClipSpec(seconds=2, tone_hz=700),
    })
    ingest(app, [cam], None, "CAM-E")
    first, second = _gaps(dock, "--open")
    out = dock.cli_json("gaps", "explain", str(first["id"]), "--reason", "low_battery", "--voice-at", "3",
                        "--by", "012345")
    assert out["object_version"] == "v2"
    # the explanation is a new version of the following clip's object
    store = dock.app().store
    stored = store.read_json(out["object_id"], f"explanations/gap-{first['id']}.json")
    assert stored["reason_zh"] == "电量不足" and stored["voice_at_s"] == 3.0 and stored["by"] == "012345"
    assert ocfl_validate(dock.settings.data_dir / "store")[0]

    # Re-dock: the same camera now also holds the clip that was missing between 08:35 and 08:40.
    make_clip(cam / "DCIM" / "20261120_083506.mp4", ClipSpec(seconds=294, width=64, height=48, fps=5, tone_hz=900))
    clock.at += timedelta(hours=1)
    ingest(app, [cam], None, "CAM-E")
    all_gaps = {g["id"]: g for g in _gaps(dock)}
    assert all_gaps[first["id"]]["status"] == "explained"
    assert all_gaps[first["id"]]["reason"] == "low_battery" and all_gaps[first["id"]]["explanation"] == "voice"
    assert second["id"] not in all_gaps  # filled in: superseded, not listed
    assert len(all_gaps) == 1  # nothing duplicated
    assert dock.cli_json("audit", "verify")["ok"]

    # explaining again, or with bad input, is refused with one line
    for args, message in [
        ([str(first["id"]), "--reason", "low_battery", "--note", "again"], "is already explained"),
        (["9999", "--reason", "low_battery", "--note", "x"], "no interruption with id 9999"),
        ([str(second["id"]), "--reason", "other", "--note", "x"], "no longer exists"),
    ]:
        proc = dock.cli("gaps", "explain", *args, "--by", "012345", check=2)
        assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--reason", "alien_abduction", "--note", "x"], "unknown reason 'alien_abduction'"),
    (["--reason", "other", "--voice-at", "1"], "needs a written note"),
    (["--reason", "low_battery"], "give one way of explaining"),
    (["--reason", "low_battery", "--voice-at", "1", "--note", "x"], "give one way of explaining"),
    (["--reason", "low_battery", "--voice-at", "99"], "outside the following clip"),
])
def test_explain_input_errors(station, args, message):
    dock, app, clock, tmp = station
    ingest(app, [_camera(tmp, "cam", {"20261120_083000.mp4": ClipSpec(seconds=2, tone_hz=300),
                                      "20261120_083500.mp4": ClipSpec(seconds=2, tone_hz=500)})], None, "CAM-F")
    [gap] = _gaps(dock, "--open")
    proc = dock.cli("gaps", "explain", str(gap["id"]), *args, "--by", "012345", check=2)
    assert message in proc.stderr
    assert _gaps(dock, "--open")[0]["status"] == "open"
