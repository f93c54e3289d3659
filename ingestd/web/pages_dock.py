"""The dock screen (`/dock`, full-screen on the appliance): one card per camera docked now,
newest first, with its officer's name and what comes next: progress and time left by bytes
while it copies, then 可以拔出 the moment its session is released, with the interruptions
awaiting the officer's 说明 and the damaged files counted, and one big 说明 button.

From the dock's own screen (`[web] kiosk_addresses`) the page is a kiosk: no log-in, no menu,
no expiry; an officer's badge + PIN session there ends when they return to it. Elsewhere a
signed-in person may watch it in the console. Live through server-sent events
(`/dock/events`, htmx's SSE extension): a stream ends after half an hour and the browser
opens the next; a broken one is said in big letters until it is back. Without JavaScript the
page reloads itself every few seconds."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from sqlalchemy import func, or_, select

from ingestd.camera_admission import refusals
from ingestd.db.models import Device, DockSession, Gap, Officer, SourceFile, User
from ingestd.db.states import DockStatus, GapStatus
from ingestd.devices import CameraState, camera_state
from ingestd.ingest import progress
from ingestd.web import sessions
from ingestd.web.access import Page
from ingestd.web.server import Edge
from ingestd.web.sessions import COOKIE

SHOWN_AFTER_END = timedelta(minutes=10)  # a released camera stays on screen while its officer is there
POLL_S = 0.5
KEEPALIVE_S = 15.0
STREAM_FOR = timedelta(minutes=30)  # then the browser opens the next stream (EventSource does so by itself)
NOT_TAKEN_SHOWN = 20


@dataclass(frozen=True)
class CameraCard:
    """One camera on the dock screen: its latest dock only."""

    session: str
    serial: str
    officer_badge: str | None
    officer: str | None  # the name; the badge only where no name is known
    state: CameraState
    files_seen: int
    files_total: int | None
    mb_done: float | None
    mb_total: float | None
    mb_per_s: float | None
    seconds_left: int | None
    open_gaps: int  # interruptions of this camera awaiting a 说明
    damaged: int  # files of this dock stored but damaged (each awaits a 书面说明)
    not_taken: list[tuple[str, str]]  # (file, finding code): worded in the console's language

    @property
    def needs_officer(self) -> bool:
        return self.open_gaps > 0 or self.damaged > 0


def docked_now(edge: Edge, only_this_dock: bool) -> list[CameraCard]:
    """The cards, newest dock first; a camera docked twice in ten minutes shows its latest."""
    app = edge.app
    now = app.clock.now()
    q = (select(DockSession, Device.serial, Device.owner_badge, User.name, Officer.name)
         .outerjoin(Device, Device.id == DockSession.device_id)
         .outerjoin(User, User.badge == Device.owner_badge)
         .outerjoin(Officer, Officer.badge == Device.owner_badge)
         .where(or_(DockSession.status == DockStatus.RUNNING, DockSession.finished_at >= now - SHOWN_AFTER_END,
                    DockSession.released_at >= now - SHOWN_AFTER_END))
         .order_by(DockSession.started_at.desc(), DockSession.id))
    if only_this_dock:
        q = q.where(DockSession.dock == app.settings.dock_name)
    with app.db.reading() as s:
        latest, seen_devices = [], set()
        for row in s.execute(q).all():
            key = row[0].device_id if row[0].device_id is not None else row[0].id
            if key not in seen_devices:
                seen_devices.add(key)
                latest.append(row)
        ids = [ds.id for ds, *_ in latest]
        devices = [ds.device_id for ds, *_ in latest if ds.device_id is not None]
        failed: dict[str, list[tuple[str, str]]] = {}
        gaps: dict[int, int] = {}
        if ids:
            for sid, rel, code in s.execute(select(SourceFile.dock_session_id, SourceFile.rel_path, SourceFile.code)
                                            .where(SourceFile.dock_session_id.in_(ids),
                                                   SourceFile.outcome == "failed")):
                failed.setdefault(sid, []).append((rel, code or "read_failed"))
        if devices:
            gaps = dict(s.execute(select(Gap.device_id, func.count()).where(
                Gap.device_id.in_(devices), Gap.status == GapStatus.OPEN).group_by(Gap.device_id)).all())
    return [_card(ds, serial, owner, user_name or roster_name, gaps.get(ds.device_id, 0), failed.get(ds.id, []), now)
            for ds, serial, owner, user_name, roster_name in latest]


def _card(ds: DockSession, serial: str | None, owner: str | None, name: str | None, open_gaps: int,
          failed: list[tuple[str, str]], now) -> CameraCard:
    state = camera_state(ds.status)
    mb_done = mb_total = rate = left = None
    if state is CameraState.COPYING:
        elapsed = max((now - ds.started_at).total_seconds(), 0.001)
        moving = progress.now(ds.id)  # this process is copying it: the bytes read so far
        done = moving.done if moving is not None else (ds.bytes_seen or 0)
        read = moving.read if moving is not None else ds.bytes_ingested
        mb_done = done / 1e6
        mb_total = ds.bytes_total / 1e6 if ds.bytes_total is not None else None
        per_s = read / elapsed
        rate = per_s / 1e6 if read else None
        if ds.bytes_total is not None and per_s > 0:
            left = round(max(ds.bytes_total - done, 0) / per_s)
    return CameraCard(ds.id, serial or "?", owner, name or owner, state, ds.files_seen, ds.files_total,
                      round(mb_done, 1) if mb_done is not None else None,
                      round(mb_total, 1) if mb_total is not None else None,
                      round(rate, 1) if rate is not None else None, left, open_gaps, ds.files_damaged or 0,
                      failed[:NOT_TAKEN_SHOWN])


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app

    def panel(request: Request) -> str:
        kiosk = edge.at_kiosk(request)
        # What was plugged in and not taken, while its officer may still be standing there.
        refused = refusals(app, since=app.clock.now() - SHOWN_AFTER_END,
                           dock=app.settings.dock_name if kiosk else None)
        return edge.templates.get_template("_dock_panel.html").render(
            docks=docked_now(edge, only_this_dock=kiosk), refused=refused, kiosk=kiosk,
            t=edge.templates.env.globals["t"])

    def may_watch(request: Request) -> None:
        """The kiosk needs no one signed in; anywhere else the console's own rule."""
        if not edge.at_kiosk(request):
            edge.require(request, Page.DOCK)

    @r.get("/dock")
    def dock_screen(request: Request):
        if not edge.at_kiosk(request):
            viewer = edge.require(request, Page.DOCK)
            return edge.page(request, "dock.html", viewer, panel=panel(request), kiosk=False)
        # Back at the dock screen: an officer's PIN session on it is over (done, or left idle).
        viewer = edge.viewer(request)
        response = edge.page(request, "dock.html", None, panel=panel(request), kiosk=True)
        if viewer is not None and viewer.kind == "pin":
            sessions.sign_out(app, viewer)
            request.state.renew = None
            response.delete_cookie(COOKIE, path="/")
        return response

    @r.get("/dock/panel")
    def dock_panel(request: Request):
        may_watch(request)
        return HTMLResponse(panel(request))

    @r.get("/dock/events")
    async def dock_events(request: Request):
        may_watch(request)
        request.state.renew = None  # a stream is not a person's action: it keeps no session alive
        opened = app.clock.now()

        async def stream():
            last, quiet = None, 0.0
            while app.clock.now() - opened < STREAM_FOR and not await request.is_disconnected():
                html = await anyio.to_thread.run_sync(panel, request)
                if html != last:
                    last, quiet = html, 0.0
                    yield "event: docks\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
                elif quiet >= KEEPALIVE_S:
                    quiet = 0.0
                    yield ": keepalive\n\n"
                await asyncio.sleep(POLL_S)
                quiet += POLL_S

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    return r
