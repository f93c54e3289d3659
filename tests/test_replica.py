"""The write-once replica against a real S3 server with Object Lock (SeaweedFS on loopback):
a dock's objects copied, read back and locked in COMPLIANCE mode; the server itself refusing
a delete, a shortened retention and a delete under legal hold; connections cut and stalled
mid-upload by a fault proxy with nothing called replicated that the bucket does not hold
whole; a lost store brought back from the bucket, valid and matching every digest."""

from __future__ import annotations

import base64
import hashlib
import shutil
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from ingestd.config import ReplicaSettings
from ingestd.db.models import Recording, Replica
from ingestd.errors import ReplicaError
from ingestd.replica import copy as replica_copy
from ingestd.app import App
from ingestd.ingest.store import STORED_MODE
from ingestd.replica.bucket import bucket_of
from ingestd.replica.copy import object_files, release_deleted, replicate
from ingestd.replica.restore import OBJECT_MARK
from tests.conftest import copy_clip, make_dock, ocfl_validate
from tests.s3_server import FaultProxy, start_s3
from tests.test_daemon import wait_for


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = start_s3(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


def replica_env(endpoint: str, bucket: str, **extra: str) -> dict[str, str]:
    return {"INGESTD_REPLICA__ENABLED": "true", "INGESTD_REPLICA__ENDPOINT": endpoint,
            "INGESTD_REPLICA__BUCKET": bucket, "INGESTD_REPLICA__ACCESS_KEY_ID": "ingestd-test",
            "INGESTD_REPLICA__SECRET_ACCESS_KEY": "not-a-real-secret", **extra}


@pytest.fixture
def docked(tmp_path, s3, clips):
    """A dock with [replica] on a bucket of its own, two recordings docked (not yet copied)."""
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    dock = make_dock(tmp_path)
    dock.env.update(replica_env(s3.endpoint, bucket))
    dock.settings = dock.settings.model_copy(update={"replica": ReplicaSettings(
        enabled=True, endpoint=s3.endpoint, bucket=bucket, access_key_id="ingestd-test",
        secret_access_key="not-a-real-secret", timeout_s=5)})
    cam = tmp_path / "CAM-R"
    copy_clip(clips["h264"], cam / "20261120_083000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_084000.mp4")
    dock.cli("ingest", str(cam), "--device", "CAM-R")
    app = dock.app()
    yield dock, app
    app.close()


def _recordings(app) -> list[Recording]:
    with app.db.reading() as s:
        return list(s.execute(select(Recording).order_by(Recording.original_name)).scalars())


def test_a_dock_is_copied_read_back_and_locked_and_a_new_version_follows(docked):
    dock, app = docked
    assert dock.cli_json("replica", "status")["pending"] == 2
    dock.cli("jobs", "work", "--until-idle")
    status = dock.cli_json("replica", "status")
    assert (status["replicated"], status["pending"], status["failed"]) == (2, 0, 0)
    bucket = bucket_of(app)
    now = app.clock.now()
    for rec in _recordings(app):
        head, files = object_files(app, rec.object_id)
        for f in files:
            there = bucket.stored(f.key)
            assert there is not None and there.size == f.size and there.sha256 == f.sha256, f.key
            assert there.mode == "COMPLIANCE" and there.retain_until > now + timedelta(days=300), f.key
        assert files[-1].key.endswith("/inventory.json")  # the inventory goes last
    secret = "not-a-real-secret"
    assert all(secret not in line for line in dock.cli("replica", "status").stderr.splitlines())

    # 证明对象 makes a new OCFL version: the sweep sees it and the bucket gets it.
    rec = _recordings(app)[0]
    dock.cli("evidence", "set", rec.id, "--proves", "现场检查经过", "--by", "admin")
    assert dock.cli_json("replica", "status")["changed_since"] == 1
    assert dock.cli_json("replica", "sync")["asked"] == 1
    with app.db.reading() as s:
        assert s.get(Replica, rec.id).head == app.store.inventory(rec.object_id)["head"] == "v2"
    head, files = object_files(app, rec.object_id)
    inventory = next(f for f in files if f.key.endswith("/inventory.json") and f.key.count("/v") == 0)
    assert bucket.stored(inventory.key).sha256 == inventory.sha256


def test_the_server_refuses_to_delete_a_locked_original(docked):
    dock, app = docked
    dock.cli("jobs", "work", "--until-idle")
    bucket = bucket_of(app)
    rec = _recordings(app)[0]
    content = next(f for f in object_files(app, rec.object_id)[1] if f.sha256 == rec.id)
    with pytest.raises(ReplicaError, match="AccessDenied"):
        bucket.delete(content.key)
    assert bucket.stored(content.key).sha256 == rec.id
    # An approved deletion leaves the bucket's copy where Object Lock keeps it, and says so.
    note = release_deleted(app, rec, "admin")
    assert note.startswith("the replica keeps it until ")
    assert bucket.stored(content.key).sha256 == rec.id


def test_the_server_refuses_to_shorten_a_compliance_retention(docked):
    dock, app = docked
    dock.cli("jobs", "work", "--until-idle")
    bucket = bucket_of(app)
    rec = _recordings(app)[0]
    content = next(f for f in object_files(app, rec.object_id)[1] if f.sha256 == rec.id)
    kept = bucket.stored(content.key).retain_until
    with pytest.raises(ReplicaError, match="AccessDenied"):
        bucket.extend(content.key, kept - timedelta(days=30))
    assert bucket.stored(content.key).retain_until == kept


def test_a_legal_hold_goes_to_the_bucket_and_the_server_refuses_a_delete_under_it(docked):
    dock, app = docked
    rec = _recordings(app)[0]
    dock.cli("hold", "place", rec.id, "--reason", "信访调查", "--by", "admin")
    dock.cli("jobs", "work", "--until-idle")
    bucket = bucket_of(app)
    content = next(f for f in object_files(app, rec.object_id)[1] if f.sha256 == rec.id)
    assert bucket.stored(content.key).legal_hold
    with pytest.raises(ReplicaError, match="AccessDenied"):
        bucket.delete(content.key)
    with app.db.reading() as s:
        assert s.get(Replica, rec.id).legal_hold


@pytest.mark.parametrize("fault", ["cut", "stall"])
def test_a_cut_or_stalled_upload_is_never_called_replicated_and_is_finished_later(docked, s3, fault):
    dock, app = docked
    proxy = FaultProxy(int(s3.endpoint.rsplit(":", 1)[1]))
    try:
        app.settings.replica.endpoint = proxy.endpoint
        bucket_of(app)  # the bucket is made through the proxy while it passes everything
        proxy.cut_after = 20_000  # bytes into a request: inside the first original's body
        proxy.stall_s = 8.0 if fault == "stall" else 0.0  # longer than the client's 5 s read limit
        rec = _recordings(app)[0]
        with pytest.raises(ReplicaError):
            replicate(app, rec.id)
        assert proxy.cuts >= 1
        with app.db.reading() as s:
            assert s.get(Replica, rec.id) is None
        assert dock.cli_json("replica", "status")["replicated"] == 0
        proxy.cut_after, proxy.stall_s = None, 0.0
        # The next attempt (the job's retry) finishes it; a server still closing the stalled
        # upload may ask for one more try, as the job's backoff would give it.
        done = wait_for(lambda: _attempt(app, rec.id), timeout=60, step=1.0)
        assert done["files"] >= 4
        with app.db.reading() as s:
            assert s.get(Replica, rec.id).head == "v1"
    finally:
        proxy.close()


def _attempt(app, rec_id: str) -> dict | None:
    try:
        return replicate(app, rec_id)
    except ReplicaError as exc:
        if exc.code != "InternalError":
            raise
        return None


def test_a_lost_store_comes_back_from_the_bucket_whole(docked):
    dock, app = docked
    dock.cli("jobs", "work", "--until-idle")
    assert dock.cli_json("replica", "status")["replicated"] == 2
    before = {r.id: r.sm3 for r in _recordings(app)}
    store = dock.settings.data_dir / "store"
    shutil.rmtree(store)  # the disk that held the originals is gone
    refused = dock.cli("store", "restore", "--from-replica", check=2)
    assert "run `ingestd init` first" in refused.stderr
    dock.cli("init")  # a new, empty storage root (the database and the keys are kept)
    out = dock.cli_json("store", "restore", "--from-replica")
    assert out["objects"] == 2 and out["files_fetched"] >= 8
    objects = [mark.parent for mark in store.rglob(OBJECT_MARK)]
    restored = [p for o in objects for p in o.rglob("*") if p.is_file()]
    modes = {oct(p.stat().st_mode & 0o777) for p in restored}
    assert len(restored) >= 8 and modes == {oct(STORED_MODE)}  # write-once, as the dock stored them
    ok, _root = ocfl_validate(store)
    assert ok
    assert dock.cli_json("verify")["findings"] == []
    assert {r.id: r.sm3 for r in _recordings(app)} == before
    for rec in _recordings(app):
        assert app.store.resolve(rec.object_id, rec.content_name).exists()
    # Restoring again changes nothing; one recording alone can be asked for.
    again = dock.cli_json("store", "restore", "--from-replica", "--recording", next(iter(before)))
    assert again["objects"] == 1 and again["files_fetched"] == 0
    bad = dock.cli("store", "restore", "--from-replica", "--recording", "abc", check=2)
    assert "64 hex digits" in bad.stderr and bad.stderr.count("\n") == 1


def test_a_hold_placed_after_the_copy_and_its_release_reach_the_bucket(docked):
    dock, app = docked
    dock.cli("jobs", "work", "--until-idle")
    rec = _recordings(app)[0]
    bucket = bucket_of(app)
    keys = [f.key for f in object_files(app, rec.object_id)[1]]
    assert not any(bucket.stored(k).legal_hold for k in keys)
    hold = dock.cli_json("hold", "place", rec.id, "--reason", "信访调查", "--by", "admin")
    assert dock.cli_json("replica", "sync")["asked"] == 1  # the sweep sees the bucket's terms behind
    assert all(bucket.stored(k).legal_hold for k in keys)
    with pytest.raises(ReplicaError, match="AccessDenied"):
        bucket.delete(keys[0])
    dock.cli_json("hold", "release", str(hold["id"]), "--by", "admin")
    assert dock.cli_json("replica", "sync")["asked"] == 1
    assert not any(bucket.stored(k).legal_hold for k in keys)
    with app.db.reading() as s:
        assert s.get(Replica, rec.id).legal_hold is False
    assert dock.cli_json("replica", "sync")["asked"] == 0  # nothing behind any more


def test_a_retention_about_to_end_is_extended_before_it_does(docked):
    from ingestd.afterdock import replicate_pending
    from ingestd.clock import FixedClock

    dock, app = docked
    dock.cli("jobs", "work", "--until-idle")
    rec = _recordings(app)[0]
    with app.db.reading() as s:
        was = s.get(Replica, rec.id).retain_until
    later = dock.app(FixedClock(was - timedelta(days=7)))  # a week before the bucket's lock ends
    try:
        assert replicate_pending(later, work=True)["asked"] == 2
        bucket = bucket_of(later)
        for f in object_files(later, rec.object_id)[1]:
            assert bucket.stored(f.key).retain_until >= was + timedelta(days=23), f.key
        with later.db.reading() as s:
            assert s.get(Replica, rec.id).retain_until >= was + timedelta(days=23)
        assert replicate_pending(later)["asked"] == 0  # extended far enough: not asked again
    finally:
        later.close()


def test_the_report_names_recordings_not_in_the_bucket_in_time(docked):
    from datetime import date

    from ingestd.alerts.events import find_events
    from ingestd.clock import FixedClock
    from ingestd.compliance.report import ReportRequest, build_report

    dock, app = docked
    later = dock.app(FixedClock(app.clock.now() + timedelta(hours=30)))  # past max_lag_hours (24)
    try:
        lists = build_report(later, ReportRequest(date(2026, 11, 1), date(2026, 11, 30))).lists
        lagging = lists["replica_lagging"]
        assert lagging.total == 2 and lagging.items[0]["code"] == "replica_lagging"
        assert "evidence has one copy" in lagging.items[0]["message"]
        alerts = [e for e in find_events(later, later.clock.now()) if e.finding.code == "replica_lagging"]
        assert [(e.finding.detail["count"], e.finding.detail["oldest_h"]) for e in alerts] == [(2, 30.0)]
        dock.cli("jobs", "work", "--until-idle")
        assert build_report(later, ReportRequest(date(2026, 11, 1), date(2026, 11, 30))).lists[
            "replica_lagging"].total == 0
    finally:
        later.close()


def test_a_large_original_goes_in_parts_and_a_dead_attempts_parts_are_not_sent_again(tmp_path, s3, clips):
    """Over `multipart_mb` an original is uploaded in parts, each checked by the server; an
    attempt that died after its first part (what a killed process leaves) is continued: that
    part is not sent again, a leftover part with other bytes is, and the object proves whole."""
    from ingestd.replica.s3 import Parts, part_digests

    bucket_name = f"t-{uuid.uuid4().hex[:12]}"
    dock = make_dock(tmp_path)
    dock.env.update(replica_env(s3.endpoint, bucket_name, INGESTD_REPLICA__MULTIPART_MB="5"))
    dock.settings = dock.settings.model_copy(update={"replica": ReplicaSettings(
        enabled=True, endpoint=s3.endpoint, bucket=bucket_name, access_key_id="ingestd-test",
        secret_access_key="not-a-real-secret", timeout_s=5, multipart_mb=5)})
    cam = tmp_path / "CAM-L"
    clip = clips["h264"].read_bytes()
    padding = 13 * (1 << 20)  # a valid MP4 made long by a `free` box: 3 parts of 5 MiB
    (cam / "20261120_083000.mp4").parent.mkdir(parents=True)
    (cam / "20261120_083000.mp4").write_bytes(clip + (8 + padding).to_bytes(4, "big") + b"free" + bytes(padding))
    dock.cli("ingest", str(cam), "--device", "CAM-L")
    app = dock.app()
    try:
        rec = _recordings(app)[0]
        bucket = bucket_of(app)
        content = next(f for f in object_files(app, rec.object_id)[1] if f.sha256 == rec.id)
        parts = Parts(content.size, 5 << 20)
        assert parts.count == 3
        until, _held = replica_copy.lock_terms(app, rec)
        lock = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}
        upload_id, _none = bucket._open_upload(content.key, lock)  # the attempt that died ...
        for number, data, sha, _md5 in part_digests(content.path, parts):
            if number == 1:  # ... after its first part, and a second one of other bytes
                body = data
            elif number == 2:
                body = b"\x01" * len(data)
                sha = hashlib.sha256(body).digest()
            else:
                break
            bucket.client.upload_part(Bucket=bucket.name, Key=content.key, UploadId=upload_id, PartNumber=number,
                                      Body=body, ChecksumSHA256=base64.b64encode(sha).decode(),
                                      ChecksumAlgorithm="SHA256")
        done = replicate(app, rec.id)
        others = sum(f.size for f in object_files(app, rec.object_id)[1] if f.key != content.key)
        assert done["sent_bytes"] == others + content.size - (5 << 20), "the first part was not sent again"
        there = bucket.stored(content.key)
        assert there.sha256 is None and there.composite.endswith("-3") and there.mode == "COMPLIANCE"
        assert bucket.holds_whole(there, content.path, content.size, content.sha256)
        assert bucket.client.list_multipart_uploads(Bucket=bucket.name).get("Uploads", []) == []
        # What the bucket holds is the original: brought back, it has the recording's SHA-256.
        back = tmp_path / "back.mp4"
        bucket.download(content.key, back)
        assert hashlib.sha256(back.read_bytes()).hexdigest() == rec.id
        assert replicate(app, rec.id)["sent_bytes"] == 0  # whole: nothing sent again
    finally:
        app.close()


def test_the_bandwidth_limit_paces_reads_on_its_clock():
    """At 1 MB/s, 3 MB take 3 s of the limiter's clock (its own, not the test's time)."""
    import io

    from ingestd.replica.s3 import Throttled

    now = [0.0]
    slept = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    body = Throttled(io.BytesIO(bytes(3_000_000)), 1e6, clock=lambda: now[0], sleep=sleep)
    total = 0
    while chunk := body.read(1 << 20):
        total += len(chunk)
    assert total == 3_000_000
    assert abs(now[0] - 3.0) < 1e-6 and len(slept) == 3


@pytest.mark.parametrize("point", ["job.claimed:replicate", "job.handled:replicate"])
def test_a_dock_killed_mid_replication_resumes(docked, point):
    """Killed (SIGKILL) as a copy starts, or after the bucket has it but before it is recorded:
    the durable job is taken again by the next process, and nothing is counted twice."""
    import signal

    from tests.test_after_dock import _run_killed

    dock, app = docked
    assert _run_killed(dock, "jobs", "work", "--until-idle", failpoint=point) == -signal.SIGKILL
    assert dock.cli_json("replica", "status")["replicated"] < 2
    dock.cli_json("jobs", "work", "--until-idle")
    status = dock.cli_json("replica", "status")
    assert (status["replicated"], status["pending"], status["failed"]) == (2, 0, 0)
    assert dock.cli_json("audit", "verify")["ok"]


def test_each_app_has_its_own_bucket_client(docked):
    """The client is the app's own: a later app with other settings never gets an earlier one's
    endpoint, bucket or credentials (a cache keyed by id(app) could, once the id was reused)."""
    import gc

    dock, app = docked
    first = bucket_of(app)
    assert bucket_of(app) is first and first.name == app.settings.replica.bucket
    for n in range(3):
        other_bucket = f"o-{uuid.uuid4().hex[:12]}"
        other = App.open(dock.settings.model_copy(update={"replica": app.settings.replica.model_copy(
            update={"bucket": other_bucket})}))
        try:
            assert bucket_of(other).name == other_bucket and bucket_of(other) is not first
        finally:
            other.close()
            del other
            gc.collect()
