"""The dashboard and `GET /healthz`. The dashboard is where a team head's morning acts: an
overdue shift is reminded (the alert channels) or excused with a reason, a trip over without
its 返回单位时间 gets one; the store, job and replica figures are the 信息中心's only."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import timedelta
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, select, text

from ingestd.afterdock import enter_return, excuse_shift
from ingestd.alerts.remind import last_reminders, remind
from ingestd.compliance.due import due_soon, is_overdue, overdue
from ingestd.compliance.shift_actions import parse_return
from ingestd.db.models import AuditEvent, Device, DockSession, Gap, Officer, Shift
from ingestd.db.states import ShiftStatus
from ingestd.devices import list_devices
from ingestd.evidence.access import answered_by
from ingestd.forecast import recent_forecast
from ingestd.jobs import queue
from ingestd.localtime import DAY_MINUTE, MINUTE, local_text, parse_date
from ingestd.replica.status import replica_status
from ingestd.users import Role
from ingestd.web.access import Page, may_change
from ingestd.web.pages_gaps import gaps_of
from ingestd.web.pages_requests import incidents_for
from ingestd.web.server import Edge
from ingestd.web.sessions import Viewer

SHOWN = 100


def health(edge: Edge) -> tuple[bool, dict]:
    """Database reachable, store present with its free space, the job queue's state, and the
    dock's self-check (`ingestd doctor`'s findings; they do not make the answer 503: a clock
    out of sync is for the admin to fix, not a dock that is down)."""
    app = edge.app
    out: dict = {"dock": app.settings.dock_name}
    try:
        with app.db.reading() as s:
            s.execute(text("select 1"))
        out["database"] = {"ok": True}
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        out["database"] = {"ok": False, "error": str(exc).splitlines()[0][:200]}
    store = app.data.store
    present = (store / "0=ocfl_1.1").exists()
    usage = shutil.disk_usage(store) if present else None
    out["store"] = {"ok": present, "free_bytes": usage.free if usage else None,
                    "reserve_bytes": app.settings.ingest.reserve_mb << 20}
    if usage and usage.free < app.settings.ingest.reserve_mb << 20:
        out["store"]["ok"] = False
    if present and out["database"]["ok"]:
        f = recent_forecast(app)
        out["store"].update({"days_to_reserve": f.days_to_reserve, "steady": f.steady, "eviction": f.eviction,
                             "per_day_bytes": f.per_day_bytes, "local_bytes": f.local_bytes,
                             "bucket_only": f.bucket_recordings, "bucket_bytes": f.bucket_bytes,
                             "filling": f.finding(app.settings.store.warn_days) is not None})
    if out["database"]["ok"]:
        q = queue.status(app).as_dict()
        out["jobs"] = {"ok": not q["failed"], "queued": q["queued"], "held": q["held"], "running": len(q["running"]),
                       "failed": len(q["failed"]), "oldest_pending_s": q["oldest_pending_s"]}
    if out["database"]["ok"] and app.settings.replica.enabled:
        r = replica_status(app)
        out["replica"] = {"ok": not r.lagging and not r.failed, "bucket": r.bucket, "replicated": r.replicated,
                          "pending": r.pending, "lagging": r.lagging, "failed": r.failed,
                          "oldest_pending_h": r.oldest_pending_h}
    out["doctor"] = edge.diagnosis().as_dict(app.policy)
    ok = out["database"]["ok"] and out["store"]["ok"]
    return ok, {"ok": ok, **out}


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app

    @r.get("/healthz")
    def healthz():
        ok, body = health(edge)
        return JSONResponse(body, status_code=200 if ok else 503)

    def shifts(viewer: Viewer) -> dict[str, list[dict]]:
        """Shifts overdue (how long, when last reminded, whether this viewer may act on each),
        and those whose deadline falls within the reminder window: the team's for a team head,
        one's own for an officer, all for the unit-wide roles."""
        now = app.clock.now()
        tz = app.settings.tz
        soon = now + timedelta(minutes=app.settings.alerts.remind_before_minutes)
        q = (select(Shift, Officer.name).outerjoin(Officer, Officer.badge == Shift.badge)
             .where(or_(overdue(now), due_soon(now, soon)))
             .where(answered_by(viewer.person, Shift.badge, Shift.team))
             .order_by(Shift.deadline).limit(SHOWN))
        acts = may_change(viewer.role, Page.SHIFTS, viewer.kind)
        out: dict[str, list[dict]] = {"overdue": [], "due_soon": []}
        with app.db.reading() as s:
            rows = s.execute(q).all()
            reminded = last_reminders(s, [sh.id for sh, _name in rows])
            for sh, name in rows:
                late = is_overdue(sh, now)
                out["overdue" if late else "due_soon"].append(
                    {"id": sh.id, "day": sh.day.isoformat(), "badge": sh.badge, "name": name, "team": sh.team,
                     "camera": sh.camera, "deadline": local_text(sh.deadline, tz, DAY_MINUTE),
                     "overdue_s": (now - sh.deadline).total_seconds() if late and sh.deadline else None,
                     "reminded": local_text(reminded.get(sh.id), tz, DAY_MINUTE),
                     "article": sh.article, "can_act": acts and late and viewer.person.answers_for(sh.badge, sh.team)})
        return out

    def awaiting_return(viewer: Viewer) -> list[dict]:
        """Trips over with no 返回单位时间: their recordings stay pending, never overdue, until it
        is entered; one row an officer, the trip's latest rostered day."""
        exception = app.policy.upload.exception
        now = app.clock.now()
        q = (select(Shift, Officer.name).outerjoin(Officer, Officer.badge == Shift.badge)
             .where(Shift.status == ShiftStatus.PENDING, Shift.deadline.is_(None), Shift.shift_end < now,
                    Shift.assignment.in_(list(exception.assignments)),
                    answered_by(viewer.person, Shift.badge, Shift.team))
             .order_by(Shift.day.desc()).limit(SHOWN))
        acts = may_change(viewer.role, Page.TRIPS, viewer.kind)
        trips: dict[str, dict] = {}
        with app.db.reading() as s:
            for sh, name in s.execute(q):
                if sh.badge in trips:
                    trips[sh.badge]["first"] = sh.day.isoformat()
                    continue
                trips[sh.badge] = {"badge": sh.badge, "name": name, "team": sh.team, "day": sh.day.isoformat(),
                                   "first": sh.day.isoformat(), "assignment": exception.name(sh.assignment),
                                   "can_act": acts and viewer.person.answers_for(sh.badge, sh.team)}
        return list(trips.values())

    def open_gaps(viewer: Viewer) -> int:
        q = gaps_of(viewer, lambda _comp: (func.count(Gap.id),))
        with app.db.reading() as s:
            return s.execute(q).scalar() or 0

    def fixity() -> dict | None:
        with app.db.reading() as s:
            last = s.execute(select(AuditEvent.at, AuditEvent.detail).where(AuditEvent.action == "fixity.checked")
                             .order_by(AuditEvent.seq.desc()).limit(1)).first()
        if last is None:
            return None
        detail = json.loads(last.detail)
        return {"at": local_text(last.at, app.settings.tz, MINUTE), "checked": detail.get("checked"),
                "problems": len(detail.get("findings", []))}

    def dashboard_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        # The store, the jobs, the replica and fixity are the 信息中心's; a team head's morning is
        # the team's cameras and people, and their figures are not worked out for it.
        technical = viewer.role in (Role.ADMIN, Role.AUDITOR)
        body = health(edge)[1] if technical else None
        incidents = incidents_for(app, viewer, only_open=True)
        since = app.clock.now() - timedelta(hours=24)
        docks_q = (select(DockSession, Device.serial, Officer.name)
                   .outerjoin(Device, Device.id == DockSession.device_id)
                   .outerjoin(Officer, Officer.badge == Device.owner_badge)
                   .where(DockSession.started_at >= since,
                          answered_by(viewer.person, Device.owner_badge, Officer.team))
                   .order_by(DockSession.started_at.desc()).limit(20))
        with app.db.reading() as s:
            docks = s.execute(docks_q).all()
        stale_days = app.settings.report.not_docked_days
        stale = [d for d in list_devices(app) if d["days_since_dock"] is not None and d["days_since_dock"] >= stale_days
                 and (viewer.person.unit_wide or (viewer.role is Role.TEAM_HEAD and d["owner_team"] == viewer.team))]
        self_check = [f for c in body["doctor"]["checks"] for f in c["findings"]] if body else []
        return edge.page(request, "dashboard.html", viewer, status_code=status_code, error=error, health=body,
                         self_check=self_check,
                         technical=technical, shifts=shifts(viewer), returns=awaiting_return(viewer),
                         return_article=app.policy.upload.exception.article,
                         gaps_open=open_gaps(viewer), stale=stale, stale_days=stale_days,
                         fixity=fixity() if technical else None,
                         incidents=Counter(edge.finding_label(i["code"]) for i in incidents).most_common(),
                         incident_total=len(incidents), now_local=app.clock.now().astimezone(app.settings.tz)
                         .strftime("%Y-%m-%dT%H:%M"),
                         docks=[{"serial": serial, "owner": owner, "status": ds.status, "seen": ds.files_seen,
                                 "total": ds.files_total, "failed": ds.files_failed,
                                 "started": local_text(ds.started_at, app.settings.tz, DAY_MINUTE)}
                                for ds, serial, owner in docks])

    @r.get("/")
    def dashboard(request: Request):
        return dashboard_page(request, edge.require(request, Page.DASHBOARD))

    @r.post("/shifts/{badge}/{day}/remind")
    async def shift_remind(request: Request, badge: str, day: str):
        def do(viewer: Viewer, form: dict) -> str:
            sent = remind(app, badge, parse_date(day, "the shift's day"), viewer.badge)
            return "/?reminded=" + quote(sent.name) + "#overdue"

        return await edge.act(request, Page.SHIFTS, do, "/#overdue", dashboard_page)

    @r.post("/shifts/{badge}/{day}/excuse")
    async def shift_excuse(request: Request, badge: str, day: str):
        def do(viewer: Viewer, form: dict) -> None:
            excuse_shift(app, badge, parse_date(day, "the shift's day"), str(form.get("reason", "")), viewer.badge)

        return await edge.act(request, Page.SHIFTS, do, "/#overdue", dashboard_page)

    @r.post("/trips/{badge}/{day}/return")
    async def trip_return(request: Request, badge: str, day: str):
        def do(viewer: Viewer, form: dict) -> None:
            enter_return(app, badge, parse_date(day, "the trip's day"),
                         parse_return(str(form.get("returned_at", "")), app), viewer.badge)

        return await edge.act(request, Page.TRIPS, do, "/#returns", dashboard_page)

    return r
