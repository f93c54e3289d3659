"""SM3 (GB/T 32905) of each stored original, computed after the dock from the stored copy:
the copy was proven identical to the camera's file by SHA-256 before it was committed,
so its SM3 is the original's. The 文字说明 of an export lists it beside SHA-256."""

from __future__ import annotations

from ingestd.app import App
from ingestd.db.models import Recording
from ingestd.digests import file_digests
from ingestd.errors import StoreError
from ingestd.jobs.queue import Claimed, Done
from ingestd.lookup import recording_for_job
from ingestd.replica.original import original_file


def sm3_job(app: App, job: Claimed) -> Done:
    rec = recording_for_job(app, job.subject)
    if rec is None:
        return Done(job.id, {"skipped": "deleted under retention"})
    return Done(job.id, {"sm3": record_sm3(app, rec)})


def record_sm3(app: App, rec: Recording) -> str:
    """Compute a stored original's SM3 and record it (an export needing it before its job ran)."""
    sm3 = file_digests(original_file(app, rec), sm3=True)["sm3"]
    with app.changes.begin("ingestd") as ch:
        row = ch.session.get(Recording, rec.id)
        if row.sm3 is not None and row.sm3 != sm3:
            # The bytes no longer give the SM3 they gave before: never overwrite, let verify name it.
            raise StoreError(f"recording {rec.id}: stored original's SM3 {sm3} differs from the recorded "
                             f"{row.sm3}; run `ingestd verify`")
        if row.sm3 is None:
            row.sm3 = sm3
            ch.record("recording.sm3", "recording", rec.id, sm3=sm3)
    return sm3
