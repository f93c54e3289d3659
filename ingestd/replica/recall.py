"""`ingestd store recall REC`: an original only the bucket holds brought back to the disk (a
court asks for the originals on a disc, a 说明 is to be added): the versions the dock proved,
each checked against the object's inventory and id, moved in whole or not at all (the same
check a restore makes), then the recording is local again. Audited both ways."""

from __future__ import annotations

from dataclasses import dataclass

from ingestd.app import App
from ingestd.db.models import Eviction
from ingestd.db.states import EvictionState
from ingestd.durable import syncfs
from ingestd.errors import UserError
from ingestd.findings import Finding
from ingestd.lookup import find_recording
from ingestd.replica.bucket import bucket_of
from ingestd.replica.restore import ObjectRestore, recorded_versions
from ingestd.users import Role, require_user

# The 信息中心, who looks after the disk, and 法制科, who needs originals for a court.
RECALLERS = (Role.ADMIN.value, Role.LEGAL.value)


@dataclass(frozen=True)
class Recalled:
    recording_id: str
    files: int
    bytes: int
    findings: tuple[Finding, ...]  # versions beside the dock's found on the way (it came back all the same)

    def as_dict(self, policy=None) -> dict:
        return {"recording_id": self.recording_id, "files": self.files, "bytes": self.bytes,
                "findings": [f.as_dict(policy) for f in self.findings]}


def recall(app: App, rec_ref: str, by: str) -> Recalled:
    with app.changes.begin(by) as ch:
        require_user(ch.session, by, RECALLERS, "bring a recording back from the bucket")
        rec, _serial = find_recording(ch.session, rec_ref)
        ch.lock(f"recording:{rec.id}")
        gone = ch.session.get(Eviction, rec.id)
        if gone is None:
            raise UserError(f"recording {rec.id[:12]} is on this dock's disk already")
        if gone.state == EvictionState.LEAVING:
            raise UserError(f"recording {rec.id[:12]} is leaving the disk right now; ask again in a minute")
        gone.state = EvictionState.RETURNING
        ch.record("store.recalling", "recording", rec.id, head=gone.head, files=gone.files, bytes=gone.bytes)
    bucket = bucket_of(app)
    folder = app.store.object_path(rec.object_id).relative_to(app.store.root).as_posix()
    keys: dict = {}
    for listed in bucket.versions(folder + "/"):
        keys.setdefault(listed.key, []).append(listed)
    one = ObjectRestore(app, bucket, folder, keys, recorded_versions(app, folder))
    try:
        done = one.run()
    except BaseException:
        _back_to_bucket(app, rec.id, by, "the bucket could not be read to the end")
        raise
    if done is None:
        _back_to_bucket(app, rec.id, by, one.problems[0].message)
        raise UserError(f"recording {rec.id[:12]} could not be brought back as the dock wrote it: "
                        f"{one.problems[0].message}")
    syncfs(app.store.root)
    with app.changes.begin(by) as ch:
        ch.session.delete(ch.session.get(Eviction, rec.id))
        ch.record("store.recalled", "recording", rec.id, head=done.head, fetched=done.fetched, kept=done.kept,
                  tampered=[f.detail["key"] for f in one.tampering])
    return Recalled(rec.id, done.fetched + done.kept, gone.bytes, tuple(one.tampering))


def _back_to_bucket(app: App, rec_id: str, by: str, why: str) -> None:
    with app.changes.begin(by) as ch:
        ch.session.get(Eviction, rec_id).state = EvictionState.IN_BUCKET
        ch.record("store.recall_failed", "recording", rec_id, reason=why)
