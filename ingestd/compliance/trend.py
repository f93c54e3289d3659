"""The on-time rate week by week, for a team or the unit: whether things get better, which a
month's figure alone does not say. The same rate as the report's (Figures.on_time_rate): on
time among recordings judged, with overdue shifts counting against it, by the week the
recording was made (or the shift rostered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.compliance.report import Figures
from ingestd.db.models import ComplianceDaily, Shift
from ingestd.db.states import ShiftStatus

WEEKS = 8


@dataclass(frozen=True)
class Week:
    monday: date
    figures: Figures

    @property
    def rate(self) -> float | None:
        return self.figures.on_time_rate


def weekly(app: App, last_day: date, team: str | None, weeks: int = WEEKS) -> list[Week]:
    """The `weeks` weeks (Monday to Sunday) up to the one holding `last_day`, oldest first."""
    first = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=weeks - 1)
    out = {first + timedelta(weeks=i): Figures() for i in range(weeks)}

    def monday(day: date) -> date:
        return day - timedelta(days=day.weekday())

    d = ComplianceDaily
    scope_d = [d.team == team] if team is not None else []
    scope_s = [Shift.team == team] if team is not None else []
    with app.db.reading() as s:
        for day, on_time, late in s.execute(
                select(d.made_day, func.sum(d.on_time), func.sum(d.late))
                .where(d.made_day.between(first, last_day), *scope_d).group_by(d.made_day)):
            f = out[monday(day)]
            f.on_time += int(on_time or 0)
            f.late += int(late or 0)
        for day, n in s.execute(select(Shift.day, func.count()).where(
                Shift.day.between(first, last_day), Shift.status == ShiftStatus.OVERDUE, *scope_s)
                .group_by(Shift.day)):
            out[monday(day)].shifts_overdue += int(n)
    return [Week(m, f) for m, f in out.items()]
