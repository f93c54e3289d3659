"""The dock's disk as a window onto the bucket, against a real S3 server with Object Lock
(SeaweedFS on loopback) and an injected clock: exactly what qualifies leaves the disk (each
reason to stay tried), the storage root stays valid OCFL, an evicted original is verified in
the bucket, read by jobs and exported from it, refuses new versions until recalled, and comes
back whole; kill -9 at each step of an eviction and of a recall is settled; nothing leaves
while the dock's clock cannot be trusted; the forecast and its alert."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ingestd.clock import FixedClock
from ingestd.config import ReplicaSettings, StoreSettings
from ingestd.db.models import Eviction, Recording
from ingestd.db.states import EvictionState
from ingestd.errors import ReplicaError
from ingestd.ingest.store import file_sha256
from ingestd.jobs import queue
from ingestd.jobs.kinds import JobKind
from ingestd.replica.evict import Refusal, evict_due, why_it_stays
from ingestd.replica.original import original_file
from tests.cli_runner import run_ingestd
from tests.conftest import copy_clip, make_dock, ocfl_validate, pg_database
from tests.s3_server import start_s3
from tests.test_replica import replica_env


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = start_s3(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


def _with_store(dock, **store) -> None:
    dock.settings = dock.settings.model_copy(update={"store": StoreSettings(**store)})
    for key, value in store.items():
        dock.env[f"INGESTD_STORE__{key.upper()}"] = str(value).lower() if isinstance(value, bool) else str(value)


@pytest.fixture
def window(request, tmp_path, s3, clips):
    """A dock with four recordings copied and proven in a bucket of its own, a legal user, and
    [store] letting originals without an end date leave (the shipped policy sets no period).
    On SQLite, or (parametrized "postgresql") on a PostgreSQL database of its own."""
    if getattr(request, "param", "sqlite") == "postgresql":
        with pg_database() as url:
            yield from _window(tmp_path, s3, clips, database_url=url)
    else:
        yield from _window(tmp_path, s3, clips)


def _window(tmp_path, s3, clips, names=("h264", "h264_b", "h264_c", "hevc"), database_url: str | None = None):
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    dock = make_dock(tmp_path, **({"INGESTD_DATABASE_URL": database_url} if database_url else {}))
    # Proxies only when asked for: no derivative job left waiting on the originals here.
    dock.env.update(replica_env(s3.endpoint, bucket), INGESTD_MEDIA__PROXY_POLICY="on_demand")
    dock.settings = dock.settings.model_copy(update={"replica": ReplicaSettings(
        enabled=True, endpoint=s3.endpoint, bucket=bucket, access_key_id="ingestd-test",
        secret_access_key="not-a-real-secret", timeout_s=5),
        "media": dock.settings.media.model_copy(update={"proxy_policy": "on_demand"})})
    _with_store(dock, keep_local_days=90, evict_open_retention=True, free_target_pct=100)
    cam = tmp_path / "CAM-E"
    for i, name in enumerate(names):
        copy_clip(clips[name], cam / f"20261120_08{i}000.mp4")
    dock.cli("ingest", str(cam), "--device", "CAM-E")
    dock.cli("jobs", "work", "--until-idle")
    assert dock.cli_json("replica", "status")["replicated"] == len(names)
    app = dock.app()
    from ingestd.users import add_user

    add_user(app, "L1", "法制员", "legal", None, None, None, "admin")
    yield dock, app
    app.close()


def _recordings(app) -> list[Recording]:
    with app.db.reading() as s:
        return list(s.execute(select(Recording).order_by(Recording.original_name)).scalars())


def _later(dock, days: float):
    """The dock's app on a clock `days` after now (the recordings docked moments ago)."""
    return dock.app(FixedClock(_now() + timedelta(days=days)))


def _age(app, days: float) -> None:
    """The dock's recordings docked `days` earlier (where the clock cannot be moved instead)."""
    from sqlalchemy import update

    with app.changes.begin("ingestd") as ch:
        for rec in ch.session.execute(select(Recording)).scalars():
            ch.session.execute(update(Recording).where(Recording.id == rec.id)
                               .values(ingested_at=rec.ingested_at - timedelta(days=days)))
        ch.record("test.recordings_aged", "recordings", "all", days=days)


def _now() -> datetime:
    return datetime.now(timezone.utc)


@pytest.mark.parametrize("window", ["sqlite", "postgresql"], indirect=True)
def test_exactly_what_qualifies_leaves_the_disk_and_each_reason_to_stay_holds(window):
    dock, app = window
    held, behind, busy, free = _recordings(app)
    # Held in the database, not yet in the bucket; a new version not yet copied; a job on it.
    dock.cli_json("hold", "place", held.id, "--reason", "信访调查", "--by", "admin")
    dock.cli_json("evidence", "set", behind.id, "--proves", "现场检查经过", "--by", "L1")
    with app.changes.begin("ingestd") as ch:
        queue.enqueue(ch, [queue.JobSpec(JobKind.PROXY, busy.id)], app.clock.now())
    if dock.settings.database_url:
        # On PostgreSQL the dock's clock is checked against the server's (below): the recordings
        # are made older instead of the clock moved on.
        _age(app, 30)
        soon = dock.app()
    else:
        soon = _later(dock, 30)
    try:
        assert why_it_stays(soon, free.id, soon.clock.now()) is Refusal.TOO_RECENT
    finally:
        soon.close()
    if dock.settings.database_url:
        _age(app, 70)
        later = dock.app()
    else:
        later = _later(dock, 100)
    try:
        reasons = {r.id: why_it_stays(later, r.id, later.clock.now()) for r in (held, behind, busy, free)}
        assert reasons == {held.id: Refusal.HOLD_NOT_IN_BUCKET, behind.id: Refusal.COPY_BEHIND,
                           busy.id: Refusal.BUSY, free.id: None}
        run = evict_due(later)
        assert [e.recording_id for e in run.evicted] == [free.id], run.as_dict()
        assert {(f.detail["recording_id"], f.detail["reason"]) for f in run.refused} == {
            (held.id, "hold_not_in_bucket"), (behind.id, "copy_behind"), (busy.id, "busy")}
        assert all(f.message_zh.startswith("记录 ") for f in run.refused)
        with later.db.reading() as s:
            assert s.get(Eviction, free.id).state is EvictionState.IN_BUCKET
        assert not later.store.exists(free.object_id)
        ok, _root = ocfl_validate(later.store.root)  # the object left whole; the root stays valid
        assert ok
        assert evict_due(later).evicted == ()  # nothing more qualifies: the others still have their reasons
        trail = [e["action"] for e in dock.cli_json("audit", "list", "--subject", free.id)]
        assert trail[:2] == ["store.evicted", "store.evicting"]
    finally:
        later.close()
    if dock.settings.database_url:
        # A clock moved on 100 days disagrees with the server's: nothing leaves by it (and its
        # entries stamped in the future keep the dock from trusting its clock until then).
        ahead = _later(dock, 100)
        try:
            assert [f.detail["reason"] for f in evict_due(ahead, force=True).refused] == ["clock_off"]
        finally:
            ahead.close()
    # The dock's own view: verify reads the evicted one back from the bucket; status counts it.
    verified = dock.cli_json("verify")
    assert verified["ok"] and verified["in_bucket"] == 1 and verified["bucket_checked"] == 1
    status = dock.cli_json("store", "status")
    assert status["bucket_recordings"] == 1 and status["local_recordings"] == 3
    assert status["bucket_bytes"] == free.size


def test_an_evicted_original_is_read_from_the_bucket_exported_and_recalled_whole(window, tmp_path):
    dock, app = window
    rec = _recordings(app)[-1]
    later = _later(dock, 100)
    try:
        first = evict_due(later, limit=1).evicted
        assert len(first) == 1  # oldest first, one at a time when asked
        gone = {e.recording_id for e in first + evict_due(later).evicted}
        assert gone == {r.id for r in _recordings(app)}
        # A job that reads the original gets it from the bucket, its SHA-256 checked.
        path = original_file(later, rec)
        assert path.is_relative_to(later.data.fetched) and file_sha256(path) == rec.id
    finally:
        later.close()
    out = tmp_path / "out"
    exported = dock.cli_json("export", rec.id, "--out", str(out), "--by", "L1")
    import bagit

    for volume in exported["volumes"]:
        bagit.Bag(volume["path"]).validate()
    bagged = [p for p in out.rglob("*.mp4") if hashlib.sha256(p.read_bytes()).hexdigest() == rec.id]
    assert bagged
    # 证明对象 on it: a new version written straight to its bucket object, locked and proven.
    entered = dock.cli_json("evidence", "set", rec.id, "--proves", "现场检查经过", "--by", "L1")
    assert entered["object_version"] == "v2"
    from ingestd.db.models import Replica, ReplicaVersion
    from ingestd.replica.bucket import bucket_of

    with app.db.reading() as s:
        assert s.get(Replica, rec.id).head == "v2" and s.get(Eviction, rec.id).head == "v2"
        written = [(v.key, v.version_id) for v in s.execute(select(ReplicaVersion).where(
            ReplicaVersion.recording_id == rec.id, ReplicaVersion.key.contains("/v2/"))).scalars()]
    assert len(written) == 3  # evidence.json, the version's inventory and its sidecar
    assert all(bucket_of(app).stored(k, v).locked for k, v in written)
    assert dock.cli_json("verify", "--bucket-all")["ok"]
    assert "unknown or disabled user" in dock.cli("store", "recall", rec.id, "--by", "nobody", check=2).stderr
    back = dock.cli_json("store", "recall", rec.id, "--by", "L1")
    assert back["recording_id"] == rec.id and back["findings"] == []
    assert app.store.exists(rec.object_id)
    assert file_sha256(app.store.resolve(rec.object_id, rec.content_name)) == rec.id
    assert "on this dock's disk already" in dock.cli("store", "recall", rec.id, "--by", "L1", check=2).stderr
    ok, _root = ocfl_validate(app.store.root)
    assert ok
    inventory = app.store.inventory(rec.object_id)  # back with the version written in the bucket
    assert inventory["head"] == "v2" and "evidence.json" in str(inventory["versions"]["v2"]["state"])
    assert app.store.read_json(rec.object_id, "evidence.json")["证明对象"] == "现场检查经过"
    dock.cli_json("evidence", "set", rec.id, "--proves", "现场检查经过，当事人在场", "--by", "L1")
    assert app.store.inventory(rec.object_id)["head"] == "v3"
    assert dock.cli_json("verify")["ok"]


def test_nothing_leaves_without_a_replica_an_end_date_or_a_clock_to_trust(window, tmp_path, clips):
    dock, app = window
    rec = _recordings(app)[0]
    _with_store(dock, keep_local_days=90, evict_open_retention=False, free_target_pct=100)
    strict = _later(dock, 100)
    try:
        assert why_it_stays(strict, rec.id, strict.clock.now()) is Refusal.NO_END_DATE
        assert evict_due(strict).evicted == ()
    finally:
        strict.close()
    _with_store(dock, keep_local_days=90, evict_open_retention=True, free_target_pct=100)
    # A clock earlier than the dock's own last audit entry: it went back.
    back = dock.app(FixedClock(_now() - timedelta(hours=2)))
    try:
        run = evict_due(back)
        assert run.evicted == () and [f.detail["reason"] for f in run.refused] == ["clock_off"]
    finally:
        back.close()
    alone = make_dock(tmp_path / "alone")
    copy_clip(clips["h264"], tmp_path / "CAM-A" / "20261120_083000.mp4")
    alone.cli("ingest", str(tmp_path / "CAM-A"), "--device", "CAM-A")
    lone = alone.app(FixedClock(_now() + timedelta(days=400)))
    try:
        [only] = _recordings(lone)
        assert why_it_stays(lone, only.id, lone.clock.now()) is Refusal.NO_REPLICA
        assert evict_due(lone, force=True).evicted == ()
        assert lone.store.exists(only.object_id)
    finally:
        lone.close()
    status = alone.cli_json("store", "status")
    assert status["eviction"] is False and status["bucket_recordings"] == 0


@pytest.mark.parametrize("point", ["evict.marked", "evict.moved"])
def test_an_eviction_killed_at_each_step_is_settled_and_nothing_is_lost(window, point):
    dock, app = window
    _with_store(dock, keep_local_days=0, evict_open_retention=True, free_target_pct=100)
    killed = _cli_with(dock, {"INGESTD_FAILPOINTS": point}, "store", "evict", "--all", "--limit", "1")
    assert killed.returncode == -9
    with app.db.reading() as s:
        [row] = s.execute(select(Eviction)).scalars().all()
        first = s.get(Recording, row.recording_id)
    assert row.state is EvictionState.LEAVING
    assert app.store.exists(first.object_id) is (point == "evict.marked")
    # While it is marked leaving, a new version is refused (it could be left behind): one line.
    busy = dock.cli("evidence", "set", first.id, "--proves", "现场检查经过", "--by", "L1", check=2)
    assert "being moved between this dock's disk and the replica bucket" in busy.stderr
    assert busy.stderr.count("\n") == 1
    out = dock.cli_json("store", "evict", "--all", "--limit", "1")
    assert out["settled"] == 1
    with app.db.reading() as s:
        states = {e.recording_id: e.state for e in s.execute(select(Eviction)).scalars()}
    # Marked only: undone, then evicted by this pass. Moved: settled as in the bucket.
    assert states[first.id] is EvictionState.IN_BUCKET and not app.store.exists(first.object_id)
    ok, _root = ocfl_validate(app.store.root)
    assert ok
    verified = dock.cli_json("verify", "--bucket-all")
    assert verified["ok"] and verified["bucket_checked"] == len(states)
    assert dock.cli_json("audit", "verify")["ok"]


def test_a_recall_killed_before_it_moves_anything_in_is_settled(window):
    dock, app = window
    _with_store(dock, keep_local_days=0, evict_open_retention=True, free_target_pct=100)
    [left] = dock.cli_json("store", "evict", "--all", "--limit", "1")["evicted"]
    rec = next(r for r in _recordings(app) if r.id == left["recording_id"])
    killed = _cli_with(dock, {"INGESTD_FAILPOINTS": "restore.fetched"}, "store", "recall", rec.id, "--by", "L1")
    assert killed.returncode == -9
    with app.db.reading() as s:
        assert s.get(Eviction, rec.id).state is EvictionState.RETURNING
    assert not app.store.exists(rec.object_id)
    assert dock.cli_json("store", "evict", "--limit", "1")["settled"] == 1
    with app.db.reading() as s:
        assert s.get(Eviction, rec.id).state is EvictionState.IN_BUCKET
    assert not app.store.object_path(rec.object_id).exists()  # the partial files went with it
    assert not app.store.foreign_entries()
    assert dock.cli_json("store", "recall", rec.id, "--by", "L1")["recording_id"] == rec.id
    assert dock.cli_json("verify")["ok"]


def _cli_with(dock, env: dict[str, str], *args: str):
    return run_ingestd(args, {**dock.env, **env})


def test_the_forecast_counts_the_days_and_alerts_at_the_threshold(window):
    from ingestd.alerts.events import store_filling
    from ingestd.schedule import store_forecast
    from ingestd.forecast import forecast

    dock, app = window
    intake = sum(r.size for r in _recordings(app))
    st = os.statvfs(app.store.root)
    free = st.f_bavail * st.f_frsize
    # A reserve that leaves room for ten days of this intake, the last 30 days' rate being
    # what was docked over the one day the dock has run.
    reserve_mb = (free - 10 * intake) >> 20
    dock.settings = dock.settings.model_copy(update={
        "ingest": dock.settings.ingest.model_copy(update={"reserve_mb": reserve_mb}),
        "replica": dock.settings.replica.model_copy(update={"enabled": False})})
    tight = dock.app()
    try:
        f = forecast(tight)
        assert f.per_day_bytes == intake and not f.eviction
        # The disk is shared with whatever else runs here: its free space moves a little.
        assert f.days_to_reserve == pytest.approx((f.free_bytes - f.reserve_bytes) / intake, abs=0.1)
        assert 5 <= f.days_to_reserve <= 20
        finding = f.finding(30)
        assert finding.code == "store_filling" and "no replica" in finding.message
        assert "未配置副本存储" in finding.message_zh
        assert f.finding(5) is None
        events = store_filling(tight, tight.clock.now())
        assert len(events) == 1 and events[0].recipients == ("admin",)
        assert store_forecast(tight) == 1 and store_forecast(tight) == 0  # raised once a day, not once an hour
    finally:
        tight.close()
    # With the bucket as the archive and a window that fits, there is no date to give.
    dock.settings = dock.settings.model_copy(update={
        "ingest": dock.settings.ingest.model_copy(update={"reserve_mb": 1}),
        "replica": dock.settings.replica.model_copy(update={"enabled": True})})
    _with_store(dock, keep_local_days=1, evict_open_retention=True, free_target_pct=1)
    roomy = dock.app()
    try:
        f = forecast(roomy)
        assert f.eviction and f.steady and f.days_to_reserve is None and f.finding(30) is None
    finally:
        roomy.close()


def _flip_in_server_volumes(folder, original: bytes) -> int:
    """Change one byte of a file's content where the S3 server keeps it on its own disk (an
    insider at the storage server, or its disk rotting): the volumes holding the bytes."""
    probe = original[len(original) // 2:len(original) // 2 + 64]
    changed = 0
    for dat in folder.rglob("*.dat"):
        data = bytearray(dat.read_bytes())
        at = data.find(probe)
        if at >= 0:
            data[at] ^= 0xFF
            dat.write_bytes(bytes(data))
            changed += 1
    return changed


@pytest.mark.soak  # a longer proof (two starts of a server of its own): `make soak`
def test_a_copy_changed_in_the_bucket_is_found_by_the_read_back_not_served(tmp_path, clips):
    """A server of this test's own: stopped, a byte of its volume file changed, started again
    on the same folder (so that no cache of its own answers for the old bytes)."""
    from ingestd.replica.readback import read_back

    folder = tmp_path / "seaweedfs-own"
    server = start_s3(folder)
    made = None
    try:
        made = _window(tmp_path, server, clips)
        dock, app = next(made)
        rec = _recordings(app)[0]
        original = app.store.resolve(rec.object_id, rec.content_name).read_bytes()
        app.close()
        server.stop()
        assert _flip_in_server_volumes(folder, original) >= 1
        server = start_s3(folder)
        # SeaweedFS checks its own checksums and will not deliver the changed bytes (it stalls
        # the read): named, never served. A short read timeout keeps the wait short.
        dock.env["INGESTD_REPLICA__ENDPOINT"] = server.endpoint
        dock.settings = dock.settings.model_copy(update={"replica": dock.settings.replica.model_copy(
            update={"timeout_s": 1, "endpoint": server.endpoint})})
        app = dock.app()
        proof = read_back(app, rec.id)
        assert not proof.ok
        assert [f.code for f in proof.findings] == ["replica_copy_unreadable"]
        assert proof.findings[0].detail["key"].endswith(rec.content_name)
        entry = dock.cli_json("audit", "list", "--action", "fixity.checked")[0]
        assert entry["detail"]["findings"][0]["code"] == "replica_copy_unreadable"  # alerted as a fixity finding
        with pytest.raises(ReplicaError):  # a plain read fails too: the changed bytes are never handed out
            _fetch_from_bucket(app, rec)
        app.close()
    finally:
        if made is not None:
            made.close()
        server.stop()


def _fetch_from_bucket(app, rec):
    from ingestd.db.models import ReplicaVersion
    from ingestd.replica.bucket import bucket_of

    with app.db.reading() as s:
        v = s.execute(select(ReplicaVersion).where(ReplicaVersion.recording_id == rec.id,
                                                   ReplicaVersion.sha256 == rec.id)).scalar_one()
    return bucket_of(app).sha256_of(v.key, v.version_id)


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_console_plays_an_evicted_recording_and_says_where_it_is_kept(tmp_path, s3, language):
    """A 35 s recording whose original left the disk: its proxy made again from the bucket's
    copy, played in Chromium at 30 s; the recording page and the dashboard say where it is."""
    from ingestd.media.synthetic import ClipSpec, make_clip
    from tests.test_web_browser import SHOTS, signed_in_console

    long_clip = make_clip(tmp_path / "long.mp4", ClipSpec(seconds=35, width=320, height=240))
    made = _window(tmp_path, s3, {"long": long_clip}, names=("long",))
    dock, app = next(made)
    try:
        [rec] = _recordings(app)
        _with_store(dock, keep_local_days=0, evict_open_retention=True, free_target_pct=100)
        assert [e["recording_id"] for e in dock.cli_json("store", "evict", "--all")["evicted"]] == [rec.id]
        assert not app.store.exists(rec.object_id)
        dock.cli_json("media", "request", rec.id, "--by", "admin")
        dock.cli_json("media", "work")
        assert (app.data.root / "derivatives" / rec.id[:2] / rec.id / "proxy" / "proxy.mp4").is_file()
        zh = language == "zh-CN"
        with signed_in_console(dock, language) as (page, base):
            page.goto(f"{base}/")
            figures = page.inner_text("section.figures")
            assert ("1 条仅存于副本" if zh else "1 in the bucket only") in figures
            page.screenshot(path=str(SHOTS / f"dashboard-bucket-{language}.png"), full_page=True)
            page.goto(f"{base}/recordings/{rec.id}?t=30")
            page.wait_for_function("() => { const v = document.getElementById('player');"
                                   " return v && v.readyState >= 2 && Math.abs(v.currentTime - 30) < 0.5; }",
                                   timeout=30_000)
            body = page.inner_text("main")
            assert ("仅存于副本存储" if zh else "in the replica bucket only") in body
            page.screenshot(path=str(SHOTS / f"recording-in-bucket-{language}.png"), full_page=True)
    finally:
        made.close()


def test_copies_made_before_versions_were_recorded_are_read_back_and_recorded_by_the_sweep(window):
    from sqlalchemy import delete, func

    from ingestd.db.models import ReplicaVersion

    dock, app = window
    with app.changes.begin("ingestd") as ch:  # as a database upgraded from before replica_versions holds it
        ch.session.execute(delete(ReplicaVersion))
        ch.record("test.versions_forgotten", "replica", "all")
    later = _later(dock, 100)
    try:
        assert {f.detail["reason"] for f in evict_due(later).refused} == {"not_copied"}
    finally:
        later.close()
    assert dock.cli_json("replica", "sync")["asked"] == 4
    with app.db.reading() as s:
        assert s.execute(select(func.count()).select_from(ReplicaVersion)).scalar() > 4
    assert dock.cli_json("replica", "sync")["asked"] == 0


def test_a_bucket_out_of_reach_stops_an_export_and_an_eviction_with_a_clear_word(window, tmp_path):
    from tests.s3_server import free_port

    dock, app = window
    later = _later(dock, 100)
    try:
        evicted = evict_due(later, limit=1).evicted
    finally:
        later.close()
    [gone] = [r for r in _recordings(app) if r.id == evicted[0].recording_id]
    away = f"http://127.0.0.1:{free_port()}"
    dock.env["INGESTD_REPLICA__ENDPOINT"] = away
    dock.settings = dock.settings.model_copy(update={"replica": dock.settings.replica.model_copy(
        update={"endpoint": away, "timeout_s": 1})})
    out = tmp_path / "away"
    refused = dock.cli("export", gone.id, "--out", str(out), "--by", "L1", check=2)
    assert "kept in the replica bucket only and could not be fetched" in refused.stderr
    assert refused.stderr.count("\n") == 1 and not any(out.rglob("*.mp4"))
    stays = _later(dock, 100)
    try:
        run = evict_due(stays)
        assert run.evicted == () and [f.detail["reason"] for f in run.refused] == ["bucket_away"]
        assert all(stays.store.exists(r.object_id) for r in _recordings(stays) if r.id != gone.id)
    finally:
        stays.close()


def test_an_evicted_originals_lock_follows_its_holds_and_is_extended_before_it_ends(window):
    from ingestd.afterdock import replicate_pending
    from ingestd.db.models import Replica, ReplicaVersion
    from ingestd.replica.bucket import bucket_of

    dock, app = window
    later = _later(dock, 100)
    try:
        [gone] = evict_due(later, limit=1).evicted
    finally:
        later.close()
    with app.db.reading() as s:
        versions = [(v.key, v.version_id) for v in s.execute(
            select(ReplicaVersion).where(ReplicaVersion.recording_id == gone.recording_id)).scalars()]
        was = s.get(Replica, gone.recording_id).retain_until
    bucket = bucket_of(app)

    def held() -> set[bool]:
        return {bucket.stored(k, v).legal_hold for k, v in versions}

    hold = dock.cli_json("hold", "place", gone.recording_id, "--reason", "复议", "--by", "admin")
    assert dock.cli_json("replica", "sync")["asked"] == 1 and held() == {True}
    dock.cli_json("hold", "release", str(hold["id"]), "--by", "admin")
    assert dock.cli_json("replica", "sync")["asked"] == 1 and held() == {False}
    # A week before the bucket's lock would end: extended on the versions the dock proved.
    near = dock.app(FixedClock(was - timedelta(days=7)))
    try:
        assert replicate_pending(near, work=True)["asked"] >= 1
        assert all(bucket.stored(k, v).retain_until >= was + timedelta(days=23) for k, v in versions)
    finally:
        near.close()
    assert [e["action"] for e in dock.cli_json("audit", "list", "--action", "replica.terms_kept")]
