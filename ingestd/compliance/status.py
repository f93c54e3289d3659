"""Who a recording belongs to, when it was due, whether it was on time; and what each
rostered shift still owes. Pure functions over typed facts: recompute.py does the I/O.

"Uploaded" means the original is in the unit's designated store with its digest verified
(储存至本单位指定的存储器, docs/rules.md), i.e. the recording's `ingested_at`.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ingestd.compliance.calendar import CalendarNotCovered, WorkCalendar
from ingestd.compliance.deadline import Deadline, upload_deadline
from ingestd.compliance.policy import Policy
from ingestd.db.states import OfficerSource, ShiftStatus, UploadStatus
from ingestd.timeline.clock import is_reset


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
    # A team head ruled that the trip's recordings could have been stored in time: the return
    # exception, conditional on 确实无法及时存储, does not apply.
    could_store: bool = False
    ruled_at: datetime | None = None  # when the ruling on this day was made (the latest on a trip counts)
    excused: bool = False  # its team head gave the reason it was not docked in time (ShiftExcuse)

    @property
    def excepted(self) -> str | None:
        """The assignment the return exception is judged by: None once it was ruled out."""
        return None if self.could_store else self.assignment


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
# A camera the roster issued and no one owns is taken to stay with its officer after the shift
# until it is docked, but not past this: a camera left out longer is anybody's guess.
ISSUE_OUTLASTS_SHIFT = timedelta(hours=24)


@dataclass(frozen=True)
class Maker:
    badge: str | None
    source: OfficerSource
    shift: ShiftFact | None = None  # the rostered shift the recording was made in
    team: str | None = None  # the roster's team for the camera's officer
    conflict: str | None = None  # the roster and the registered owner name different officers


def trip_runs(shifts: list[ShiftFact], trip_kinds: tuple[str, ...]) -> list[list[ShiftFact]]:
    """Each officer's shifts as runs: a trip rostered one row a day is one run (the return
    exception of 000 第30条, 001 第25条, 002 第16条, 003 第41条, 004 第27条, 第2款 each): an
    officer's consecutive rows on the same 连续工作/异地执法/偏远地区 assignment, up to the row
    with the return. A return ends the trip: a later row on the same assignment starts the next
    one. Every other shift is a run of its own."""
    by_badge: dict[str, list[ShiftFact]] = {}
    for s in shifts:
        by_badge.setdefault(s.badge, []).append(s)
    runs: list[list[ShiftFact]] = []
    for rows in by_badge.values():
        rows.sort(key=lambda s: s.start)
        run: list[ShiftFact] = []
        for s in rows:
            if run and (s.assignment != run[0].assignment or run[-1].returned_at is not None):
                runs.append(run)
                run = []
            if s.assignment in trip_kinds:
                run.append(s)
            else:
                runs.append([s])
        if run:
            runs.append(run)
    return runs


def join_trips(shifts: list[ShiftFact], trip_kinds: tuple[str, ...]) -> list[ShiftFact]:
    """Every row of a trip carries the trip's return (entered on any of its rows) and its
    ruling (the latest a team head made on any of its days)."""
    joined: list[ShiftFact] = []
    for run in trip_runs(shifts, trip_kinds):
        rulings = [r for r in run if r.ruled_at is not None]
        latest = max(rulings, key=lambda r: r.ruled_at) if rulings else None
        could = latest.could_store if latest else any(r.could_store for r in run)
        joined += [replace(r, returned_at=run[-1].returned_at, could_store=could) for r in run]
    return joined


class _Timeline:
    """Shifts of one key (a camera or a badge) in start order, for point lookups: a time
    falls in a shift's hours, or failing that in the trip of a 连续工作/异地执法/偏远地区
    assignment, which runs from the assignment's start to the return (or, while no return
    is entered yet, to the next shift on the roster)."""

    def __init__(self, shifts: list[ShiftFact], trip_kinds: tuple[str, ...]):
        self.shifts = sorted(shifts, key=lambda s: s.start)
        self.starts = [s.start for s in self.shifts]
        self.trip_kinds = trip_kinds

    def latest(self, when: datetime) -> ShiftFact | None:
        """The last shift begun by `when`."""
        i = bisect.bisect_right(self.starts, when) - 1
        return self.shifts[i] if i >= 0 else None

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
        shifts = join_trips(shifts, trip_kinds)
        self.by_id = {s.id: s for s in shifts}
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
    # serial -> dock start times, in order, of cameras no one is registered to (their holder
    # between shifts is whoever the roster last issued them to, until they are handed in)
    docks: dict[str, list[datetime]] = field(default_factory=dict)

    def officer(self, serial: str | None, badge_in_name: str | None, when: datetime | None,
                handed_in: bool = False) -> Maker:
        """Whose recording this is (制作人) and where that comes from. The roster's camera for a
        shift decides the shift's time, a registered owner the rest; a camera the roster issues
        and no one owns stays with its officer until it is docked again (`handed_in`: `when` is
        the dock that hands it in, so whoever held it until then)."""
        shift = self.shifts.camera_at(serial, when) if when else None
        owner = self.owners.get(serial) if serial else None
        if shift is not None:
            conflict = (f"the roster issues camera {serial} to {shift.badge} for this shift; its registered owner "
                        f"is {owner}") if owner and owner != shift.badge else None
            return Maker(shift.badge, OfficerSource.ROSTER, shift, shift.team, conflict)
        if owner:
            return Maker(owner, OfficerSource.DEVICE_OWNER)
        issued = self._issued(serial, when, handed_in) if when else None
        if issued is not None:
            return Maker(issued.badge, OfficerSource.ROSTER, None, issued.team)
        if badge_in_name:
            return Maker(badge_in_name, OfficerSource.FILE_NAME)
        return Maker(None, OfficerSource.NONE)

    def _issued(self, serial: str | None, when: datetime, at_dock: bool) -> ShiftFact | None:
        timeline = self.shifts.by_camera.get(serial) if serial else None
        last = timeline.latest(when) if timeline else None
        if last is None:
            return None
        docks = self.docks.get(serial, [])
        i = bisect.bisect_left(docks, last.end)
        returned = docks[i] if i < len(docks) else FOREVER
        if at_dock:  # whoever it was last issued to hands it in, however long they kept it
            return last if when <= returned else None
        return last if when < min(returned, last.end + ISSUE_OUTLASTS_SHIFT) else None

    def recording(self, rec: RecordingFact) -> RecordingVerdict:
        when = rec.start or rec.end
        maker = self.officer(rec.serial, rec.badge_in_name, when)
        badge, source, conflict = maker.badge, maker.source, maker.conflict
        duty = maker.shift or (self.shifts.badge_at(badge, when) if when else None)
        team = duty.team if duty else (self.teams.get(badge) or maker.team) if badge else None
        # 002 第21条(六): a recording made while its officer was not on duty is for review.
        off_duty = bool(badge and when and duty is None and self._is_rostered(when))
        duty_id = duty.id if duty else None

        def undetermined(note: str) -> RecordingVerdict:
            return RecordingVerdict(rec.id, badge, source, team, duty_id, None, UploadStatus.UNDETERMINED, None,
                                    off_duty, _joined(conflict, note))

        ended = rec.end or rec.start
        if ended is None:
            return undetermined("the recording's time is unknown")
        untrusted = _untrusted_time(rec)
        if untrusted:
            return undetermined(untrusted)
        try:
            deadline = upload_deadline(self.policy, ended, self.calendar, self.tz,
                                       duty.excepted if duty else None, duty.returned_at if duty else None)
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
            return undetermined(f"{self.policy.upload.exception.name(duty.assignment)}: awaiting the return time "
                                f"({self.policy.upload.exception.article})")
        note = "the end time is unknown: on time by the deadline counted from its start" if rec.end is None else None
        return RecordingVerdict(rec.id, badge, source, team, duty_id, deadline,
                                UploadStatus.LATE if late_by > 0 else UploadStatus.ON_TIME,
                                late_by if late_by > 0 else None, off_duty, _joined(conflict, note))

    def _awaiting_return(self, duty: ShiftFact | None) -> bool:
        return (duty is not None and duty.returned_at is None
                and duty.excepted in self.policy.upload.exception.assignments)

    def shift(self, shift: ShiftFact, recordings: int, last_upload: datetime | None,
              first_dock_after: datetime | None, now: datetime) -> ShiftVerdict:
        try:
            deadline = upload_deadline(self.policy, shift.end, self.calendar, self.tz, shift.excepted,
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
        if now <= deadline.at:
            return ShiftVerdict(shift.id, deadline, ShiftStatus.PENDING)
        return ShiftVerdict(shift.id, deadline, ShiftStatus.EXCUSED if shift.excused else ShiftStatus.OVERDUE)

    def _is_rostered(self, when: datetime) -> bool:
        day = when.astimezone(self.tz).date()
        return any(a <= day <= b for a, b in self.rostered)


AFTER_DOCK_SKEW = timedelta(minutes=10)  # a camera a little ahead of the dock is not yet a wrong clock


def _untrusted_time(rec: RecordingFact) -> str | None:
    """Why the recording's time cannot be trusted, if it cannot: a deadline counted from it
    would call an officer 57 years late, or on time for a clip 'made' in 2099. Such a
    recording is neither on time nor late (the timeline orders it by sequence instead)."""
    times = [t for t in (rec.start, rec.end) if t is not None]
    if any(is_reset(t) for t in times):
        return "the camera's clock was reset (its time is near 1970, 2000 or 2080): the time it was made is unknown"
    if any(t > rec.ingested_at + AFTER_DOCK_SKEW for t in times):
        return "the camera's clock is ahead: the recording is dated after it was docked, so the time it was made " \
               "is unknown"
    return None


def _joined(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None


def another_cameras_damage(judge: Judge, recording_id: str, serial: str | None, facts: dict | None,
                           opened_at: datetime) -> RecordingVerdict:
    """Whose damaged file an incident is when its camera is not the one whose bytes it matched
    (two cameras' empty files are one recording): judged as a recording of that camera made
    when its own file says, so the officer, team and period are that camera's."""
    facts = facts or {}
    made = datetime.fromisoformat(facts["made"]) if facts.get("made") else None
    return judge.recording(RecordingFact(recording_id, serial, facts.get("badge"), made, None, opened_at))
