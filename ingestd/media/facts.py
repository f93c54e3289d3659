"""The full probe of a stored original, after the dock: what mediainfo knows that the
demuxer does not (the recorder's make and model, encoded dates), and the timestamps of
the video packets, whose jumps are interruptions inside the file (the timeline's gap
scan). Both in-process: pymediainfo loads libmediainfo, PyAV demuxes without decoding.

A recording whose structural check failed at the dock (`unchecked`) is checked again here
first: found sound, it is `ok` with its facts; found damaged, it is `damaged` with the
incident that asks for its 书面说明 (002 第16条); the check failing again leaves it
`unchecked`, audited, and never damaged for it."""

from __future__ import annotations

import logging
from datetime import timedelta

from ingestd.app import App
from ingestd.avfacts import MediaUnreadable, packet_scan
from ingestd.db.models import Incident, Recording
from ingestd.db.states import IncidentStatus, RecordingStatus
from ingestd.errors import CheckFailedError
from ingestd.findings import Finding
from ingestd.ingest.offload import checked
from ingestd.jobs.queue import Claimed, Done
from ingestd.logs import event
from ingestd.lookup import recording_for_job
from ingestd.replica.original import original_file

log = logging.getLogger("ingestd.media")

MEDIAINFO_KEYS = ("format", "encoded_date", "tagged_date", "recorded_date", "comapplequicktimemake",
                  "comapplequicktimemodel", "writing_application", "duration")


def mediainfo(path: str) -> dict:
    from pymediainfo import MediaInfo  # libmediainfo loads on first use

    general = MediaInfo.parse(path).general_tracks
    if not general:
        return {}
    track = general[0]
    return {k: getattr(track, k) for k in MEDIAINFO_KEYS if getattr(track, k, None) is not None}


def probe_job(app: App, job: Claimed) -> Done:
    rec = recording_for_job(app, job.subject)
    if rec is None:
        return Done(job.id, {"skipped": "deleted under retention"})
    path = str(original_file(app, rec))
    if rec.status == RecordingStatus.UNCHECKED:
        _check_again(app, rec, path)
        rec = recording_for_job(app, rec.id)
    found: dict = {"mediainfo": mediainfo(path)}
    if rec.kind == "video" and rec.status != "damaged" and (rec.probe or {}).get("video"):
        try:
            found["packets"] = packet_scan(path).as_dict()
        except MediaUnreadable as exc:
            found["packets"] = {"error": str(exc)}
    with app.changes.begin("ingestd") as ch:
        row = ch.session.get(Recording, rec.id)
        row.probe = {**(row.probe or {}), **found}
        ch.record("recording.probed", "recording", rec.id, mediainfo=sorted(found["mediainfo"]),
                  packets=(found.get("packets") or {}).get("packets"),
                  jumps=len((found.get("packets") or {}).get("jumps") or []))
    return Done(job.id, {"mediainfo": len(found["mediainfo"]), "packets": (found.get("packets") or {}).get("packets")})


def _check_again(app: App, rec: Recording, path: str) -> None:
    result = checked(path, rec.size)
    if result.check_failed:
        with app.changes.begin("ingestd") as ch:
            ch.record("recording.check_failed", "recording", rec.id, reason=result.reason)
        event(log, logging.ERROR, "recording.check_failed", recording=rec.id, reason=result.reason)
        # The job fails, so it is retried and, failing still, listed among the jobs that need
        # someone (`ingestd jobs status`, the dashboard): the recording stays `unchecked`.
        raise CheckFailedError(f"recording {rec.id[:12]}: the structural check failed again ({result.reason})")
    with app.changes.begin("ingestd") as ch:
        row = ch.session.get(Recording, rec.id)
        row.probe = {**(row.probe or {}), **result.as_dict()}
        if result.damaged:
            row.status, row.damage_reason = RecordingStatus.DAMAGED, result.reason
            finding = Finding("damaged_file", {"path": row.source_path, "reason": result.reason,
                                               "made": row.start.isoformat() if row.start else None})
            incident = Incident(code=finding.code, recording_id=row.id, dock_session_id=row.dock_session_id,
                                detail=finding.message, facts=finding.detail, opened_at=app.clock.now(),
                                status=IncidentStatus.OPEN)
            ch.session.add(incident)
            ch.session.flush()
            ch.record("incident.opened", "incident", str(incident.id), code=finding.code, recording=row.id,
                      rule=finding.kind.rule)
        else:
            row.status, row.damage_reason = RecordingStatus.OK, None
            if row.duration_s is None and result.duration_s is not None:
                row.duration_s = result.duration_s
                if row.end is None and row.start is not None:
                    row.end = row.start + timedelta(seconds=result.duration_s)
        ch.record("recording.checked", "recording", row.id, status=row.status, reason=row.damage_reason)
