"""The full probe of a stored original, after the dock: what mediainfo knows that the
demuxer does not (the recorder's make and model, encoded dates), and the timestamps of
the video packets, whose jumps are interruptions inside the file (the timeline's gap
scan). Both in-process: pymediainfo loads libmediainfo, PyAV demuxes without decoding."""

from __future__ import annotations

from ingestd.app import App
from ingestd.avfacts import MediaUnreadable, packet_scan
from ingestd.db.models import Recording
from ingestd.jobs.queue import Claimed, Done
from ingestd.lookup import recording_for_job

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
    path = str(app.store.resolve(rec.object_id, rec.content_name))
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
