"""`ingestd store restore --from-replica`: a dock whose disk was lost or replaced gets its
originals back from the bucket.

The bucket is not trusted as it lists itself. Object Lock keeps every version it locked, but
anyone holding the bucket's keys may still put a newer, unlocked version over a key, or a
delete marker that hides it from a plain listing. So a restore lists versions, not keys, and
takes of each file the version the dock wrote: the one recorded when its copy was proven
(`replica_versions`), or, where the database does not know it (lost with the disk), the one
locked in COMPLIANCE mode. Every file is checked against its object's own inventory, the
inventory against its sidecar and the object's id (`urn:ingestd:rec:<sha256>`: the
original's own digest), and ingest.json against both. An object enters the store only whole
and right (each file downloaded to a temporary name, renamed into place once all are
checked); one that cannot be brought back as it was is named, never half restored, and never
stops the others. A version that is not the dock's is named too: the restore took the locked
one beside it, and someone with the bucket's keys has some explaining to do. A legal hold
the bucket keeps on an object is handed back, so that it comes back as a hold."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import select

from ingestd import failpoints
from ingestd.app import App
from ingestd.compliance.policy import Policy
from ingestd.db.models import Eviction, ReplicaVersion
from ingestd.durable import syncfs
from ingestd.errors import UserError
from ingestd.findings import Finding, Severity
from ingestd.ingest.commit import INGEST_JSON
from ingestd.ingest.store import DELETION_JSON, SIDECAR, SPEC, STORED_MODE, TUPLES, file_sha256, object_id_for
from ingestd.replica.bucket import bucket_of
from ingestd.replica.s3 import Bucket, Listed, Stored

OBJECT_MARK = f"0=ocfl_object_{SPEC}"
ROOT_INVENTORY = "inventory.json"
ID_PREFIX = object_id_for("")


@dataclass(frozen=True)
class RestoredObject:
    object_id: str
    recording_id: str
    head: str
    fetched: int  # files downloaded
    kept: int  # files already in the store as they should be
    legal_hold: bool  # the bucket keeps the object under a legal hold


@dataclass(frozen=True)
class Restore:
    """What came back, and everything that did not come back as it was (or was not the dock's)."""

    bucket: str
    restored: tuple[RestoredObject, ...]
    findings: tuple[Finding, ...]

    @property
    def failed(self) -> bool:
        return any(f.kind.severity == Severity.ERROR for f in self.findings)

    def as_dict(self, policy: Policy | None = None) -> dict:
        return {"bucket": self.bucket, "objects": len(self.restored),
                "files_fetched": sum(o.fetched for o in self.restored),
                "files_kept": sum(o.kept for o in self.restored),
                "held": [o.recording_id for o in self.restored if o.legal_hold],
                "findings": [f.as_dict(policy) for f in self.findings]}


def restore(app: App, rec_id: str | None = None) -> Restore:
    if not app.settings.replica.enabled:
        raise UserError("[replica] is not enabled: there is no bucket to restore from")
    bucket = bucket_of(app)
    store = app.store
    store.initialise()
    prefix = ""
    if rec_id is not None:
        if len(rec_id) != 64:
            raise UserError(f"--recording wants the full SHA-256 of a recording (64 hex digits), not {rec_id[:70]!r}")
        prefix = store.object_path(object_id_for(rec_id.lower())).relative_to(store.root).as_posix() + "/"
    objects: dict[str, dict[str, list[Listed]]] = {}
    for listed in bucket.versions(prefix):
        parts = listed.key.split("/")
        if len(parts) > TUPLES + 1:  # the storage root's own files are the dock's, not the bucket's
            objects.setdefault("/".join(parts[:TUPLES + 1]), {}).setdefault(listed.key, []).append(listed)
    if not objects:
        raise UserError(f"the replica bucket {bucket.name} holds no object"
                        + (f" for recording {rec_id}" if rec_id else ""))
    with app.db.reading() as s:
        evicted = set(s.execute(select(Eviction.recording_id)).scalars())
    if rec_id is not None and rec_id.lower() in evicted:
        raise UserError(f"recording {rec_id[:12]} was moved to the bucket on purpose (evicted): "
                        f"`ingestd store recall {rec_id}` brings it back")
    restored, findings, not_restored = [], [], []
    for folder, keys in sorted(objects.items()):
        if unquote(folder.rsplit("/", 1)[-1]).removeprefix(ID_PREFIX) in evicted:
            continue  # kept in the bucket on purpose: a restore brings back what the disk held
        one = ObjectRestore(app, bucket, folder, keys, recorded_versions(app, folder))
        done = one.run()
        findings += one.problems + one.tampering
        if done is not None:
            restored.append(done)
        else:
            not_restored.append(one.object_id)
    if any(o.fetched for o in restored):
        syncfs(store.root)  # what the audit entry below says was restored is on the disk
    result = Restore(bucket.name, tuple(restored), tuple(findings))
    with app.changes.begin("ingestd") as ch:
        ch.record("replica.restored", "store", "originals", bucket=bucket.name, objects=len(restored),
                  fetched=sum(o.fetched for o in restored), kept=sum(o.kept for o in restored), recording=rec_id,
                  not_restored=not_restored,
                  tampered=sorted({f.detail["key"] for f in findings if f.code in TAMPERING}))
    return result


TAMPERING = ("replica_overwritten", "replica_delete_marker")


def recorded_versions(app: App, folder: str) -> dict[str, str]:
    """The versions the dock proved of one object's keys (none where the database was lost)."""
    sha = unquote(folder.rsplit("/", 1)[-1]).removeprefix(ID_PREFIX)
    with app.db.reading() as s:
        return dict(s.execute(select(ReplicaVersion.key, ReplicaVersion.version_id)
                              .where(ReplicaVersion.recording_id == sha)).all())


@dataclass
class ObjectRestore:
    """One object of the bucket, brought into the store whole or not at all."""

    app: App
    bucket: Bucket
    folder: str  # the object's directory below the storage root
    keys: dict[str, list[Listed]]  # each key's versions and delete markers
    recorded: dict[str, str]  # key → the version id the dock proved
    problems: list[Finding] = field(default_factory=list)  # the object is not restored
    tampering: list[Finding] = field(default_factory=list)  # restored, with someone else's versions beside
    chosen: dict[str, Stored] = field(default_factory=dict)
    partials: list[tuple[Path, Path]] = field(default_factory=list)
    kept: int = 0
    _heads: dict[tuple[str, str], Stored | None] = field(default_factory=dict)

    @property
    def object_id(self) -> str:
        return unquote(self.folder.rsplit("/", 1)[-1])

    def run(self) -> RestoredObject | None:
        try:
            restored = self._restore()
        except BaseException:
            self._discard()  # the bucket went away half way: nothing of the object is left half in
            raise
        if self.problems:
            self._discard()
        return restored

    def _restore(self) -> RestoredObject | None:
        object_id, store = self.object_id, self.app.store
        sha = object_id.removeprefix(ID_PREFIX)
        if (not object_id.startswith(ID_PREFIX) or len(sha) != 64
                or store.object_path(object_id).relative_to(store.root).as_posix() != self.folder):
            self.problems.append(Finding("replica_mismatch", {"object_id": self.folder, "key": self.folder}))
            return None
        root_key = f"{self.folder}/{ROOT_INVENTORY}"
        if not self.keys.get(root_key):
            self.problems.append(Finding("replica_incomplete", {"object_id": object_id}))
            return None
        got = self._small(root_key, lambda data: _inventory_of(data, object_id) is not None)
        if got is None:
            return None
        inventory_bytes = got
        inventory = _inventory_of(inventory_bytes, object_id)
        digest = hashlib.sha256(inventory_bytes).hexdigest()
        if self._small(f"{self.folder}/{SIDECAR}", lambda data: data.split()[:1] == [digest.encode()]) is None:
            return None
        for version in inventory["versions"]:
            copy = self._small(f"{self.folder}/{version}/{ROOT_INVENTORY}",
                               lambda data, v=version: _inventory_of(data, object_id) is not None
                               and (v != inventory["head"] or data == inventory_bytes))
            if copy is None:
                return None
            copy_digest = hashlib.sha256(copy).hexdigest()
            if self._small(f"{self.folder}/{version}/{SIDECAR}",
                           lambda data, d=copy_digest: data.split()[:1] == [d.encode()]) is None:
                return None
        if self._small(f"{self.folder}/{OBJECT_MARK}", lambda data: data == f"ocfl_object_{SPEC}\n".encode()) is None:
            return None
        manifest: dict[str, list[str]] = inventory["manifest"]
        if sha not in manifest:  # the original itself: its digest is the object's name
            self.problems.append(Finding("replica_mismatch", {"object_id": object_id, "key": root_key}))
            return None
        head_state = inventory["versions"][inventory["head"]]["state"]
        purged: set[str] = set()
        deletion = next((d for d, paths in head_state.items() if DELETION_JSON in paths), None)
        if deletion is not None:
            path = self._file(f"{self.folder}/{manifest[deletion][0]}", deletion)
            if path is None:
                return None
            purged = set(json.loads(path.read_bytes())["purged_digests"])
        for digest_, paths in manifest.items():
            for rel in paths:
                key = f"{self.folder}/{rel}"
                if digest_ in purged:
                    continue  # deleted under retention with an admin's approval: never brought back
                if self._file(key, digest_) is None:
                    return None
        ingest = next(d for d, paths in inventory["versions"]["v1"]["state"].items() if INGEST_JSON in paths)
        doc = json.loads(self._path_of(f"{self.folder}/{manifest[ingest][0]}").read_bytes())
        if doc.get("sha256") != sha or doc.get("object_id") != object_id:
            self.problems.append(Finding("replica_mismatch", {"object_id": object_id,
                                                              "key": f"{self.folder}/{manifest[ingest][0]}"}))
            return None
        self._note_others()
        failpoints.hit("restore.fetched")
        root = store.root / self.folder
        # Content first, then the inventory, the declaration last: an object cut off half way in
        # is not yet an object in the store's eyes (the next restore or recall finishes it).
        for partial, dest in sorted(self.partials, key=lambda pair: (
                pair[1] == root / OBJECT_MARK, pair[1] == root / ROOT_INVENTORY, pair[1] == root / SIDECAR)):
            os.chmod(partial, STORED_MODE)
            os.replace(partial, dest)
        return RestoredObject(object_id, sha, inventory["head"], len(self.partials), self.kept,
                              any(s.legal_hold for s in self.chosen.values()))

    # ----- choosing the dock's version of each key ---------------------------------------------

    def _head(self, listed: Listed) -> Stored | None:
        at = (listed.key, listed.version_id)
        if at not in self._heads:
            self._heads[at] = self.bucket.stored(listed.key, listed.version_id)
        return self._heads[at]

    def _candidates(self, key: str) -> list[Listed] | None:
        """The versions that may be the dock's, newest first: the recorded one, else the locked
        ones. None (with the problem noted) when there is none."""
        versions = [v for v in self.keys.get(key, []) if not v.delete_marker]
        if key in self.recorded:
            found = [v for v in versions if v.version_id == self.recorded[key]]
            if not found:
                self.problems.append(Finding("replica_version_gone", {
                    "object_id": self.object_id, "key": key, "version_id": self.recorded[key]}))
                return None
            return found
        locked = [v for v in versions if (h := self._head(v)) is not None and h.locked]
        if not locked:
            self.problems.append(Finding("replica_not_locked", {"object_id": self.object_id, "key": key}))
            return None
        return locked

    def _small(self, key: str, right: Callable[[bytes], bool]) -> bytes | None:
        """A small file (inventory, sidecar, declaration): the newest of the dock's versions
        whose content is right, written to a temporary name in the store."""
        candidates = self._candidates(key)
        if candidates is None:
            return None
        for listed in candidates:
            data = self.bucket.read(key, listed.version_id)
            if right(data):
                self.chosen[key] = self._head(listed)
                dest = self.app.store.root / key
                if dest.is_file() and dest.read_bytes() == data:
                    self.kept += 1
                else:
                    partial = self._partial(dest)
                    partial.write_bytes(data)
                    self.partials.append((partial, dest))
                return data
        self.problems.append(Finding("replica_mismatch", {"object_id": self.object_id, "key": key}))
        return None

    def _file(self, key: str, sha256_hex: str) -> Path | None:
        """A content file: the dock's version with this SHA-256, downloaded to a temporary
        name in the store (or the file already there, if it has it)."""
        if key in self.chosen:  # deletion.json, read before the others
            return self._path_of(key)
        candidates = self._candidates(key)
        if candidates is None:
            return None
        dest = self.app.store.root / key
        if dest.is_file() and file_sha256(dest) == sha256_hex:
            same = [c for c in candidates if (h := self._head(c)) is not None and h.sha256 in (sha256_hex, None)
                    and h.size == dest.stat().st_size]
            self.chosen[key] = self._head((same or candidates)[0])
            os.chmod(dest, STORED_MODE)  # an earlier restore cut off before it made the file read-only
            self.kept += 1
            return dest
        partial = self._partial(dest)
        for listed in candidates:
            self.bucket.download(key, partial, listed.version_id)
            if file_sha256(partial) == sha256_hex:
                self.chosen[key] = self._head(listed)
                self.partials.append((partial, dest))
                return partial
        partial.unlink()
        self.problems.append(Finding("replica_mismatch", {"object_id": self.object_id, "key": key}))
        return None

    def _path_of(self, key: str) -> Path:
        dest = self.app.store.root / key
        return next((p for p, d in self.partials if d == dest), dest)

    @staticmethod
    def _partial(dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        return dest.with_name(f".{dest.name}.restoring")

    def _note_others(self) -> None:
        """Every version under the object that is not the dock's: a delete marker; any version
        beside the one taken of a file OCFL writes once; an unlocked version anywhere. The
        locked versions not taken are the dock's own: older root inventories (each new version
        rewrites it), and the files of a newer version whose upload was cut."""
        rewritten = {f"{self.folder}/{ROOT_INVENTORY}", f"{self.folder}/{SIDECAR}"}
        for key, versions in sorted(self.keys.items()):
            taken = self.chosen[key].version_id if key in self.chosen else None
            for v in versions:
                if v.delete_marker:
                    self.tampering.append(Finding("replica_delete_marker", {"object_id": self.object_id, "key": key}))
                    continue
                if v.version_id in (taken, self.recorded.get(key)):
                    continue
                locked = (h := self._head(v)) is not None and h.locked
                if locked and (key in rewritten or key not in self.chosen):
                    continue
                self.tampering.append(Finding("replica_overwritten", {
                    "object_id": self.object_id, "key": key, "version_id": v.version_id}))

    def _discard(self) -> None:
        for partial, _dest in self.partials:
            partial.unlink(missing_ok=True)
        self.partials.clear()
        target = self.app.store.root / self.folder
        for directory in sorted((p for p in target.rglob("*") if p.is_dir()), reverse=True) if target.is_dir() else []:
            try:
                directory.rmdir()
            except OSError:
                pass  # files of the object already in the store before the restore: kept
        try:
            target.rmdir()
        except OSError:
            return
        self.app.store.prune_empty_parents(target)


def _inventory_of(data: bytes, object_id: str) -> dict | None:
    """The inventory in these bytes, if they are one of this object's."""
    try:
        inventory = json.loads(data)
    except ValueError:
        return None
    if not isinstance(inventory, dict) or inventory.get("id") != object_id:
        return None
    versions, head = inventory.get("versions"), inventory.get("head")
    return inventory if isinstance(versions, dict) and head in versions and "v1" in versions \
        and isinstance(inventory.get("manifest"), dict) else None
