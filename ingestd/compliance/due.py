"""Which rostered shifts are overdue and which fall due soon: one rule for the dashboard, the
alerts and anything else that asks. A pending shift whose deadline has passed is overdue even
before the sweep has written its status (never "due soon")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from ingestd.db.models import Shift
from ingestd.db.states import ShiftStatus


def overdue(now: datetime) -> ColumnElement[bool]:
    return or_(Shift.status == ShiftStatus.OVERDUE,
               and_(Shift.status == ShiftStatus.PENDING, Shift.deadline.is_not(None), Shift.deadline <= now))


def due_soon(now: datetime, until: datetime) -> ColumnElement[bool]:
    """Still pending, the deadline ahead and no later than `until` (the reminder window)."""
    return and_(Shift.status == ShiftStatus.PENDING, Shift.deadline > now, Shift.deadline <= until)


def is_overdue(shift: Shift, now: datetime) -> bool:
    """`overdue` for a shift already read."""
    return shift.status == ShiftStatus.OVERDUE or (
        shift.status == ShiftStatus.PENDING and shift.deadline is not None and shift.deadline <= now)
