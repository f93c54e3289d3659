"""`ingestd store rebuild-index`: the database rebuilt from the store alone.

Every object carries its ingest.json, so recordings, devices and dock sessions can be
recreated after the database is lost, or an object committed just before a crash can be
indexed. Existing rows are left as they are; the run is audited per recording.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from ingestd.app import App
from ingestd.changes import Change
from ingestd.db.models import Device, DockSession, Recording
from ingestd.ingest.commit import INGEST_JSON, recording_from_document

BATCH = 200


def rebuild_index(app: App) -> dict:
    with app.db.reading() as s:
        known = set(s.execute(select(Recording.object_id)).scalars())
    added = seen = 0
    pending: list[dict] = []
    for object_id, _path in app.store.iter_objects():
        seen += 1
        if object_id in known:
            continue
        pending.append(app.store.read_json(object_id, INGEST_JSON))
        if len(pending) >= BATCH:
            added += _index_batch(app, pending)
            pending = []
    if pending:
        added += _index_batch(app, pending)
    return {"objects": seen, "indexed": added, "already_indexed": seen - added}


def _index_batch(app: App, docs: list[dict]) -> int:
    with app.changes.begin("ingestd") as ch:
        for doc in docs:
            device_id = _device(ch, doc)
            _dock_session(ch, doc, device_id)
            ch.session.add(recording_from_document(doc, device_id))
            ch.record("recording.indexed", "recording", doc["sha256"], object_id=doc["object_id"],
                      reason="rebuilt from store")
    return len(docs)


def _device(ch: Change, doc: dict) -> int | None:
    serial = (doc.get("device") or {}).get("serial")
    if not serial:
        return None
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
        files_failed=0, bytes_ingested=0))
    ch.session.flush()
