"""Who a recording belongs to, when it was due, whether it was on time; and what each
rostered shift still owes. Pure functions over typed facts: recompute.py does the I/O.

"Uploaded" means the original is in the unit's designated store with its digest verified
(储存至本单位指定的存储器, docs/rules.md), i.e. the recording's `ingested_at`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from ingestd.compliance.calendar import CalendarNotCovered, WorkCalendar
from ingestd.compliance.deadline import Deadline, upload_deadline
from ingestd.compliance.policy import ASSIGNMENT_ZH, Policy
from ingestd.db.states import OfficerSource, ShiftStatus, UploadStatus


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
    officer_source: OfficerSource
    team: str | None
    shift_id: int | None
    deadline: Deadline | None
    upload_status: UploadStatus
    late_by_s: float | None
    off_duty: bool
    note: str | None


@dataclass(frozen=True)
class ShiftVerdict:
    shift_id: int
    deadline: Deadline | None
    status: ShiftStatus


FOREVER = datetime.max.replace(tzinfo=timezone.utc)


class _Timeline:
    """Shifts of one key (a camera or a badge) in start order, for point lookups: a time
    falls in a shift's hours, or failing that in the trip of a 连续工作/异地执法/偏远地区
    assignment, which runs from the assignment's start to the return (or, while no return
    is entered yet, to the next shift on the roster)."""

    def __init__(self, shifts: list[ShiftFact], trip_kinds: tuple[str, ...]):
        self.shifts = sorted(shifts, key=lambda s: s.start)
        self.starts = [s.start for s in self.shifts]
        self.trip_kinds = trip_kinds

    def at(self, when: datetime) -> ShiftFact | None:
        i = bisect.bisect_right(self.starts, when) - 1
        if i >= 0 and when < self.shifts[i].end:
            return self.shifts[i]
        # A trip outlasts its shift: look back for one still under way at `when`.
        for j in range(i, -1, -1):
            s = self.shifts[j]
            if s.assignment in self.trip_kinds:
                following = self.starts[j + 1] if j + 1 < len(self.starts) else FOREVER
                if when < (s.returned_at if s.returned_at is not None else following):
                    return s
                return None
        return None


class ShiftIndex:
    def __init__(self, shifts: list[ShiftFact], trip_kinds: tuple[str, ...] = ()):
        by_camera: dict[str, list[ShiftFact]] = {}
        by_badge: dict[str, list[ShiftFact]] = {}
        for s in shifts:
            if s.camera:
                by_camera.setdefault(s.camera, []).append(s)
            by_badge.setdefault(s.badge, []).append(s)
        self.by_camera = {k: _Timeline(v, trip_kinds) for k, v in by_camera.items()}
        self.by_badge = {k: _Timeline(v, trip_kinds) for k, v in by_badge.items()}

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
            badge, source = shift.badge, OfficerSource.ROSTER
        elif rec.serial and self.owners.get(rec.serial):
            badge, source = self.owners[rec.serial], OfficerSource.DEVICE_OWNER
        elif rec.badge_in_name:
            badge, source = rec.badge_in_name, OfficerSource.FILE_NAME
        else:
            badge, source = None, OfficerSource.NONE
        duty = shift or (self.shifts.badge_at(badge, when) if when else None)
        team = duty.team if duty else self.teams.get(badge) if badge else None
        # 002 第21条(六): a recording made while its officer was not on duty is for review.
        off_duty = bool(badge and when and duty is None and self._is_rostered(when))
        duty_id = duty.id if duty else None

        def undetermined(note: str) -> RecordingVerdict:
            return RecordingVerdict(rec.id, badge, source, team, duty_id, None, UploadStatus.UNDETERMINED, None,
                                    off_duty, note)

        ended = rec.end or rec.start
        if ended is None:
            return undetermined("the recording's time is unknown")
        try:
            deadline = upload_deadline(self.policy, ended, self.calendar, self.tz,
                                       duty.assignment if duty else None, duty.returned_at if duty else None)
        except CalendarNotCovered as exc:
            return undetermined(str(exc))
        late_by = (rec.ingested_at - deadline.at).total_seconds()
        if late_by > 0 and rec.end is None:
            # A clip cut off (damaged) ended at some unknown time after its start: uploaded within
            # the deadline of its last known time it is on time for sure, else nobody can say.
            return undetermined("the recording's end time is unknown, and it was uploaded after the deadline "
                                "counted from its start")
        if late_by > 0 and self._awaiting_return(duty):
            # The return exception (连续工作/异地执法/偏远地区) may yet apply: pending until the return is entered.
            return undetermined(f"{ASSIGNMENT_ZH[duty.assignment]}: awaiting the return time "
                                f"({self.policy.upload.exception.article})")
        note = "the end time is unknown: on time by the deadline counted from its start" if rec.end is None else None
        return RecordingVerdict(rec.id, badge, source, team, duty_id, deadline,
                                UploadStatus.LATE if late_by > 0 else UploadStatus.ON_TIME,
                                late_by if late_by > 0 else None, off_duty, note)

    def _awaiting_return(self, duty: ShiftFact | None) -> bool:
        return (duty is not None and duty.returned_at is None
                and duty.assignment in self.policy.upload.exception.assignments)

    def shift(self, shift: ShiftFact, recordings: int, last_upload: datetime | None,
              first_dock_after: datetime | None, now: datetime) -> ShiftVerdict:
        try:
            deadline = upload_deadline(self.policy, shift.end, self.calendar, self.tz, shift.assignment,
                                       shift.returned_at)
        except CalendarNotCovered:
            return ShiftVerdict(shift.id, None, ShiftStatus.UNDETERMINED)
        if not shift.camera:
            return ShiftVerdict(shift.id, deadline, ShiftStatus.UNDETERMINED)
        settled = (last_upload is not None and last_upload <= deadline.at) if recordings else \
            (first_dock_after is not None and first_dock_after <= deadline.at)
        if self._awaiting_return(shift) and not settled:
            # Away on 连续工作/异地执法/偏远地区 with no return entered: its deadline is 24 h after a
            # return nobody knows yet. Pending (never overdue, no escalation) until it is entered;
            # what the normal deadline already settles needs no return time.
            return ShiftVerdict(shift.id, None, ShiftStatus.PENDING)
        if recordings:
            return ShiftVerdict(shift.id, deadline, ShiftStatus.LATE if last_upload and last_upload > deadline.at
                                else ShiftStatus.MET)
        if first_dock_after is not None and first_dock_after <= deadline.at:
            return ShiftVerdict(shift.id, deadline, ShiftStatus.NO_RECORDING)  # docked in time, nothing recorded
        return ShiftVerdict(shift.id, deadline, ShiftStatus.OVERDUE if now > deadline.at else ShiftStatus.PENDING)

    def _is_rostered(self, when: datetime) -> bool:
        day = when.astimezone(self.tz).date()
        return any(a <= day <= b for a, b in self.rostered)
