"""Cases (案件): a case number links recordings; the end of the enforcement act starts the
archive deadline of the policy in force (its days and article: 20 or 30 calendar days, or
the unit's own rule). A deadline whose last day is a rest day moves to the next working
day (民法典 第203条: 期间的最后一日是法定休假日的，以法定休假日结束的次日为期间的最后一日)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from ingestd.app import App
from ingestd.compliance.calendar import CalendarNotCovered, WorkCalendar
from ingestd.compliance.policy import Policy
from ingestd.db.models import Case, Evidence, Recording
from ingestd.errors import UserError
from ingestd.findings import Finding
from ingestd.evidence.access import Person, acting_person, require_case
from ingestd.users import require_user


def archive_deadline(policy: Policy, ended_on: date | None, calendar: WorkCalendar) -> date | None:
    days = policy.archive.days_after_case_end
    if not ended_on or not days:
        return None
    last = ended_on + timedelta(days=days)
    try:
        while not calendar.is_workday(last):  # 民法典 第203条
            last += timedelta(days=1)
    except CalendarNotCovered:
        pass  # a year no calendar covers yet: the plain date, the stricter of the two
    return last


def open_case(app: App, case_no: str, title: str | None, team: str | None, by: str) -> dict:
    case_no = case_no.strip()
    if not case_no:
        raise UserError("a case needs a case number (案号)")
    with app.changes.begin(by) as ch:
        person = acting_person(ch.session, by, "open a case")
        ch.lock(f"case:{case_no}")
        if ch.session.get(Case, case_no) is not None:
            raise UserError(f"case {case_no} already exists")
        case = Case(case_no=case_no, title=title, team=team or person.team, status="open", opened_by=by,
                    opened_at=app.clock.now())
        require_case(person, case, app.policy.cite("access"))  # a team's member opens their team's cases
        ch.session.add(case)
        ch.record("case.opened", "case", case_no, title=title, team=case.team)
    return case_summary(app, case_no)


def end_case(app: App, case_no: str, ended_on: date, by: str) -> dict:
    """The enforcement act has ended: the archive deadline now runs."""
    with app.changes.begin(by) as ch:
        case = _case_changed_by(ch.session, app, case_no, by, "end a case")
        case.status, case.ended_on = "ended", ended_on
        ch.record("case.ended", "case", case_no, ended_on=ended_on.isoformat(),
                  archive_deadline=_iso(archive_deadline(app.policy, ended_on, app.calendar)))
    return case_summary(app, case_no)


def archive_case(app: App, case_no: str, archived_on: date, by: str) -> dict:
    """The case file was archived (归档) on this day: it is no longer overdue, and retention
    counted from 归档 runs from this day rather than from the deadline."""
    today = app.clock.now().astimezone(app.settings.tz).date()
    with app.changes.begin(by) as ch:
        case = _case_changed_by(ch.session, app, case_no, by, "archive a case")
        if case.ended_on is None:
            raise UserError(f"case {case_no} has not ended: end it first (`ingestd case end {case_no} --on DATE`)")
        if not case.ended_on <= archived_on <= today:
            raise UserError(f"case {case_no}: the 归档 date {archived_on} must fall between the end of the case "
                            f"({case.ended_on}) and today ({today})")
        case.archived_on, case.archived_by = archived_on, by
        ch.record("case.archived", "case", case_no, archived_on=archived_on.isoformat(),
                  archive_deadline=_iso(archive_deadline(app.policy, case.ended_on, app.calendar)),
                  article=app.policy.archive.article)
    return case_summary(app, case_no)


def set_storage_location(app: App, case_no: str, location: str, by: str) -> dict:
    """Where the case file states, in writing, its recordings are kept (以书面文字形式载明其在
    行政执法信息系统或者本单位专用存储器中的存储位置, 000 第32条, 004 第29条): where the policy
    allows it, this stands instead of a disc."""
    location = location.strip()
    if not location:
        raise UserError("--text is empty: give the storage location as the case file states it")
    with app.changes.begin(by) as ch:
        case = _case_changed_by(ch.session, app, case_no, by, "record a storage location")
        case.storage_location = location
        ch.record("case.storage_location", "case", case_no, location=location,
                  article=app.policy.evidence.location_article)
    return case_summary(app, case_no)


def _case_changed_by(session: Session, app: App, case_no: str, by: str, doing: str) -> Case:
    """The case a team head, 法制科 or an admin changes: their team's, or any for the unit-wide."""
    person = Person.of(require_user(session, by, ("team_head", "legal", "admin"), doing))
    case = _case(session, case_no)
    require_case(person, case, app.policy.cite("access"))
    return case


def _case(session: Session, case_no: str) -> Case:
    case = session.get(Case, case_no)
    if case is None:
        raise UserError(f"no case {case_no}")
    return case


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


@dataclass(frozen=True)
class CaseState:
    case_no: str
    title: str | None
    team: str | None
    status: str
    ended_on: date | None
    archive_deadline: date | None
    archived_on: date | None
    storage_location: str | None
    recordings: int
    missing_proves: int
    not_exported: int

    def as_dict(self) -> dict:
        return {"case_no": self.case_no, "title": self.title, "team": self.team, "status": self.status,
                "ended_on": _iso(self.ended_on), "archive_deadline": _iso(self.archive_deadline),
                "archived_on": _iso(self.archived_on), "storage_location": self.storage_location,
                "recordings": self.recordings, "missing_proves": self.missing_proves,
                "not_exported": self.not_exported}


def case_states(session: Session, policy: Policy, calendar: WorkCalendar, team: str | None = None,
                case_no: str | None = None) -> list[CaseState]:
    only = [Evidence.case_no == case_no] if case_no is not None else []
    counts = session.execute(
        select(Evidence.case_no, func.count(),
               func.sum(case((Evidence.proves.is_(None), 1), else_=0)),
               func.sum(case((Evidence.exported_at.is_(None), 1), else_=0)))
        .join(Recording, Recording.id == Evidence.recording_id)
        .where(Evidence.case_no.is_not(None), Recording.status != "deleted", *only)
        .group_by(Evidence.case_no)).all()
    by_case = {c: (n, int(m or 0), int(x or 0)) for c, n, m, x in counts}
    q = select(Case).order_by(Case.case_no)
    if team is not None:
        q = q.where(Case.team == team)
    if case_no is not None:
        q = q.where(Case.case_no == case_no)
    return [CaseState(c.case_no, c.title, c.team, c.status, c.ended_on, archive_deadline(policy, c.ended_on, calendar),
                      c.archived_on, c.storage_location,
                      *by_case.get(c.case_no, (0, 0, 0)))
            for c in session.execute(q).scalars()]


def case_findings(states: list[CaseState], policy: Policy, today: date) -> list[Finding]:
    """Cases past their archive deadline whose evidence is not ready for the case file."""
    return [Finding("case_archive_overdue", {"case_no": c.case_no, "deadline": c.archive_deadline.isoformat(),
                                             "missing_proves": c.missing_proves, "not_exported": c.not_exported,
                                             "team": c.team, "archive_article": policy.archive.article})
            for c in states
            if c.archive_deadline and c.archive_deadline < today and c.archived_on is None
            and (c.missing_proves or c.not_exported)]


def case_summary(app: App, case_no: str) -> dict:
    with app.db.reading() as s:
        recs = case_recordings(s, case_no)  # says so if there is no such case
        state = case_states(s, app.policy, app.calendar, case_no=case_no)[0]
    return {**state.as_dict(), "recording_ids": recs, "policy": app.policy.name,
            "archive_article": app.policy.archive.article}


def list_cases(app: App) -> list[dict]:
    with app.db.reading() as s:
        return [c.as_dict() for c in case_states(s, app.policy, app.calendar)]


def case_recordings(session: Session, case_no: str) -> list[str]:
    _case(session, case_no)
    return list(session.execute(select(Evidence.recording_id).where(Evidence.case_no == case_no)
                                .order_by(Evidence.made_from, Evidence.recording_id)).scalars())
