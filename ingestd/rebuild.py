"""`ingestd store rebuild-index`: the database rebuilt from the store alone.

Every object carries its ingest.json, so recordings, devices and dock sessions can be
recreated after the database is lost, or an object committed just before a crash can be
indexed; a later evidence.json brings back 证明对象 and the case, a deletion.json the fact
of a retention deletion. Existing rows are left as they are; the run is audited per
recording. What a dock asks for after it (ingestd.afterdock) is asked for again: SM3 and the
full probe (after-dock facts, not in ingest.json), derivatives, the copy to the bucket, and
each session's timeline, compliance and evidence metadata.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ingestd.app import App
from ingestd.changes import Change
from ingestd.db.models import Case, Device, DockSession, Evidence, Recording
from ingestd.evidence.metadata import EVIDENCE_JSON
from ingestd.ingest.commit import INGEST_JSON, recording_from_document
from ingestd.ingest.followups import FollowUps
from ingestd.ingest.store import DELETION_JSON
from ingestd.jobs.queue import release_group

BATCH = 200


def rebuild_index(app: App, followups: FollowUps) -> dict:
    with app.db.reading() as s:
        known = set(s.execute(select(Recording.object_id)).scalars())
    added = seen = 0
    pending: list[tuple[dict, dict | None, bool, str]] = []
    for object_id, _path in app.store.iter_objects():
        seen += 1
        if object_id in known:
            continue
        inventory = app.store.inventory(object_id)
        head = inventory["head"]
        paths = {p for ps in inventory["versions"][head]["state"].values() for p in ps}
        evidence = app.store.read_json(object_id, EVIDENCE_JSON) if EVIDENCE_JSON in paths else None
        pending.append((app.store.read_json(object_id, INGEST_JSON), evidence, DELETION_JSON in paths, head))
        if len(pending) >= BATCH:
            added += _index_batch(app, pending, followups)
            pending = []
    if pending:
        added += _index_batch(app, pending, followups)
    return {"objects": seen, "indexed": added, "already_indexed": seen - added}


def _index_batch(app: App, docs: list[tuple[dict, dict | None, bool, str]], followups: FollowUps) -> int:
    with app.changes.begin("ingestd") as ch:
        brought: dict[str, list[Recording]] = {}
        for doc, evidence, deleted, head in docs:
            device_id = _device(ch, doc)
            _dock_session(ch, doc, device_id)
            rec = recording_from_document(doc, device_id)
            if deleted:
                rec.status = "deleted"
            ch.session.add(rec)
            if evidence is not None:
                ch.session.flush()
                _evidence(ch, evidence, head, datetime.fromisoformat(doc["ingested_at"]))
            ch.record("recording.indexed", "recording", doc["sha256"], object_id=doc["object_id"],
                      reason="rebuilt from store", evidence=evidence is not None, deleted=deleted)
            if not deleted:
                brought.setdefault(rec.dock_session_id, []).append(rec)
        ch.session.flush()
        # What a dock of these recordings asked for, asked again: SM3 and probes (not in ingest.json),
        # a damaged clip's recovery, the derivatives, the copy to the bucket, and each session's
        # timeline, compliance and 制作方法/制作人 over everything it now holds.
        now = app.clock.now()
        for session_id, recs in brought.items():
            followups.session_started(ch, session_id, now)
            followups.recordings_committed(ch, recs, session_id, now)
            release_group(ch, session_id, now)
    return len(docs)


def _evidence(ch: Change, doc: dict, version: str, ingested_at: datetime) -> None:
    def when(value):
        return datetime.fromisoformat(value) if value else None

    made_from, made_to = (when(v) for v in doc.get("制作时间_iso") or (None, None))
    case_no = doc.get("case_no")
    if case_no:
        ch.lock(f"case:{case_no}")
    if case_no and ch.session.get(Case, case_no) is None:
        ch.session.add(Case(case_no=case_no, status="open", opened_by=doc.get("entered_by") or "ingestd",
                            opened_at=when(doc.get("entered_at")) or ingested_at))
        ch.session.flush()
    ch.session.add(Evidence(recording_id=doc["recording_id"], method=doc["制作方法"], made_from=made_from,
                            made_to=made_to, maker=doc.get("制作人"), proves=doc.get("证明对象"),
                            content_note=doc.get("录音内容"), case_no=case_no,
                            long_term=doc.get("long_term"), entered_by=doc.get("entered_by"),
                            entered_at=when(doc.get("entered_at")), object_version=version))


def _device(ch: Change, doc: dict) -> int | None:
    serial = (doc.get("device") or {}).get("serial")
    if not serial:
        return None
    ch.lock(f"device:{serial}")
    device = ch.session.execute(select(Device).where(Device.serial == serial)).scalar_one_or_none()
    if device is None:
        at = datetime.fromisoformat(doc["ingested_at"])
        device = Device(serial=serial, profile=doc["device"].get("profile"), first_seen=at, last_seen=at)
        ch.session.add(device)
        ch.session.flush()
    return device.id


def _dock_session(ch: Change, doc: dict, device_id: int | None) -> None:
    if ch.session.get(DockSession, doc["dock_session"]) is not None:
        return
    at = datetime.fromisoformat(doc["ingested_at"])
    ch.session.add(DockSession(
        id=doc["dock_session"], dock=doc["dock"], device_id=device_id, source_path=doc.get("source_root", ""),
        profile=(doc.get("device") or {}).get("profile") or "generic", started_at=at, finished_at=at,
        status="rebuilt", files_seen=0, files_ingested=0, files_duplicate=0, files_damaged=0, files_skipped=0,
        files_failed=0, bytes_ingested=0, bytes_seen=0))
    ch.session.flush()
