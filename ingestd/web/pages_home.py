"""The dashboard and `GET /healthz`."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select, text

from ingestd.db.models import Device, DockSession
from ingestd.evidence.incidents import list_incidents
from ingestd.jobs import queue
from ingestd.web.access import Page
from ingestd.web.server import Edge


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
    if out["database"]["ok"]:
        q = queue.status(app).as_dict()
        out["jobs"] = {"ok": not q["failed"], "queued": q["queued"], "held": q["held"], "running": len(q["running"]),
                       "failed": len(q["failed"]), "oldest_pending_s": q["oldest_pending_s"]}
    ok = out["database"]["ok"] and out["store"]["ok"]
    return ok, {"ok": ok, **out}


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app

    @r.get("/healthz")
    def healthz():
        ok, body = health(edge)
        return JSONResponse(body, status_code=200 if ok else 503)

    @r.get("/")
    def dashboard(request: Request):
        viewer = edge.require(request, Page.DASHBOARD)
        ok, body = health(edge)
        open_incidents = list_incidents(app, only_open=True)
        since = app.clock.now() - timedelta(hours=24)
        with app.db.reading() as s:
            docks = s.execute(select(DockSession, Device.serial).outerjoin(Device, Device.id == DockSession.device_id)
                              .where(DockSession.started_at >= since)
                              .order_by(DockSession.started_at.desc()).limit(20)).all()
        return edge.page(request, "dashboard.html", viewer, health=body,
                         incidents=Counter(i["label_zh"] for i in open_incidents).most_common(),
                         incident_total=len(open_incidents),
                         docks=[{"serial": serial, "status": ds.status, "seen": ds.files_seen,
                                 "total": ds.files_total, "failed": ds.files_failed,
                                 "started": ds.started_at.astimezone(app.settings.tz).strftime("%m-%d %H:%M")}
                                for ds, serial in docks])

    return r
