"""The dock screen (`/dock`, full-screen on the appliance): each camera docked now, its
officer, files n/N, MB/s and time left, then 可以拔出 the moment its session is released,
and the files not taken in plain words. Live through server-sent events (`/dock/events`,
htmx's SSE extension); without JavaScript the page reloads itself every few seconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import or_, select

from ingestd.db.models import Device, DockSession, SourceFile, User
from ingestd.findings import Finding
from ingestd.web.access import Page
from ingestd.web.server import Edge

SHOWN_AFTER_END = timedelta(minutes=10)  # a released camera stays on screen while its officer is there
POLL_S = 0.5
KEEPALIVE_S = 15.0
STREAM_FOR_S = 30 * 60  # then the browser reconnects (EventSource does so by itself)


class DockState(StrEnum):
    COPYING = "copying"
    RELEASED = "released"  # 可以拔出
    INTERRUPTED = "interrupted"


@dataclass(frozen=True)
class DockView:
    session: str
    serial: str
    officer: str | None
    state: DockState
    seen: int
    total: int | None
    mb_per_s: float | None
    seconds_left: float | None
    not_taken: list[str]


def docked_now(edge: Edge) -> list[DockView]:
    app = edge.app
    now = app.clock.now()
    with app.db.reading() as s:
        rows = s.execute(
            select(DockSession, Device.serial, User.name)
            .outerjoin(Device, Device.id == DockSession.device_id)
            .outerjoin(User, User.badge == Device.owner_badge)
            .where(or_(DockSession.status == "running", DockSession.finished_at >= now - SHOWN_AFTER_END,
                       DockSession.released_at >= now - SHOWN_AFTER_END))
            .order_by(DockSession.started_at)).all()
        failed: dict[str, list[str]] = {}
        ids = [ds.id for ds, _serial, _name in rows]
        if ids:
            for sid, rel, code in s.execute(select(SourceFile.dock_session_id, SourceFile.rel_path, SourceFile.code)
                                            .where(SourceFile.dock_session_id.in_(ids),
                                                   SourceFile.outcome == "failed")):
                failed.setdefault(sid, []).append(f"{rel}: {Finding(code or 'read_failed', {'path': rel}).kind.label_zh}")
    out = []
    for ds, serial, name in rows:
        elapsed = max((now - ds.started_at).total_seconds(), 0.001)
        state = DockState.COPYING if ds.status == "running" else \
            DockState.RELEASED if ds.status == "released" else DockState.INTERRUPTED
        rate = ds.bytes_ingested / elapsed / 1e6 if state is DockState.COPYING else None
        left = None
        if state is DockState.COPYING and ds.files_total and ds.files_seen:
            left = elapsed / ds.files_seen * (ds.files_total - ds.files_seen)
        out.append(DockView(ds.id, serial or "?", name, state, ds.files_seen, ds.files_total,
                            round(rate, 1) if rate is not None else None,
                            round(left) if left is not None else None, failed.get(ds.id, [])[:20]))
    return out


def router(edge: Edge) -> APIRouter:
    r = APIRouter()

    def panel(request: Request) -> str:
        return edge.templates.get_template("_dock_panel.html").render(
            docks=docked_now(edge), t=edge.templates.env.globals["t"])

    @r.get("/dock")
    def dock_screen(request: Request):
        viewer = edge.require(request, Page.DOCK)
        return edge.page(request, "dock.html", viewer, panel=panel(request))

    @r.get("/dock/panel")
    def dock_panel(request: Request):
        edge.require(request, Page.DOCK)
        from fastapi.responses import HTMLResponse

        return HTMLResponse(panel(request))

    @r.get("/dock/events")
    async def dock_events(request: Request):
        edge.require(request, Page.DOCK)

        async def stream():
            last, quiet, lived = None, 0.0, 0.0
            while lived < STREAM_FOR_S and not await request.is_disconnected():
                html = await anyio.to_thread.run_sync(panel, request)
                if html != last:
                    last, quiet = html, 0.0
                    yield "event: docks\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
                elif quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield ": keepalive\n\n"
                await asyncio.sleep(POLL_S)
                quiet += POLL_S
                lived += POLL_S

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return r
