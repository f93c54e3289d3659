"""Where the second copy stands (`ingestd replica status`, the lag finding): recordings not
yet proven in the bucket, how long the oldest has waited, failed copies, bytes held."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import and_, exists, func, or_, select

from ingestd.app import App
from ingestd.config import ReplicaSettings
from ingestd.findings import Finding
from ingestd.db.models import AuditEvent, Evidence, Job, LegalHold, Recording, Replica
from ingestd.jobs.kinds import JobKind, JobStatus
from ingestd.replica.copy import RENEW_WITHIN


@dataclass(frozen=True)
class ReplicaStatus:
    enabled: bool
    bucket: str
    replicated: int
    bytes: int
    pending: int
    oldest_pending_h: float | None
    lagging: int  # pending for longer than [replica] max_lag_hours
    failed: int
    changed_since: int  # replicated, then given a new OCFL version not yet copied

    def as_dict(self) -> dict:
        return asdict(self)


def _pending(now: datetime):
    return (select(Recording.id, Recording.ingested_at)
            .outerjoin(Replica, Replica.recording_id == Recording.id)
            .where(Replica.recording_id.is_(None), Recording.status != "deleted"))


def changed_since_copied(session) -> list[str]:
    """Recordings given a new OCFL version (证明对象, an explanation, …) after their last copy:
    every such change is an audit entry naming the object version it made."""
    return list(session.execute(
        select(AuditEvent.subject_id).join(Replica, Replica.recording_id == AuditEvent.subject_id)
        .where(AuditEvent.subject_type == "recording", AuditEvent.at > Replica.replicated_at,
               AuditEvent.detail.like('%"object_version"%'), AuditEvent.action != "replica.copied")
        .distinct()).scalars())


def terms_behind(session, now: datetime) -> list[str]:
    """Replicated recordings whose lock in the bucket no longer fits them: a retention that ends
    within RENEW_WITHIN (extended before it runs out), or a legal hold placed or lifted since
    the copy (directly or on the recording's case)."""
    live = LegalHold.released_at.is_(None)
    held_now = or_(exists().where(live, LegalHold.recording_id == Replica.recording_id),
                   exists().where(live, LegalHold.case_no.is_not(None), Evidence.recording_id == Replica.recording_id,
                                  LegalHold.case_no == Evidence.case_no))
    return list(session.execute(
        select(Replica.recording_id).join(Recording, Recording.id == Replica.recording_id)
        .where(Recording.status != "deleted",
               or_(Replica.retain_until < now + RENEW_WITHIN, and_(Replica.legal_hold.is_(False), held_now),
                   and_(Replica.legal_hold.is_(True), ~held_now)))).scalars())


def replica_status(app: App) -> ReplicaStatus:
    cfg = app.settings.replica
    now = app.clock.now()
    with app.db.reading() as s:
        replicated, held = s.execute(select(func.count(), func.coalesce(func.sum(Replica.bytes), 0))).one()
        pending = _pending(now).subquery()
        count, oldest = s.execute(select(func.count(), func.min(pending.c.ingested_at))).one()
        lagging = s.execute(select(func.count()).select_from(pending)
                            .where(pending.c.ingested_at < now - timedelta(hours=cfg.max_lag_hours))).scalar()
        failed = s.execute(select(func.count()).where(Job.kind == JobKind.REPLICATE.value,
                                                      Job.status == JobStatus.FAILED.value)).scalar()
        changed = len(changed_since_copied(s))
    return ReplicaStatus(cfg.enabled, cfg.bucket, replicated, int(held), count,
                         round((now - oldest).total_seconds() / 3600, 1) if oldest else None, lagging, failed, changed)


def lagging_finding(session, now: datetime, cfg: ReplicaSettings) -> Finding | None:
    """The `replica_lagging` finding (the alert's and the report's): recordings not proven in the
    bucket within [replica] max_lag_hours of their dock, with the oldest one's wait."""
    pending = _pending(now).where(Recording.ingested_at < now - timedelta(hours=cfg.max_lag_hours)).subquery()
    count, oldest = session.execute(select(func.count(), func.min(pending.c.ingested_at))).one()
    if not count:
        return None
    oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)
    return Finding("replica_lagging", {"count": count, "bucket": cfg.bucket, "limit": cfg.max_lag_hours,
                                       "oldest_h": round((now - oldest).total_seconds() / 3600, 1)})
