"""Where the second copy stands (`ingestd replica status`, the lag finding): recordings not
yet proven in the bucket, how long the oldest has waited, failed copies, bytes held."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.db.models import AuditEvent, Job, Recording, Replica
from ingestd.jobs.kinds import JobKind, JobStatus


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


def lagging_recordings(app: App, limit: int = 500) -> list[tuple[str, datetime]]:
    """Recordings not proven in the bucket within [replica] max_lag_hours, oldest first."""
    now = app.clock.now()
    with app.db.reading() as s:
        q = _pending(now).where(Recording.ingested_at < now - timedelta(hours=app.settings.replica.max_lag_hours))
        return [(rid, at) for rid, at in s.execute(q.order_by(Recording.ingested_at).limit(limit))]
