"""Recordings: the list (filters, keyset pages) and one recording with its player.

Who sees what is the rule the command line enforces (evidence/access.py, 002 第19条): one's
own and one's team's recordings; another team's only with an approved, unexpired request;
法制科, 信息中心 and 督察 unit-wide. It is checked on the server for the page and for every
file served; a refusal answers 403 and is an audit entry, and so is every view."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import and_, or_, select

from ingestd.db.models import AuditEvent, Device, Recording, RecordingCompliance
from ingestd.errors import UserError
from ingestd.evidence.access import authorise
from ingestd.media.derivatives import derivative_dir
from ingestd.users import UNIT_WIDE, require_user
from ingestd.web.access import Page
from ingestd.web.server import Edge, Forbidden, NotFound
from ingestd.web.sessions import Viewer

PAGE_SIZE = 50
REC_ID = re.compile(r"^[0-9a-f]{64}$")
UPLOAD_STATUSES = ("on_time", "late", "undetermined")


def _scope(q, viewer: Viewer):
    """The recordings a person sees without asking (the rest needs an access request)."""
    if viewer.role in UNIT_WIDE:
        return q
    own = RecordingCompliance.officer_badge == viewer.badge
    return q.where(or_(own, RecordingCompliance.team == viewer.team) if viewer.team else own)


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{field}: not a date (YYYY-MM-DD): {value[:20]}") from None


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app
    tz = app.settings.tz

    def local(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    @r.get("/recordings")
    def recordings(request: Request, device: str = "", officer: str = "", team: str = "", since: str = "",
                   until: str = "", upload_status: str = "", after: str = ""):
        viewer = edge.require(request, Page.RECORDINGS)
        try:
            first, last = _day(since, "from"), _day(until, "to")
        except UserError as exc:
            return edge.page(request, "message.html", viewer, status_code=400, message=str(exc))
        q = (select(Recording, Device.serial, RecordingCompliance)
             .outerjoin(Device, Device.id == Recording.device_id)
             .outerjoin(RecordingCompliance, RecordingCompliance.recording_id == Recording.id))
        q = _scope(q, viewer)
        if device:
            q = q.where(Device.serial == device)
        if officer:
            q = q.where(RecordingCompliance.officer_badge == officer)
        if team:
            q = q.where(RecordingCompliance.team == team)
        if first:
            q = q.where(Recording.start >= datetime.combine(first, time(), tz))
        if last:
            q = q.where(Recording.start < datetime.combine(last + timedelta(days=1), time(), tz))
        if upload_status in UPLOAD_STATUSES:
            q = q.where(RecordingCompliance.upload_status == upload_status)
        if after and "|" in after:  # keyset: start time and id of the last row shown
            at, rid = after.split("|", 1)
            try:
                key = datetime.fromisoformat(at)
            except ValueError:
                key = None
            if key is not None and REC_ID.match(rid):
                q = q.where(or_(Recording.start < key, and_(Recording.start == key, Recording.id < rid)))
        q = q.order_by(Recording.start.desc(), Recording.id.desc()).limit(PAGE_SIZE + 1)
        with app.db.reading() as s:
            rows = s.execute(q).all()
        shown = rows[:PAGE_SIZE]
        items = [{"id": rec.id, "start": local(rec.start), "duration_s": rec.duration_s, "device": serial,
                  "name": rec.original_name, "status": rec.status,
                  "officer": comp.officer_badge if comp else None, "team": comp.team if comp else None,
                  "upload_status": comp.upload_status if comp else None} for rec, serial, comp in shown]
        more = None
        if len(rows) > PAGE_SIZE and shown[-1][0].start is not None:
            more = f"{shown[-1][0].start.isoformat()}|{shown[-1][0].id}"
        filters = {"device": device, "officer": officer, "team": team, "since": since, "until": until,
                   "upload_status": upload_status}
        return edge.page(request, "recordings.html", viewer, items=items, more=more, filters=filters,
                         statuses=UPLOAD_STATUSES)

    def allowed(request: Request, viewer: Viewer, rec_id: str) -> Recording:
        """The recording, if this person may see it: else 403, audited (002 第19条)."""
        if not REC_ID.match(rec_id):
            raise NotFound()
        with app.db.reading() as s:
            rec = s.get(Recording, rec_id)
            if rec is None:
                raise NotFound()
            try:
                authorise(s, require_user(s, viewer.badge), [rec_id], "view", app.clock.now())
            except UserError:
                refused = True
            else:
                refused = False
        if refused:
            with app.changes.begin(viewer.badge) as ch:
                ch.record("recording.view_refused", "recording", rec_id, path=request.url.path,
                          article=app.policy.cite("access"))
            raise Forbidden("recording")
        return rec

    @r.get("/recordings/{rec_id}")
    def recording(request: Request, rec_id: str):
        viewer = edge.require(request, Page.RECORDINGS)
        rec = allowed(request, viewer, rec_id)
        with app.changes.begin(viewer.badge) as ch:
            ch.record("recording.viewed", "recording", rec_id, via="web")
        with app.db.reading() as s:
            comp = s.get(RecordingCompliance, rec_id)
            serial = s.get(Device, rec.device_id).serial if rec.device_id else None
            history = s.execute(select(AuditEvent).where(AuditEvent.subject_id == rec_id)
                                .order_by(AuditEvent.seq.desc()).limit(100)).scalars().all()
        folder = derivative_dir(app, rec_id)
        return edge.page(request, "recording.html", viewer, rec=rec, comp=comp, serial=serial,
                         start=local(rec.start), end=local(rec.end), deadline=local(comp.deadline) if comp else "",
                         has_proxy=(folder / "proxy" / "proxy.mp4").is_file(),
                         has_contact=(folder / "thumbnails" / "contact.jpg").is_file(),
                         history=[{"at": local(e.at), "actor": e.actor, "action": e.action} for e in history])

    FILES = {"proxy.mp4": ("proxy/proxy.mp4", "video/mp4"), "poster.jpg": ("thumbnails/poster.jpg", "image/jpeg"),
             "contact.jpg": ("thumbnails/contact.jpg", "image/jpeg")}

    @r.get("/recordings/{rec_id}/{name}")
    def recording_file(request: Request, rec_id: str, name: str):
        """The proxy (with Range requests, for seeking) and thumbnails: names from a fixed list,
        so no part of the path a client sends is ever joined onto a folder."""
        viewer = edge.require(request, Page.RECORDINGS)
        if name not in FILES:
            raise NotFound()
        allowed(request, viewer, rec_id)
        relative, media_type = FILES[name]
        path = derivative_dir(app, rec_id) / relative
        if not path.is_file():
            raise NotFound()
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})

    return r
