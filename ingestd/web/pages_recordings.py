"""Recordings: the list (filters, keyset pages) and one recording with its player.

Who sees what is the rule the command line enforces (evidence/access.py, 002 第19条): one's
own and one's team's recordings; another team's only with an approved, unexpired request;
法制科, 信息中心 and 督察 unit-wide. It is checked on the server for the page and for every
file served; a refusal answers 403 and is an audit entry, and so is every view."""

from __future__ import annotations

import io
import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from sqlalchemy import and_, exists, or_, select

from ingestd.db.models import (RECORDING_MADE, Device, Evidence, FileViewing, Gap, Recording, Recovery,
                               RecordingCompliance)
from ingestd.audit_trail import TrailFilter, read_trail
from ingestd.db.states import GapKind
from ingestd.documents import pdf_bytes, render
from ingestd.errors import UserError
from ingestd.evidence.access import Act, Why, may, record_refusal, visible
from ingestd.evidence.metadata import document
from ingestd.localtime import local_text
from ingestd.lookup import kept
from ingestd.media.derivatives import derivative_dir
from ingestd.media.recovered import recovery_dict
from ingestd.sheets import CsvWriter
from ingestd.timeline.reasons import REASONS
from ingestd.web.access import Page, may_change, may_open
from ingestd.web.audit_view import recording_labels, shown
from ingestd.web.server import Edge, Forbidden, NotFound
from ingestd.web.sessions import Viewer

PAGE_SIZE = 50
CSV_MAX = 200_000  # a year of a large unit; more is a job for `ingestd recordings list --json`
CSV_COLUMNS = ("id", "made", "start", "duration_s", "device", "officer", "team", "name", "status", "upload_status",
               "off_duty", "proves", "case_no")
REC_ID = re.compile(r"^[0-9a-f]{64}$")
AROUND = timedelta(hours=3)  # the activity shown either side of a recording
HISTORY_SHOWN = 100  # newest first on the page; the PDF has the whole history
AUDIT_PDF_MAX = 20_000
UPLOAD_STATUSES = ("on_time", "late", "undetermined")


@dataclass(frozen=True)
class Filters:
    device: str = ""
    officer: str = ""
    team: str = ""
    since: str = ""
    until: str = ""
    upload_status: str = ""
    off_duty: bool = False
    open_gaps: bool = False
    evidence: str = ""  # entered | missing (linked to a case without 证明对象)
    case_no: str = ""

    @classmethod
    def of(cls, request: Request) -> "Filters":
        got = request.query_params
        return cls(**{f.name: (got.get(f.name) == "1") if f.type in (bool, "bool") else got.get(f.name, "").strip()
                      for f in fields(cls)})

    def as_dict(self) -> dict:
        return asdict(self)

    def query(self) -> str:
        """The filters as a query string, for the next page and the CSV link."""
        return urlencode({k: ("1" if v is True else v) for k, v in asdict(self).items() if v})


def hls_files(folder: Path) -> set[str]:
    try:
        listed = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return set()
    entries = [listed.get("init"), *listed.get("segments", [])]
    return {e["file"] for e in entries if isinstance(e, dict) and isinstance(e.get("file"), str) and "/" not in e["file"]}


def _day(value: str, field: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UserError(f"{field}: not a date (YYYY-MM-DD): {value[:20]}") from None


def allowed(edge: Edge, request: Request, viewer: Viewer, rec_id: str, act: Act = Act.VIEW) -> Recording:
    """The recording, if this person may `act` on it: else 403, audited (the unit's access
    article, 002 第19条)."""
    app = edge.app
    if not REC_ID.match(rec_id):
        raise NotFound()
    with app.db.reading() as s:
        rec = s.get(Recording, rec_id)
        if rec is None:
            raise NotFound()
        decision = may(s, viewer.person, act, rec_id, app.clock.now())
    if not decision:
        record_refusal(app, viewer.person, decision, path=request.url.path)
        raise Forbidden("recording", rec_id if decision.why is Why.OTHER_TEAM else None)
    return rec


# One viewing of a file is one audit entry: a player's many Range requests for the same file in
# the same session within this long are the same viewing.
VIEWING = timedelta(hours=1)


def played(app, viewer: Viewer, rec_id: str, kind: str) -> None:
    """Audit the viewing of a recording's video or picture (002 第19条: every 调阅 is recorded):
    one entry per session, recording and kind of file per VIEWING, never none."""
    now = app.clock.now()
    key = (viewer.token_hash, rec_id, kind)

    def fresh(row: FileViewing | None) -> bool:
        return row is not None and now - row.audited_at < VIEWING

    with app.db.reading() as s:
        if fresh(s.get(FileViewing, key)):
            return
    with app.changes.begin(viewer.badge) as ch:
        ch.lock("viewing:" + ":".join(key))
        row = ch.session.get(FileViewing, key)
        if fresh(row):
            return
        if row is None:
            ch.session.add(FileViewing(token_hash=key[0], recording_id=rec_id, kind=kind, audited_at=now))
        else:
            row.audited_at = now
        ch.record("recording.played", "recording", rec_id, file=kind, credential=viewer.kind)


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app
    tz = app.settings.tz

    def local(value: datetime | None) -> str:
        return local_text(value, tz)

    def filtered(viewer: Viewer, f: Filters):
        first, last = _day(f.since, "from"), _day(f.until, "to")
        q = (select(Recording, Device.serial, RecordingCompliance, Evidence.proves, Evidence.case_no)
             .outerjoin(Device, Device.id == Recording.device_id)
             .outerjoin(RecordingCompliance, RecordingCompliance.recording_id == Recording.id)
             .outerjoin(Evidence, Evidence.recording_id == Recording.id))
        q = q.where(visible(viewer.person))
        if f.device:
            q = q.where(Device.serial == f.device)
        if f.officer:
            q = q.where(RecordingCompliance.officer_badge == f.officer)
        if f.team:
            q = q.where(RecordingCompliance.team == f.team)
        made = sort_key(f)
        if first:
            q = q.where(made >= datetime.combine(first, time(), tz))
        if last:
            q = q.where(made < datetime.combine(last + timedelta(days=1), time(), tz))
        if f.upload_status in UPLOAD_STATUSES:
            q = q.where(RecordingCompliance.upload_status == f.upload_status)
        if f.off_duty:
            q = q.where(RecordingCompliance.off_duty.is_(True))
        if f.open_gaps:
            q = q.where(exists().where(Gap.status == "open", or_(Gap.before_recording_id == Recording.id,
                                                                  Gap.after_recording_id == Recording.id)))
        if f.evidence == "entered":
            q = q.where(Evidence.proves.is_not(None))
        elif f.evidence == "missing":
            q = q.where(Evidence.case_no.is_not(None), Evidence.proves.is_(None))
        if f.case_no:
            q = q.where(Evidence.case_no == f.case_no)
        return q

    def by_compliance(f: Filters) -> bool:
        return bool(f.officer) or f.upload_status in UPLOAD_STATUSES or f.off_duty

    def sort_key(f: Filters):
        """When the recordings were made (制作时间), as the report counts them: the time the list
        is ordered and paged by and its dates filter on. Where an officer, an upload status or
        off-duty is asked for, the compliance row's copy of it, so that its index is read in order
        instead of a month of everyone's recordings (or a team's year of late ones) being sorted."""
        return RecordingCompliance.made_at if by_compliance(f) else RECORDING_MADE

    def item(rec: Recording, serial, comp, proves, case_no) -> dict:
        return {"id": rec.id, "made": local(rec.start_corrected or rec.start), "start": local(rec.start),
                "duration_s": rec.duration_s, "device": serial,
                "name": rec.original_name, "status": rec.status,
                "officer": comp.officer_badge if comp else None, "team": comp.team if comp else None,
                "upload_status": comp.upload_status if comp else None, "off_duty": bool(comp and comp.off_duty),
                "proves": proves, "case_no": case_no}

    def asked(request: Request):
        """The person, their filters, and the query for them (None and a page saying what is wrong)."""
        viewer = edge.require(request, Page.RECORDINGS)
        f = Filters.of(request)
        try:
            return viewer, f, filtered(viewer, f).order_by(sort_key(f).desc(), Recording.id.desc()), None
        except UserError as exc:
            return viewer, f, None, edge.page(request, "message.html", viewer, status_code=400, message=str(exc))

    @r.get("/recordings")
    def recordings(request: Request, after: str = ""):
        viewer, f, q, refused = asked(request)
        if refused:
            return refused
        column = sort_key(f)
        if after and "|" in after:  # keyset: the sort time and id of the last row shown
            at, rid = after.split("|", 1)
            try:
                key = datetime.fromisoformat(at)
            except ValueError:
                key = None
            if key is not None and REC_ID.match(rid):
                q = q.where(or_(column < key, and_(column == key, Recording.id < rid)))
        with app.db.reading() as s:
            rows = s.execute(q.limit(PAGE_SIZE + 1)).all()
        shown = rows[:PAGE_SIZE]
        more = None
        if len(rows) > PAGE_SIZE:
            last_rec, last_comp = shown[-1][0], shown[-1][2]
            at = last_comp.made_at if by_compliance(f) else (last_rec.start_corrected or last_rec.start)
            more = f"{at.isoformat()}|{last_rec.id}" if at is not None else None
        return edge.page(request, "recordings.html", viewer, items=[item(*row) for row in shown], more=more,
                         filters=f.as_dict(), query=f.query(), statuses=UPLOAD_STATUSES,
                         can_annotate=may_change(viewer.role, Page.EVIDENCE, viewer.kind),
                         entered=request.query_params.get("entered"))

    @r.get("/recordings.csv")
    def recordings_csv(request: Request):
        """The filtered list whole (not one page), as a spreadsheet opens it: UTF-8 with a BOM."""
        viewer, f, q, refused = asked(request)
        if refused:
            return refused
        with app.db.reading() as s:
            rows = [item(*row) for row in s.execute(q.limit(CSV_MAX))]
        with app.changes.begin(viewer.badge) as ch:
            ch.record("recordings.downloaded", "recordings", "csv", filters=f.as_dict(), rows=len(rows))
        out = io.StringIO()
        out.write("\ufeff")
        writer = CsvWriter(out)
        writer.writerow(CSV_COLUMNS)
        for it in rows:
            writer.writerow([it[k] for k in CSV_COLUMNS])
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="recordings.csv"'})

    def around(rec: Recording) -> list[dict]:
        """The camera's activity around this recording: the clips before and after it and the
        interruptions between them, with their status and the voice hint."""
        if rec.device_id is None or rec.start is None:
            return []
        lo, hi = rec.start - AROUND, (rec.end or rec.start) + AROUND
        with app.db.reading() as s:
            clips = s.execute(select(Recording).where(Recording.device_id == rec.device_id, Recording.start >= lo,
                                                      Recording.start <= hi, Recording.status != "deleted")
                              .order_by(Recording.start).limit(40)).scalars().all()
            gaps = s.execute(select(Gap).where(Gap.device_id == rec.device_id, Gap.start >= lo, Gap.start <= hi,
                                               Gap.status != "superseded").order_by(Gap.start).limit(40)).scalars().all()
            # A damaged clip runs as long as what was recovered of it.
            spans = dict(s.execute(select(Recovery.recording_id, Recovery.span_s).where(
                Recovery.recording_id.in_([c.id for c in clips if c.duration_s is None]))).all())
        rows = [{"at": c.start, "kind": "clip", "id": c.id, "label": c.original_name,
                 "seconds": c.duration_s if c.duration_s is not None else spans.get(c.id),
                 "this": c.id == rec.id} for c in clips]
        rows += [{"at": g.start, "kind": "gap", "id": g.id, "label": g.status, "seconds": g.seconds,
                  "reason": REASONS.get(g.reason or "", ""), "hint_s": (g.voice_hint or {}).get("at_s"),
                  "after": g.after_recording_id,
                  "cut_off": g.kind == GapKind.AT_DAMAGED_FILE and not g.after_recording_id} for g in gaps]
        return [{**row, "at": local(row["at"])} for row in sorted(rows, key=lambda row: row["at"])]

    @r.get("/recordings/{rec_id}")
    def recording(request: Request, rec_id: str):
        viewer = edge.require(request, Page.RECORDINGS)
        rec = allowed(edge, request, viewer, rec_id)
        with app.changes.begin(viewer.badge) as ch:
            ch.record("recording.viewed", "recording", rec_id, via="web")
        with app.db.reading() as s:
            comp = s.get(RecordingCompliance, rec_id)
            serial = s.get(Device, rec.device_id).serial if rec.device_id else None
            ev = s.get(Evidence, rec_id)
            history = shown(s, read_trail(s, TrailFilter(subject=rec_id), tz, HISTORY_SHOWN), tz, edge.language,
                            edge.templates.env.globals["t"]["system_actor"])
            annotate = may(s, viewer.person, Act.ANNOTATE, rec_id, app.clock.now(),
                           (comp.officer_badge, comp.team) if comp else (None, None))
            recovery = s.get(Recovery, rec_id)
            where = kept(s, rec_id)
        folder = derivative_dir(app, rec_id)
        return edge.page(request, "recording.html", viewer, rec=rec, comp=comp, serial=serial,
                         start=local(rec.start), end=local(rec.end), deadline=local(comp.deadline) if comp else "",
                         has_proxy=(folder / "proxy" / "proxy.mp4").is_file(),
                         has_hls=(folder / "hls" / "index.m3u8").is_file(),
                         has_contact=(folder / "thumbnails" / "contact.jpg").is_file(),
                         evidence={**document(rec, ev, serial, tz), "entered_at": local(ev.entered_at)}
                         if ev else None,
                         can_enter=rec.status != "deleted" and may_change(viewer.role, Page.EVIDENCE, viewer.kind)
                         and annotate.allowed,
                         long_term=app.policy.long_term.categories, around=around(rec),
                         recovery=recovery_dict(recovery, rec.original_name, tz) if recovery else None,
                         kept=where, kept_since=local(where.since) if where.since else "",
                         history=history, audit_pdf=may_open(viewer.role, Page.AUDIT, viewer.kind))

    @r.get("/recordings/{rec_id}/audit.pdf")
    def recording_audit_pdf(request: Request, rec_id: str):
        """A recording's whole audit history as a PDF, each entry named and with its signed
        text, for the case file or an inspection."""
        viewer = edge.require(request, Page.AUDIT)
        rec = allowed(edge, request, viewer, rec_id)
        with app.db.reading() as s:
            entries = shown(s, read_trail(s, TrailFilter(subject=rec_id), tz, AUDIT_PDF_MAX), tz, "zh-CN", "系统")
            label = recording_labels(s, {rec_id}, tz).get(rec_id, rec.original_name)
        with app.changes.begin(viewer.badge) as ch:
            ch.record("recording.audit_downloaded", "recording", rec_id, entries=len(entries))
        pdf = pdf_bytes(render("audit_history.html.j2", label=label, recording_id=rec_id,
                               dock=app.settings.dock_name, made_at=local(app.clock.now()),
                               made_by=f"{viewer.name}（{viewer.badge}）", entries=entries))
        return Response(pdf, media_type="application/pdf", headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''audit-{rec_id[:12]}.pdf"})

    FILES = {"proxy.mp4": ("proxy/proxy.mp4", "video/mp4"), "poster.jpg": ("thumbnails/poster.jpg", "image/jpeg"),
             "contact.jpg": ("thumbnails/contact.jpg", "image/jpeg")}

    @r.get("/recordings/{rec_id}/{name}")
    def recording_file(request: Request, rec_id: str, name: str):
        """The proxy (with Range requests, for seeking) and thumbnails: names from a fixed list,
        so no part of the path a client sends is ever joined onto a folder. Nothing of it stays
        in the browser's cache (the dock's screen is shared): the frame's no-store holds."""
        viewer = edge.require(request, Page.RECORDINGS)
        if name not in FILES:
            raise NotFound()
        allowed(edge, request, viewer, rec_id, Act.PLAY)
        relative, media_type = FILES[name]
        path = derivative_dir(app, rec_id) / relative
        if not path.is_file():
            raise NotFound()
        played(app, viewer, rec_id, name.split(".")[0])
        return FileResponse(path, media_type=media_type)

    @r.get("/recordings/{rec_id}/hls/{name}")
    def recording_hls(request: Request, rec_id: str, name: str):
        """HLS where the proxy is missing: the playlist and the segments its signed manifest lists,
        nothing else from that folder."""
        viewer = edge.require(request, Page.RECORDINGS)
        allowed(edge, request, viewer, rec_id, Act.PLAY)
        folder = derivative_dir(app, rec_id) / "hls"
        if name != "index.m3u8" and name not in hls_files(folder):
            raise NotFound()
        path = folder / name
        if not path.is_file():
            raise NotFound()
        played(app, viewer, rec_id, "hls")
        kind = "application/vnd.apple.mpegurl" if name.endswith(".m3u8") else (
            "video/mp4" if name.endswith((".mp4", ".m4s")) else "video/mp2t")
        return FileResponse(path, media_type=kind)

    return r
