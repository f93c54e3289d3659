"""The commit stage: the only stage that writes to the store and the database.

For new content: assemble the OCFL object and rename it into the store (the store's
commit point), then record recording, source file, incident and dock counters in one
audited transaction. A crash between the two leaves an object the database does not
know; the next ingest of the same bytes, or `store rebuild-index`, adopts it from its
own ingest.json, so nothing is stored twice and nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ingestd.app import App
from ingestd.changes import Change
from ingestd.db.models import Device, DockSession, Incident, Recording, SourceFile, storage_fill
from ingestd.device_profiles import DeviceProfile
from ingestd.errors import ObjectExistsError
from ingestd.findings import Finding
from ingestd.ingest.names import extension, safe_name
from ingestd.ingest.offload import OffloadResult
from ingestd.ingest.outcome import FileOutcome
from ingestd.ingest.recording_time import recording_time
from ingestd.ingest.store import NewFile, Signature, object_id_for
from ingestd.ingest.walk import SourceEntry
from ingestd.logs import event
from ingestd.media import queue

log = logging.getLogger("ingestd.ingest")
INGEST_JSON = "ingest.json"
ACTOR = "ingestd"
STORAGE_NEARLY_FULL = 0.98
_COUNTER = {"ingested": "files_ingested", "duplicate": "files_duplicate", "damaged": "files_damaged",
            "skipped": "files_skipped", "failed": "files_failed"}


@dataclass(frozen=True)
class DockInfo:
    """What the dock knows about the camera beyond its files (USB docking)."""

    port: str | None = None
    storage_total_bytes: int | None = None
    storage_free_bytes: int | None = None
    problems: tuple[str, ...] = ()  # the device contradicts its profile: flagged, not trusted silently


@dataclass(frozen=True)
class DockContext:
    session_id: str
    device_id: int | None
    device_serial: str | None
    device_key: str  # what "the same camera" means for resuming: serial, else the dock path
    profile: DeviceProfile
    source_root: str


def start_session(app: App, session_id: str, source_root: str, profile: DeviceProfile,
                  device_serial: str | None, info: DockInfo = DockInfo()) -> DockContext:
    now = app.clock.now()
    with app.changes.begin(ACTOR) as ch:
        device_id = _register_device(ch, device_serial, profile.name, now) if device_serial else None
        ch.session.add(DockSession(
            id=session_id, dock=app.settings.dock_name, device_id=device_id, source_path=source_root,
            profile=profile.name, started_at=now, status="running", files_seen=0, files_ingested=0,
            files_duplicate=0, files_damaged=0, files_skipped=0, files_failed=0, bytes_ingested=0,
            port=info.port, storage_total_bytes=info.storage_total_bytes, storage_free_bytes=info.storage_free_bytes))
        ch.record("dock.started", "dock_session", session_id, source=source_root, profile=profile.name,
                  device=device_serial, dock=app.settings.dock_name, port=info.port)
        fill = storage_fill(info.storage_total_bytes, info.storage_free_bytes)
        if fill is not None and fill >= STORAGE_NEARLY_FULL:
            # 001 第27条, 003 第42条: storage is checked and faults reported, per device.
            _device_incident(ch, session_id, now, Finding("storage_nearly_full", {"device": device_serial,
                                                                                  "fill": fill}))
        if info.problems:
            _device_incident(ch, session_id, now, Finding("device_mismatch", {
                "device": device_serial, "profile": profile.name, "problems": "; ".join(info.problems)}))
    key = f"serial:{device_serial}" if device_serial else f"path:{source_root}"
    return DockContext(session_id, device_id, device_serial, key, profile, source_root)


def _device_incident(ch: Change, session_id: str, now: datetime, finding: Finding) -> None:
    ch.session.flush()
    incident = Incident(code=finding.code, dock_session_id=session_id, detail=finding.message,
                        facts=finding.detail, opened_at=now, status="open")
    ch.session.add(incident)
    ch.session.flush()
    ch.record("incident.opened", "incident", str(incident.id), code=finding.code, **finding.detail)
    event(log, logging.WARNING, f"device.{finding.code}", session=session_id, message=finding.message)


def _register_device(ch: Change, serial: str, profile: str, now: datetime) -> int:
    device = ch.session.execute(select(Device).where(Device.serial == serial)).scalar_one_or_none()
    if device is None:
        device = Device(serial=serial, profile=profile, first_seen=now, last_seen=now)
        ch.session.add(device)
        ch.session.flush()
        ch.record("device.registered", "device", serial, profile=profile)
    else:
        device.last_seen = now
    return device.id


def finish_session(app: App, ctx: DockContext, counts: dict[str, int], bytes_ingested: int,
                   interrupted: bool = False) -> datetime:
    now = app.clock.now()
    status = "interrupted" if interrupted else "finished"
    with app.changes.begin(ACTOR) as ch:
        row = ch.session.get(DockSession, ctx.session_id)
        row.finished_at, row.status = now, status
        ch.record(f"dock.{status}", "dock_session", ctx.session_id, counts=counts, bytes=bytes_ingested)
    return now


def known_sources(app: App, ctx: DockContext) -> dict[tuple[str, int | None, int | None], str]:
    """Files this device already delivered, keyed by path, size and mtime -> recording id."""
    with app.db.reading() as s:
        rows = s.execute(select(SourceFile.rel_path, SourceFile.size, SourceFile.mtime_ns, SourceFile.recording_id)
                         .where(SourceFile.device_key == ctx.device_key, SourceFile.recording_id.is_not(None)))
        return {(r.rel_path, r.size, r.mtime_ns): r.recording_id for r in rows}


def record_without_content(app: App, ctx: DockContext, entry: SourceEntry, status: str, code: str,
                           reason: str, recording_id: str | None = None, size: int | None = None,
                           sha256: str | None = None) -> FileOutcome:
    """A file that brought no new content: skipped, failed, or a duplicate."""
    outcome = FileOutcome(entry.display_path, entry.rel_path, status, recording_id, sha256,
                          size if size is not None else entry.size, code, reason)
    with app.changes.begin(ACTOR) as ch:
        _source_row(ch, ctx, entry, outcome, app.clock.now())
        ch.record(f"source.{status}", "dock_session", ctx.session_id, path=entry.rel_path, code=code,
                  reason=reason, recording=recording_id)
    level = logging.ERROR if status == "failed" else logging.INFO
    event(log, level, f"file.{status}", session=ctx.session_id, path=entry.rel_path, code=code, reason=reason)
    return outcome


def record_scan(app: App, ctx: DockContext, total: int, resumed: int) -> None:
    """How many files the camera holds (for progress), and how many it already delivered:
    those are counted, not read or recorded again."""
    with app.changes.begin(ACTOR) as ch:
        row = ch.session.get(DockSession, ctx.session_id)
        row.files_total = total
        row.files_seen += resumed
        row.files_duplicate += resumed
        ch.record("dock.scanned", "dock_session", ctx.session_id, files=total, already_ingested=resumed)


def commit_offload(app: App, ctx: DockContext, entry: SourceEntry, result: OffloadResult) -> FileOutcome:
    if not result.ok:
        status = "skipped" if result.error_code == "skipped_special" else "failed"
        return record_without_content(app, ctx, entry, status, result.error_code, result.error)
    sha = result.sha256
    with app.db.reading() as s:
        existing = s.get(Recording, sha)
    if existing is not None:
        _discard(result.staged)
        return _duplicate(app, ctx, entry, result)
    object_id = object_id_for(sha)
    ingest_doc = _ingest_document(app, ctx, entry, result, object_id)
    try:
        app.store.create_object(object_id, [
            NewFile(ingest_doc["content_name"], sha, source=result.staged),
            NewFile(INGEST_JSON, *_json_file(ingest_doc)),
        ], Signature(f"ingestd@{app.settings.dock_name}", dock_uri(app.settings.dock_name),
                     f"ingest {entry.rel_path} from {ctx.device_serial or ctx.source_root}", app.clock.now()))
    except ObjectExistsError:
        # Stored before but not indexed (a crash after the store commit), or another dock
        # is committing the same bytes right now: index from the object's own record.
        _discard(result.staged)
        ingest_doc = app.store.read_json(object_id, INGEST_JSON)
    try:
        return _index_new(app, ctx, entry, result, ingest_doc)
    except IntegrityError:
        return _duplicate(app, ctx, entry, result)  # the other dock indexed it first


def dock_uri(dock: str) -> str:
    return f"urn:ingestd:dock:{quote(dock, safe='')}"


def _duplicate(app: App, ctx: DockContext, entry: SourceEntry, result: OffloadResult) -> FileOutcome:
    return record_without_content(app, ctx, entry, "duplicate", "duplicate_content",
                                  Finding("duplicate_content", {"path": entry.rel_path, "recording_id": result.sha256}).message,
                                  recording_id=result.sha256, size=result.size, sha256=result.sha256)


def _index_new(app: App, ctx: DockContext, entry: SourceEntry, result: OffloadResult, doc: dict) -> FileOutcome:
    now = app.clock.now()
    damaged = doc["status"] == "damaged"
    status = "damaged" if damaged else "ingested"
    outcome = FileOutcome(entry.display_path, entry.rel_path, status, doc["sha256"], doc["sha256"], doc["size"],
                          "damaged_file" if damaged else None, doc["damage_reason"])
    with app.changes.begin(ACTOR) as ch:
        rec = recording_from_document(doc, ctx.device_id)
        rec.name_conflict = _name_conflict(ch, ctx, entry, doc["sha256"])
        ch.session.add(rec)
        ch.session.flush()
        _source_row(ch, ctx, entry, outcome, now, bytes_added=doc["size"])
        ch.record("recording.ingested", "recording", rec.id, object_id=rec.object_id, sm3=rec.sm3,
                  size=rec.size, source=entry.rel_path, status=rec.status, dock_session=ctx.session_id)
        if rec.name_conflict:
            ch.record("recording.flagged", "recording", rec.id, code="name_conflict", source=entry.rel_path)
        if damaged:
            _open_damage_incident(ch, ctx, rec, entry, now)
        queue.enqueue(ch, rec.id, _derivatives_for(app, rec), rec.important, now)
    if damaged:
        event(log, logging.ERROR, "file.damaged", session=ctx.session_id, path=entry.rel_path,
              recording=rec.id, reason=rec.damage_reason, article="002 第16条")
    else:
        event(log, logging.INFO, "file.ingested", session=ctx.session_id, path=entry.rel_path,
              recording=rec.id, size=rec.size, seconds=round(result.seconds, 3))
    return outcome


def _derivatives_for(app: App, rec: Recording) -> list[str]:
    if rec.kind != "video":
        return []
    policy = app.settings.media.proxy_policy
    if policy == "on_demand" or (policy == "important_and_evidence" and not rec.important):
        return []
    # A damaged original gets a proxy of whatever decodes, marked partial; nothing else.
    return ["proxy"] if rec.status == "damaged" else ["proxy", "hls", "thumbnails"]


def _open_damage_incident(ch: Change, ctx: DockContext, rec: Recording, entry: SourceEntry, now: datetime) -> None:
    # 002 第16条: damaged or unstorable information is reported at once and needs a written explanation.
    finding = Finding("damaged_file", {"path": entry.rel_path, "reason": rec.damage_reason})
    incident = Incident(code=finding.code, recording_id=rec.id, dock_session_id=ctx.session_id,
                        detail=finding.message, facts=finding.detail, opened_at=now, status="open")
    ch.session.add(incident)
    ch.session.flush()
    ch.record("incident.opened", "incident", str(incident.id), code=finding.code, recording=rec.id,
              article=finding.kind.article)


def _name_conflict(ch: Change, ctx: DockContext, entry: SourceEntry, sha: str) -> bool:
    """Same path on the same camera, different bytes: both are kept; this one is flagged."""
    other = ch.session.execute(
        select(SourceFile.recording_id).where(SourceFile.device_key == ctx.device_key,
                                              SourceFile.rel_path == entry.rel_path,
                                              SourceFile.recording_id.is_not(None),
                                              SourceFile.recording_id != sha).limit(1)).first()
    return other is not None


def _source_row(ch: Change, ctx: DockContext, entry: SourceEntry, outcome: FileOutcome, now: datetime,
                bytes_added: int = 0) -> None:
    ch.session.add(SourceFile(dock_session_id=ctx.session_id, device_key=ctx.device_key, rel_path=entry.rel_path,
                              size=entry.size, mtime_ns=entry.mtime_ns, outcome=outcome.status,
                              recording_id=outcome.recording_id, code=outcome.code, reason=outcome.reason,
                              seen_at=now))
    row = ch.session.get(DockSession, ctx.session_id)
    row.files_seen += 1
    setattr(row, _COUNTER[outcome.status], getattr(row, _COUNTER[outcome.status]) + 1)
    row.bytes_ingested += bytes_added


def _ingest_document(app: App, ctx: DockContext, entry: SourceEntry, result: OffloadResult, object_id: str) -> dict:
    """ingest.json: everything known at ingest, stored inside the object so that the store
    alone can rebuild the index."""
    tz = app.settings.tz
    facts = ctx.profile.parse_name(entry.rel_path, tz)
    probe = result.probe
    times = recording_time(facts, probe, result.mtime_ns, tz)

    def iso(value):
        return value.isoformat() if value else None

    return {
        "format": "ingestd-ingest/1",
        "kind": ctx.profile.files.kind_of(extension(entry.path)) or "video",
        "recording_id": result.sha256,
        "object_id": object_id,
        "content_name": safe_name(os.path.basename(entry.path)),
        "original_name": entry.rel_path.rsplit("/", 1)[-1],
        "source_path": entry.rel_path,
        "source_root": ctx.source_root,
        "source_mtime_ns": result.mtime_ns,
        "size": result.size,
        "sha256": result.sha256,
        "sm3": result.sm3,
        "device": {"serial": ctx.device_serial or (facts.device if facts else None), "profile": ctx.profile.name},
        "dock": app.settings.dock_name,
        "dock_session": ctx.session_id,
        "ingested_at": iso(app.clock.now()),
        "recording": {"start": iso(times.start), "end": iso(times.end), "duration_s": times.duration_s,
                      "time_source": times.source, "badge": facts.badge if facts else None,
                      "important": facts.important if facts else False, "seq": facts.seq if facts else None},
        "status": "damaged" if probe is None or probe.damaged else "ok",
        "damage_reason": probe.reason if probe else "not probed",
        "probe": probe.as_dict() if probe else None,
    }


def recording_from_document(doc: dict, device_id: int | None = None) -> Recording:
    rec = doc["recording"]

    def when(value):
        return datetime.fromisoformat(value) if value else None

    return Recording(
        id=doc["sha256"], sm3=doc["sm3"], size=doc["size"], object_id=doc["object_id"],
        content_name=doc["content_name"], original_name=doc["original_name"], source_path=doc["source_path"],
        device_id=device_id, dock_session_id=doc["dock_session"], badge=rec["badge"],
        kind=doc.get("kind", "video"), important=bool(rec["important"]), start=when(rec["start"]),
        end=when(rec["end"]), seq=rec.get("seq"),
        duration_s=rec["duration_s"], time_source=rec["time_source"], status=doc["status"],
        damage_reason=doc["damage_reason"], name_conflict=False, probe=doc["probe"] or {},
        ingested_at=when(doc["ingested_at"]),
    )


def _json_file(doc: dict) -> tuple[str, None, bytes]:
    data = (json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")
    return hashlib.sha256(data).hexdigest(), None, data


def _discard(path: str | None) -> None:
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
