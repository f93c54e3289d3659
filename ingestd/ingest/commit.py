"""The commit stage: the only stage that writes to the store and the database.

For new content, `prepare` (run beside the copy, in the offload thread) lays the OCFL
object out in staging. The dock's own thread then takes every file that finished
meanwhile: `store_batch` renames their objects into the store with one flush before and
one after (the store's commit point), and `write_batch` records recordings, source
files, incidents, the dock counters and the jobs that follow in one audited transaction.
A crash between the two leaves an object the database does not know; the next ingest of
the same bytes, or `store rebuild-index`, adopts it from its own ingest.json, so nothing
is stored twice and nothing is lost.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from ingestd.changes import Change
from ingestd.db.models import Device, DockSession, Incident, Recording, SourceFile, storage_fill
from ingestd.db.types import UTCDateTime
from ingestd.device_profiles import DeviceProfile
from ingestd.errors import NoSpaceError
from ingestd.findings import Finding
from ingestd.ingest.followups import FollowUps
from ingestd.ingest.names import extension, safe_name
from ingestd.ingest.offload import OffloadResult
from ingestd.ingest.outcome import FileOutcome
from ingestd.ingest.recording_time import recording_time
from ingestd.ingest.store import Assembled, NewFile, Signature, object_id_for
from ingestd.ingest.walk import SourceEntry
from ingestd.jobs.queue import release_group
from ingestd.logs import event

if TYPE_CHECKING:
    from ingestd.app import App

log = logging.getLogger("ingestd.ingest")
INGEST_JSON = "ingest.json"
INGEST_FORMAT = "ingestd-ingest/2"  # /2: SM3 and mediainfo are after-dock facts, not in ingest.json
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


def start_session(app: "App", session_id: str, source_root: str, profile: DeviceProfile,
                  device_serial: str | None, follow: FollowUps, info: DockInfo = DockInfo(),
                  camera_clock: datetime | None = None, device_source: str | None = None) -> DockContext:
    now = app.clock.now()
    with app.changes.begin(ACTOR) as ch:
        device_id = _register_device(ch, device_serial, profile.name, now) if device_serial else None
        ch.session.add(DockSession(
            id=session_id, dock=app.settings.dock_name, device_id=device_id, source_path=source_root,
            profile=profile.name, started_at=now, status="running", files_seen=0, files_ingested=0,
            files_duplicate=0, files_damaged=0, files_skipped=0, files_failed=0, bytes_ingested=0, bytes_seen=0,
            port=info.port, storage_total_bytes=info.storage_total_bytes, storage_free_bytes=info.storage_free_bytes,
            camera_clock_at=camera_clock, host_clock_at=now if camera_clock else None,
            device_source=device_source))
        ch.record("dock.started", "dock_session", session_id, source=source_root, profile=profile.name,
                  device=device_serial, device_source=device_source, dock=app.settings.dock_name, port=info.port)
        fill = storage_fill(info.storage_total_bytes, info.storage_free_bytes)
        if fill is not None and fill >= STORAGE_NEARLY_FULL:
            # 001 第27条, 003 第42条: storage is checked and faults reported, per device.
            _device_incident(ch, session_id, now, Finding("storage_nearly_full", {"device": device_serial,
                                                                                  "fill": fill}))
        if info.problems:
            _device_incident(ch, session_id, now, Finding("device_mismatch", {
                "device": device_serial, "profile": profile.name, "problems": "; ".join(info.problems)}))
        ch.session.flush()
        follow.session_started(ch, session_id, now)
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
    ch.lock(f"device:{serial}")  # one camera seen at two docks at once is registered once
    device = ch.session.execute(select(Device).where(Device.serial == serial)).scalar_one_or_none()
    if device is None:
        device = Device(serial=serial, profile=profile, first_seen=now, last_seen=now)
        ch.session.add(device)
        ch.session.flush()
        ch.record("device.registered", "device", serial, profile=profile)
    else:
        device.last_seen = now
    return device.id


def release_session(app: "App", ctx: DockContext, counts: dict[str, int], bytes_ingested: int,
                    interrupted: bool = False, disk_full: str | None = None) -> datetime:
    """Every file the dock will take is committed: the camera may go. The session's own jobs
    (timeline, compliance, 制作人) are let loose in the same transaction. A session cut
    short keeps what it committed and is `interrupted`; its jobs run all the same."""
    now = app.clock.now()
    status = "interrupted" if interrupted else "released"
    with app.changes.begin(ACTOR) as ch:
        row = ch.session.get(DockSession, ctx.session_id)
        row.finished_at, row.status = now, status
        if not interrupted:
            row.released_at = now
        row.camera_kept_files, row.camera_kept_oldest = _kept_on_camera(ch, ctx)
        if disk_full:
            _device_incident(ch, ctx.session_id, now, Finding("disk_full", {"where": disk_full,
                                                                            "session": ctx.session_id}))
        ch.record(f"dock.{status}", "dock_session", ctx.session_id, counts=counts, bytes=bytes_ingested,
                  after_s=round((now - row.started_at).total_seconds(), 3))
        release_group(ch, ctx.session_id, now)
    return now


def _kept_on_camera(ch: Change, ctx: DockContext) -> tuple[int, datetime | None]:
    """Files this dock found on the camera that an earlier dock of this same camera stored, and
    when the oldest of them was made: what the officer kept on the camera after uploading it
    (不得自行保管). Two copies of one clip in the dump, or bytes another camera brought (two
    empty files), were never uploaded from this camera, so they are not kept ones."""
    if ctx.device_id is None:
        return 0, None  # no serial: no earlier dock is known to be this camera's
    stored_at = aliased(DockSession)
    when = func.coalesce(Recording.start_corrected, Recording.start, Recording.end)
    n, oldest = ch.session.execute(
        select(func.count(func.distinct(SourceFile.recording_id)), func.min(when, type_=UTCDateTime))
        .join(Recording, Recording.id == SourceFile.recording_id)
        .join(stored_at, stored_at.id == Recording.dock_session_id)
        .where(SourceFile.dock_session_id == ctx.session_id, SourceFile.outcome == "duplicate",
               stored_at.device_id == ctx.device_id, stored_at.id != ctx.session_id)).one()
    return int(n or 0), oldest


def known_sources(app: "App", ctx: DockContext) -> dict[tuple[bytes, int | None, int | None], str]:
    """Files this device already delivered, keyed by the bytes of their path, size and mtime ->
    recording id. A row from before names were kept as bytes counts only where its shown
    name is unambiguous (no escape in it); any other file is read again, and its content
    decides."""
    with app.db.reading() as s:
        rows = s.execute(select(SourceFile.rel_path, SourceFile.rel_path_raw, SourceFile.size, SourceFile.mtime_ns,
                                SourceFile.recording_id)
                         .where(SourceFile.device_key == ctx.device_key, SourceFile.recording_id.is_not(None)))
        known = {}
        for r in rows:
            raw = r.rel_path_raw if r.rel_path_raw is not None else \
                (r.rel_path.encode("utf-8") if "\\" not in r.rel_path else None)
            if raw is not None:
                known[(bytes(raw), r.size, r.mtime_ns)] = r.recording_id
        return known


def record_scan(app: "App", ctx: DockContext, total: int, total_bytes: int) -> None:
    """How many files and bytes the camera holds, for progress."""
    with app.changes.begin(ACTOR) as ch:
        row = ch.session.get(DockSession, ctx.session_id)
        row.files_total, row.bytes_total = total, total_bytes
        ch.record("dock.scanned", "dock_session", ctx.session_id, files=total, bytes=total_bytes)


# ----- a file's way into the store (offload thread) ---------------------------------------------


@dataclass(frozen=True)
class Pending:
    """A file ready to be recorded: either its outcome is already decided (skipped, failed,
    already delivered), or its content is on its way into the store (`doc` is its object's
    ingest.json; `assembled`, the object laid out in staging until the batch commits it)."""

    entry: SourceEntry
    outcome: FileOutcome | None = None
    result: OffloadResult | None = None
    doc: dict | None = None
    assembled: Assembled | None = None


def no_content(entry: SourceEntry, status: str, code: str, reason: str, recording_id: str | None = None,
               size: int | None = None, sha256: str | None = None) -> Pending:
    return Pending(entry, FileOutcome(entry.display_path, entry.rel_path, status, recording_id, sha256,
                                      size if size is not None else entry.size, code, reason))


def prepare(app: "App", ctx: DockContext, entry: SourceEntry, result: OffloadResult) -> Pending:
    """Lay a proven copy out as a new object in staging (in the offload thread)."""
    if not result.ok:
        status = "skipped" if result.error_code in ("skipped_special", "changed_during_copy") else "failed"
        return no_content(entry, status, result.error_code, result.error)
    object_id = object_id_for(result.sha256)
    doc = _ingest_document(app, ctx, entry, result, object_id)
    try:
        assembled = app.store.assemble(object_id, [
            NewFile(doc["content_name"], result.sha256, source=result.staged),
            NewFile(INGEST_JSON, *_json_file(doc)),
        ], Signature(f"ingestd@{app.settings.dock_name}", dock_uri(app.settings.dock_name),
                     f"ingest {entry.rel_path} from {ctx.device_serial or ctx.source_root}", app.clock.now()))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        _discard(result.staged)  # the store's disk is full: nothing kept, the next dock takes it
        return no_content(entry, "failed", "store_write_failed", exc.strerror or str(exc))
    if assembled.work is None:
        _discard(result.staged)  # these bytes are in the store already
    return Pending(entry, result=result, doc=doc, assembled=assembled)


def store_batch(app: "App", items: list[Pending]) -> list[Pending]:
    """Commit the batch's new objects to the store in one group commit: the store's commit
    point. Where the bytes were stored before (indexed or not: a crash after the store
    commit), or another dock committed them first, what the object itself says counts."""
    assembled = [item.assembled for item in items if item.assembled is not None]
    try:
        stored = dict(zip((a.object_id for a in assembled), app.store.commit_assembled(assembled)))
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        raise NoSpaceError(f"the store's disk is full ({app.data.store}); the files not yet recorded stay on "
                           f"the camera: free space, then dock again", str(app.data.store)) from None
    out = []
    for item in items:
        if item.assembled is not None and stored.get(item.assembled.object_id) is None:
            item = replace(item, doc=app.store.read_json(item.assembled.object_id, INGEST_JSON), assembled=None)
        out.append(item)
    return out


def dock_uri(dock: str) -> str:
    return f"urn:ingestd:dock:{quote(dock, safe='')}"


# ----- recording what finished (the dock's thread) ---------------------------------------------


def write_batch(app: "App", ctx: DockContext, items: list[Pending], follow: FollowUps) -> list[FileOutcome]:
    """Record every item in one audited transaction. Should another dock index the same
    bytes at the same moment, the batch is written again one item at a time."""
    try:
        return _write(app, ctx, items, follow)
    except IntegrityError:
        if len(items) == 1:
            raise
        return [o for item in items for o in _write(app, ctx, [item], follow)]


def _write(app: "App", ctx: DockContext, items: list[Pending], follow: FollowUps) -> list[FileOutcome]:
    now = app.clock.now()
    outcomes: list[FileOutcome] = []
    logs: list[tuple[int, str, dict]] = []
    with app.changes.begin(ACTOR) as ch:
        session_row = ch.session.get(DockSession, ctx.session_id)
        content = [item for item in items if item.outcome is None]
        # The same bytes docked at another dock at this moment: one of the two indexes them, the
        # other then finds them indexed (on SQLite the write lock already orders the two).
        ch.lock(*(f"recording:{item.doc['sha256']}" for item in content))
        # What the whole batch needs to know, asked once: which bytes are indexed already,
        # and which paths this camera delivered before with other bytes.
        indexed = set(ch.session.execute(select(Recording.id).where(
            Recording.id.in_([item.doc["sha256"] for item in content]))).scalars()) if content else set()
        earlier: dict[str, set[str]] = {}
        if content:
            for path, rid in ch.session.execute(select(SourceFile.rel_path_raw, SourceFile.recording_id).where(
                    SourceFile.device_key == ctx.device_key, SourceFile.recording_id.is_not(None),
                    SourceFile.rel_path_raw.in_([item.entry.rel_raw for item in content]))):
                earlier.setdefault(bytes(path), set()).add(rid)
        new: list[Recording] = []
        for item in items:
            if item.outcome is not None:
                outcome = item.outcome
                _source_row(ch, ctx, item.entry, outcome, now, session_row)
                ch.record(f"source.{outcome.status}", "dock_session", ctx.session_id, path=item.entry.rel_path,
                          code=outcome.code, reason=outcome.reason, recording=outcome.recording_id)
                level = logging.ERROR if outcome.status == "failed" else logging.INFO
                logs.append((level, f"file.{outcome.status}", {"path": item.entry.rel_path, "code": outcome.code,
                                                                "reason": outcome.reason}))
            elif item.doc["sha256"] in indexed:
                outcome = _duplicate(ch, ctx, item, now, session_row, logs)
            else:
                outcome, rec = _index(ch, ctx, item, now, session_row, earlier.get(item.entry.rel_raw, set()), logs)
                indexed.add(rec.id)
                new.append(rec)
            outcomes.append(outcome)
        if new:
            follow.recordings_committed(ch, new, ctx.session_id, now)
    for level, name, fields in logs:
        event(log, level, name, session=ctx.session_id, **fields)
    return outcomes


def _duplicate(ch: Change, ctx: DockContext, item: Pending, now: datetime, session_row: DockSession,
               logs: list) -> FileOutcome:
    sha, entry = item.doc["sha256"], item.entry
    if item.doc["status"] == "damaged" and _new_damage(ch, ctx, item.doc):
        # A damaged file is an event of its camera and the moment it was made, not of its bytes:
        # an empty file on this camera is not the one another camera (or another moment) brought.
        outcome = FileOutcome(entry.display_path, entry.rel_path, "damaged", sha, sha, item.doc["size"],
                              "damaged_file", item.doc["damage_reason"])
        _source_row(ch, ctx, entry, outcome, now, session_row)
        rec = ch.session.get(Recording, sha)
        _open_damage_incident(ch, ctx, rec, entry, now, item.doc)
        logs.append((logging.ERROR, "file.damaged", {"path": entry.rel_path, "recording": sha,
                                                      "reason": item.doc["damage_reason"], "rule": "damaged_file"}))
        return outcome
    outcome = FileOutcome(entry.display_path, entry.rel_path, "duplicate", sha, sha, item.doc["size"],
                          "duplicate_content",
                          Finding("duplicate_content", {"path": entry.rel_path, "recording_id": sha}).message)
    _source_row(ch, ctx, entry, outcome, now, session_row)
    ch.record("source.duplicate", "dock_session", ctx.session_id, path=entry.rel_path, code=outcome.code,
              recording=sha)
    logs.append((logging.INFO, "file.duplicate", {"path": entry.rel_path, "recording": sha}))
    return outcome


def _index(ch: Change, ctx: DockContext, item: Pending, now: datetime, session_row: DockSession,
           earlier: set[str], logs: list) -> tuple[FileOutcome, Recording]:
    doc, entry = item.doc, item.entry
    sha = doc["sha256"]
    damaged = doc["status"] == "damaged"
    unchecked = doc["status"] == "unchecked"
    code = "damaged_file" if damaged else "check_failed" if unchecked else None
    outcome = FileOutcome(entry.display_path, entry.rel_path, "damaged" if damaged else "ingested", sha, sha,
                          doc["size"], code, doc["damage_reason"] if damaged or unchecked else None)
    rec = recording_from_document(doc, ctx.device_id)
    # Bytes a crashed dock stored but never indexed belong to the session that brings them now:
    # its timeline, compliance and 制作人 jobs are the ones still to run.
    rec.dock_session_id = ctx.session_id
    # Same path on the same camera, different bytes: both are kept; this one is flagged.
    rec.name_conflict = bool(earlier - {sha})
    ch.session.add(rec)
    _source_row(ch, ctx, entry, outcome, now, session_row, bytes_added=doc["size"])
    ch.record("recording.ingested", "recording", rec.id, object_id=rec.object_id, size=rec.size,
              source=entry.rel_path, status=rec.status, dock_session=ctx.session_id)
    if rec.name_conflict:
        ch.record("recording.flagged", "recording", rec.id, code="name_conflict", source=entry.rel_path)
    if damaged:
        _open_damage_incident(ch, ctx, rec, entry, now, doc)
        logs.append((logging.ERROR, "file.damaged", {"path": entry.rel_path, "recording": rec.id,
                                                      "reason": rec.damage_reason, "rule": "damaged_file"}))
    elif unchecked:
        logs.append((logging.WARNING, "file.check_failed", {"path": entry.rel_path, "recording": rec.id,
                                                            "reason": rec.damage_reason}))
    else:
        seconds = round(item.result.seconds, 3) if item.result else None
        logs.append((logging.INFO, "file.ingested", {"path": entry.rel_path, "recording": rec.id,
                                                      "size": rec.size, "seconds": seconds}))
    return outcome, rec


def _new_damage(ch: Change, ctx: DockContext, doc: dict) -> bool:
    """Whether no incident names this damaged file's camera and moment yet (two copies of one
    clip in a dump are one event; the same empty bytes on another camera are another)."""
    made = _made(doc)
    for facts, device_id in ch.session.execute(
            select(Incident.facts, DockSession.device_id).join(DockSession, DockSession.id == Incident.dock_session_id)
            .where(Incident.recording_id == doc["sha256"], Incident.code == "damaged_file")):
        facts = facts or {}
        same_moment = facts.get("made") == made if made and "made" in facts else \
            (facts.get("path") or "").rsplit("/", 1)[-1] == doc["original_name"]
        if device_id is not None and device_id == ctx.device_id and same_moment:
            return False
    return True


def _made(doc: dict) -> str | None:
    times = doc["recording"]
    return times["start"] or times["end"]


def _open_damage_incident(ch: Change, ctx: DockContext, rec: Recording, entry: SourceEntry, now: datetime,
                          doc: dict) -> None:
    # 002 第16条: damaged or unstorable information is reported at once and needs a written explanation.
    # Its camera and moment (made, badge) are the file's own: the same bytes may be another camera's too.
    finding = Finding("damaged_file", {"path": entry.rel_path, "reason": doc["damage_reason"], "made": _made(doc),
                                       "badge": doc["recording"]["badge"]})
    ch.session.flush()  # the recording's row first: the incident refers to it
    incident = Incident(code=finding.code, recording_id=rec.id, dock_session_id=ctx.session_id,
                        detail=finding.message, facts=finding.detail, opened_at=now, status="open")
    ch.session.add(incident)
    ch.session.flush()
    ch.record("incident.opened", "incident", str(incident.id), code=finding.code, recording=rec.id,
              rule=finding.kind.rule)


def _source_row(ch: Change, ctx: DockContext, entry: SourceEntry, outcome: FileOutcome, now: datetime,
                row: DockSession, bytes_added: int = 0) -> None:
    ch.session.add(SourceFile(dock_session_id=ctx.session_id, device_key=ctx.device_key, rel_path=entry.rel_path,
                              rel_path_raw=entry.rel_raw, size=entry.size, mtime_ns=entry.mtime_ns, outcome=outcome.status,
                              recording_id=outcome.recording_id, code=outcome.code, reason=outcome.reason,
                              seen_at=now))
    row.files_seen += 1
    setattr(row, _COUNTER[outcome.status], getattr(row, _COUNTER[outcome.status]) + 1)
    row.bytes_ingested += bytes_added
    row.bytes_seen = (row.bytes_seen or 0) + (entry.size or 0)


def _ingest_document(app: "App", ctx: DockContext, entry: SourceEntry, result: OffloadResult, object_id: str) -> dict:
    """ingest.json: everything known at the dock, stored inside the object so that the
    store alone can rebuild the index."""
    tz = app.settings.tz
    facts = ctx.profile.parse_name(entry.rel_path, tz)
    probe = result.probe
    times = recording_time(facts, probe, result.mtime_ns, tz)

    def iso(value):
        return value.isoformat() if value else None

    return {
        "format": INGEST_FORMAT,
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
        "device": {"serial": ctx.device_serial or (facts.device if facts else None), "profile": ctx.profile.name},
        "dock": app.settings.dock_name,
        "dock_session": ctx.session_id,
        "ingested_at": iso(app.clock.now()),
        "recording": {"start": iso(times.start), "end": iso(times.end), "duration_s": times.duration_s,
                      "time_source": times.source, "badge": facts.badge if facts else None,
                      "important": facts.important if facts else False, "seq": facts.seq if facts else None},
        "status": "damaged" if probe is None or probe.damaged else "unchecked" if probe.check_failed else "ok",
        "damage_reason": probe.reason if probe else "not probed",
        "probe": probe.as_dict() if probe else None,
    }


def recording_from_document(doc: dict, device_id: int | None = None) -> Recording:
    rec = doc["recording"]

    def when(value):
        return datetime.fromisoformat(value) if value else None

    return Recording(
        id=doc["sha256"], sm3=doc.get("sm3"), size=doc["size"], object_id=doc["object_id"],
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
