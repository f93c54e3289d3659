"""What deserves an alert, read from the database: deadlines about to pass (remind the
officer and the team head), deadlines passed (escalate), damaged files and device faults
(at once), interruptions left unexplained too long (at once where the policy says 立即),
cameras still holding recordings already stored (不得自行保管), store failures, and (each
dock for its own) a disk that reaches its reserve within [store] warn_days. Each
event has a key that names it for good, so raising it again is a no-op; only events of the
last `LOOKBACK` are looked at, so a first start on an old database does not page people
about last year."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from ingestd.app import App
from ingestd.compliance.due import due_soon
from ingestd.compliance.recompute import build_judge
from ingestd.compliance.status import another_cameras_damage
from ingestd.db.models import (AuditEvent, Device, DockSession, Gap, Incident, Officer, Recording, RecordingCompliance,
                               Shift, SourceFile, User)
from ingestd.findings import CATALOGUE, Finding, Severity
from ingestd.forecast import forecast
from ingestd.localtime import MINUTE, local_text
from ingestd.replica.status import lagging_finding
from ingestd.users import enabled_admins

LOOKBACK = timedelta(days=3)
STORE_FAILURES = ("store_write_failed", "verify_mismatch")


@dataclass(frozen=True)
class AlertEvent:
    key: str
    finding: Finding
    subject: str
    recipients: tuple[str, ...] = field(default=())  # badges


def find_events(app: App, now: datetime) -> list[AlertEvent]:
    cfg = app.settings.alerts
    tz = app.settings.tz
    since = now - LOOKBACK
    events: list[AlertEvent] = []
    with app.db.reading() as s:
        names = dict(s.execute(select(Officer.badge, Officer.name)).all())
        heads: dict[str | None, list[str]] = {}
        admins = []
        for badge, role, team in s.execute(select(User.badge, User.role, User.team).where(User.disabled.is_(False))):
            if role == "team_head":
                heads.setdefault(team, []).append(badge)
            elif role == "admin":
                admins.append(badge)

        def local(value: datetime | None) -> str | None:
            return local_text(value, tz, MINUTE) or None

        def shift_detail(sh: Shift) -> dict:
            return {"shift_id": sh.id, "officer": sh.badge, "officer_name": names.get(sh.badge, sh.badge),
                    "team": sh.team, "camera": sh.camera, "day": sh.day.isoformat(), "deadline": local(sh.deadline),
                    "upload_article": sh.article}

        def shift_subject(sh: Shift) -> str:  # what a reader recognises: who, and which camera
            return f"{names.get(sh.badge, sh.badge)} {sh.camera or ''}".strip()

        remind_until = now + timedelta(minutes=cfg.remind_before_minutes)
        for sh in s.execute(select(Shift).where(due_soon(now, remind_until))).scalars():
            events.append(AlertEvent(f"remind:shift:{sh.id}", Finding("deadline_near", shift_detail(sh)),
                                     shift_subject(sh), (sh.badge, *heads.get(sh.team, []))))
        for sh in s.execute(select(Shift).where(Shift.status == "overdue", Shift.deadline > since,
                                                Shift.deadline <= now)).scalars():
            events.append(AlertEvent(f"overdue:shift:{sh.id}", Finding("shift_overdue", shift_detail(sh)),
                                     shift_subject(sh), (sh.badge, *heads.get(sh.team, []), *admins)))

        owners = dict(s.execute(select(Device.id, Device.owner_badge)).all())
        teams = dict(s.execute(select(Officer.badge, Officer.team)).all())
        judge = None
        for inc, serial, device_id, officer, recorded_by in s.execute(
                select(Incident, Device.serial, Device.id, RecordingCompliance.officer_badge, Recording.device_id)
                .outerjoin(DockSession, DockSession.id == Incident.dock_session_id)
                .outerjoin(Device, Device.id == DockSession.device_id)
                .outerjoin(Recording, Recording.id == Incident.recording_id)
                .outerjoin(RecordingCompliance, RecordingCompliance.recording_id == Incident.recording_id)
                .where(Incident.opened_at > since, Incident.status == "open")):
            if recorded_by is not None and device_id is not None and recorded_by != device_id:
                # Another camera's file with the same bytes: its own officer hears of it.
                judge = judge or build_judge(app)
                officer = another_cameras_damage(judge, inc.recording_id, serial, inc.facts,
                                                 inc.opened_at).officer_badge
            badge = officer or owners.get(device_id)
            facts = inc.facts or {"path": inc.detail, "reason": "—"}  # incidents from before facts were kept
            finding = Finding(inc.code, {"device": serial, **facts, "incident_id": inc.id,
                                         "recording_id": inc.recording_id})
            events.append(AlertEvent(f"incident:{inc.id}", finding, serial or f"incident {inc.id}",
                                     tuple(b for b in (badge, *heads.get(teams.get(badge), []), *admins) if b)))

        # 不得自行保管: a camera docked still holding stored recordings older than the unit allows.
        # It goes to the officer who held the camera until this dock (the roster's, else its
        # registered owner) and that officer's team head.
        for ds, serial in s.execute(
                select(DockSession, Device.serial).join(Device, Device.id == DockSession.device_id)
                .where(DockSession.started_at > since, DockSession.camera_kept_files > 0)):
            if not app.policy.self_keeping.kept_too_long(ds.camera_kept_oldest, ds.started_at):
                continue
            judge = judge or build_judge(app)
            holder = judge.officer(serial, None, ds.started_at, handed_in=True)
            team = teams.get(holder.badge) or holder.team
            finding = Finding("camera_holds_stored", {"device": serial, "files": ds.camera_kept_files,
                                                      "oldest": local(ds.camera_kept_oldest)})
            events.append(AlertEvent(f"kept:{ds.id}", finding, serial,
                                     tuple(b for b in (holder.badge, *heads.get(team, [])) if b)))

        # Where the policy says so the team head hears of a gap when the dock finds it; elsewhere
        # once it has stayed unexplained for open_gap_hours. Where the regulation asks the officer
        # to report at once (002 第14条, 004 第15条), the alert says that is done at the scene.
        rules = app.policy.interruptions
        stale = now if rules.report_at_once else now - timedelta(hours=cfg.open_gap_hours)
        code = "interruption_found" if rules.report_article else "open_interruption"
        for gap, serial, officer, team in s.execute(
                select(Gap, Device.serial, RecordingCompliance.officer_badge, RecordingCompliance.team)
                .outerjoin(Device, Device.id == Gap.device_id)
                .outerjoin(RecordingCompliance, RecordingCompliance.recording_id == Gap.before_recording_id)
                .where(Gap.status == "open", Gap.detected_at <= stale, Gap.detected_at > stale - LOOKBACK)):
            finding = Finding(code, {"gap": gap.id, "seconds": gap.seconds, "device": serial, "officer": officer,
                                     "start": local(gap.start), "found": local(gap.detected_at),
                                     "report_to": rules.report_to})
            events.append(AlertEvent(f"gap:{gap.id}", finding, f"{serial or ''} {local(gap.start)}".strip(),
                                     tuple(b for b in (officer, *heads.get(team, [])) if b)))

        recent_docks = select(DockSession.id).where(DockSession.started_at > since)  # via the indexed link
        for src in s.execute(select(SourceFile).where(SourceFile.dock_session_id.in_(recent_docks),
                                                      SourceFile.code.in_(STORE_FAILURES))).scalars():
            finding = Finding(src.code, {"path": src.rel_path, "reason": src.reason})
            events.append(AlertEvent(f"source:{src.id}", finding, src.rel_path, tuple(admins)))
        for seq, detail in s.execute(select(AuditEvent.seq, AuditEvent.detail)
                                     .where(AuditEvent.action == "fixity.checked", AuditEvent.at > since)):
            for i, f in enumerate(json.loads(detail).get("findings", [])):
                code = f.pop("code")
                if CATALOGUE[code].severity is not Severity.ERROR:
                    continue  # an unindexed object is for the next rebuild-index, not for paging people
                events.append(AlertEvent(f"fixity:{seq}:{i}", Finding(code, f), f.get("object_id", "store"),
                                         tuple(admins)))
    if app.settings.replica.enabled:
        with app.db.reading() as s:
            finding = lagging_finding(s, now, app.settings.replica)
        if finding is not None:  # one alert a day while it lasts, not one per recording
            events.append(AlertEvent(f"replica:lag:{now.astimezone(tz).date()}", finding, app.settings.replica.bucket,
                                     tuple(admins)))
    return events


def store_filling(app: App, now: datetime) -> list[AlertEvent]:
    """This dock's disk reaching its reserve within [store] warn_days: raised by each dock for
    its own disk (the sweep above runs on the leading dock only), one alert a day while it
    lasts and one more when it turns urgent."""
    filling = forecast(app, now).finding(app.settings.store.warn_days)
    if filling is None:
        return []
    with app.db.reading() as s:
        admins = tuple(enabled_admins(s))
    day = now.astimezone(app.settings.tz).date()
    return [AlertEvent(f"store:{filling.code}:{app.settings.dock_name}:{day}", filling, app.settings.dock_name, admins)]
