"""What a team head does about a shift that went wrong, each in one audited transaction with
the recompute it makes necessary: an excuse for an overdue shift (the reason, kept; the shift
counts as excused, not overdue, and the report lists it with the reason), and the 返回单位时间
of a trip the roster gave none (the return exception's 24 h count from it: 000 第30条,
001 第25条, 002 第16条, 003 第41条, 004 第27条, 第2款 each). Both are kept by officer and day
apart from the shifts, so a roster re-import keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestd.app import App
from ingestd.compliance.due import is_overdue
from ingestd.compliance.recompute import shift_facts
from ingestd.compliance.roster_import import OPEN_TRIP_DAYS
from ingestd.compliance.status import trip_runs
from ingestd.compliance.trips import RULERS
from ingestd.db.models import Shift, ShiftExcuse, TripReturn, User
from ingestd.db.states import ShiftStatus
from ingestd.evidence.access import Person
from ingestd.findings import refused, written
from ingestd.jobs.queue import enqueue, recompute_spec
from ingestd.localtime import MINUTE, local_text
from ingestd.users import require_user

# Who answers for a team's shifts: its team head, and the admin for every team. 法制科 rules on
# trips and enters their returns (compliance/trips.py RULERS) but does not excuse a missed
# upload nor chase an officer.
SHIFT_ACTORS = ("team_head", "admin")
MAX_REASON = 500


@dataclass(frozen=True)
class ShiftDone:
    """What an excuse or a return changed, with the recompute it asked for (its job group)."""

    action: str  # excused | returned
    badge: str
    day: date
    detail: str  # the reason, or the return time (local)
    by: str
    recompute_group: str

    def as_dict(self) -> dict:
        return {"action": self.action, "badge": self.badge, "day": self.day.isoformat(), "detail": self.detail,
                "by": self.by}


def shift_of(s: Session, badge: str, day: date) -> Shift:
    shift = s.execute(select(Shift).where(Shift.badge == badge, Shift.day == day)).scalars().first()
    if shift is None:
        raise refused("shift_unknown", badge=badge, day=day.isoformat())
    return shift


def acting_for(s: Session, by: str, roles: tuple[str, ...], shift: Shift, doing: str) -> User:
    """The acting user, allowed to act on this shift's team (the one check for a shift)."""
    user = require_user(s, by, roles, doing)
    if not Person.of(user).answers_for(shift.badge, shift.team):
        raise refused("shift_not_theirs", by=by, team=shift.team or "(none)")
    return user


def must_be_overdue(shift: Shift, now: datetime, excused_too: bool = False) -> None:
    """Only a shift still owing its upload past the deadline is excused or reminded (an excused
    one may have its reason corrected)."""
    if not (is_overdue(shift, now) or (excused_too and shift.status == ShiftStatus.EXCUSED)):
        raise refused("shift_not_overdue", badge=shift.badge, day=shift.day.isoformat(), status=shift.status.value)


def write_excuse(app: App, badge: str, day: date, reason: str, by: str) -> ShiftDone:
    reason = written(reason, "excuse_reason_empty", MAX_REASON)
    now = app.clock.now()
    with app.changes.begin(by) as ch:
        s = ch.session
        shift = shift_of(s, badge, day)
        acting_for(s, by, SHIFT_ACTORS, shift, "excuse a shift")
        must_be_overdue(shift, now, excused_too=True)
        excuse = s.get(ShiftExcuse, (badge, day)) or ShiftExcuse(badge=badge, day=day)
        excuse.reason, excuse.excused_by, excuse.excused_at = reason, by, now
        s.add(excuse)
        ch.record("shift.excused", "shift", str(shift.id), badge=badge, day=day.isoformat(), reason=reason,
                  deadline=shift.deadline.isoformat() if shift.deadline else None, article=shift.article)
        spec = recompute_spec({"from": day.isoformat(), "to": day.isoformat()})
        enqueue(ch, [spec], now)
    return ShiftDone("excused", badge, day, reason, by, spec.group)


def parse_return(value: str, app: App) -> datetime:
    """A return time as typed (`2026-12-03 18:30`, or a browser's `2026-12-03T18:30`): local time."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise refused("return_time_bad", value=value.strip()[:40]) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=app.settings.tz)


def write_return(app: App, badge: str, day: date, returned_at: datetime, by: str) -> ShiftDone:
    """The return of the trip a day of which is `day`: kept on the trip's last rostered day,
    where the roster would have put it (a return ends the trip)."""
    exception = app.policy.upload.exception
    now = app.clock.now()
    tz = app.settings.tz
    with app.changes.begin(by) as ch:
        s = ch.session
        shift = shift_of(s, badge, day)
        acting_for(s, by, RULERS, shift, "enter a return time")
        if shift.assignment not in exception.assignments:
            raise refused("return_not_trip", badge=badge, day=day.isoformat())
        around = s.execute(select(Shift).where(
            Shift.badge == badge, Shift.day.between(day - timedelta(days=OPEN_TRIP_DAYS),
                                                    day + timedelta(days=OPEN_TRIP_DAYS)))).scalars().all()
        run = next(r for r in trip_runs(shift_facts(s, around), tuple(exception.assignments))
                   if any(f.id == shift.id for f in r))
        if returned_at < run[0].start:
            raise refused("return_before_trip", returned=local_text(returned_at, tz, MINUTE),
                          start=local_text(run[0].start, tz, MINUTE))
        if returned_at > now:
            raise refused("return_in_future", returned=local_text(returned_at, tz, MINUTE))
        last = next(sh for sh in around if sh.id == run[-1].id)
        entry = s.get(TripReturn, (badge, last.day)) or TripReturn(badge=badge, day=last.day)
        entry.returned_at, entry.entered_by, entry.entered_at = returned_at, by, now
        s.add(entry)
        ch.record("trip.returned", "shift", str(last.id), badge=badge, day=last.day.isoformat(),
                  returned_at=returned_at.isoformat(), roster_had=run[-1].returned_at.isoformat()
                  if run[-1].returned_at else None, article=exception.article)
        first = min(run[0].start.astimezone(tz).date(), day)
        spec = recompute_spec({"from": first.isoformat(),
                               "to": (returned_at.astimezone(tz).date() + timedelta(days=1)).isoformat()})
        enqueue(ch, [spec], now)
    return ShiftDone("returned", badge, last.day, local_text(returned_at, tz, MINUTE), by, spec.group)
