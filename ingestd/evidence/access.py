"""Access to recordings beyond one's own (002 第19条: 超出本人权限调阅、复制 needs the approval of
the department head). An officer sees their own recordings and their team's; another
team's need an approved, time-limited request. 法制科 and admins act unit-wide."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestd.app import App
from ingestd.db.models import AccessRequest, RecordingCompliance, User
from ingestd.errors import UserError
from ingestd.lookup import find_recording
from ingestd.users import UNIT_WIDE, require_user

ACTIONS = ("view", "export")
MAX_HOURS = 24 * 30


def owner_team(session: Session, recording_id: str) -> tuple[str | None, str | None]:
    row = session.execute(select(RecordingCompliance.officer_badge, RecordingCompliance.team)
                          .where(RecordingCompliance.recording_id == recording_id)).first()
    return (row[0], row[1]) if row else (None, None)


def owners(session: Session, recording_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """Officer and team of each recording (those without a compliance row yet are left out)."""
    if not recording_ids:
        return {}
    return {rid: (badge, team) for rid, badge, team in session.execute(
        select(RecordingCompliance.recording_id, RecordingCompliance.officer_badge, RecordingCompliance.team)
        .where(RecordingCompliance.recording_id.in_(recording_ids)))}


def needs_approval(session: Session, user: User, recording_id: str) -> bool:
    if user.role in UNIT_WIDE:
        return False
    badge, team = owner_team(session, recording_id)
    if badge == user.badge:
        return False
    return team is None or team != user.team


def authorise(session: Session, user: User, recording_ids: list[str], action: str, now: datetime) -> None:
    """Raise naming the first recording the user may not `action` without an approval in force."""
    for rec_id in recording_ids:
        if not needs_approval(session, user, rec_id):
            continue
        granted = session.execute(select(AccessRequest.id).where(
            AccessRequest.requester == user.badge, AccessRequest.recording_id == rec_id,
            AccessRequest.action.in_((action, "export") if action == "view" else (action,)),
            AccessRequest.status == "approved", AccessRequest.valid_until > now).limit(1)).first()
        if granted is None:
            raise UserError(f"recording {rec_id[:12]} belongs to another team: {user.badge} needs an approved "
                            f"access request to {action} it (002 第19条; `ingestd access request`)")


def request_access(app: App, rec_id: str, action: str, purpose: str, by: str) -> dict:
    if action not in ACTIONS:
        raise UserError(f"unknown access action {action!r} (use {', '.join(ACTIONS)})")
    if not purpose.strip():
        raise UserError("an access request needs a purpose (调阅事由)")
    with app.changes.begin(by) as ch:
        require_user(ch.session, by, doing="request access")
        rec, _serial = find_recording(ch.session, rec_id)
        req = AccessRequest(requester=by, recording_id=rec.id, action=action, purpose=purpose.strip(),
                            status="pending", requested_at=app.clock.now())
        ch.session.add(req)
        ch.session.flush()
        ch.record("access.requested", "access_request", str(req.id), recording_id=rec.id, access=action,
                  purpose=req.purpose)
        return request_dict(req)


def decide(app: App, request_id: int, by: str, approve: bool, hours: int = 72) -> dict:
    """A head of the owning team (or an admin) approves for `hours`, or denies."""
    if approve and not 0 < hours <= MAX_HOURS:
        raise UserError(f"--hours must be between 1 and {MAX_HOURS}")
    with app.changes.begin(by) as ch:
        s = ch.session
        approver = require_user(s, by, ("team_head", "admin"), "decide access requests")
        req = s.get(AccessRequest, request_id)
        if req is None or req.status != "pending":
            raise UserError(f"no pending access request {request_id}")
        if req.requester == by:
            raise UserError(f"access request {request_id}: nobody approves their own request")
        _badge, team = owner_team(s, req.recording_id)
        if approver.role == "team_head" and (team is None or approver.team != team):
            raise UserError(f"access request {request_id}: only the head of team {team or '(unknown)'} "
                            f"or an admin may decide it")
        now = app.clock.now()
        req.status, req.decided_by, req.decided_at = ("approved" if approve else "denied"), by, now
        req.valid_until = now + timedelta(hours=hours) if approve else None
        ch.record(f"access.{req.status}", "access_request", str(req.id), recording_id=req.recording_id,
                  requester=req.requester, access=req.action,
                  valid_until=req.valid_until.isoformat() if req.valid_until else None)
        return request_dict(req)


def request_dict(r: AccessRequest) -> dict:
    return {"id": r.id, "requester": r.requester, "recording_id": r.recording_id, "action": r.action,
            "purpose": r.purpose, "status": r.status, "requested_at": r.requested_at.isoformat(),
            "decided_by": r.decided_by, "decided_at": r.decided_at.isoformat() if r.decided_at else None,
            "valid_until": r.valid_until.isoformat() if r.valid_until else None}


def list_requests(app: App, pending_only: bool = False) -> list[dict]:
    with app.db.reading() as s:
        q = select(AccessRequest).order_by(AccessRequest.id)
        if pending_only:
            q = q.where(AccessRequest.status == "pending")
        return [request_dict(r) for r in s.execute(q).scalars()]
