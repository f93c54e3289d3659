"""`ingestd verify`: re-hash originals against the store and the index.

Each recording's object is checked against its own inventory (every content file's
SHA-256), and the original's digest is checked against the recording id in the
database, so a consistent rewrite of file plus inventory is caught too. Every finding is
collected, then reported once; the run itself is an audit entry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import Recording
from ingestd.errors import StoreError
from ingestd.findings import Finding, Severity

if TYPE_CHECKING:
    from ingestd.compliance.policy import Policy


@dataclass
class FixityReport:
    checked: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(f.kind.severity is Severity.ERROR for f in self.findings)

    def as_dict(self, policy: "Policy | None" = None) -> dict:
        return {"checked": self.checked, "ok": not self.failed,
                "findings": [f.as_dict(policy) for f in self.findings]}


def verify_store(app: App, sample: int | None = None, rng: random.Random | None = None) -> FixityReport:
    with app.db.reading() as s:
        rows = s.execute(select(Recording.id, Recording.object_id, Recording.content_name)).all()
    if sample is not None and sample < len(rows):
        rows = (rng or random.SystemRandom()).sample(rows, sample)
    report = FixityReport()
    indexed = set()
    for rec_id, object_id, content_name in rows:
        indexed.add(object_id)
        report.checked += 1
        report.findings.extend(original_findings(app, rec_id, object_id, content_name))
    if sample is None:
        for object_id, _path in app.store.iter_objects():
            if object_id not in indexed:
                report.findings.append(Finding("object_unindexed", {"object_id": object_id}))
        report.findings += [Finding("store_foreign", {"path": p}) for p in app.store.foreign_entries()]
    with app.changes.begin("ingestd") as ch:
        ch.record("fixity.checked", "store", "originals", checked=report.checked, sample=sample,
                  findings=[{"code": f.code, **f.detail} for f in report.findings])
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
