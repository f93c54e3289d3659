"""Derivatives with real ffmpeg on tiny clips: proxies that play, HLS segments whose signed
manifest matches them, thumbnails; damaged and undecodable originals; the job queue's
leases with an injected clock."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from ingestd.afterdock import work_jobs
from ingestd.clock import FixedClock
from ingestd.jobs import queue
from ingestd.jobs.kinds import DERIVATIVES, JobKind
from ingestd.media import commands, manifest
from ingestd.media.derivatives import derivative_dir
from ingestd.media.synthetic import ClipSpec, make_clip
from tests.conftest import copy_clip, make_dock


def ffprobe(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams",
                          str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def test_argument_lists():
    proxy = commands.proxy_args(Path("/s/in.mp4"), Path("/d/p.mp4"), has_audio=True)
    assert "+faststart" in proxy and "libx264" in proxy and "scale=-2:min(720\\,ih):flags=fast_bilinear" in " ".join(proxy)
    assert "-err_detect" not in proxy
    hls = commands.hls_args(Path("/s/in.mp4"), Path("/d"))
    assert hls[hls.index("-c") + 1] == "copy" and hls[hls.index("-hls_segment_type") + 1] == "fmp4"
    assert hls[hls.index("-hls_time") + 1] == "6"


@pytest.fixture
def unit(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "20261120_083000.mp4")
    copy_clip(clips["hevc"], cam / "20261120_090000.mp4")
    copy_clip(clips["silent"], cam / "20261120_093000.mp4")
    make_clip(cam / "20261120_100000.mp4", ClipSpec(seconds=14, audio=False, tone_hz=200))  # several segments
    out = dock.cli_json("ingest", str(cam))
    return dock, {Path(f["path"]).name: f["recording_id"] for f in out["files"]}


def test_proxies_segments_and_thumbnails(unit):
    dock, ids = unit
    assert dock.cli_json("media", "status")["queued"] == 12
    assert dock.cli_json("media", "work")["jobs"] == 12
    status = dock.cli_json("media", "status")
    assert status["done"] == 12 and status["failed"] == [] and status["queued"] == 0
    app = dock.app()
    verifier = app.verifier()
    for name, rid in ids.items():
        rec = next(r for r in dock.cli_json("recordings", "list") if r["id"] == rid)
        base = derivative_dir(app, rid)
        info = ffprobe(base / "proxy" / "proxy.mp4")
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert video["codec_name"] == "h264" and video["height"] <= 720
        assert abs(float(info["format"]["duration"]) - rec["duration_s"]) <= 0.5
        signed = json.loads((base / "hls" / "manifest.json").read_text())
        assert signed["original_sha256"] == rid
        assert manifest.verify(signed, verifier, base / "hls") == []
        assert signed["segments"][-1]["end_s"] == pytest.approx(rec["duration_s"], abs=0.5)
        for thumb in ("poster.jpg", "contact.jpg"):
            assert (base / "thumbnails" / thumb).read_bytes()[:2] == b"\xff\xd8"  # JPEG
    long = derivative_dir(app, ids["20261120_100000.mp4"]) / "hls"
    signed = json.loads((long / "manifest.json").read_text())
    assert len(signed["segments"]) >= 2
    # A tampered segment, or a tampered manifest, is caught.
    seg = long / signed["segments"][0]["file"]
    seg.write_bytes(seg.read_bytes()[:-10] + b"0123456789")
    assert manifest.verify(signed, verifier, long) == [f"{signed['segments'][0]['file']} does not match the manifest"]
    forged = {**signed, "original_sha256": "0" * 64}
    assert "the manifest's signature does not verify" in manifest.verify(forged, verifier)


def test_a_damaged_original_gets_derivatives_only_of_what_was_recovered(tmp_path):
    """No proxy is attempted from a damaged original (it could only fail and be retried): a
    file whose `moov` came first is recovered by its own index and its derivatives made from
    that; one with no `moov` and no healthy clip of its camera waits, with no job failing."""
    from sqlalchemy import select

    from ingestd.db.models import Job, Recording, Recovery
    from ingestd.media.derivatives import recovered_path

    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    cam = tmp_path / "cam"
    whole = make_clip(tmp_path / "fast.mp4", ClipSpec(seconds=6))
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(whole), "-c", "copy", "-movflags", "+faststart",
                    str(tmp_path / "faststart.mp4")], check=True)
    data = (tmp_path / "faststart.mp4").read_bytes()
    cam.mkdir()
    (cam / "cut_after_moov.mp4").write_bytes(data[: len(data) // 2])  # moov first: half of it decodes
    moov_last = whole.read_bytes()
    (cam / "no_moov.mp4").write_bytes(moov_last[: len(moov_last) // 2])
    dock.cli_json("ingest", str(cam))
    clock = FixedClock(datetime.now(timezone.utc))
    app = dock.app(clock)
    with app.db.reading() as s:
        rows = {r.original_name: (r, v) for r, v in s.execute(
            select(Recording, Recovery).join(Recovery, Recovery.recording_id == Recording.id))}
    cut, recovered = rows["cut_after_moov.mp4"]
    assert recovered.status == "recovered" and rows["no_moov.mp4"][1].status == "waiting_reference"
    assert work_jobs(app, DERIVATIVES) == 3 and dock.cli_json("media", "status")["failed"] == []
    with app.db.reading() as s:
        jobs = {j.kind: j for j in s.execute(select(Job).where(Job.kind.in_([k.value for k in DERIVATIVES])))
                .scalars()}
    assert {j.subject for j in jobs.values()} == {cut.id}
    assert jobs["proxy"].partial is True  # made from what was recovered, not the whole recording
    assert ffprobe(derivative_dir(app, cut.id) / "proxy" / "proxy.mp4")["streams"]
    assert dock.cli_json("verify")["ok"]  # the originals are untouched
    # A derivative that cannot be made is tried again after each backoff, and no sooner, then listed.
    recovered_path(app, cut.id).write_bytes(b"not a video any more")
    assert dock.cli_json("media", "retry", "--by", "admin", str(jobs["proxy"].id))["status"] == "queued"
    assert work_jobs(app, DERIVATIVES) == 0
    for backoff_s in (30, 60):
        assert work_jobs(app, DERIVATIVES) == 0 and dock.cli_json("media", "status")["failed"] == []
        clock.advance(timedelta(seconds=backoff_s + 1))
        assert work_jobs(app, DERIVATIVES) == 0
    [failed] = dock.cli_json("media", "status")["failed"]
    assert failed["kind"] == "proxy" and failed["attempts"] == 3 and "ffprobe" in failed["error"]
    assert dock.cli("media", "retry", "--by", "admin", "99999", check=2).stderr.startswith("ingestd: no job with id 99999")


def test_a_dead_workers_job_is_taken_again_when_its_lease_runs_out(unit):
    dock, ids = unit
    clock = FixedClock(datetime(2026, 11, 23, 2, tzinfo=timezone.utc))
    app = dock.app(clock)
    [job] = queue.claim(app, "worker-that-dies", DERIVATIVES)
    assert job.kind == JobKind.PROXY
    [other] = queue.claim(app, "second", DERIVATIVES)
    assert other.id != job.id  # the leased job is not handed out twice
    clock.advance(timedelta(seconds=3601))  # a derivative's lease is an hour, renewed while it runs
    taken = queue.claim(app, "third", DERIVATIVES, limit=20)
    again = next(j for j in taken if j.id == job.id)
    assert again.attempt == 2
    # The first worker, back from the dead, cannot finish what is no longer its job.
    assert queue.finish(app, "worker-that-dies", [queue.Done(job.id)]) == [job.id]
    assert queue.finish(app, "third", [queue.Done(job.id)]) == []


def test_on_demand_policy_queues_nothing_until_asked(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1", INGESTD_MEDIA__PROXY_POLICY="on_demand")
    copy_clip(clips["h264"], tmp_path / "cam" / "a.mp4")
    rid = dock.cli_json("ingest", str(tmp_path / "cam"))["files"][0]["recording_id"]
    assert dock.cli_json("media", "status")["queued"] == 0
    assert dock.cli_json("media", "request", "--by", "admin", rid[:10])["queued"] == ["proxy", "hls", "thumbnails"]
    app = dock.app()
    assert work_jobs(app, DERIVATIVES) == 3
    assert (derivative_dir(app, rid) / "proxy" / "proxy.mp4").is_file()
