"""Retention (docs/rules.md): how long recordings are kept, and their deletion.

The policy's years (案卷保存期限: 5 years under 000 第33条, 3 under 004 第30条; 'per law' under
the others, which never makes anything due here) count, for a recording in a case, from
the case's 归档 (its archive deadline) or its end, as the policy says; a recording in no
case is kept by them only where the policy applies them to all recordings, from when it
was made. Never deleted, whatever the date: anything under a legal
hold, in a 长期保存 category (001 第17条), or linked to a case that has not ended.
Deleting anything else is asked for, approved by an admin or the head of the recording's
team who is not the asker, and done
as a new OCFL version that records it; each step is an audit entry (002 第17条).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.db.models import Case, Deletion, Evidence, Recording, RecordingCompliance
from ingestd.errors import UserError
from ingestd.compliance import rollup
from ingestd.evidence.access import DECIDERS, Act, Person, acting_person, may_decide, require
from ingestd.evidence.cases import archive_deadline
from ingestd.evidence.holds import held_recordings
from ingestd.ingest.store import Signature
from ingestd.lookup import find_recording, require_local
from ingestd.media.derivatives import derivative_dir
from ingestd.users import require_user

STATES_ZH = {"due": "已到期", "not_due": "未到期", "held": "法律保全", "long_term": "长期保存",
             "open_case": "案件未结", "no_period": "依法保存（无自动期限）", "deleted": "已删除"}


@dataclass(frozen=True)
class PlanItem:
    recording_id: str
    original_name: str
    case_no: str | None
    basis: str  # archive | case_end | recorded | no_case
    base: date | None
    due_on: date | None
    state: str

    def as_dict(self) -> dict:
        return {"recording_id": self.recording_id, "original_name": self.original_name, "case_no": self.case_no,
                "basis": self.basis, "base": self.base.isoformat() if self.base else None,
                "due_on": self.due_on.isoformat() if self.due_on else None, "state": self.state,
                "state_zh": STATES_ZH[self.state]}


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return day.replace(year=day.year + years, day=28)


def plan(app: App, today: date | None = None, recording_ids: list[str] | None = None) -> list[PlanItem]:
    """Every recording's retention state (or these recordings'), changing nothing."""
    rules = app.policy.retention
    years = rules.years
    tz = app.settings.tz
    today = today or app.clock.now().astimezone(tz).date()
    made = func.coalesce(Recording.start_corrected, Recording.start, Recording.ingested_at)
    with app.db.reading() as s:
        held = held_recordings(s)
        q = (select(Recording.id, Recording.original_name, Recording.status, made, Evidence.case_no,
                    Evidence.long_term, Case.status, Case.ended_on, Case.archived_on)
             .outerjoin(Evidence, Evidence.recording_id == Recording.id)
             .outerjoin(Case, Case.case_no == Evidence.case_no).order_by(made, Recording.id))
        if recording_ids is not None:
            q = q.where(Recording.id.in_(recording_ids))
        rows = s.execute(q).all()
    items = []
    for rec_id, name, status, made_at, case_no, long_term, case_status, ended_on, archived_on in rows:
        if case_no and rules.counts_from == "archive":
            # From the day the case was archived (归档); until it is, from the archive deadline.
            basis, base = "archive", archived_on or archive_deadline(app.policy, ended_on, app.calendar) or ended_on
        elif case_no and rules.counts_from == "case_end":
            basis, base = "case_end", ended_on
        elif not case_no and rules.applies_to == "case":
            basis, base = "no_case", None  # the 案卷 period does not reach recordings outside any case
        else:
            basis, base = "recorded", made_at.astimezone(tz).date() if made_at else None
        due_on = add_years(base, years) if years and base else None
        if status == "deleted":
            state = "deleted"
        elif rec_id in held:
            state = "held"
        elif long_term:
            state = "long_term"
        elif case_no and case_status != "ended":
            state = "open_case"
        elif years is None or basis == "no_case":
            state = "no_period"
        else:
            state = "due" if due_on and due_on <= today else "not_due"
        items.append(PlanItem(rec_id, name, case_no, basis, base, due_on, state))
    return items


def request_deletion(app: App, rec_id: str, reason: str, by: str) -> dict:
    if not reason.strip():
        raise UserError("a deletion request needs a reason")
    with app.changes.begin(by) as ch:
        person = acting_person(ch.session, by, "request a deletion")
        rec, _serial = find_recording(ch.session, rec_id)
        require(ch.session, person, Act.DELETE, [rec.id], app.clock.now(), app.policy.cite("access"))
        item = plan(app, recording_ids=[rec.id])[0]
        _require_due(item)
        row = Deletion(recording_id=rec.id, reason=reason.strip(), requested_by=by, requested_at=app.clock.now(),
                       status="pending")
        ch.session.add(row)
        ch.session.flush()
        ch.record("deletion.requested", "deletion", str(row.id), recording_id=rec.id, reason=row.reason,
                  due_on=item.due_on.isoformat() if item.due_on else None)
        return deletion_dict(row)


def _require_due(item: PlanItem) -> None:
    if item.state != "due":
        raise UserError(f"recording {item.recording_id[:12]} may not be deleted: {STATES_ZH[item.state]}"
                        + (f" (due {item.due_on})" if item.state == "not_due" else ""))


def approve_deletion(app: App, deletion_id: int, by: str) -> dict:
    """Carry out an approved deletion. Checked again now: a hold placed since the request wins."""
    with app.changes.begin(by) as ch:
        s = ch.session
        row = _pending(s, deletion_id, by, "approve")
        if row.requested_by == by:
            raise UserError(f"deletion {deletion_id}: the one who approves must not be the one who asked")
        item = plan(app, recording_ids=[row.recording_id])[0]
        _require_due(item)
        rec = s.get(Recording, row.recording_id)
        require_local(s, rec)
        now = app.clock.now()
        record = {"format": "ingestd-deletion/1", "recording_id": rec.id, "original_name": rec.original_name,
                  "sha256": rec.id, "sm3": rec.sm3, "size": rec.size, "reason": row.reason,
                  "requested_by": row.requested_by, "approved_by": by, "approved_at": now.isoformat(),
                  "retention_years": app.policy.retention.years, "retention_article": app.policy.retention.article,
                  "due_on": item.due_on.isoformat() if item.due_on else None}
        version = app.store.purge(rec.object_id, rec.content_name, record,
                                  Signature(by, f"urn:ingestd:badge:{by}", "deleted under retention", now))
        rec.status = "deleted"
        row.status, row.decided_by, row.decided_at, row.object_version = "done", by, now, version
        ch.record("deletion.done", "recording", rec.id, deletion=row.id, object_version=version,
                  requested_by=row.requested_by, reason=row.reason)
        result = deletion_dict(row)
    shutil.rmtree(derivative_dir(app, row.recording_id), ignore_errors=True)  # regenerable copies go too
    rollup.rebuild_days_of(app, [row.recording_id])  # a deleted recording needs no 证明对象 any more
    if app.settings.replica.enabled:
        from ingestd.replica.copy import release_deleted  # the replica depends on retention, not the reverse

        result["replica"] = release_deleted(app, rec, by)
    return result


def refuse_deletion(app: App, deletion_id: int, by: str) -> dict:
    with app.changes.begin(by) as ch:
        row = _pending(ch.session, deletion_id, by, "refuse")
        row.status, row.decided_by, row.decided_at = "refused", by, app.clock.now()
        ch.record("deletion.refused", "deletion", str(row.id), recording_id=row.recording_id)
        return deletion_dict(row)


def _pending(s, deletion_id: int, by: str, doing: str) -> Deletion:
    """A pending deletion `by` may decide: an admin, or the head of the recording's team."""
    decider = require_user(s, by, DECIDERS, f"{doing} a deletion")
    row = s.get(Deletion, deletion_id)
    if row is None or row.status != "pending":
        raise UserError(f"no pending deletion {deletion_id}")
    team = s.execute(select(RecordingCompliance.team)
                     .where(RecordingCompliance.recording_id == row.recording_id)).scalar()
    if not may_decide(Person.of(decider), team):
        raise UserError(f"deletion {deletion_id}: only the head of team {team or '(unknown)'} or an admin may "
                        f"{doing} it")
    return row


def list_deletions(app: App, pending_only: bool = False) -> list[dict]:
    with app.db.reading() as s:
        q = select(Deletion).order_by(Deletion.id.desc())
        if pending_only:
            q = q.where(Deletion.status == "pending")
        return [deletion_dict(d) for d in s.execute(q.limit(500)).scalars()]


def deletion_dict(d: Deletion) -> dict:
    return {"id": d.id, "recording_id": d.recording_id, "reason": d.reason, "requested_by": d.requested_by,
            "requested_at": d.requested_at.isoformat(), "status": d.status, "decided_by": d.decided_by,
            "decided_at": d.decided_at.isoformat() if d.decided_at else None, "object_version": d.object_version}
