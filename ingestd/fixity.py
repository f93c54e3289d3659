"""`ingestd verify`: re-hash originals against the store and the index.

Each recording's object is checked against its own inventory (every content file's
SHA-256), and the original's digest is checked against the recording id in the
database, so a consistent rewrite of file plus inventory is caught too. Every finding is
collected, then reported once; the run itself is an audit entry.

Docks that share one database each hold their own store. A dock verifies what it holds:
the recordings docked here, and any other dock's whose object is in this store (docks
that share a store too). Another dock's recording that is not here is that dock's to
verify; it is counted (`elsewhere`), never called missing. A sample is drawn from the
recordings docked here.

The other way round, an object in the store that the database does not know is an error:
a database replaced, lost or emptied leaves the originals without their index, and
`ingestd store rebuild-index` brings it back. An object younger than a dock's commit
(IN_FLIGHT_S) is passed over: a dock running beside the check may not have recorded it yet.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import DockSession, Eviction, Recording
from ingestd.errors import StoreError
from ingestd.findings import Finding, Severity
from ingestd.replica.readback import read_back_sample

if TYPE_CHECKING:
    from ingestd.compliance.policy import Policy


IN_FLIGHT_S = 600  # an unindexed object younger than this may be a dock's, not yet recorded


@dataclass
class FixityReport:
    checked: int = 0
    elsewhere: int = 0  # other docks' recordings, not in this store: theirs to verify
    in_bucket: int = 0  # this dock's originals kept in the replica bucket only (evicted)
    bucket_checked: int = 0  # of those, read back from the bucket in full this time
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.kind.severity is Severity.ERROR for f in self.findings)

    def as_dict(self, policy: "Policy | None" = None) -> dict:
        return {"checked": self.checked, "elsewhere": self.elsewhere, "in_bucket": self.in_bucket,
                "bucket_checked": self.bucket_checked, "ok": not self.failed,
                "findings": [f.as_dict(policy) for f in self.findings]}


def verify_store(app: App, sample: int | None = None, rng: random.Random | None = None,
                 bucket_all: bool = False) -> FixityReport:
    """Local objects on the disk; the originals kept in the bucket only, read back from it: a
    sample of [replica] readback_sample (the longest unproven first), or all with `bucket_all`."""
    here = app.settings.dock_name
    with app.db.reading() as s:
        rows = s.execute(select(Recording.id, Recording.object_id, Recording.content_name, DockSession.dock)
                         .join(DockSession, DockSession.id == Recording.dock_session_id)).all()
        # Leaving, in the bucket, or coming back: not this disk's to find (a move in flight is not a loss).
        evicted = set(s.execute(select(Eviction.recording_id)).scalars())
    indexed = {row.object_id for row in rows}
    report = FixityReport(in_bucket=len(evicted))
    rows = [row for row in rows if row.id not in evicted]
    if sample is not None:
        rows = [row for row in rows if row.dock == here]
        if sample < len(rows):
            rows = (rng or random.SystemRandom()).sample(rows, sample)
    for rec_id, object_id, content_name, dock in rows:
        if dock != here and not app.store.object_path(object_id).is_dir():
            report.elsewhere += 1
            continue
        report.checked += 1
        report.findings.extend(original_findings(app, rec_id, object_id, content_name))
    if sample is None:
        settled_before = time.time() - IN_FLIGHT_S
        for object_id, path in app.store.iter_objects():
            if object_id not in indexed and (path / "inventory.json").stat().st_mtime < settled_before:
                report.findings.append(Finding("object_unindexed", {"object_id": object_id}))
        report.findings += [Finding("store_foreign", {"path": p}) for p in app.store.foreign_entries()]
    if evicted and app.settings.replica.enabled:
        proofs = read_back_sample(app, None if bucket_all else app.settings.replica.readback_sample,
                                  only_evicted=True, audit_failure=False)
        report.bucket_checked = len(proofs)
        report.findings += [f for p in proofs for f in p.findings]
    with app.changes.begin("ingestd") as ch:
        ch.record("fixity.checked", "store", "originals", checked=report.checked, elsewhere=report.elsewhere,
                  in_bucket=report.in_bucket, bucket_checked=report.bucket_checked,
                  sample=sample, findings=[{"code": f.code, **f.detail} for f in report.findings])
    return report


def original_findings(app: App, rec_id: str, object_id: str, content_name: str) -> list[Finding]:
    """Problems with one recording's object, and with its original against the index."""
    return app.store.verify_object(object_id) or _original_matches_index(app, rec_id, object_id, content_name)


def _original_matches_index(app: App, rec_id: str, object_id: str, content_name: str) -> list[Finding]:
    inventory = app.store.inventory(object_id)
    state = inventory["versions"][inventory["head"]]["state"]
    if content_name in state.get(rec_id, []) or rec_id in app.store.purged_digests(object_id, inventory):
        return []
    try:
        app.store.resolve(object_id, content_name)
    except StoreError:
        return [Finding("fixity_missing", {"object_id": object_id, "path": content_name})]
    return [Finding("fixity_changed", {"object_id": object_id, "path": content_name})]
