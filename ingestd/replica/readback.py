"""Reading a recording's copy back from the bucket in full: every file of its object, at the
version the dock proved (replica_versions), downloaded and hashed here (SHA-256), its lock
checked. A copy may stand alone on the bucket (ingestd.replica.evict) only on a recent such
proof, and the daemon reads back a sample on a schedule, the longest unproven first, so
that "last proven" stays recent; a mismatch is a fixity finding like a local one, alerted to
the admins through the same audit entry (`fixity.checked`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import Eviction, Recording, Replica, ReplicaVersion
from ingestd.errors import ReplicaError
from ingestd.findings import Finding
from ingestd.replica.bucket import bucket_of
from ingestd.replica.s3 import Bucket


@dataclass(frozen=True)
class Proof:
    recording_id: str
    head: str
    files: int
    bytes: int
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.findings


def read_back(app: App, rec_id: str, audit_failure: bool = True) -> Proof:
    """Every file of the recording's copy, read back and matched; the proof recorded (audited)
    when it holds, a failure as a fixity check (unless the caller records it in its own). The
    bucket out of reach raises ReplicaError: nothing proven, nothing found."""
    with app.db.reading() as s:
        rec = s.get(Recording, rec_id)
        copy = s.get(Replica, rec_id)
        versions = s.execute(select(ReplicaVersion).where(ReplicaVersion.recording_id == rec_id)
                             .order_by(ReplicaVersion.key)).scalars().all()
    if rec is None or copy is None:
        return Proof(rec_id, "", 0, 0, (Finding("replica_copy_missing", {"recording_id": rec_id, "key": "*"}),))
    bucket = bucket_of(app)
    findings: list[Finding] = []
    total = 0
    for v in versions:
        there = bucket.stored(v.key, v.version_id)
        if there is None or not there.locked:
            findings.append(Finding("replica_copy_missing", {"recording_id": rec_id, "key": v.key}))
            continue
        read = _read(bucket, v.key, v.version_id)
        if read is None:
            findings.append(Finding("replica_copy_unreadable", {"recording_id": rec_id, "key": v.key}))
            continue
        size, digest = read
        total += size
        if digest != v.sha256:
            findings.append(Finding("replica_copy_changed", {"recording_id": rec_id, "key": v.key}))
    if not versions:
        findings.append(Finding("replica_copy_missing", {"recording_id": rec_id, "key": "*"}))
    proof = Proof(rec_id, copy.head, len(versions), total, tuple(findings))
    with app.changes.begin("ingestd") as ch:
        if proof.ok:
            row = ch.session.get(Replica, rec_id)
            row.proven_at, row.proven_head = app.clock.now(), copy.head
            ch.record("replica.proven", "recording", rec_id, head=copy.head, files=proof.files, bytes=total,
                      bucket=bucket.name)
        elif audit_failure:
            ch.record("fixity.checked", "replica", bucket.name, checked=1, sample=None,
                      findings=[{"code": f.code, **f.detail} for f in findings])
    return proof


def _read(bucket: Bucket, key: str, version_id: str) -> tuple[int, str] | None:
    """The version's size and SHA-256 from its bytes; None when the server answers for it but
    will not deliver its bytes, twice (a server that checks its own checksums refuses to serve
    a changed file rather than serve it). A server that does not answer at all raises."""
    for attempt in (1, 2):
        try:
            return bucket.sha256_of(key, version_id)
        except ReplicaError:
            bucket.stored(key, version_id)  # raises if the bucket itself is away: not this file's fault
    return None


def read_back_sample(app: App, count: int | None = None, only_evicted: bool = False,
                     audit_failure: bool = True) -> list[Proof]:
    """The `count` copies proven longest ago (never proven first): the daemon's schedule, and
    `ingestd verify` for the originals only the bucket holds (all of them with no count)."""
    with app.db.reading() as s:
        q = (select(Replica.recording_id).join(Recording, Recording.id == Replica.recording_id)
             .where(Recording.status != "deleted")
             .order_by(Replica.proven_at.is_not(None), Replica.proven_at, Replica.recording_id))
        if only_evicted:
            q = q.join(Eviction, Eviction.recording_id == Replica.recording_id)
        ids = list(s.execute(q.limit(count) if count else q).scalars())
    return [read_back(app, rid, audit_failure) for rid in ids]
