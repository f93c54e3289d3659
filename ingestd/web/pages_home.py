"""The dashboard and `GET /healthz`."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, or_, select, text

from ingestd.compliance.due import due_soon, is_overdue, overdue
from ingestd.db.models import AuditEvent, Device, DockSession, Gap, Officer, Shift
from ingestd.devices import list_devices
from ingestd.evidence.access import answered_by
from ingestd.forecast import recent_forecast
from ingestd.jobs import queue
from ingestd.localtime import DAY_MINUTE, MINUTE, local_text
from ingestd.replica.status import replica_status
from ingestd.users import Role
from ingestd.web.access import Page
from ingestd.web.pages_gaps import gaps_of
from ingestd.web.pages_requests import incidents_for
from ingestd.web.server import Edge
from ingestd.web.sessions import Viewer

SHOWN = 100


def health(edge: Edge) -> tuple[bool, dict]:
    """Database reachable, store present with its free space, and the job queue's state."""
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
        """Shifts overdue, and those whose deadline falls within the reminder window: the
        team's for a team head, one's own for an officer, all for the unit-wide roles."""
        now = app.clock.now()
        soon = now + timedelta(minutes=app.settings.alerts.remind_before_minutes)
        q = (select(Shift, Officer.name).outerjoin(Officer, Officer.badge == Shift.badge)
             .where(or_(overdue(now), due_soon(now, soon)))
             .order_by(Shift.deadline).limit(SHOWN))
        q = q.where(answered_by(viewer.person, Shift.badge, Shift.team))
        out: dict[str, list[dict]] = {"overdue": [], "due_soon": []}
        with app.db.reading() as s:
            for sh, name in s.execute(q):
                out["overdue" if is_overdue(sh, now) else "due_soon"].append(
                    {"day": sh.day.isoformat(), "badge": sh.badge, "name": name, "team": sh.team, "camera": sh.camera,
                     "deadline": local_text(sh.deadline, app.settings.tz, DAY_MINUTE),
                     "article": sh.article})
        return out

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

    @r.get("/")
    def dashboard(request: Request):
        viewer = edge.require(request, Page.DASHBOARD)
        ok, body = health(edge)
        incidents = incidents_for(app, viewer, only_open=True)
        since = app.clock.now() - timedelta(hours=24)
        with app.db.reading() as s:
            docks = s.execute(select(DockSession, Device.serial).outerjoin(Device, Device.id == DockSession.device_id)
                              .where(DockSession.started_at >= since)
                              .order_by(DockSession.started_at.desc()).limit(20)).all()
        stale_days = app.settings.report.not_docked_days
        stale = [d for d in list_devices(app) if d["days_since_dock"] is not None and d["days_since_dock"] >= stale_days
                 and (viewer.person.unit_wide or viewer.role is Role.TEAM_HEAD)]
        return edge.page(request, "dashboard.html", viewer, health=body, shifts=shifts(viewer),
                         gaps_open=open_gaps(viewer), stale=stale, stale_days=stale_days, fixity=fixity(),
                         incidents=Counter(edge.finding_label(i["code"]) for i in incidents).most_common(),
                         incident_total=len(incidents),
                         docks=[{"serial": serial, "status": ds.status, "seen": ds.files_seen,
                                 "total": ds.files_total, "failed": ds.files_failed,
                                 "started": local_text(ds.started_at, app.settings.tz, DAY_MINUTE)}
                                for ds, serial in docks])

    return r
