"""A restore from the bucket that cannot be fooled, tried as a lost disk and as an insider with
the bucket's keys would try it, against a real S3 server with Object Lock (SeaweedFS on
loopback): delete markers over every key of an object, newer unlocked versions of an
original, its inventories and their sidecars, a forged object, an upload cut before its root
inventory, a legal hold only the bucket knows, and a bucket without Object Lock. Each case
restores the versions the dock wrote, names what is not the dock's (exit 1), and leaves
nothing of a wrong object in the store."""

from __future__ import annotations

import hashlib
import shutil
import uuid
from contextlib import ExitStack
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from ingestd.config import ReplicaSettings
from ingestd.db.models import Gap, LegalHold, Recording, RecordingCompliance, ReplicaVersion
from ingestd.ingest.store import SIDECAR, STORED_MODE, file_sha256, object_id_for
from ingestd.replica.bucket import bucket_of
from ingestd.replica.copy import object_files, replicate
from ingestd.replica.restore import OBJECT_MARK
from tests.conftest import copy_clip, make_dock, ocfl_validate, pg_database
from tests.s3_server import start_s3
from tests.test_replica import replica_env


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    server = start_s3(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


def _dock_with_replica(root, s3, bucket: str, **env: str):
    dock = make_dock(root, **env)
    dock.env.update(replica_env(s3.endpoint, bucket))
    dock.settings = dock.settings.model_copy(update={"replica": ReplicaSettings(
        enabled=True, endpoint=s3.endpoint, bucket=bucket, access_key_id="ingestd-test",
        secret_access_key="not-a-real-secret", timeout_s=5)})
    return dock


@pytest.fixture
def copied(request, tmp_path, s3, clips):
    """A dock whose two recordings (with an interruption between them) are copied and proven
    in a bucket of their own; and a second, empty dock on the same bucket: the one that
    replaced it after its disk (store and database) was lost. On SQLite, or (parametrized
    "postgresql") each dock on a PostgreSQL database of its own."""
    with ExitStack() as stack:
        urls = ([stack.enter_context(pg_database()) for _ in range(2)]
                if getattr(request, "param", "sqlite") == "postgresql" else [None, None])
        yield from _copied(tmp_path, s3, clips, *urls)


def _copied(tmp_path, s3, clips, lost_url: str | None, spare_url: str | None):
    bucket = f"t-{uuid.uuid4().hex[:12]}"
    dock = _dock_with_replica(tmp_path / "lost", s3, bucket,
                              **({"INGESTD_DATABASE_URL": lost_url} if lost_url else {}))
    cam = tmp_path / "CAM-R"
    copy_clip(clips["h264"], cam / "20261120_083000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_084000.mp4")
    dock.cli("ingest", str(cam), "--device", "CAM-R")
    dock.cli("jobs", "work", "--until-idle")
    assert dock.cli_json("replica", "status")["replicated"] == 2
    app = dock.app()
    spare = _dock_with_replica(tmp_path / "spare", s3, bucket,
                               **({"INGESTD_DATABASE_URL": spare_url} if spare_url else {}))
    yield dock, app, spare
    app.close()


def _recordings(app) -> list[Recording]:
    with app.db.reading() as s:
        return list(s.execute(select(Recording).order_by(Recording.original_name)).scalars())


def _keys(app, rec: Recording) -> list[str]:
    return [f.key for f in object_files(app, rec.object_id)[1]]


def _codes(out: dict) -> list[tuple[str, str]]:
    return sorted((f["code"], f["key"]) for f in out["findings"])


def _restored_bytes_are_the_originals(spare, originals: dict[str, str]) -> None:
    store = spare.settings.data_dir / "store"
    ok, _root = ocfl_validate(store)
    assert ok
    assert spare.cli_json("verify")["findings"] == []
    app = spare.app()
    try:
        for rec in _recordings(app):
            path = app.store.resolve(rec.object_id, rec.content_name)
            assert file_sha256(path) == rec.id == originals[rec.original_name]
            assert path.stat().st_mode & 0o777 == STORED_MODE
    finally:
        app.close()
    assert not list(store.rglob(".*.restoring"))


def test_a_lost_dock_comes_back_whole_with_what_follows_a_dock_and_the_buckets_holds(copied):
    dock, app, spare = copied
    first, second = _recordings(app)
    dock.cli_json("hold", "place", first.id, "--reason", "信访调查", "--by", "admin")
    assert dock.cli_json("replica", "sync")["asked"] == 1  # the hold reaches the bucket
    with app.db.reading() as s:
        gaps = s.execute(select(func.count()).select_from(Gap)).scalar()
        deadlines = dict(s.execute(select(RecordingCompliance.recording_id, RecordingCompliance.upload_status)).all())
        versions = s.execute(select(func.count()).select_from(ReplicaVersion)).scalar()
    assert gaps >= 1 and len(deadlines) == 2
    assert versions == sum(len(_keys(app, r)) for r in (first, second))  # each file's proven version is known

    out = spare.cli_json("store", "restore", "--from-replica")
    assert out["objects"] == 2 and out["findings"] == [] and out["held"] == [first.id]
    assert out["index"]["indexed"] == 2 and out["index"]["holds_brought_back"] == 1
    _restored_bytes_are_the_originals(spare, {r.original_name: r.id for r in (first, second)})
    back = spare.app()
    try:
        with back.db.reading() as s:
            # What follows a dock followed: the interruption, the compliance rows, the copies.
            assert s.execute(select(func.count()).select_from(Gap)).scalar() == gaps
            assert dict(s.execute(select(RecordingCompliance.recording_id,
                                         RecordingCompliance.upload_status)).all()) == deadlines
            holds = s.execute(select(LegalHold)).scalars().all()
            assert [(h.recording_id, h.placed_by, h.released_at) for h in holds] == [(first.id, "ingestd", None)]
            assert "副本存储" in holds[0].reason
        assert spare.cli_json("replica", "status")["replicated"] == 2
        # The next sync never lifts the hold the bucket keeps: the database knows it now.
        spare.cli_json("replica", "sync")
        bucket = bucket_of(back)
        assert all(bucket.stored(k).legal_hold for k in _keys(back, first))
        assert not any(bucket.stored(k).legal_hold for k in _keys(back, second))
        trail = spare.cli_json("audit", "list", "--action", "hold.placed")
        assert trail[0]["detail"]["found_in"].startswith("replica bucket")
    finally:
        back.close()


def test_a_hold_only_the_bucket_knows_is_taken_in_by_a_sync_never_lifted(copied):
    dock, app, _spare = copied
    rec = _recordings(app)[0]
    bucket = bucket_of(app)
    for key in _keys(app, rec):  # placed in the bucket by whoever holds its keys (a restored older database)
        bucket.set_legal_hold(key, True)
    replicate(app, rec.id)  # the next copy of it (after a new version, or a sweep)
    assert all(bucket.stored(k).legal_hold for k in _keys(app, rec))
    holds = dock.cli_json("hold", "list")
    assert [(h["recording_id"], h["placed_by"]) for h in holds] == [(rec.id, "ingestd")]
    # A person who may lift it does, and only then does the bucket's hold go.
    dock.cli_json("hold", "release", str(holds[0]["id"]), "--by", "admin")
    dock.cli_json("replica", "sync")
    assert not any(bucket.stored(k).legal_hold for k in _keys(app, rec))


@pytest.mark.parametrize("copied", ["sqlite", "postgresql"], indirect=True)
def test_delete_markers_and_forged_versions_are_named_and_the_dock_versions_restored(copied, tmp_path):
    dock, app, spare = copied
    first, second = _recordings(app)
    client = bucket_of(app).client
    name = bucket_of(app).name
    hidden = _keys(app, first)
    for key in hidden:  # allowed under Object Lock: the locked version stays, hidden from a listing
        client.delete_object(Bucket=name, Key=key)
    assert client.list_objects_v2(Bucket=name, Prefix=hidden[0].rsplit("/", 1)[0]).get("KeyCount") == 0
    folder = app.store.object_path(second.object_id).relative_to(app.store.root).as_posix()
    original = f"{folder}/{app.store.inventory(second.object_id)['manifest'][second.id][0]}"
    forged = [original, f"{folder}/inventory.json", f"{folder}/{SIDECAR}", f"{folder}/v1/inventory.json",
              f"{folder}/v1/{SIDECAR}"]
    fake = b"\x00\x00\x00\x18ftypisom" + b"forged" * 1000
    for key in forged:  # newer, unlocked versions: what a plain GET would now return
        body = fake if key == original else client.get_object(Bucket=name, Key=key)["Body"].read().replace(
            second.id.encode(), hashlib.sha256(fake).hexdigest().encode())
        client.put_object(Bucket=name, Key=key, Body=body)
    originals = {r.original_name: r.id for r in (first, second)}

    out = spare.cli_json("store", "restore", "--from-replica", check=1)
    assert out["objects"] == 2
    assert _codes(out) == sorted([("replica_delete_marker", k) for k in hidden]
                                 + [("replica_overwritten", k) for k in forged])
    assert all(f["message_zh"] and f["severity"] == "error" for f in out["findings"])
    _restored_bytes_are_the_originals(spare, originals)
    text = spare.cli("store", "restore", "--from-replica", check=1).stdout
    assert "replica_overwritten" in text and "problems above" in text
    assert spare.cli_json("audit", "list", "--action", "replica.restored")[0]["detail"]["tampered"]

    # The dock that wrote them, its database kept and its disk replaced: the recorded versions.
    shutil.rmtree(dock.settings.data_dir / "store")
    dock.cli("init")
    out = dock.cli_json("store", "restore", "--from-replica", check=1)
    assert out["objects"] == 2 and {c for c, _k in _codes(out)} == {"replica_delete_marker", "replica_overwritten"}
    _restored_bytes_are_the_originals(dock, originals)
    # The sweep writes the dock's version back on top, so that a plain read gets the original again.
    dock.cli_json("replica", "sync")
    assert hashlib.sha256(client.get_object(Bucket=name, Key=original)["Body"].read()).hexdigest() == second.id


def test_an_object_that_is_not_the_docks_never_enters_the_store_and_never_stops_the_others(copied, clips, tmp_path,
                                                                                           s3):
    dock, app, spare = copied
    bucket = bucket_of(app)
    client, name = bucket.client, bucket.name
    # A forged object under a well-formed name, nothing of it locked.
    bogus = hashlib.sha256(b"not a recording").hexdigest()
    folder = app.store.object_path(object_id_for(bogus)).relative_to(app.store.root).as_posix()
    for rel, body in ((OBJECT_MARK, b"ocfl_object_1.1\n"), ("inventory.json", b"{}"), (SIDECAR, b"x inventory.json\n")):
        client.put_object(Bucket=name, Key=f"{folder}/{rel}", Body=body)
    # A third recording, from another dock, whose upload was cut before its root inventory.
    third_dock = _dock_with_replica(tmp_path / "third", s3, name)
    cam = tmp_path / "CAM-T"
    copy_clip(clips["hevc"], cam / "20261121_090000.mp4")
    third_dock.cli("ingest", str(cam), "--device", "CAM-T")
    third = third_dock.app()
    try:
        [rec] = _recordings(third)
        _head, files = object_files(third, rec.object_id)
        root_inventory = third.store.object_path(rec.object_id).relative_to(third.store.root).as_posix() \
            + "/inventory.json"
        until = datetime.now(timezone.utc) + timedelta(days=3)
        for f in files:  # as the dock sends them, cut off before the last
            if f.key != root_inventory:
                bucket.put(f.key, f.path, f.sha256, until, False)

        out = spare.cli_json("store", "restore", "--from-replica", check=1)
        found = {(f["code"], f["object_id"]) for f in out["findings"]}
        assert ("replica_incomplete", rec.object_id) in found
        assert any(code == "replica_not_locked" and oid == object_id_for(bogus) for code, oid in found)
        assert out["objects"] == 2  # the two whole ones came back all the same
        store = spare.settings.data_dir / "store"
        assert not (store / folder).exists()
        assert not (store / root_inventory).parent.exists()
        _restored_bytes_are_the_originals(spare, {r.original_name: r.id for r in _recordings(app)})

        # The dock that has it finishes the cut upload at its next sweep; then it comes back too.
        assert third_dock.cli_json("replica", "sync")["done"] == 1
        again = spare.cli_json("store", "restore", "--from-replica", "--recording", rec.id)
        assert again["objects"] == 1 and again["findings"] == []
    finally:
        third.close()


def test_a_bucket_without_object_lock_is_refused_at_start_in_status_and_in_a_sync(tmp_path, s3):
    import boto3

    name = f"t-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1", aws_access_key_id="ingestd-test",
                 aws_secret_access_key="not-a-real-secret").create_bucket(Bucket=name)
    dock = _dock_with_replica(tmp_path, s3, name)
    for args in (("replica", "sync"), ("replica", "status"), ("run",)):
        refused = dock.cli(*args, check=2, timeout=60)
        assert f"replica bucket {name} has no Object Lock" in refused.stderr, args
        assert refused.stderr.count("\n") == 1


def test_a_bucket_out_of_reach_is_said_in_status_not_refused(tmp_path):
    from tests.s3_server import free_port

    dock = make_dock(tmp_path, **replica_env(f"http://127.0.0.1:{free_port()}", "t-away"))
    status = dock.cli_json("replica", "status")
    assert status["bucket_error"] and "t-away" in status["bucket_error"]
    assert "cannot be reached now" in dock.cli("replica", "status").stdout


def test_an_original_deleted_under_retention_is_not_brought_back_though_the_bucket_keeps_it(copied):
    from ingestd.ingest.store import Signature

    dock, app, spare = copied
    rec = _recordings(app)[0]
    # As an approved deletion leaves it (ingestd.evidence.retention): a new version with
    # deletion.json, the original's bytes gone from the store; the bucket keeps them locked.
    record = {"format": "ingestd-deletion/1", "recording_id": rec.id, "sha256": rec.id, "reason": "保存期满"}
    app.store.purge(rec.object_id, rec.content_name, record,
                    Signature("A1", "urn:ingestd:badge:A1", "deleted under retention", datetime.now(timezone.utc)))
    replicate(app, rec.id)
    out = spare.cli_json("store", "restore", "--from-replica")
    assert out["objects"] == 2 and out["findings"] == []
    back = spare.app()
    try:
        original = back.store.object_path(rec.object_id) / app.store.inventory(rec.object_id)["manifest"][rec.id][0]
        assert not original.exists()
        assert bucket_of(back).stored(original.relative_to(back.store.root).as_posix()) is not None
        with back.db.reading() as s:
            assert s.get(Recording, rec.id).status == "deleted"
    finally:
        back.close()
    assert spare.cli_json("verify")["findings"] == []
