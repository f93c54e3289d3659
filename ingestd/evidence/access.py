"""Who may do what to a recording: one decision, `may(person, act, recording)`, asked by every
console route and every command that views, plays, exports or changes a recording.

调阅、复制 beyond one's own permission needs the approval of the department head (the unit's
access article: 002 第19条, 003 第44条). An officer views their own recordings and their
team's; another team's only under an approved, unexpired request, which grants what it names
and nothing more: `view` lets the holder view and play, `export` also copy out. Changes
(证明对象 and 录音内容, case links, holds, deletions) stay with the owning team's people and the
unit-wide roles that act on evidence; a grant never reaches them. 督察 reads everything and
changes nothing. A badge + PIN session at the dock (the short secret) reaches the officer's
own recordings only, to watch them and explain their interruptions; anything wider needs the
password."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlalchemy.orm import Session

from ingestd.app import App
from ingestd.compliance.policy import Policy
from ingestd.db.models import AccessRequest, Case, RecordingCompliance, User
from ingestd.db.states import Credential, Grant, RequestStatus
from ingestd.errors import AccessDenied, UserError
from ingestd.lookup import find_recording
from ingestd.users import ROLE_ZH, Role, require_user

MAX_HOURS = 24 * 30
ACTIONS = tuple(g.value for g in Grant)


class Act(StrEnum):
    """Each thing a person may do to a recording."""

    VIEW = "view"  # its page and metadata
    PLAY = "play"  # its video and pictures (proxy, HLS, poster, contact sheet)
    EXPORT = "export"  # a copy out of the store for the case file (入卷): disc, ISO, folder
    PROVIDE = "provide"  # a copy leaving the unit (对外提供): only with an approval, for everyone
    ANNOTATE = "annotate"  # 证明对象, 录音内容, a 长期保存 category
    LINK_CASE = "link_case"  # put it into a case (案件)
    HOLD = "hold"  # place a legal hold on it
    DELETE = "delete"  # ask for its deletion under retention


READS = frozenset({Act.VIEW, Act.PLAY, Act.EXPORT})
# The grants that open each read; a change is opened by no grant.
GRANTS_FOR: dict[Act, frozenset[Grant]] = {Act.VIEW: frozenset(Grant), Act.PLAY: frozenset(Grant),
                                           Act.EXPORT: frozenset({Grant.EXPORT, Grant.PROVIDE}),
                                           Act.PROVIDE: frozenset({Grant.PROVIDE})}
# Roles that see every team's recordings as part of their duty (法制审核, administration, 督察).
UNIT_WIDE = frozenset({Role.LEGAL, Role.ADMIN, Role.AUDITOR})
# Who may do each act at all; where a team's member or head, on their own team's recordings.
ROLES_FOR: dict[Act, frozenset[Role]] = {
    Act.VIEW: frozenset(Role),
    Act.PLAY: frozenset(Role),
    Act.EXPORT: frozenset({Role.OFFICER, Role.TEAM_HEAD, Role.LEGAL, Role.ADMIN}),
    Act.PROVIDE: frozenset({Role.OFFICER, Role.TEAM_HEAD, Role.LEGAL, Role.ADMIN}),
    Act.ANNOTATE: frozenset({Role.OFFICER, Role.TEAM_HEAD, Role.LEGAL, Role.ADMIN}),
    Act.LINK_CASE: frozenset({Role.OFFICER, Role.TEAM_HEAD, Role.LEGAL, Role.ADMIN}),
    Act.HOLD: frozenset({Role.TEAM_HEAD, Role.LEGAL, Role.ADMIN}),
    Act.DELETE: frozenset({Role.TEAM_HEAD, Role.LEGAL, Role.ADMIN}),
}
PIN_ACTS = frozenset({Act.VIEW, Act.PLAY})


@dataclass(frozen=True)
class Person:
    """The acting person, resolved once at the edge (the console's session, the command line's --by)."""

    badge: str
    role: Role
    team: str | None
    credential: Credential = Credential.PASSWORD

    @classmethod
    def of(cls, user: User, credential: Credential = Credential.PASSWORD) -> "Person":
        return cls(user.badge, Role(user.role), user.team, credential)

    @property
    def unit_wide(self) -> bool:
        return self.role in UNIT_WIDE and self.credential is Credential.PASSWORD

    def answers_for(self, badge: str | None, team: str | None) -> bool:
        """An item of this officer and team: the unit-wide roles answer for every one, a team
        head for the team's, an officer (and anyone at the dock with a PIN) for their own."""
        if badge is not None and badge == self.badge:
            return True
        if self.credential is Credential.PIN:
            return False
        return self.unit_wide or (self.role is Role.TEAM_HEAD and team is not None and team == self.team)


class Why(StrEnum):
    """Why a decision went the way it did (kept in the audit entry of a refusal)."""

    OWN = "own"
    TEAM = "team"
    UNIT_WIDE = "unit_wide"
    GRANTED = "granted"
    ROLE = "role"  # this role never does this act
    PIN = "pin"  # beyond what a PIN session reaches
    OTHER_TEAM = "other_team"  # another team's: a read needs an approved request, a change is never granted
    NO_OWNER = "no_owner"  # no officer or team known yet (no roster row, no camera owner)
    CASE_TEAM = "case_team"  # another team's case
    UNAPPROVED = "unapproved"  # a copy leaving the unit without an approved request


@dataclass(frozen=True)
class Decision:
    allowed: bool
    why: Why
    act: Act
    recording_id: str | None = None
    case_no: str | None = None
    grant_id: int | None = None

    def __bool__(self) -> bool:
        return self.allowed


_ACT_ZH = {Act.VIEW: "view", Act.PLAY: "play", Act.EXPORT: "export", Act.PROVIDE: "provide outside the unit",
           Act.ANNOTATE: "enter 证明对象 on",
           Act.LINK_CASE: "link to a case", Act.HOLD: "place a legal hold on", Act.DELETE: "ask to delete"}


def _refusal_text(person: Person, d: Decision, article: str | None) -> str:
    what = f"recording {d.recording_id[:12]}" if d.recording_id else f"case {d.case_no}"
    who = f"{person.badge} ({ROLE_ZH[person.role]})"
    cite = f" ({article})" if article else ""
    if d.why is Why.ROLE:
        return f"{who} may not {_ACT_ZH[d.act]} {what}: no {ROLE_ZH[person.role]} does"
    if d.why is Why.PIN:
        return f"{who} signed in with a PIN may not {_ACT_ZH[d.act]} {what}: that needs the password"
    if d.why is Why.CASE_TEAM:
        return f"{who} may not name {what}: it is another team's case"
    if d.why is Why.NO_OWNER:
        return (f"{who} may not {_ACT_ZH[d.act]} {what}: its officer and team are not known yet (no roster row "
                f"or camera owner; `ingestd devices owner`), so only {ROLE_ZH[Role.LEGAL]} or "
                f"{ROLE_ZH[Role.ADMIN]} may")
    if d.why is Why.UNAPPROVED:
        return (f"{who} may not provide {what} outside the unit: that needs an approved request to provide it"
                f"{cite}; `ingestd access request REC --action provide`")
    if d.act in READS:
        return (f"{what} belongs to another team: {person.badge} needs an approved access request to "
                f"{d.act.value} it{cite}; `ingestd access request`")
    return f"{who} may not {_ACT_ZH[d.act]} {what}: it is another team's, and an access grant never reaches a change"


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


def may(session: Session, person: Person, act: Act, recording_id: str, now: datetime,
        owner: tuple[str | None, str | None] | None = None) -> Decision:
    """The one decision: may this person do this act to this recording now?"""
    def decided(allowed: bool, why: Why, grant_id: int | None = None) -> Decision:
        return Decision(allowed, why, act, recording_id, grant_id=grant_id)

    if person.role not in ROLES_FOR[act]:
        return decided(False, Why.ROLE)
    if person.credential is Credential.PIN and act not in PIN_ACTS:
        return decided(False, Why.PIN)
    if act is Act.PROVIDE:  # 未经批准不得擅自对外提供: whoever asks, whatever is theirs
        granted = _granted(session, person, recording_id, act, now)
        return decided(True, Why.GRANTED, granted) if granted is not None else decided(False, Why.UNAPPROVED)
    badge, team = owner if owner is not None else owner_team(session, recording_id)
    if badge is not None and badge == person.badge:
        return decided(True, Why.OWN)
    if person.credential is Credential.PIN:
        return decided(False, Why.PIN)
    if person.role in UNIT_WIDE:
        return decided(True, Why.UNIT_WIDE)
    if team is not None and team == person.team:
        return decided(True, Why.TEAM)
    if act not in READS:
        return decided(False, Why.NO_OWNER if badge is None and team is None else Why.OTHER_TEAM)
    granted = _granted(session, person, recording_id, act, now)
    return decided(True, Why.GRANTED, granted) if granted is not None else decided(False, Why.OTHER_TEAM)


def _granted(session: Session, person: Person, recording_id: str, act: Act, now: datetime) -> int | None:
    """The person's approved, unexpired request that opens this act on this recording."""
    return session.execute(select(AccessRequest.id).where(
        AccessRequest.requester == person.badge, AccessRequest.recording_id == recording_id,
        AccessRequest.action.in_(list(GRANTS_FOR[act])),
        AccessRequest.status == RequestStatus.APPROVED, AccessRequest.valid_until > now)
        .order_by(AccessRequest.valid_until.desc()).limit(1)).scalar()


def may_name_case(person: Person, case: Case | None, act: Act = Act.LINK_CASE) -> Decision:
    """May this person put recordings into (or hold) this case? A new case (None) becomes
    their team's. A team's member or head names only their team's cases; 法制科 and 信息中心 any."""
    case_no = case.case_no if case is not None else None

    def decided(allowed: bool, why: Why) -> Decision:
        return Decision(allowed, why, act, case_no=case_no)

    if person.role not in ROLES_FOR[act]:
        return decided(False, Why.ROLE)
    if person.credential is Credential.PIN:
        return decided(False, Why.PIN)
    if person.role in UNIT_WIDE:
        return decided(True, Why.UNIT_WIDE)
    if case is None or (case.team is not None and case.team == person.team):
        return decided(True, Why.TEAM)
    return decided(False, Why.CASE_TEAM)


def visible(person: Person) -> ColumnElement[bool]:
    """The recordings a person sees without asking, as a condition on RecordingCompliance (the
    lists; another team's recording opened under a grant is `may`'s to allow, one at a time)."""
    if person.unit_wide:
        return true()
    own = RecordingCompliance.officer_badge == person.badge
    if person.credential is Credential.PIN or not person.team:
        return own
    return or_(own, RecordingCompliance.team == person.team)


def answered_by(person: Person, badge_column, team_column) -> ColumnElement[bool]:
    """`Person.answers_for` as a condition on an item's officer and team columns (shifts,
    interruptions, incidents): all for the unit-wide roles, a team head's team, one's own."""
    if person.unit_wide:
        return true()
    own = badge_column == person.badge if badge_column is not None else false()  # a case has no officer
    if person.credential is Credential.PASSWORD and person.role is Role.TEAM_HEAD and person.team:
        return or_(own, team_column == person.team)
    return own


def require(session: Session, person: Person, act: Act, recording_ids: list[str], now: datetime,
            article: str | None) -> None:
    """Raise AccessDenied naming the first recording this person may not `act` on."""
    known = owners(session, recording_ids)
    for rec_id in recording_ids:
        decision = may(session, person, act, rec_id, now, known.get(rec_id, (None, None)))
        if not decision:
            raise AccessDenied(_refusal_text(person, decision, article), person, decision)


def require_case(person: Person, case: Case | None, article: str | None, act: Act = Act.LINK_CASE) -> None:
    decision = may_name_case(person, case, act)
    if not decision:
        raise AccessDenied(_refusal_text(person, decision, article), person, decision)


def acting_person(session: Session, by: str, doing: str = "") -> Person:
    """The command line's --by (and the console's badge in a domain call), with the password."""
    return Person.of(require_user(session, by, doing=doing))


def record_refusal(app: App, person: Person, decision: Decision, **where: object) -> None:
    """A refusal is an audit entry of its own (the refused change itself was rolled back)."""
    subject = ("recording", decision.recording_id) if decision.recording_id else ("case", decision.case_no or "")
    with app.changes.begin(person.badge) as ch:
        ch.record("access.refused", subject[0], subject[1], act=decision.act.value, why=decision.why.value,
                  credential=person.credential.value, article=app.policy.cite("access"), **where)


def request_access(app: App, rec_id: str, action: str, purpose: str, by: str) -> dict:
    if action not in ACTIONS:
        raise UserError(f"unknown access action {action!r} (use {', '.join(ACTIONS)})")
    if not purpose.strip():
        raise UserError("an access request needs a purpose (调阅事由)")
    with app.changes.begin(by) as ch:
        require_user(ch.session, by, doing="request access")
        rec, _serial = find_recording(ch.session, rec_id)
        req = AccessRequest(requester=by, recording_id=rec.id, action=action, purpose=purpose.strip(),
                            status=RequestStatus.PENDING, requested_at=app.clock.now())
        ch.session.add(req)
        ch.session.flush()
        ch.record("access.requested", "access_request", str(req.id), recording_id=rec.id, access=action,
                  purpose=req.purpose)
        return request_dict(req)


# Who decides access requests and deletions at all; which of them may decide one is may_decide's.
DECIDERS = (Role.TEAM_HEAD.value, Role.ADMIN.value)


def may_decide(person: Person, owner_team_name: str | None, deciders: tuple[str, ...] = DECIDERS) -> bool:
    """A deletion (four eyes) is decided by the head of the recording's team or an admin; an
    access request by those of them the policy names (`access_deciders`): where the regulation
    names the approver (002 第19条: 采集管理资料的部门负责人), only the recording's team head."""
    if person.credential is not Credential.PASSWORD or person.role.value not in deciders:
        return False
    return person.role is Role.ADMIN or (person.role is Role.TEAM_HEAD and owner_team_name is not None
                                         and owner_team_name == person.team)


def access_deciders(policy: Policy) -> tuple[str, ...]:
    return tuple(policy.access.approvers)


def decide(app: App, request_id: int, by: str, approve: bool, hours: int = 72) -> dict:
    """A head of the owning team (or an admin) approves for `hours`, or denies."""
    if approve and not 0 < hours <= MAX_HOURS:
        raise UserError(f"--hours must be between 1 and {MAX_HOURS}")
    with app.changes.begin(by) as ch:
        s = ch.session
        deciders = access_deciders(app.policy)
        approver = require_user(s, by, deciders, "decide access requests")
        req = s.get(AccessRequest, request_id)
        if req is None or req.status != RequestStatus.PENDING:
            raise UserError(f"no pending access request {request_id}")
        if req.requester == by:
            raise UserError(f"access request {request_id}: nobody approves their own request")
        _badge, team = owner_team(s, req.recording_id)
        if not may_decide(Person.of(approver), team, deciders):
            who = " or an admin" if Role.ADMIN.value in deciders else f" ({app.policy.access.article})"
            raise UserError(f"access request {request_id}: only the head of team {team or '(unknown)'}{who} "
                            f"may decide it")
        now = app.clock.now()
        req.status = RequestStatus.APPROVED if approve else RequestStatus.DENIED
        req.decided_by, req.decided_at = by, now
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
            q = q.where(AccessRequest.status == RequestStatus.PENDING)
        return [request_dict(r) for r in s.execute(q).scalars()]
