"""A team head's reminder to an officer whose shift is overdue: an alert like the daemon's,
on the unit's alert channels, to the officer (and the team head, who sees it went), raised
by the team head. At most one an hour per shift, so a button pressed twice does not page
the officer twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ingestd.alerts.dispatch import raise_events
from ingestd.alerts.events import AlertEvent
from ingestd.app import App
from ingestd.compliance.shift_actions import SHIFT_ACTORS, acting_for, must_be_overdue, shift_of
from ingestd.db.models import Alert, Officer, User
from ingestd.findings import Finding, refused
from ingestd.localtime import MINUTE, local_text

REMIND_EVERY = timedelta(hours=1)
KEY = "remind:overdue:"  # then the shift's id and the time: a key of its own for each reminder


@dataclass(frozen=True)
class Reminded:
    badge: str
    name: str  # the officer's
    day: date
    key: str  # the alert's key
    recipients: tuple[str, ...]
    by: str

    def as_dict(self) -> dict:
        return {"badge": self.badge, "name": self.name, "day": self.day.isoformat(), "alert": self.key,
                "recipients": list(self.recipients), "by": self.by}


def remind(app: App, badge: str, day: date, by: str) -> Reminded:
    if not app.settings.alerts.enabled or not app.settings.alerts.channels:
        raise refused("remind_no_channel")
    now = app.clock.now()
    tz = app.settings.tz
    with app.db.reading() as s:
        shift = shift_of(s, badge, day)
        user = acting_for(s, by, SHIFT_ACTORS, shift, "remind an officer")
        must_be_overdue(shift, now)
        name = s.execute(select(Officer.name).where(Officer.badge == badge)).scalar() or badge
        last = last_reminders(s, [shift.id]).get(shift.id)
        heads = tuple(s.execute(select(User.badge).where(User.role == "team_head", User.team == shift.team,
                                                         User.disabled.is_(False))).scalars())
    if last is not None and now - last < REMIND_EVERY:
        raise refused("remind_too_soon", officer=badge, officer_name=name, at=local_text(last, tz, MINUTE),
                      next=local_text(last + REMIND_EVERY, tz, MINUTE))
    key = f"{KEY}{shift.id}:{now.isoformat(timespec='seconds')}"
    finding = Finding("shift_reminded", {"shift_id": shift.id, "officer": badge, "officer_name": name,
                                         "team": shift.team, "camera": shift.camera, "day": day.isoformat(),
                                         "deadline": local_text(shift.deadline, tz, MINUTE) or None,
                                         "by": by, "by_name": user.name or by,
                                         "upload_article": shift.article})
    recipients = tuple(dict.fromkeys((badge, *heads)))
    if not raise_events(app, [AlertEvent(key, finding, f"{name} {shift.camera or ''}".strip(), recipients)], by):
        # Another press of the button won the same second.
        raise refused("remind_too_soon", officer=badge, officer_name=name, at=local_text(now, tz, MINUTE),
                      next=local_text(now + REMIND_EVERY, tz, MINUTE))
    return Reminded(badge, name, day, key, recipients, by)


def last_reminders(s, shift_ids: list[int]) -> dict[int, datetime]:
    """When each of these shifts was last reminded by a person, for the dashboard."""
    wanted = set(shift_ids)
    out: dict[int, datetime] = {}
    if not wanted:
        return out
    for key, at in s.execute(select(Alert.key, Alert.raised_at).where(Alert.key.like(KEY + "%"))
                             .order_by(Alert.raised_at)):
        shift_id = int(key[len(KEY):].split(":")[0])
        if shift_id in wanted:
            out[shift_id] = at
    return out
