"""The daily rollup the report reads: recording_compliance summed per day made, day
uploaded, team and officer, with how many have no 证明对象 yet. Rebuilt by recompute for
the days it touched, and for a recording's day when its 证明对象 is entered or it is
deleted, inside one audited transaction, so it always agrees with the rows it sums."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta

from sqlalchemy import delete, insert, select

from ingestd.app import App
from ingestd.db.models import ComplianceDaily, Evidence, Recording, RecordingCompliance
from ingestd.db.states import RecordingStatus

# Lateness buckets for the report's distribution: upper bounds in hours (None: beyond).
LATE_BUCKETS = [(1, "≤1小时"), (6, "1–6小时"), (24, "6–24小时"), (72, "1–3天"), (168, "3–7天"), (None, ">7天")]
INSERT_BATCH = 5000
# Compliance rows, shift statuses and the rollup are written by one dock at a time: two docks'
# recomputes of overlapping days would each delete and insert the same rows.
COMPLIANCE_LOCK = "compliance"


def bucket_of(late_s: float) -> int:
    for i, (hours, _label) in enumerate(LATE_BUCKETS):
        if hours is None or late_s <= hours * 3600:
            return i
    return len(LATE_BUCKETS) - 1


def rebuild(app: App, first: date, last: date) -> int:
    """Rebuild the rollup rows of the days made first..last (local dates); returns rows written."""
    tz = app.settings.tz
    lo = datetime.combine(first, time(), tz)
    hi = datetime.combine(last + timedelta(days=1), time(), tz)
    rc = RecordingCompliance
    with app.changes.begin("ingestd") as ch:
        # Summed after every compliance write before it has committed, at any dock.
        ch.lock(COMPLIANCE_LOCK)
        sums: dict[tuple, list] = defaultdict(lambda: [0, 0.0, 0, 0, 0, 0, 0, [0] * len(LATE_BUCKETS), None, 0])
        query = (select(rc.team, rc.officer_badge, rc.made_at, rc.uploaded_at, rc.duration_s, rc.upload_status,
                        rc.late_by_s, rc.off_duty, rc.damaged, Evidence.proves.is_(None),
                        Recording.status == RecordingStatus.DELETED)
                 .join(Recording, Recording.id == rc.recording_id)
                 .outerjoin(Evidence, Evidence.recording_id == rc.recording_id)
                 .where(rc.made_at >= lo, rc.made_at < hi).execution_options(yield_per=20_000))
        for team, badge, made, uploaded, secs, status, late_s, off_duty, damaged, no_proves, deleted in \
                ch.session.execute(query):
            made_day = made.astimezone(tz).date()
            row = sums[(made_day, (uploaded or made).astimezone(tz).date(), team or "", badge or "")]
            row[0] += 1
            row[1] += secs or 0.0
            row[2 + ("on_time", "late", "undetermined").index(status)] += 1
            row[5] += bool(off_duty)
            row[6] += bool(damaged)
            if status == "late" and late_s is not None:
                row[7][bucket_of(late_s)] += 1
                row[8] = late_s if row[8] is None else max(row[8], late_s)
            row[9] += bool(no_proves) and not deleted
        ch.session.execute(delete(ComplianceDaily).where(ComplianceDaily.made_day.between(first, last)))
        rows = [{"made_day": k[0], "upload_day": k[1], "team": k[2], "officer_badge": k[3], "recordings": v[0],
                 "seconds": v[1], "on_time": v[2], "late": v[3], "undetermined": v[4], "off_duty": v[5],
                 "damaged": v[6], "late_buckets": v[7], "late_max_s": v[8], "no_proves": v[9]}
                for k, v in sums.items()]
        for i in range(0, len(rows), INSERT_BATCH):
            ch.session.execute(insert(ComplianceDaily.__table__), rows[i:i + INSERT_BATCH])
        ch.record("compliance.rolled_up", "compliance_daily", f"{first}..{last}", rows=len(rows),
                  recordings=sum(v[0] for v in sums.values()))
    return len(rows)


def rebuild_days_of(app: App, recording_ids: list[str]) -> None:
    """Rebuild the days these recordings were made (after their 证明对象 or status changed)."""
    tz = app.settings.tz
    with app.db.reading() as s:
        days = sorted({made.astimezone(tz).date() for made in s.execute(
            select(RecordingCompliance.made_at).where(RecordingCompliance.recording_id.in_(recording_ids),
                                                      RecordingCompliance.made_at.is_not(None))).scalars()})
    for day in days:
        rebuild(app, day, day)
