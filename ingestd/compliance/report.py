"""The upload-compliance report: one model for a period (and optionally one team), built
with a handful of aggregate queries, and rendered by separate renderers (HTML/PDF in
report_html.py, CSV/XLSX in report_sheets.py, JSON from `as_dict`).

Its main table is per team and per officer, because 003 第45条 puts upload into each
team's and officer's yearly assessment. Every figure has the list of items behind it:
the lists are in the model (the first `item_limit` of each, with the total and the
command that lists all of them), and every item carries its finding code and article.

Period: recordings by when they were made (corrected camera time), shifts by their day,
interruptions by when they began, uploads per day by when the camera docked; all in the
unit's timezone, both dates inclusive.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select

from ingestd.app import App
from ingestd.db.models import (Case, ComplianceDaily, Device, DockSession, Evidence, ExportItem, Gap, Incident, Officer,
                               Recording, RecordingCompliance, Shift, ShiftExcuse, User)
from ingestd.db.states import ShiftStatus
from ingestd.errors import UserError
from ingestd.compliance.recompute import build_judge
from ingestd.compliance.rollup import LATE_BUCKETS
from ingestd.compliance.status import another_cameras_damage
from ingestd.evidence.cases import case_findings, case_states
from ingestd.findings import CATALOGUE, Finding
from ingestd.replica.status import lagging_finding
from ingestd.users import ROLE_ZH

NO_TEAM = "（未分队）"
NO_OFFICER = "（未知）"


@dataclass
class Figures:
    """The numbers of one row: an officer, a team, or the unit."""

    recordings: int = 0
    hours: float = 0.0
    on_time: int = 0
    late: int = 0
    undetermined: int = 0
    late_median_h: float | None = None
    late_worst_h: float | None = None
    off_duty: int = 0
    damaged: int = 0
    shifts: int = 0
    shifts_met: int = 0
    shifts_late: int = 0
    shifts_overdue: int = 0
    shifts_excused: int = 0  # overdue, with the team head's reason (listed with it)
    shifts_no_recording: int = 0
    shifts_pending: int = 0
    gaps_open: int = 0
    gaps_voice: int = 0
    gaps_written: int = 0
    missing_proves: int = 0
    disc_missing: int = 0
    incidents_open: int = 0
    late_buckets: list[int] = field(default_factory=lambda: [0] * len(LATE_BUCKETS))

    @property
    def on_time_rate(self) -> float | None:
        """On time among recordings whose deadline could be judged, and overdue shifts
        count against it: a camera that never docked has no recordings to be late. An excused
        shift does not: its team head's reason is listed in the report instead."""
        judged = self.on_time + self.late + self.shifts_overdue
        return self.on_time / judged if judged else None

    def add(self, other: "Figures") -> None:
        for name in ("recordings", "hours", "on_time", "late", "undetermined", "off_duty", "damaged", "shifts",
                     "shifts_met", "shifts_late", "shifts_overdue", "shifts_excused", "shifts_no_recording",
                     "shifts_pending",
                     "gaps_open", "gaps_voice", "gaps_written", "missing_proves", "disc_missing", "incidents_open"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.late_buckets = [a + b for a, b in zip(self.late_buckets, other.late_buckets)]

    def as_dict(self) -> dict:
        return {**asdict(self), "on_time_rate": self.on_time_rate}


@dataclass
class OfficerRow:
    team: str
    badge: str
    name: str | None
    figures: Figures


@dataclass
class TeamRow:
    team: str
    heads: list[str]
    officers: int
    figures: Figures


@dataclass
class ItemList:
    """The items behind one kind of figure, each with its finding."""

    code: str
    total: int
    items: list[dict]
    command: str  # the command that lists all of them

    def __post_init__(self) -> None:
        # Every list is one table in every format (team, officer, name, detail, article): an
        # item about a case or the unit names no officer, and says so rather than lacking the key.
        self.items = [{"team": None, "officer": None, "officer_name": None, **item} for item in self.items]

    @property
    def label_zh(self) -> str:
        return CATALOGUE[self.code].label_zh

    def as_dict(self) -> dict:
        return {"code": self.code, "label_zh": self.label_zh, "total": self.total, "shown": len(self.items),
                "command": self.command, "items": self.items}


@dataclass
class DayCount:
    day: date
    uploads: int


@dataclass
class Report:
    period: tuple[date, date]
    team: str | None
    policy: str
    agency: str
    upload_article: str
    generated_at: datetime
    timezone: str
    unit: Figures
    teams: list[TeamRow]
    officers: list[OfficerRow]
    lists: dict[str, ItemList]
    uploads_per_day: list[DayCount]
    devices: list[dict]
    cases: list[dict]
    # 专人负责 (000 第34条, 001 第7条, 002 第18条, 003 第39条, 004 第31条): who the unit named, and
    # the article asking for one (None: not named in the configuration)
    custodian: str | None = None
    custodian_article: str | None = None

    def as_dict(self) -> dict:
        return {
            "format": "ingestd-report/1",
            "period": [d.isoformat() for d in self.period], "team": self.team, "policy": self.policy,
            "agency": self.agency, "upload_article": self.upload_article, "timezone": self.timezone,
            "generated_at": self.generated_at.isoformat(),
            "late_buckets": [label for _h, label in LATE_BUCKETS],
            "unit": self.unit.as_dict(),
            "teams": [{"team": t.team, "heads": t.heads, "officers": t.officers, **t.figures.as_dict()}
                      for t in self.teams],
            "officers": [{"team": o.team, "badge": o.badge, "name": o.name, **o.figures.as_dict()}
                         for o in self.officers],
            "lists": {code: lst.as_dict() for code, lst in self.lists.items()},
            "uploads_per_day": [{"day": d.day.isoformat(), "uploads": d.uploads} for d in self.uploads_per_day],
            "devices": self.devices, "cases": self.cases,
            "custodian": self.custodian, "custodian_article": self.custodian_article,
        }


@dataclass(frozen=True)
class ReportRequest:
    first: date
    last: date
    team: str | None = None
    item_limit: int = 500
    not_docked_days: int = 7


def build_report(app: App, req: ReportRequest) -> Report:
    if req.last < req.first:
        raise UserError(f"report period ends ({req.last}) before it starts ({req.first})")
    tz = app.settings.tz
    lo = datetime.combine(req.first, time(), tz)
    hi = datetime.combine(req.last + timedelta(days=1), time(), tz)
    now = app.clock.now()
    builder = _Builder(app, req, tz, lo, hi, now)
    with app.db.reading(snapshot=True) as s:
        builder.run(s)
    return builder.report()


class _Builder:
    def __init__(self, app: App, req: ReportRequest, tz: ZoneInfo, lo: datetime, hi: datetime, now: datetime):
        self.app, self.req, self.tz, self.lo, self.hi, self.now = app, req, tz, lo, hi, now
        self.rows: dict[tuple[str, str], Figures] = defaultdict(Figures)
        self.names: dict[str, str] = {}
        self.heads: dict[str, list[str]] = defaultdict(list)
        self.lists: dict[str, ItemList] = {}
        self.per_day: dict[date, int] = defaultdict(int)
        self.late_hours: dict[tuple[str, str], list[float]] = {}
        self.devices: list[dict] = []
        self.cases: list[dict] = []
        self.custodian: str | None = None
        self.upload_article = app.policy.upload.article

    # ----- queries ---------------------------------------------------------------------

    def run(self, s) -> None:
        self.names = dict(s.execute(select(Officer.badge, Officer.name)).all())
        for team, name in s.execute(select(User.team, User.name).where(User.role == "team_head",
                                                                        User.disabled.is_(False))):
            self.heads[team or NO_TEAM].append(name)
        self.custodian = self._custodian(s)
        self._require_rollup(s)
        self._recordings(s)
        self._lateness(s)
        self._uploads_per_day(s)
        self._shifts(s)
        self._gaps(s)
        self._evidence(s)
        self._discs(s)
        self._long_term(s)
        self._incidents(s)
        self._off_duty(s)
        self._devices(s)
        self._cases(s)
        self._replica(s)

    def _custodian(self, s) -> str | None:
        """The custodian the unit named: a user (name and badge) or a role, as configured."""
        named = self.app.settings.compliance.custodian
        if named is None:
            return None
        user = s.get(User, named)
        if user is not None:
            return f"{user.name}（{user.badge}，{ROLE_ZH[user.role]}）"
        return ROLE_ZH.get(named, named)

    def _team_filter(self, column):
        return [column == self.req.team] if self.req.team is not None else []

    def _key(self, team: str | None, badge: str | None) -> tuple[str, str]:
        return (team or NO_TEAM, badge or NO_OFFICER)

    def _in_period(self):
        rc = RecordingCompliance
        return [rc.made_at >= self.lo, rc.made_at < self.hi, *self._team_filter(rc.team)]

    def _require_rollup(self, s) -> None:
        if s.execute(select(ComplianceDaily.made_day).limit(1)).first() is None and \
                s.execute(select(RecordingCompliance.recording_id).limit(1)).first() is not None:
            raise UserError("the report's daily figures are not built yet: run `ingestd compliance recompute` "
                            "once (after upgrading from a version without them)")

    def _recordings(self, s) -> None:
        d = ComplianceDaily
        team_filter = self._team_filter(d.team)
        q = (select(d.team, d.officer_badge, func.sum(d.recordings), func.sum(d.seconds), func.sum(d.on_time),
                    func.sum(d.late), func.sum(d.undetermined), func.sum(d.off_duty), func.sum(d.damaged),
                    func.max(d.late_max_s))
             .where(d.made_day.between(self.req.first, self.req.last), *team_filter)
             .group_by(d.team, d.officer_badge))
        for team, badge, n, secs, on_time, late, undet, off, damaged, worst in s.execute(q):
            f = self.rows[self._key(team or None, badge or None)]
            f.recordings, f.hours = int(n), round((secs or 0) / 3600, 2)
            f.on_time, f.late, f.undetermined, f.off_duty, f.damaged = (int(v) for v in (on_time, late, undet, off,
                                                                                         damaged))
            f.late_worst_h = round(worst / 3600, 2) if late and worst is not None else None
        buckets = select(d.team, d.officer_badge, d.late_buckets).where(
            d.made_day.between(self.req.first, self.req.last), d.late > 0, *team_filter)
        for team, badge, counts in s.execute(buckets):
            f = self.rows[self._key(team or None, badge or None)]
            f.late_buckets = [a + b for a, b in zip(f.late_buckets, counts)]

    def _lateness(self, s) -> None:
        """Medians need every value: one range over a covering index. The list shows each
        officer's worst cases (a share of `item_limit` each), fetched by id afterwards."""
        rc = RecordingCompliance
        values: dict[tuple[str, str], list[tuple[float, str]]] = defaultdict(list)
        for team, badge, late_s, rid in s.execute(select(rc.team, rc.officer_badge, rc.late_by_s, rc.recording_id)
                                                  .where(rc.upload_status == "late", *self._in_period())):
            values[self._key(team, badge)].append((late_s, rid))
        for key, vals in values.items():
            hours = [v / 3600 for v, _rid in vals]
            self.rows[key].late_median_h = round(statistics.median(hours), 2)
            self.late_hours[key] = hours
        per_officer = max(1, self.req.item_limit // max(1, len(values)))
        chosen = {rid: key for key, vals in sorted(values.items())
                  for _late, rid in sorted(vals, reverse=True)[:per_officer]}
        rows = {}
        ids = list(chosen)[:self.req.item_limit]
        for i in range(0, len(ids), 500):
            for rid, late_s, made, uploaded, deadline, article, serial in s.execute(
                    select(rc.recording_id, rc.late_by_s, rc.made_at, rc.uploaded_at, rc.deadline, rc.article,
                           Device.serial)
                    .join(Recording, Recording.id == rc.recording_id)
                    .outerjoin(Device, Device.id == Recording.device_id)
                    .where(rc.recording_id.in_(ids[i:i + 500]))):
                rows[rid] = self._item("late_upload", chosen[rid], recording_id=rid, device=serial,
                                       made_at=self._iso(made), uploaded_at=self._iso(uploaded),
                                       deadline=self._iso(deadline), late_by=_duration(late_s),
                                       late_by_h=round(late_s / 3600, 2), upload_article=article)
        total = sum(len(v) for v in values.values())
        self.lists["late_upload"] = ItemList("late_upload", total, [rows[r] for r in ids if r in rows],
                                             self._command("recordings list --upload-status late"))

    def _uploads_per_day(self, s) -> None:
        """Files uploaded on each day of the period, whenever they were made."""
        d = ComplianceDaily
        team_filter = self._team_filter(d.team)
        for day, n in s.execute(select(d.upload_day, func.sum(d.recordings))
                                .where(d.upload_day.between(self.req.first, self.req.last), *team_filter)
                                .group_by(d.upload_day)):
            self.per_day[day] += int(n)

    def _shifts(self, s) -> None:
        q = (select(Shift.team, Shift.badge, Shift.status, func.count())
             .where(Shift.day.between(self.req.first, self.req.last), *self._team_filter(Shift.team))
             .group_by(Shift.team, Shift.badge, Shift.status))
        for team, badge, status, n in s.execute(q):
            f = self.rows[self._key(team, badge)]
            f.shifts += n
            attr = {"met": "shifts_met", "late": "shifts_late", "overdue": "shifts_overdue",
                    "excused": "shifts_excused", "no_recording": "shifts_no_recording",
                    "pending": "shifts_pending"}.get(status)
            if attr:
                setattr(f, attr, getattr(f, attr) + n)
        for code, status in (("shift_overdue", "overdue"), ("shift_no_recording", "no_recording")):
            base = select(Shift).where(Shift.day.between(self.req.first, self.req.last), Shift.status == status,
                                       *self._team_filter(Shift.team))
            total = sum(getattr(f, f"shifts_{status}") for f in self.rows.values())  # counted just above
            items = [self._item(code, self._key(sh.team, sh.badge), shift_id=sh.id, day=sh.day.isoformat(),
                                camera=sh.camera, deadline=self._iso(sh.deadline),
                                upload_article=sh.article or self.upload_article)
                     for sh in s.execute(base.order_by(Shift.team, Shift.badge, Shift.day)
                                         .limit(self.req.item_limit)).scalars()]
            self.lists[code] = ItemList(code, total, items, self._command(f"compliance shifts --status {status}"))
        self._excused(s)

    def _excused(self, s) -> None:
        """Excused shifts with the reason and who gave it: an excuse is shown, never hidden."""
        users = dict(s.execute(select(User.badge, User.name)).all())
        base = (select(Shift, ShiftExcuse).join(ShiftExcuse, (ShiftExcuse.badge == Shift.badge)
                                                & (ShiftExcuse.day == Shift.day))
                .where(Shift.day.between(self.req.first, self.req.last), Shift.status == ShiftStatus.EXCUSED,
                       *self._team_filter(Shift.team)))
        items = [self._item("shift_excused", self._key(sh.team, sh.badge), shift_id=sh.id, day=sh.day.isoformat(),
                            camera=sh.camera, deadline=self._iso(sh.deadline), reason=ex.reason, by=ex.excused_by,
                            by_name=users.get(ex.excused_by) or ex.excused_by,
                            excused_at=self._iso(ex.excused_at), upload_article=sh.article or self.upload_article)
                 for sh, ex in s.execute(base.order_by(Shift.team, Shift.badge, Shift.day)
                                         .limit(self.req.item_limit))]
        total = sum(f.shifts_excused for f in self.rows.values())
        self.lists["shift_excused"] = ItemList("shift_excused", total, items,
                                               self._command("compliance shifts --status excused"))

    def _gaps(self, s) -> None:
        rc = RecordingCompliance
        base = (select(Gap, rc.team, rc.officer_badge, Device.serial)
                .outerjoin(rc, rc.recording_id == Gap.before_recording_id)
                .outerjoin(Device, Device.id == Gap.device_id)
                .where(Gap.start >= self.lo, Gap.start < self.hi, Gap.status != "superseded",
                       *self._team_filter(rc.team)))
        items, total = [], 0
        for gap, team, badge, serial in s.execute(base.order_by(rc.team, rc.officer_badge, Gap.start)):
            key = self._key(team, badge)
            f = self.rows[key]
            if gap.status == "open":
                f.gaps_open += 1
                total += 1
                if len(items) < self.req.item_limit:
                    items.append(self._item("open_interruption", key, gap=gap.id, device=serial,
                                            start=self._iso(gap.start), found=self._iso(gap.detected_at),
                                            seconds=gap.seconds, kind=gap.kind,
                                            suggested_reason=gap.suggested_reason))
            elif gap.explanation == "voice":
                f.gaps_voice += 1
            else:
                f.gaps_written += 1
        self.lists["open_interruption"] = ItemList("open_interruption", total, items,
                                                   self._command("gaps list --open", scoped=False))

    def _in_period_ids(self, s, ids: list[str]) -> dict[str, tuple]:
        """(team, officer, made_at) of those of `ids` made in the period: asked by id, so
        that a few incidents never make the database walk a year of recordings."""
        rc = RecordingCompliance
        found = {}
        for i in range(0, len(ids), 500):
            for rid, team, badge, made in s.execute(select(rc.recording_id, rc.team, rc.officer_badge, rc.made_at)
                                                    .where(rc.recording_id.in_(ids[i:i + 500]),
                                                           *self._in_period())):
                found[rid] = (team, badge, made)
        return found

    def _evidence(self, s) -> None:
        """证明对象 missing: for recordings in a case, or — where the policy says every stored
        recording needs it (000 第31条) — for every recording of the period."""
        rc = RecordingCompliance
        if self.app.policy.evidence.proves_required == "all":
            # Most of a year's recordings can be missing it: the daily rollup counts them, and
            # only the listed ones (the earliest made) are fetched.
            def missing(q):
                return (q.join(Recording, Recording.id == rc.recording_id)
                        .outerjoin(Evidence, Evidence.recording_id == rc.recording_id)
                        .where(Evidence.proves.is_(None), Recording.status != "deleted", *self._in_period()))
            d = ComplianceDaily
            in_period = [d.made_day.between(self.req.first, self.req.last), *self._team_filter(d.team)]
            if s.execute(select(d.made_day).where(d.no_proves.is_(None), *in_period).limit(1)).first() is None:
                counts = [(team or None, badge or None, int(n)) for team, badge, n in s.execute(
                    select(d.team, d.officer_badge, func.sum(d.no_proves)).where(*in_period)
                    .group_by(d.team, d.officer_badge)) if n]
            else:  # days rolled up before 证明对象 was counted there, until they are recomputed
                counts = s.execute(missing(select(rc.team, rc.officer_badge, func.count()).select_from(rc))
                                   .group_by(rc.team, rc.officer_badge)).all()
            rows = s.execute(missing(select(rc.team, rc.officer_badge, rc.made_at, rc.recording_id, Evidence.case_no))
                             .order_by(rc.made_at, rc.recording_id).limit(self.req.item_limit)).all()
            rows.sort(key=lambda r: (r[0] or "", r[1] or "", r[3]))
        else:
            pending = s.execute(select(Evidence.recording_id, Evidence.case_no)
                                .join(Recording, Recording.id == Evidence.recording_id)
                                .where(Evidence.case_no.is_not(None), Evidence.proves.is_(None),
                                       Recording.status != "deleted")).all()
            where = self._in_period_ids(s, [rid for rid, _case in pending])
            rows = sorted(((*where[rid], rid, case_no) for rid, case_no in pending if rid in where),
                          key=lambda r: (r[0] or "", r[1] or "", r[3]))
            counted = Counter((team, badge) for team, badge, *_rest in rows)
            counts = [(team, badge, n) for (team, badge), n in counted.items()]
        total = 0
        for team, badge, n in counts:
            self.rows[self._key(team, badge)].missing_proves += n
            total += n
        items = [self._item("evidence_missing_proves" if case_no else "proves_missing_stored", self._key(team, badge),
                            recording_id=rid, case_no=case_no, made_at=self._iso(made))
                 for team, badge, made, rid, case_no in rows[:self.req.item_limit]]
        self.lists["evidence_missing_proves"] = ItemList("evidence_missing_proves", total, items,
                                                         self._command("case list", scoped=False))

    def _discs(self, s) -> None:
        """Evidence on disc in time (003 第41条 刻盘入卷 within hours of the recording's end; 004
        第28条 a 光碟 when it is stored), where the policy asks for it: a disc export holding the
        recording with the 证明对象 it has now. A disc made before 证明对象 was filled in, or
        with another one, does not count: a new disc is due."""
        rules = self.app.policy.evidence
        if rules.disc == "none":
            return
        rc = RecordingCompliance
        on_disc = (select(ExportItem.id).where(ExportItem.recording_id == Evidence.recording_id,
                                               ExportItem.disc.is_(True), ExportItem.proves == Evidence.proves)
                   .exists())
        ended = func.coalesce(Recording.end_corrected, Recording.end, Recording.start_corrected, Recording.start)
        # Where the regulation allows it (000 第32条, 004 第29条), the case file's written storage
        # location stands instead of a disc.
        located = [Case.storage_location.is_(None)] if rules.location_article else []
        rows = s.execute(select(rc.team, rc.officer_badge, rc.made_at, rc.recording_id, Evidence.case_no,
                                ended, rc.deadline)
                         .join(Recording, Recording.id == rc.recording_id)
                         .join(Evidence, Evidence.recording_id == rc.recording_id)
                         .join(Case, Case.case_no == Evidence.case_no)
                         .where(Evidence.case_no.is_not(None), Recording.status != "deleted",
                                or_(Evidence.proves.is_(None), ~on_disc), *located, *self._in_period())
                         .order_by(rc.team, rc.officer_badge, rc.made_at)).all()
        items, total = [], 0
        for team, badge, made, rid, case_no, end, deadline in rows:
            due = (end + timedelta(hours=rules.disc_hours) if rules.disc == "hours_after_end" and end is not None
                   else deadline)
            if due is not None and due > self.now:
                continue  # not due yet
            key = self._key(team, badge)
            self.rows[key].disc_missing += 1
            total += 1
            if len(items) < self.req.item_limit:
                items.append(self._item("evidence_disc_missing", key, recording_id=rid, case_no=case_no,
                                        due=self._iso(due), made_at=self._iso(made)))
        self.lists["evidence_disc_missing"] = ItemList("evidence_disc_missing", total, items,
                                                       self._command("case list", scoped=False))

    def _long_term(self, s) -> None:
        """长期保存 on a disc or removable medium (001 第17条), where the policy asks for it: a
        recording in a long-term category with no disc image holding it."""
        if not self.app.policy.long_term.on_medium:
            return
        rc = RecordingCompliance
        on_disc = (select(ExportItem.id).where(ExportItem.recording_id == Evidence.recording_id,
                                               ExportItem.disc.is_(True)).exists())
        rows = s.execute(select(rc.team, rc.officer_badge, rc.made_at, rc.recording_id, Evidence.long_term)
                         .join(Recording, Recording.id == rc.recording_id)
                         .join(Evidence, Evidence.recording_id == rc.recording_id)
                         .where(Evidence.long_term.is_not(None), Recording.status != "deleted", ~on_disc,
                                *self._in_period())
                         .order_by(rc.team, rc.officer_badge, rc.made_at)).all()
        names = self.app.policy.long_term.name
        items = [self._item("long_term_not_on_medium", self._key(team, badge), recording_id=rid,
                            category=names(category), made_at=self._iso(made))
                 for team, badge, made, rid, category in rows[:self.req.item_limit]]
        self.lists["long_term_not_on_medium"] = ItemList("long_term_not_on_medium", len(rows), items,
                                                         self._command("recordings list"))

    def _incidents(self, s) -> None:
        """Damaged files (002 第16条) and the incidents opened for them, open or closed."""
        found = s.execute(select(Incident, Recording.original_name, Device.serial,
                                 Recording.device_id != func.coalesce(DockSession.device_id, Recording.device_id))
                          .join(Recording, Recording.id == Incident.recording_id)
                          .outerjoin(DockSession, DockSession.id == Incident.dock_session_id)
                          .outerjoin(Device, Device.id == func.coalesce(DockSession.device_id,
                                                                        Recording.device_id))).all()
        where = self._in_period_ids(s, list({inc.recording_id for inc, _n, _s, elsewhere in found if not elsewhere}))
        rows = [(*where[inc.recording_id][:2], inc, name, serial) for inc, name, serial, elsewhere in found
                if not elsewhere and inc.recording_id in where]
        judge = build_judge(self.app) if any(elsewhere for *_r, elsewhere in found) else None
        for inc, name, serial, elsewhere in found:
            if elsewhere:  # the same bytes as another camera's file: this camera's officer and period
                v = another_cameras_damage(judge, inc.recording_id, serial, inc.facts, inc.opened_at)
                made = (inc.facts or {}).get("made")
                when = datetime.fromisoformat(made) if made else inc.opened_at
                if self.lo <= when < self.hi and (self.req.team is None or v.team == self.req.team):
                    rows.append((v.team, v.officer_badge, inc, name, serial))
        rows.sort(key=lambda r: (r[0] or "", r[1] or "", r[2].id))
        items, total = [], 0
        for team, badge, inc, name, serial in rows:
            key = self._key(team, badge)
            if inc.status == "open":
                self.rows[key].incidents_open += 1
            total += 1
            if len(items) < self.req.item_limit:
                items.append(self._item("incident_open" if inc.status == "open" else inc.code, key,
                                        incident_id=inc.id, incident_code=inc.code,
                                        incident_label=Finding(inc.code, {}).kind.label_zh
                                        if inc.code in CATALOGUE else inc.code, recording_id=inc.recording_id,
                                        device=serial, file=name, status=inc.status, detail=inc.detail,
                                        opened_at=self._iso(inc.opened_at), explanation=inc.explanation))
        self.lists["damaged_file"] = ItemList("damaged_file", total, items,
                                              self._command("recordings list --status damaged"))

    def _off_duty(self, s) -> None:
        rc = RecordingCompliance
        total = sum(f.off_duty for f in self.rows.values())
        if not total:  # the rollup knows: no need to look
            self.lists["off_duty_recording"] = ItemList("off_duty_recording", 0, [],
                                                        self._command("recordings list --off-duty"))
            return
        q = (select(rc.team, rc.officer_badge, rc.recording_id, rc.made_at, Device.serial)
             .join(Recording, Recording.id == rc.recording_id).outerjoin(Device, Device.id == Recording.device_id)
             .where(rc.off_duty.is_(True), *self._in_period())
             .order_by(rc.made_at).limit(self.req.item_limit))  # the earliest, straight off the index
        items = [self._item("off_duty_recording", self._key(team, badge), recording_id=rid, device=serial,
                            made_at=self._iso(made))
                 for team, badge, rid, made, serial in sorted(s.execute(q), key=lambda r: (r[0] or "", r[1] or "", r[3]))]
        self.lists["off_duty_recording"] = ItemList("off_duty_recording", total, items,
                                                    self._command("recordings list --off-duty"))

    def _devices(self, s) -> None:
        """Per camera: faults the dock saw (the policy's device checks), stored recordings still kept
        on it (不得自行保管), and cameras not docked."""
        owners = dict(s.execute(select(Device.id, Device.owner_badge)).all())
        teams = dict(s.execute(select(Officer.badge, Officer.team)).all())
        per_device: dict[int, dict] = {}
        q = (select(Device.id, Device.serial, Incident.code, func.count())
             .join(DockSession, DockSession.device_id == Device.id)
             .join(Incident, Incident.dock_session_id == DockSession.id)
             .where(Incident.opened_at >= self.lo, Incident.opened_at < self.hi,
                    Incident.code.in_(("clock_drift", "storage_nearly_full", "device_mismatch", "damaged_file")))
             .group_by(Device.id, Device.serial, Incident.code))
        for dev_id, serial, code, n in s.execute(q):
            per_device.setdefault(dev_id, {"device": serial, "findings": {}})["findings"][code] = n
        # 不得自行保管: at its newest dock of the period, the camera still held recordings the store
        # already had, made longer ago than the unit allows.
        newest = (select(DockSession.device_id, func.max(DockSession.started_at).label("at"))
                  .where(DockSession.started_at >= self.lo, DockSession.started_at < self.hi,
                         DockSession.device_id.is_not(None)).group_by(DockSession.device_id).subquery())
        for dev_id, serial, files, oldest, at in s.execute(
                select(Device.id, Device.serial, DockSession.camera_kept_files, DockSession.camera_kept_oldest,
                       DockSession.started_at)
                .join(newest, newest.c.device_id == Device.id)
                .join(DockSession, (DockSession.device_id == Device.id) & (DockSession.started_at == newest.c.at))
                .where(DockSession.camera_kept_files > 0)):
            if self.app.policy.self_keeping.kept_too_long(oldest, at):
                entry = per_device.setdefault(dev_id, {"device": serial, "findings": {}})
                entry["findings"]["camera_holds_stored"] = files
                entry["kept_oldest"] = self._iso(oldest)
        # The roster issuing a camera to someone other than its registered owner: the roster
        # decides 制作人 in those shifts, and a reviewer checks which of the two is right.
        for dev_id, serial, owner, badge, n in s.execute(
                select(Device.id, Device.serial, Device.owner_badge, Shift.badge, func.count())
                .join(Shift, Shift.camera == Device.serial)
                .where(Device.owner_badge.is_not(None), Shift.badge != Device.owner_badge,
                       Shift.day.between(self.req.first, self.req.last))
                .group_by(Device.id, Device.serial, Device.owner_badge, Shift.badge)):
            entry = per_device.setdefault(dev_id, {"device": serial, "findings": {}})
            entry["findings"]["camera_roster_conflict"] = entry["findings"].get("camera_roster_conflict", 0) + n
            entry.setdefault("roster_officers", []).append(badge)
        until = min(self.hi, self.now)
        limit = until - timedelta(days=self.req.not_docked_days)
        for dev_id, serial, last_seen in s.execute(select(Device.id, Device.serial, Device.last_seen)
                                                   .where(Device.last_seen < limit)):
            days = (until - last_seen).days
            entry = per_device.setdefault(dev_id, {"device": serial, "findings": {}})
            entry["findings"]["camera_not_docked"] = days
            entry["last_seen"] = self._iso(last_seen)
        for dev_id, entry in per_device.items():
            badge = owners.get(dev_id)
            entry.update(owner=badge, team=teams.get(badge) if badge else None)
            if self.req.team is None or entry["team"] == self.req.team:
                entry["items"] = [self._device_finding(code, entry, n) for code, n in sorted(entry["findings"].items())]
                self.devices.append(entry)
        self.devices.sort(key=lambda e: e["device"])

    def _device_finding(self, code: str, entry: dict, n: int) -> dict:
        detail = {"device": entry["device"], "count": n}
        if code == "camera_not_docked":
            detail.update(days=n, last_seen=entry.get("last_seen"))
        elif code == "camera_holds_stored":
            detail.update(files=n, oldest=entry.get("kept_oldest"))
        elif code == "camera_roster_conflict":
            detail.update(owner=entry.get("owner"), officers="、".join(sorted(entry["roster_officers"])))
        finding = Finding(code, detail)
        worded = code in ("camera_not_docked", "camera_holds_stored", "camera_roster_conflict")
        return {"code": code, "label_zh": finding.kind.label_zh, "article": finding.article(self.app.policy), "count": n,
                "message": finding.message_zh if worded else f"{finding.kind.label_zh} ×{n}"}

    def _cases(self, s) -> None:
        policy = self.app.policy
        states = case_states(s, policy, self.app.calendar, self.req.team)
        overdue = {f.detail["case_no"]: f for f in case_findings(states, policy, self.now.astimezone(self.tz).date())}
        self.cases = [{**c.as_dict(), "finding": overdue[c.case_no].as_dict(policy) if c.case_no in overdue else None}
                      for c in states if c.status == "open" or c.missing_proves or c.not_exported
                      or c.case_no in overdue]
        self.lists["case_archive_overdue"] = ItemList(
            "case_archive_overdue", len(overdue), [f.as_dict(policy) for f in overdue.values()][:self.req.item_limit],
            self._command("case list", scoped=False))

    def _replica(self, s) -> None:
        """Where the second copy stands as the report is written (the auditor's "where is the
        second copy?"): the unit's recordings not yet proven in the bucket in time."""
        cfg = self.app.settings.replica
        if not cfg.enabled:
            return
        finding = lagging_finding(s, self.now, cfg)
        self.lists["replica_lagging"] = ItemList(
            "replica_lagging", finding.detail["count"] if finding else 0,
            [finding.as_dict(self.app.policy)] if finding else [], "ingestd replica status")

    # ----- helpers -----------------------------------------------------------------------

    def _iso(self, value: datetime | None) -> str | None:
        return value.astimezone(self.tz).isoformat() if value else None

    def _item(self, code: str, key: tuple[str, str], **detail) -> dict:
        team, badge = key
        detail = {"team": team, "officer": badge, "officer_name": self.names.get(badge), **detail}
        detail.setdefault("upload_article", self.upload_article)
        return Finding(code, detail).as_dict(self.app.policy)

    def _command(self, base: str, scoped: bool = True) -> str:
        """The command that lists every item behind a figure (`scoped`: it takes the period and team)."""
        if not scoped:
            return f"ingestd {base}"
        team = f" --team {self.req.team}" if self.req.team else ""
        return f"ingestd {base} --from {self.req.first} --to {self.req.last}{team}"

    def report(self) -> Report:
        officers = [OfficerRow(team, badge, self.names.get(badge), f) for (team, badge), f in sorted(self.rows.items())]
        teams: dict[str, TeamRow] = {}
        unit = Figures()
        for o in officers:
            row = teams.setdefault(o.team, TeamRow(o.team, sorted(self.heads.get(o.team, [])), 0, Figures()))
            row.officers += 1 if o.badge != NO_OFFICER else 0
            row.figures.add(o.figures)
            unit.add(o.figures)
        # Medians do not add up: team and unit medians come from the values themselves.
        for team_row in teams.values():
            self._median_of(team_row.figures, [o for o in officers if o.team == team_row.team])
        self._median_of(unit, officers)
        days = []
        day = self.req.first
        while day <= self.req.last:
            days.append(DayCount(day, self.per_day.get(day, 0)))
            day += timedelta(days=1)
        return Report((self.req.first, self.req.last), self.req.team, self.app.policy.name, self.app.policy.agency,
                      self.upload_article, self.now, self.app.settings.timezone, unit, list(teams.values()),
                      officers, self.lists, days, self.devices, self.cases, self.custodian,
                      self.app.policy.cite("custodian"))

    def _median_of(self, target: Figures, rows: list[OfficerRow]) -> None:
        worst = [o.figures.late_worst_h for o in rows if o.figures.late_worst_h is not None]
        target.late_worst_h = max(worst) if worst else None
        values = [v for o in rows for v in self.late_hours.get((o.team, o.badge), [])]
        target.late_median_h = round(statistics.median(values), 2) if values else None


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    return (f"{days}天" if days else "") + f"{hours}小时{minutes}分"
