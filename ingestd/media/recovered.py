"""The after-dock `recover` job: for a recording stored as `damaged`, what its camera wrote is
recovered (ingestd.media.recovery, in a process of its own) into a derivative beside the
proxies; the original is never written to. The proxy, HLS and thumbnails are then made from
the recovered file, so the console plays it and the officer can see what happened before
writing the 书面说明 (002 第16条); the timeline takes the clip's span from it.

The reference is a healthy recording of the same camera (same encoder and settings), the
nearest in time. With none yet, the recovery waits for the camera's next dock."""

from __future__ import annotations

import json
import logging
import shutil
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import DockSession, Recording, Recovery
from ingestd.db.states import RecordingKind, RecordingStatus, RecoveryStatus
from ingestd.errors import NeedsPersonError, ToolError
from ingestd.findings import Finding
from ingestd.ingest.store import file_sha256
from ingestd.jobs.queue import Claimed, Done
from ingestd.logs import event
from ingestd.lookup import recording_for_job
from ingestd.media.derivatives import recovered_path
from ingestd.media.recovery import EXIT_REFERENCE_UNUSABLE
from ingestd.replica.original import original_file
from ingestd.text import size_text, span_text
from ingestd.toolrun import run

log = logging.getLogger("ingestd.media")

CANDIDATES = 8  # healthy recordings looked at on each side in time
RECOVERABLE_CODECS = ("h264", "hevc")
LIMIT_FLOOR_S = 120.0
SECONDS_PER_MB = 2.0  # decoding every recovered picture on two cores, with room to spare
MEMORY_MB = 2048


@dataclass(frozen=True)
class Outcome:
    status: RecoveryStatus
    reference_id: str | None = None
    facts: dict | None = None
    reason: str | None = None


def recovery_finding(recovery: Recovery, path: str) -> Finding:
    """What the recovery came to, worded from the catalogue (the incident, the recording page,
    the 文字说明 and `recordings show` all say it this way)."""
    facts = recovery.facts or {}
    detail = {"path": path, "reason": recovery.reason, "video": span_text(facts.get("video_s")),
              "audio": span_text(facts.get("audio_s")), "skipped": size_text(facts.get("skipped_bytes"))}
    if recovery.status is RecoveryStatus.RECOVERED:
        code = "recording_recovered_skipping" if facts.get("skipped_bytes") else "recording_recovered"
    else:
        code = {RecoveryStatus.WAITING_REFERENCE: "recovery_waiting",
                RecoveryStatus.NOTHING_RECOVERABLE: "nothing_recovered",
                RecoveryStatus.FAILED: "recovery_failed"}[recovery.status]
    return Finding(code, detail)


def recovery_dict(recovery: Recovery, path: str, tz) -> dict:
    """The recovery as `recordings show --json` and the console's recording page have it."""
    finding = recovery_finding(recovery, path)
    return {"status": recovery.status.value, "reference_id": recovery.reference_id, "sha256": recovery.sha256,
            "size": recovery.size, "span_s": recovery.span_s, "facts": recovery.facts, "reason": recovery.reason,
            "made_at": recovery.made_at.astimezone(tz).isoformat(), "code": finding.code,
            "message": finding.message, "message_zh": finding.message_zh,
            "method": method_text(recovery, "en"), "method_zh": method_text(recovery, "zh")}


# 制作方法 of the recovered copy: what it followed, what it found, what it left out.
_METHOD = {
    "zh": "由损坏的原始文件恢复：参照{reference}，从原始文件的数据中找到视频 {video_frames} 帧、音频 {audio_frames} 帧，"
          "逐字节复制，未作任何修改；{skipped}；原始文件按原样保存",
    "en": "recovered from the damaged original: following {reference}, {video_frames} video and {audio_frames} "
          "audio samples found in the original's data and copied byte for byte, nothing altered; {skipped}; "
          "the original is kept as it was",
}
_REFERENCE = {"zh": ("该文件自身的索引", "同一记录仪的录像 {id}"),
              "en": ("the file's own index", "recording {id} of the same camera")}
_SKIPPED = {"zh": ("无跳过的数据", "跳过无法识别的数据 {size}"), "en": ("nothing skipped", "{size} that could not be read skipped")}


def method_text(recovery: Recovery, language: str) -> str | None:
    if recovery.status is not RecoveryStatus.RECOVERED:
        return None
    facts = recovery.facts or {}
    own, other = _REFERENCE[language]
    reference = own if recovery.reference_id == recovery.recording_id else other.format(id=recovery.reference_id[:12])
    none, some = _SKIPPED[language]
    skipped = some.format(size=size_text(facts["skipped_bytes"])) if facts.get("skipped_bytes") else none
    return _METHOD[language].format(reference=reference, video_frames=facts.get("video_frames"),
                                    audio_frames=facts.get("audio_frames"), skipped=skipped)


def reference_for(app: App, rec: Recording) -> Recording | None:
    """The healthy video recording of the same camera nearest in time whose bytes this dock holds."""
    if rec.device_id is None:
        return None
    when = rec.start or rec.ingested_at
    base = (select(Recording).join(DockSession, Recording.dock_session_id == DockSession.id)
            .where(Recording.device_id == rec.device_id, Recording.id != rec.id,
                   Recording.status == RecordingStatus.OK, Recording.kind == RecordingKind.VIDEO,
                   Recording.start.is_not(None)))
    with app.db.reading() as s:
        before = list(s.execute(base.where(Recording.start <= when).order_by(Recording.start.desc())
                                .limit(CANDIDATES)).scalars())
        after = list(s.execute(base.where(Recording.start > when).order_by(Recording.start)
                               .limit(CANDIDATES)).scalars())
    for candidate in sorted(before + after, key=lambda r: abs((r.start - when).total_seconds())):
        codec = ((candidate.probe or {}).get("video") or {}).get("codec")
        if codec not in RECOVERABLE_CODECS:
            continue
        # On this disk: a recovery runs just after its dock, when the camera's recent ones are here.
        if app.store.exists(candidate.object_id) and app.store.resolve(candidate.object_id,
                                                                        candidate.content_name).is_file():
            return candidate
    return None


def recover_job(app: App, job: Claimed) -> Done:
    rec = recording_for_job(app, job.subject)
    if rec is None:
        return Done(job.id, {"skipped": "deleted under retention"})
    if rec.status != RecordingStatus.DAMAGED or rec.kind != RecordingKind.VIDEO:
        return Done(job.id, {"skipped": f"recording is {rec.status}, not a damaged video"})
    # With no healthy recording of the camera, a damaged file whose `moov` came first (the
    # samples after it cut off) describes its own codec and settings: it is its own reference.
    reference = reference_for(app, rec) or rec
    outcome = _recover(app, rec, reference)
    _record(app, rec, outcome)
    if outcome.status is RecoveryStatus.FAILED:
        raise NeedsPersonError(f"recording {rec.id[:12]}: recovery failed ({outcome.reason})")
    return Done(job.id, {"status": outcome.status.value, "reference": outcome.reference_id,
                         **{k: (outcome.facts or {}).get(k) for k in ("video_frames", "audio_frames", "span_s")}})


def _recover(app: App, rec: Recording, reference: Recording) -> Outcome:
    original = original_file(app, rec)
    ref_path = original_file(app, reference)
    final = recovered_path(app, rec.id).parent
    work = final.with_name(f".recovered.{uuid.uuid4().hex[:8]}")
    work.mkdir(parents=True)
    limit = max(LIMIT_FLOOR_S, rec.size / 1e6 * SECONDS_PER_MB) * app.settings.media.timeout_factor
    try:
        try:
            output = run([sys.executable, "-m", "ingestd.media.recovery", str(original), str(ref_path),
                          str(work / "recovered.mp4"), "--limit", f"{limit:.0f}", "--memory", str(MEMORY_MB)],
                         limit + 30, nice=True)
            facts = json.loads(output.stdout)
        except ToolError as exc:
            if exc.returncode == EXIT_REFERENCE_UNUSABLE and reference.id == rec.id:
                return Outcome(RecoveryStatus.WAITING_REFERENCE,
                               reason="no healthy recording of this camera yet: recovered after its next dock")
            # Its own one-line error, or a crash or a kill at the limit: either way the dock
            # carries on and a person is told.
            return Outcome(RecoveryStatus.FAILED, reference.id, reason=exc.stderr_tail or str(exc))
        facts["reference"] = reference.id
        if not facts.get("video_frames"):
            return Outcome(RecoveryStatus.NOTHING_RECOVERABLE, reference.id, facts,
                           reason="no picture in the damaged bytes could be recovered")
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
        return Outcome(RecoveryStatus.RECOVERED, reference.id, facts)
    finally:
        if work.exists():
            shutil.rmtree(work)


def _record(app: App, rec: Recording, outcome: Outcome) -> None:
    now: datetime = app.clock.now()
    path = recovered_path(app, rec.id)
    sha = file_sha256(path) if outcome.status is RecoveryStatus.RECOVERED else None
    with app.changes.begin("ingestd") as ch:
        row = ch.session.get(Recovery, rec.id)
        if row is None:
            row = Recovery(recording_id=rec.id)
            ch.session.add(row)
        row.status, row.reference_id, row.facts, row.reason, row.made_at = (
            outcome.status, outcome.reference_id, outcome.facts, outcome.reason, now)
        row.sha256 = sha
        row.size = path.stat().st_size if sha else None
        row.span_s = (outcome.facts or {}).get("span_s") if sha else None
        ch.record(f"recording.recovery_{outcome.status.value}", "recording", rec.id,
                  reference=outcome.reference_id, sha256=sha, reason=outcome.reason,
                  **{k: (outcome.facts or {}).get(k) for k in ("video_frames", "audio_frames", "span_s",
                                                              "skipped_bytes", "stop")})
    event(log, logging.INFO if sha else logging.WARNING, f"recording.recovery_{outcome.status.value}",
          recording=rec.id, reference=outcome.reference_id, reason=outcome.reason)
