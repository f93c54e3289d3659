"""The upload deadline of one recording (docs/rules.md).

Normal deadline from the policy: hours after the recording ends (001 第25条, 002 第16条,
003 第41条), or N working days counted from the day after the recording day, ending at
24:00 (000 第30条, 004 第27条: 自记录作出之日起, the first day not counted). When the
roster puts the officer on 连续工作/异地执法/偏远地区 with a return time, the deadline
is the later of the normal one and return + 24 h (same articles).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from ingestd.compliance.calendar import WorkCalendar
from ingestd.compliance.policy import Policy


@dataclass(frozen=True)
class Deadline:
    at: datetime
    rule: str  # hours | working_days | return_exception
    article: str
    explanation: str

    def as_dict(self, tz: ZoneInfo) -> dict:
        return {"deadline": self.at.astimezone(tz).isoformat(), "rule": self.rule, "article": self.article,
                "explanation": self.explanation}


def normal_deadline(policy: Policy, end: datetime, calendar: WorkCalendar, tz: ZoneInfo) -> Deadline:
    upload = policy.upload
    if upload.basis == "hours":
        return Deadline(end + timedelta(hours=upload.hours), "hours", upload.article,
                        f"{upload.hours} h after the recording ended")
    local_day = end.astimezone(tz).date()
    last = calendar.add_workdays(local_day, upload.working_days)
    at = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz)  # 24:00 of the last working day
    return Deadline(at, "working_days", upload.article,
                    f"{upload.working_days} working days from the day after {local_day}, ending 24:00 of {last}")


def upload_deadline(policy: Policy, end: datetime, calendar: WorkCalendar, tz: ZoneInfo,
                    assignment: str | None = None, returned: datetime | None = None) -> Deadline:
    normal = normal_deadline(policy, end, calendar, tz)
    exception = policy.upload.exception
    if assignment not in exception.assignments or returned is None:
        return normal
    after_return = returned + timedelta(hours=exception.hours_after_return)
    if after_return <= normal.at:
        return normal
    return Deadline(after_return, "return_exception", exception.article,
                    f"{exception.hours_after_return} h after returning to the unit ({assignment})")
