"""Who a recording belongs to, when it was due, whether it was on time; and what each
rostered shift still owes. Pure functions over typed facts: recompute.py does the I/O.

"Uploaded" means the original is in the store with its digest verified (REGULATIONS.md
§1), i.e. the recording's `ingested_at`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from ingestd.compliance.calendar import CalendarNotCovered, WorkCalendar
from ingestd.compliance.deadline import Deadline, upload_deadline
from ingestd.compliance.policy import Policy


@dataclass(frozen=True)
class ShiftFact:
    id: int
    badge: str
    team: str | None
    start: datetime
    end: datetime
    assignment: str
    returned_at: datetime | None
    camera: str | None


@dataclass(frozen=True)
class RecordingFact:
    id: str
    serial: str | None
    badge_in_name: str | None
    start: datetime | None
    end: datetime | None
    ingested_at: datetime


@dataclass(frozen=True)
class RecordingVerdict:
    recording_id: str
    officer_badge: str | None
    officer_source: str  # roster | device_owner | file_name | none
    team: str | None
    shift_id: int | None
    deadline: Deadline | None
    upload_status: str  # on_time | late | undetermined
    late_by_s: float | None
    off_duty: bool
    note: str | None


@dataclass(frozen=True)
class ShiftVerdict:
    shift_id: int
    deadline: Deadline | None
    status: str  # pending | met | late | overdue | no_recording | undetermined


class _Timeline:
    """Shifts of one key (a camera or a badge) in start order, for point lookups."""

    def __init__(self, shifts: list[ShiftFact]):
        self.shifts = sorted(shifts, key=lambda s: s.start)
        self.starts = [s.start for s in self.shifts]

    def at(self, when: datetime) -> ShiftFact | None:
        i = bisect.bisect_right(self.starts, when) - 1
        if i >= 0 and when < self.shifts[i].end:
            return self.shifts[i]
        return None


class ShiftIndex:
    def __init__(self, shifts: list[ShiftFact]):
        by_camera: dict[str, list[ShiftFact]] = {}
        by_badge: dict[str, list[ShiftFact]] = {}
        for s in shifts:
            if s.camera:
                by_camera.setdefault(s.camera, []).append(s)
            by_badge.setdefault(s.badge, []).append(s)
        self.by_camera = {k: _Timeline(v) for k, v in by_camera.items()}
        self.by_badge = {k: _Timeline(v) for k, v in by_badge.items()}

    def camera_at(self, camera: str | None, when: datetime) -> ShiftFact | None:
        timeline = self.by_camera.get(camera) if camera else None
        return timeline.at(when) if timeline else None

    def badge_at(self, badge: str | None, when: datetime) -> ShiftFact | None:
        timeline = self.by_badge.get(badge) if badge else None
        return timeline.at(when) if timeline else None


@dataclass
class Judge:
    policy: Policy
    calendar: WorkCalendar
    tz: ZoneInfo
    shifts: ShiftIndex
    owners: dict[str, str]  # device serial -> registered owner badge
    teams: dict[str, str | None]  # badge -> team
    rostered: list[tuple[date, date]]  # periods some roster covers

    def recording(self, rec: RecordingFact) -> RecordingVerdict:
        when = rec.start or rec.end
        shift = self.shifts.camera_at(rec.serial, when) if when else None
        if shift is not None:
            badge, source = shift.badge, "roster"
        elif rec.serial and self.owners.get(rec.serial):
            badge, source = self.owners[rec.serial], "device_owner"
        elif rec.badge_in_name:
            badge, source = rec.badge_in_name, "file_name"
        else:
            badge, source = None, "none"
        duty = shift or (self.shifts.badge_at(badge, when) if when else None)
        team = duty.team if duty else self.teams.get(badge) if badge else None
        # 002 第21条(六): a recording made while its officer was not on duty is for review.
        off_duty = bool(badge and when and duty is None and self._is_rostered(when))
        if rec.end is None:
            return RecordingVerdict(rec.id, badge, source, team, duty.id if duty else None, None,
                                    "undetermined", None, off_duty, "the recording's end time is unknown")
        try:
            deadline = upload_deadline(self.policy, rec.end, self.calendar, self.tz,
                                       duty.assignment if duty else None, duty.returned_at if duty else None)
        except CalendarNotCovered as exc:
            return RecordingVerdict(rec.id, badge, source, team, duty.id if duty else None, None,
                                    "undetermined", None, off_duty, str(exc))
        late_by = (rec.ingested_at - deadline.at).total_seconds()
        status = "late" if late_by > 0 else "on_time"
        return RecordingVerdict(rec.id, badge, source, team, duty.id if duty else None, deadline, status,
                                late_by if late_by > 0 else None, off_duty, None)

    def shift(self, shift: ShiftFact, recordings: int, last_upload: datetime | None,
              first_dock_after: datetime | None, now: datetime) -> ShiftVerdict:
        try:
            deadline = upload_deadline(self.policy, shift.end, self.calendar, self.tz, shift.assignment,
                                       shift.returned_at)
        except CalendarNotCovered:
            return ShiftVerdict(shift.id, None, "undetermined")
        if not shift.camera:
            return ShiftVerdict(shift.id, deadline, "undetermined")
        if recordings:
            return ShiftVerdict(shift.id, deadline, "late" if last_upload and last_upload > deadline.at else "met")
        if first_dock_after is not None and first_dock_after <= deadline.at:
            return ShiftVerdict(shift.id, deadline, "no_recording")  # docked in time, nothing recorded: review
        return ShiftVerdict(shift.id, deadline, "overdue" if now > deadline.at else "pending")

    def _is_rostered(self, when: datetime) -> bool:
        day = when.astimezone(self.tz).date()
        return any(a <= day <= b for a, b in self.rostered)
