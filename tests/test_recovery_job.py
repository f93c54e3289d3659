"""The recovery after a dock: a damaged recording's camera wrote minutes the `moov` never
indexed; they are recovered into a derivative (the original untouched), played through the
proxy and HLS made from it, and the interruption after the clip starts where they end."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ingestd.afterdock import ingest, work_jobs
from ingestd.clock import FixedClock
from ingestd.db.models import Job, Recording, Recovery
from ingestd.db.states import RecoveryStatus
from ingestd.ingest.store import file_sha256
from ingestd.jobs.kinds import DERIVATIVES
from ingestd.media.derivatives import derivative_dir, recovered_path
from ingestd.media.synthetic import ClipSpec, make_clip
from tests.conftest import make_dock

TZ = ZoneInfo("Asia/Shanghai")
DIED = "20261120_083000.mp4"  # 20 s recorded, the battery died two thirds of the way in
LATER = "20261120_083100.mp4"  # the next clip, a minute later: the same camera, healthy


@pytest.fixture
def station(tmp_path):
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    clock = FixedClock(datetime(2026, 11, 20, 20, tzinfo=TZ))
    return dock, dock.app(clock), tmp_path


def _camera(tmp, files: dict[str, ClipSpec], cut: dict[str, float]):
    cam = tmp / "cam"
    for name, spec in files.items():
        path = make_clip(cam / "DCIM" / name, spec)
        if name in cut:
            data = path.read_bytes()
            path.write_bytes(data[: int(len(data) * cut[name])])
    return cam


def _by_name(app) -> dict[str, tuple[Recording, Recovery | None]]:
    with app.db.reading() as s:
        rows = s.execute(select(Recording, Recovery).outerjoin(Recovery, Recovery.recording_id == Recording.id)).all()
    return {rec.original_name: (rec, recovery) for rec, recovery in rows}


def _jobs(app, recording_id: str) -> dict[str, str]:
    with app.db.reading() as s:
        return dict(s.execute(select(Job.kind, Job.status).where(Job.subject == recording_id)).all())


def test_a_dead_battery_clip_is_recovered_played_and_its_gap_measured(station):
    dock, app, tmp = station
    cam = _camera(tmp, {DIED: ClipSpec(seconds=20, noise_seed=4), LATER: ClipSpec(seconds=4, noise_seed=5)},
                  cut={DIED: 2 / 3})
    ingest(app, [cam], None, "CAM-R")
    names = _by_name(app)
    rec, recovery = names[DIED]
    assert rec.status == "damaged"
    assert recovery.status == RecoveryStatus.RECOVERED and recovery.reference_id == names[LATER][0].id
    assert 10 < recovery.span_s < 15 and recovery.facts["video_frames"] > 150
    path = recovered_path(app, rec.id)
    assert recovery.sha256 == file_sha256(path) != rec.id and recovery.size == path.stat().st_size
    # The interruption after it starts where the recovery ends, not at the clip's first second.
    [gap] = dock.cli_json("gaps", "list")
    start = datetime.fromisoformat(gap["start"])
    assert start == datetime(2026, 11, 20, 8, 30, tzinfo=TZ) + timedelta(seconds=recovery.span_s)
    assert gap["end"] == "2026-11-20T08:31:00+08:00" and 45 < gap["seconds"] < 50
    # The derivatives are made from what was recovered: the console plays it.
    assert _jobs(app, rec.id)["proxy"] == "queued"
    assert work_jobs(app, DERIVATIVES) == 6
    with app.db.reading() as s:
        jobs = {j.kind: j for j in s.execute(select(Job).where(Job.subject == rec.id)).scalars()}
    assert jobs["proxy"].partial and jobs["proxy"].output["from"] == "recovered"
    assert jobs["hls"].output["from"] == "recovered" and jobs["hls"].output["segments"] >= 2
    assert (derivative_dir(app, rec.id) / "thumbnails" / "poster.jpg").is_file()
    shown = dock.cli_json("recordings", "show", rec.id)
    assert shown["recovery"]["status"] == "recovered" and shown["recovery"]["sha256"] == recovery.sha256
    assert shown["status"] == "damaged"  # the original is what it was: damaged, byte for byte
    assert dock.cli_json("verify")["ok"]
    trail = dock.cli_json("audit", "list", "--action", "recording.recovery_recovered")
    assert [e["subject_id"] for e in trail] == [rec.id]


def test_with_no_healthy_recording_the_recovery_waits_for_the_cameras_next_dock(station):
    dock, app, tmp = station
    cam = _camera(tmp, {DIED: ClipSpec(seconds=12, noise_seed=4)}, cut={DIED: 0.5})
    ingest(app, [cam], None, "CAM-W")
    rec, recovery = _by_name(app)[DIED]
    assert recovery.status == RecoveryStatus.WAITING_REFERENCE and recovery.sha256 is None
    # A damaged original gets no proxy, HLS or thumbnails of its own (they could only fail).
    assert set(_jobs(app, rec.id)) == {"sm3", "probe", "recover"}
    assert _jobs(app, rec.id)["recover"] == "done"
    make_clip(cam / "DCIM" / LATER, ClipSpec(seconds=4, noise_seed=5))
    ingest(app, [cam], None, "CAM-W")
    rec, recovery = _by_name(app)[DIED]
    assert recovery.status == RecoveryStatus.RECOVERED and 4 < recovery.span_s < 7
    assert _jobs(app, rec.id)["proxy"] == "queued"
    [gap] = dock.cli_json("gaps", "list")
    assert gap["start"] != "2026-11-20T08:30:00+08:00"


def test_a_clip_whose_moov_came_first_is_its_own_reference(station):
    import subprocess

    dock, app, tmp = station
    made = make_clip(tmp / "whole.mp4", ClipSpec(seconds=10, noise_seed=2))
    cam = tmp / "cam" / "DCIM"
    cam.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(made), "-c", "copy", "-movflags", "+faststart",
                    str(tmp / "fast.mp4")], check=True)
    data = (tmp / "fast.mp4").read_bytes()
    (cam / DIED).write_bytes(data[: len(data) * 3 // 4])
    ingest(app, [cam.parent], None, "CAM-F")
    rec, recovery = _by_name(app)[DIED]
    assert rec.status == "damaged" and recovery.status == RecoveryStatus.RECOVERED
    assert recovery.reference_id == rec.id and recovery.span_s > 5


def test_nothing_recoverable_is_said_and_nothing_is_retried(station):
    dock, app, tmp = station
    cam = _camera(tmp, {DIED: ClipSpec(seconds=6, noise_seed=4), LATER: ClipSpec(seconds=3, noise_seed=5)},
                  cut={DIED: 0.004})
    ingest(app, [cam], None, "CAM-N")
    rec, recovery = _by_name(app)[DIED]
    assert recovery.status == RecoveryStatus.NOTHING_RECOVERABLE and recovery.reason
    assert set(_jobs(app, rec.id)) == {"sm3", "probe", "recover"}
    [incident] = [i for i in dock.cli_json("incidents", "list") if i["recording_id"] == rec.id]
    assert "nothing" in incident["recovery"].lower() or "未能恢复" in incident["recovery_zh"]


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_console_plays_what_was_recovered_under_its_banner(tmp_path, language):
    """In Chromium against the daemon: the damaged recording's page plays the proxy made from
    what was recovered, says so above the player, and the incident says how much was recovered."""
    from tests.test_web_browser import SHOTS, signed_in_console

    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    cam = _camera(tmp_path, {DIED: ClipSpec(seconds=20, noise_seed=4), LATER: ClipSpec(seconds=4, noise_seed=5)},
                  cut={DIED: 2 / 3})
    dock.cli_json("ingest", "--device", "CAM-B", str(cam))
    [rec] = [r for r in dock.cli_json("recordings", "list") if r["status"] == "damaged"]
    proxy = derivative_dir(dock.app(FixedClock(datetime.now(TZ))), rec["id"]) / "proxy" / "proxy.mp4"
    with signed_in_console(dock, language, ready=proxy.is_file) as (page, base):
        page.goto(f"{base}/recordings/{rec['id']}?t=10")
        page.wait_for_function("() => { const v = document.getElementById('player');"
                               " return v && v.readyState >= 2 && Math.abs(v.currentTime - 10) < 0.5; }",
                               timeout=30_000)
        banner = page.inner_text("p.recovered")
        facts = page.inner_text("table.facts")
        page.screenshot(path=str(SHOTS / f"recovered-recording-{language}.png"), full_page=True)
        page.goto(f"{base}/incidents")
        incident = page.inner_text("article.incident")
        page.screenshot(path=str(SHOTS / f"recovered-incident-{language}.png"), full_page=True)
        page.goto(f"{base}/gaps")
        gaps = page.inner_text("main table")
        page.screenshot(path=str(SHOTS / f"recovered-gaps-{language}.png"), full_page=True)
    if language == "en":
        assert "Recovered from a damaged original" in banner
        assert "of video and" in facts and "byte for byte" in facts and "recovered" in incident
        assert "46 s" in gaps or "47 s" in gaps  # from where the recovery ends to the next clip
    else:
        assert "由损坏的原始文件恢复" in banner
        assert "已从损坏的原始文件恢复视频 0:1" in facts and "逐字节复制" in facts and "恢复视频" in incident
        assert "已按原样保存" in incident and "stored byte for byte" not in incident
        assert "46 秒" in gaps or "47 秒" in gaps
