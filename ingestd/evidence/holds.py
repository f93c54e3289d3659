"""Legal holds: while one is in force on a recording or its case, nothing it covers is
deleted, whatever the retention period says."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ingestd.app import App
from ingestd.changes import Change
from ingestd.db.models import Case, Evidence, LegalHold, RecordingCompliance
from ingestd.errors import UserError
from ingestd.lookup import find_recording
from ingestd.evidence.access import Act, Person, acting_person, answered_by, require, require_case
from ingestd.users import Role, require_user

# A hold is lifted by 法制科 or 信息中心 only: a team's head places holds but never lifts one.
RELEASERS = (Role.LEGAL.value, Role.ADMIN.value)


def place_hold(app: App, rec_id: str | None, case_no: str | None, reason: str, by: str) -> dict:
    if (rec_id is None) == (case_no is None):
        raise UserError("a hold covers either one recording (REC) or one case (--case), not both or neither")
    if not reason.strip():
        raise UserError("a legal hold needs a reason")
    with app.changes.begin(by) as ch:
        s = ch.session
        person = acting_person(s, by, "place a legal hold")
        article = app.policy.cite("access")
        recording_id = find_recording(s, rec_id)[0].id if rec_id else None
        if recording_id is not None:
            require(s, person, Act.HOLD, [recording_id], app.clock.now(), article)
        if case_no is not None:
            case = s.get(Case, case_no)
            if case is None:
                raise UserError(f"no case {case_no}")
            require_case(person, case, article, Act.HOLD)
        hold = LegalHold(recording_id=recording_id, case_no=case_no, reason=reason.strip(), placed_by=by,
                         placed_at=app.clock.now())
        s.add(hold)
        s.flush()
        ch.record("hold.placed", "legal_hold", str(hold.id), recording_id=recording_id, case_no=case_no,
                  reason=hold.reason)
        return hold_dict(hold)


def adopt_bucket_hold(ch: Change, recording_id: str, bucket: str, now: datetime) -> LegalHold:
    """A legal hold the replica bucket keeps on a recording's object that the database does not
    know (a database restored from before it, or rebuilt from the store): the dock takes it in as
    a hold of its own, so that it is shown, honoured by retention and lifted only by a person
    (RELEASERS), never turned off in the bucket by the next copy."""
    hold = LegalHold(recording_id=recording_id, reason=f"副本存储 {bucket} 中已有的法律保全（由采集站带回）",
                     placed_by="ingestd", placed_at=now)
    ch.session.add(hold)
    ch.session.flush()
    ch.record("hold.placed", "legal_hold", str(hold.id), recording_id=recording_id, case_no=None,
              reason=hold.reason, found_in=f"replica bucket {bucket}")
    return hold


def release_hold(app: App, hold_id: int, by: str) -> dict:
    with app.changes.begin(by) as ch:
        require_user(ch.session, by, RELEASERS, "release a legal hold")
        hold = ch.session.get(LegalHold, hold_id)
        if hold is None or hold.released_at is not None:
            raise UserError(f"no legal hold {hold_id} in force")
        hold.released_by, hold.released_at = by, app.clock.now()
        ch.record("hold.released", "legal_hold", str(hold_id), recording_id=hold.recording_id, case_no=hold.case_no)
        return hold_dict(hold)


def hold_dict(h: LegalHold) -> dict:
    return {"id": h.id, "recording_id": h.recording_id, "case_no": h.case_no, "reason": h.reason,
            "placed_by": h.placed_by, "placed_at": h.placed_at.isoformat(), "released_by": h.released_by,
            "released_at": h.released_at.isoformat() if h.released_at else None}


def list_holds(app: App, include_released: bool = False, person: Person | None = None) -> list[dict]:
    """Every hold (the command line), or those a person answers for: a team head the holds on
    the team's recordings and cases, the unit-wide roles all."""
    with app.db.reading() as s:
        q = select(LegalHold).order_by(LegalHold.id)
        if not include_released:
            q = q.where(LegalHold.released_at.is_(None))
        if person is not None and not person.unit_wide:
            q = (q.outerjoin(RecordingCompliance, RecordingCompliance.recording_id == LegalHold.recording_id)
                 .outerjoin(Case, Case.case_no == LegalHold.case_no)
                 .where(or_(answered_by(person, RecordingCompliance.officer_badge, RecordingCompliance.team),
                            answered_by(person, None, Case.team))))
        return [hold_dict(h) for h in s.execute(q).scalars()]


def held_recordings(session: Session) -> set[str]:
    """Every recording a hold in force covers, directly or through its case."""
    held = set(session.execute(select(LegalHold.recording_id).where(
        LegalHold.released_at.is_(None), LegalHold.recording_id.is_not(None))).scalars())
    held_cases = select(LegalHold.case_no).where(LegalHold.released_at.is_(None), LegalHold.case_no.is_not(None))
    held.update(session.execute(select(Evidence.recording_id).where(Evidence.case_no.in_(held_cases))).scalars())
    return held
