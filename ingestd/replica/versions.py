"""A new OCFL version of a recording's object wherever the object is kept: in the store, or —
for an original kept in the bucket only (ingestd.replica.evict) — straight in its bucket
object. 证明对象, a 说明 or a 书面说明 on an old recording does not bring gigabytes back to
the disk: the new version is built as the store builds one (its content and inventory, in
staging), then sent as the replica sends a copy — content first, the version's inventory,
the root inventory's sidecar, the root inventory last — each file locked under the object's
terms and read back before the next, and the versions proven are recorded."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from sqlalchemy import select

from ingestd.app import App
from ingestd.changes import Change
from ingestd.db.models import Eviction, Recording, Replica, ReplicaVersion
from ingestd.db.states import EvictionState
from ingestd.errors import ReplicaError, UserError
from ingestd.ingest.store import SIDECAR, NewFile, OcflStore, Signature, file_sha256, inventory_bytes
from ingestd.replica.bucket import bucket_of


def add_version(app: App, ch: Change, rec: Recording, files: list[NewFile], sig: Signature) -> str:
    """Inside the writer's change (its audit entry names the version returned). This dock's
    changes run one at a time, so the eviction's own marks are seen here as they stand."""
    gone = ch.session.get(Eviction, rec.id)
    if gone is None:
        return app.store.add_version(rec.object_id, files, sig)
    if gone.state != EvictionState.IN_BUCKET:
        # Leaving (its object about to be moved out) or coming back (not whole yet): a version
        # written now could be left behind on either side.
        raise UserError(f"recording {rec.id[:12]} is being moved between this dock's disk and the replica bucket "
                        f"right now: try again in a minute")
    return _in_bucket(app, ch, rec, files, sig)


def _in_bucket(app: App, ch: Change, rec: Recording, files: list[NewFile], sig: Signature) -> str:
    bucket = bucket_of(app)
    folder = app.store.object_path(rec.object_id).relative_to(app.store.root).as_posix()
    root_key = f"{folder}/inventory.json"
    recorded = {v.key: v for v in ch.session.execute(
        select(ReplicaVersion).where(ReplicaVersion.recording_id == rec.id)).scalars()}
    copy = ch.session.get(Replica, rec.id)
    root = recorded.get(root_key)
    if root is None or copy is None:
        raise ReplicaError(f"recording {rec.id[:12]}: the bucket's versions of its object are not recorded; "
                           f"nothing written")
    before = bucket.read(root_key, root.version_id)
    if hashlib.sha256(before).hexdigest() != root.sha256:
        raise ReplicaError(f"replica {bucket.name}/{root_key}: not the inventory the dock proved; nothing written")
    new = OcflStore.inventory_with_version(json.loads(before), files, sig)
    version = new["head"]
    work = app.store.staging.work_dir()
    try:
        OcflStore.fill_version_dir(work, files, new)
        sends = [(f"{folder}/{version}/{p.relative_to(work).as_posix()}", p)
                 for p in sorted(work.rglob("*"), key=lambda p: (p.name.startswith("inventory.json"), str(p)))
                 if p.is_file()]
        data = inventory_bytes(new)
        (work / "root").mkdir()
        (work / "root" / SIDECAR).write_bytes(f"{hashlib.sha256(data).hexdigest()}  inventory.json\n".encode())
        (work / "root" / "inventory.json").write_bytes(data)
        sends += [(f"{folder}/{SIDECAR}", work / "root" / SIDECAR), (root_key, work / "root" / "inventory.json")]
        added = 0
        for key, path in sends:
            added += _send(bucket, ch, rec.id, key, path, copy)
        copy.head, copy.files = version, copy.files + sum(1 for k, _p in sends if k not in recorded)
        copy.bytes += added
        ch.session.get(Eviction, rec.id).head = version
        ch.record("replica.version_written", "recording", rec.id, object_version=version, bucket=bucket.name,
                  files=len(sends), bytes=added)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return version


def _send(bucket, ch: Change, rec_id: str, key: str, path: Path, copy: Replica) -> int:
    """One file up, locked under the object's terms, read back whole before the next."""
    sha, size = file_sha256(path), path.stat().st_size
    bucket.put(key, path, sha, copy.retain_until, copy.legal_hold)
    there = bucket.stored(key)
    if not bucket.holds_whole(there, path, size, sha) or not there.locked or there.version_id is None:
        raise ReplicaError(f"replica {bucket.name}/{key}: not whole and locked in the bucket after the upload; "
                           f"the version is not recorded")
    old = ch.session.get(ReplicaVersion, (rec_id, key))
    grew = size - (_size_of(bucket, key, old.version_id) if old is not None else 0)
    ch.session.merge(ReplicaVersion(recording_id=rec_id, key=key, version_id=there.version_id, sha256=sha))
    return grew


def _size_of(bucket, key: str, version_id: str) -> int:
    there = bucket.stored(key, version_id)
    return there.size if there is not None else 0
