"""Copying a recording's OCFL object to the replica bucket under the same storage-root
layout, and proving it there. Content goes first and the object's root inventory last, so
that an object in the bucket is complete whenever its inventory is there; every PUT carries
the file's SHA-256 for the server to check, and is locked in COMPLIANCE mode until the
policy's retention (001 第17条 长期保存 as the longest the bucket allows; a legal hold as an
S3 legal hold). Nothing is recorded as replicated until every file has been read back
from the server with its size and SHA-256; a copy cut off half way is simply continued by
the next attempt (what the bucket already holds whole is not sent again). The version id of
each file proven is recorded (a restore takes those, never simply the newest), and a legal
hold the bucket keeps that the database does not know is taken in, never lifted."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import Eviction, Recording, Replica, ReplicaVersion
from ingestd.errors import ReplicaError
from ingestd.evidence.holds import adopt_bucket_hold, held_recordings
from ingestd.evidence.retention import plan
from ingestd.ingest.store import file_sha256
from ingestd.jobs import queue
from ingestd.replica.bucket import bucket_of
from ingestd.replica.s3 import Stored

ROOT_LAST = ("inventory.json",)  # the root inventory: written last, it makes the object whole
# A lock that would end within RENEW_WITHIN is extended (by the sweep) to at least EXTEND_AHEAD.
RENEW_WITHIN = timedelta(days=14)
EXTEND_AHEAD = timedelta(days=30)


def bucket_problem(app: App) -> str | None:
    """The bucket checked now (at the daemon's start, in `replica status`): one without Object
    Lock is refused (UserError: it cannot keep evidence write-once, and no copy is made to it);
    one that cannot be reached is said, and the copies wait for it."""
    try:
        bucket_of(app)
    except ReplicaError as exc:
        return str(exc)
    return None


@dataclass(frozen=True)
class ObjectFile:
    key: str  # the path below the storage root, as in the store
    path: Path
    size: int
    sha256: str


def object_files(app: App, object_id: str) -> tuple[str, list[ObjectFile]]:
    """The object's head version and its files, in the order they go to the bucket."""
    root = app.store.root
    object_dir = app.store.object_path(object_id)
    inventory = app.store.inventory(object_id)
    known = {f"{object_dir.relative_to(root).as_posix()}/{p}": d
             for d, paths in inventory["manifest"].items() for p in paths}
    files = []
    for path in sorted(object_dir.rglob("*")):
        if not path.is_file():
            continue
        key = path.relative_to(root).as_posix()
        files.append(ObjectFile(key, path, path.stat().st_size, known.get(key) or file_sha256(path)))
    # Version directories in version order, then the root's files, the inventory last.
    def order(f: ObjectFile) -> tuple:
        rel = f.path.relative_to(object_dir)
        top = rel.parts[0]
        if len(rel.parts) > 1:
            return (0, int(top[1:]) if top[1:].isdigit() else 0, rel.as_posix())
        return (2 if rel.name in ROOT_LAST else 1, 0, rel.as_posix())
    return inventory["head"], sorted(files, key=order)


def lock_terms(app: App, rec: Recording) -> tuple[datetime, bool]:
    """Until when the bucket must keep the recording, and whether it is under a legal hold."""
    cfg = app.settings.replica
    now = app.clock.now()
    item = plan(app, recording_ids=[rec.id])[0]
    if item.state == "long_term":
        until = now + timedelta(days=365 * cfg.long_term_years)
    elif item.due_on is not None:
        # A retention that ended without an approved deletion yet: the copy stays locked a while
        # longer (the sweep extends it again), never unlocked while the original is kept.
        until = max(datetime.combine(item.due_on, time(), app.settings.tz), now + EXTEND_AHEAD)
    else:  # 依法 or an open case: a date is not known yet; the sweep extends it before it runs out
        until = now + timedelta(days=cfg.min_retention_days)
    if until.microsecond:  # the bucket keeps whole seconds: the next one, never a moment less
        until = until.replace(microsecond=0) + timedelta(seconds=1)
    return until, item.state == "held"


def replicate(app: App, rec_id: str) -> dict:
    with app.db.reading() as s:
        rec = s.get(Recording, rec_id)
        have = s.get(Replica, rec_id)
    if rec is None or rec.status == "deleted":
        return {"skipped": "deleted under retention" if rec else "no such recording"}
    if have is not None and not app.store.exists(rec.object_id) and _kept_in_bucket(app, rec_id):
        return _keep_terms(app, rec, have)
    bucket = bucket_of(app)
    head, files = object_files(app, rec.object_id)
    until, held = lock_terms(app, rec)
    if have is not None and have.retain_until > until:
        until = have.retain_until  # retention in COMPLIANCE mode can only grow
    found = {f.key: bucket.stored(f.key) for f in files}
    if not held and not (have is not None and have.legal_hold) and any(t and t.legal_hold for t in found.values()):
        held = _take_in_bucket_hold(app, rec_id, bucket.name)
    sent = sent_bytes = extended = holds = 0
    for f in files:
        if not bucket.holds_whole(found[f.key], f.path, f.size, f.sha256):
            sent, sent_bytes = sent + 1, sent_bytes + bucket.put(f.key, f.path, f.sha256, until, held)
    proven: dict[str, str] = {}
    for f in files:  # read back before anything is called replicated
        there = bucket.stored(f.key)
        if there is not None and (_ends_before(there, until) or there.legal_hold != held):
            # Its terms follow the recording's: a retention running out, a hold placed or lifted
            # since the copy, an upload continued from an attempt made under older terms.
            if _ends_before(there, until):
                bucket.extend(f.key, until)
                extended += 1
            if there.legal_hold != held:
                bucket.set_legal_hold(f.key, held)
                holds += 1
            there = bucket.stored(f.key)
        if not bucket.holds_whole(there, f.path, f.size, f.sha256):
            found_text = "missing" if there is None else f"{there.size} bytes, checksum {there.sha256 or there.composite}"
            raise ReplicaError(f"replica {bucket.name}/{f.key}: not whole in the bucket after the upload ({found_text})")
        if not there.locked:
            raise ReplicaError(f"replica {bucket.name}/{f.key}: stored without COMPLIANCE Object Lock")
        if _ends_before(there, until) or there.legal_hold != held:
            raise ReplicaError(f"replica {bucket.name}/{f.key}: the bucket keeps it until {there.retain_until} "
                               f"{'under' if there.legal_hold else 'without'} legal hold, not as asked "
                               f"(until {until}, {'under' if held else 'without'} legal hold)")
        if there.version_id:
            proven[f.key] = there.version_id
    total = sum(f.size for f in files)
    with app.changes.begin("ingestd") as ch:
        row = ch.session.get(Replica, rec_id)
        if row is None:
            row = Replica(recording_id=rec_id)
            ch.session.add(row)
        row.head, row.files, row.bytes, row.retain_until, row.legal_hold = head, len(files), total, until, held
        row.replicated_at = app.clock.now()
        for f in files:
            if f.key in proven:
                ch.session.merge(ReplicaVersion(recording_id=rec_id, key=f.key, version_id=proven[f.key],
                                                sha256=f.sha256))
        ch.record("replica.copied", "recording", rec_id, head=head, files=len(files), sent=sent, bytes=total,
                  sent_bytes=sent_bytes, bucket=bucket.name, retain_until=until.isoformat(), legal_hold=held,
                  extended=extended, holds_changed=holds)
    return {"head": head, "files": len(files), "sent": sent, "bytes": total, "sent_bytes": sent_bytes,
            "extended": extended, "holds_changed": holds}


def _kept_in_bucket(app: App, rec_id: str) -> bool:
    with app.db.reading() as s:
        return s.get(Eviction, rec_id) is not None


def _keep_terms(app: App, rec: Recording, have: Replica) -> dict:
    """An original kept in the bucket only (ingestd.replica.evict): nothing to copy, but its
    lock must follow the recording as a copied one's does — a retention running out extended,
    a hold placed or lifted — on the very versions the dock proved, each read back after."""
    bucket = bucket_of(app)
    until, held = lock_terms(app, rec)
    until = max(until, have.retain_until)
    with app.db.reading() as s:
        versions = s.execute(select(ReplicaVersion).where(ReplicaVersion.recording_id == rec.id)).scalars().all()
    extended = holds = 0
    for v in versions:
        there = bucket.stored(v.key, v.version_id)
        if there is None:
            raise ReplicaError(f"replica {bucket.name}/{v.key}: version {v.version_id}, which the dock proved and "
                               f"which alone holds this file now, is not in the bucket")
        if _ends_before(there, until):
            bucket.extend(v.key, until, v.version_id)
            extended += 1
        if there.legal_hold != held:
            bucket.set_legal_hold(v.key, held, v.version_id)
            holds += 1
        there = bucket.stored(v.key, v.version_id)
        if there is None or not there.locked or _ends_before(there, until) or there.legal_hold != held:
            raise ReplicaError(f"replica {bucket.name}/{v.key}: version {v.version_id} is not kept as asked "
                               f"(until {until}, {'under' if held else 'without'} legal hold)")
    with app.changes.begin("ingestd") as ch:
        row = ch.session.get(Replica, rec.id)
        row.retain_until, row.legal_hold, row.replicated_at = until, held, app.clock.now()
        ch.record("replica.terms_kept", "recording", rec.id, bucket=bucket.name, files=len(versions),
                  retain_until=until.isoformat(), legal_hold=held, extended=extended, holds_changed=holds)
    return {"head": have.head, "files": len(versions), "sent": 0, "bytes": have.bytes, "sent_bytes": 0,
            "extended": extended, "holds_changed": holds}


def _take_in_bucket_hold(app: App, rec_id: str, bucket: str) -> bool:
    """The bucket keeps a legal hold on the object that the database does not know of (and did
    not lift: the replica row would say it placed it): taken in as a hold, never lifted."""
    with app.changes.begin("ingestd") as ch:
        ch.lock(f"recording:{rec_id}")
        if rec_id not in held_recordings(ch.session):
            adopt_bucket_hold(ch, rec_id, bucket, app.clock.now())
    return True


def _ends_before(there: Stored, until: datetime) -> bool:
    """Whether the bucket's lock on an object ends before it should (or it has none)."""
    return there.retain_until is None or there.retain_until < until


def replicate_job(app: App, job: queue.Claimed) -> queue.Done:
    return queue.Done(job.id, replicate(app, job.subject))


def release_deleted(app: App, rec: Recording, by: str) -> str:
    """After a deletion approved under retention: the original's bytes leave the bucket too,
    if Object Lock allows it now; if not, the bucket keeps them until their retention ends and
    this says so (the server refuses before that, whoever asks)."""
    with app.db.reading() as s:
        copy = s.get(Replica, rec.id)
    if copy is None:
        return "not in the replica"
    bucket = bucket_of(app)
    object_dir = app.store.object_path(rec.object_id).relative_to(app.store.root).as_posix()
    keys = [f"{object_dir}/{p}" for p in app.store.inventory(rec.object_id)["manifest"].get(rec.id, [])]
    try:
        for key in keys:
            bucket.delete(key)
    except ReplicaError as exc:
        if exc.code != "AccessDenied":
            raise
        note = (f"the replica keeps it until {copy.retain_until.astimezone(app.settings.tz):%Y-%m-%d} "
                f"(Object Lock, COMPLIANCE mode)")
        action = "replica.kept"
    else:
        note, action = "removed from the replica", "replica.removed"
    with app.changes.begin(by) as ch:
        ch.record(action, "recording", rec.id, keys=keys, bucket=bucket.name, note=note)
    return note
