"""A team head's ruling on a trip (连续工作/异地执法/偏远地区): the return exception applies
only where the recordings 确实 could not be stored in time (000 第30条, 001 第25条, 002 第16条,
003 第41条, 004 第27条, 第2款 each). A ruling that they could have been names the officer and a
day of the trip; the whole trip then has the normal deadline, and compliance is recomputed
over it. Kept by officer and day, so a roster re-import keeps it."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from ingestd.app import App
from ingestd.compliance.roster_import import OPEN_TRIP_DAYS
from ingestd.db.models import Shift, TripRuling
from ingestd.errors import UserError
from ingestd.evidence.access import Person
from ingestd.jobs.queue import enqueue, recompute_spec
from ingestd.users import require_user

RULERS = ("team_head", "legal", "admin")


def write_ruling(app: App, badge: str, day: date, could_store: bool, reason: str, by: str) -> dict:
    """The ruling in one audited transaction, with the recompute it makes necessary asked for
    (`recompute_group` in the result)."""
    reason = reason.strip()
    if not reason:
        raise UserError("--reason is empty: say why the recordings could (or could not) have been stored in time")
    exception = app.policy.upload.exception
    now = app.clock.now()
    with app.changes.begin(by) as ch:
        s = ch.session
        person = Person.of(require_user(s, by, RULERS, "rule on a trip"))
        shift = s.execute(select(Shift).where(Shift.badge == badge, Shift.day == day)).scalars().first()
        if shift is None:
            raise UserError(f"no rostered shift of {badge} on {day}")
        if shift.assignment not in exception.assignments:
            raise UserError(f"the shift of {badge} on {day} is {shift.assignment}, not a trip the return exception "
                            f"covers ({exception.article})")
        if not person.answers_for(badge, shift.team):
            raise UserError(f"user {by} may not rule on a trip of team {shift.team or '(none)'}")
        ruling = s.get(TripRuling, (badge, day)) or TripRuling(badge=badge, day=day)
        ruling.could_store, ruling.reason, ruling.ruled_by, ruling.ruled_at = could_store, reason, by, now
        s.add(ruling)
        ch.record("trip.ruled", "shift", str(shift.id), badge=badge, day=day.isoformat(), could_store=could_store,
                  reason=reason, article=exception.article)
        # The trip's rows around the day, and their recordings, have new deadlines.
        spec = recompute_spec({"from": (day - timedelta(days=OPEN_TRIP_DAYS)).isoformat(),
                               "to": (day + timedelta(days=OPEN_TRIP_DAYS)).isoformat()})
        enqueue(ch, [spec], now)
    return {"badge": badge, "day": day.isoformat(), "could_store": could_store, "reason": reason, "by": by,
            "article": exception.article, "recompute_group": spec.group}
