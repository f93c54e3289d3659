"""Interruptions (中断) that need a stated reason: the queue, and one gap with the clip after
it opened where the voice hint says the officer spoke, one tap for the reason and one for
the second where the reason was said (or a written note). The same `explain_gap` as
`ingestd gaps explain`: a new OCFL version of the recording and an audit entry, never a
replacement (003 第20条, 004 第15条).

At the dock itself the officer signs in with badge + PIN and explains one interruption a
screen (pages_dock_explain.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import aliased

from ingestd.db.models import Device, Gap, Recording, RecordingCompliance
from ingestd.db.states import GapStatus
from ingestd.errors import UserError
from ingestd.findings import refused
from ingestd.evidence.access import answered_by
from ingestd.localtime import CLOCK, local_text
from ingestd.timeline.explain import explain_gap
from ingestd.timeline.reasons import REASONS
from ingestd.users import Role
from ingestd.web.access import Page
from ingestd.web.labels import duration_words
from ingestd.web.server import Edge, Forbidden, NotFound
from ingestd.web.sessions import Viewer

SHOWN = 200


def gaps_of(viewer: Viewer, columns, only_open: bool | None = True):
    """The interruptions a person answers for (their own, a team head's team, all for the
    unit-wide roles), by the officer of the clip before each: the gaps page lists them and the
    dashboard counts them, so the two never disagree. `only_open`: open ones, or (False) all but
    the superseded, or (None) whatever their state."""
    comp = aliased(RecordingCompliance)
    q = (select(*columns(comp)).outerjoin(comp, comp.recording_id == Gap.before_recording_id)
         .where(answered_by(viewer.person, comp.officer_badge, comp.team)))
    if only_open is None:
        return q
    return q.where(Gap.status == GapStatus.OPEN) if only_open else q.where(Gap.status != GapStatus.SUPERSEDED)


def may_explain(viewer: Viewer, officer: str | None, team: str | None) -> bool:
    """The officer states the reason for their own gaps; the team head may for the team's."""
    return officer == viewer.badge or (viewer.role is Role.TEAM_HEAD and viewer.answers_for(officer, team))


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app
    tz = app.settings.tz
    t = edge.templates.env.globals["t"]

    def rows(viewer: Viewer, only_open: bool, gap_id: int | None = None):
        q = gaps_of(viewer, lambda comp: (Gap, Device.serial, comp.officer_badge, comp.team),
                    only_open=None if gap_id is not None else only_open).outerjoin(Device, Device.id == Gap.device_id)
        if gap_id is not None:
            q = q.where(Gap.id == gap_id)
        with app.db.reading() as s:
            return s.execute(q.order_by(Gap.start.desc(), Gap.id.desc()).limit(SHOWN)).all()

    def item(g: Gap, serial, officer, team, viewer: Viewer) -> dict:
        return {"id": g.id, "device": serial, "officer": officer, "team": team,
                "start": local_text(g.start, tz),
                "end": local_text(g.end, tz, CLOCK), "seconds": round(g.seconds),
                "duration": duration_words(g.seconds, t),
                "kind": g.kind, "status": g.status, "suggested": g.suggested_reason,
                "reason": REASONS.get(g.reason or "", ""), "explanation": g.explanation,
                "after": g.after_recording_id, "hint_s": (g.voice_hint or {}).get("at_s"),
                "can_explain": g.status == "open" and may_explain(viewer, officer, team)}

    @r.get("/gaps")
    def gaps(request: Request, all: int = 0):
        viewer = edge.require(request, Page.GAPS)
        listed = [item(*row, viewer) for row in rows(viewer, only_open=not all)]
        return edge.page(request, "gaps.html", viewer, gaps=listed, showing_all=bool(all))

    def gap_page(request: Request, viewer: Viewer, gap_id: int, status_code: int = 200, error: str | None = None):
        found = rows(viewer, only_open=False, gap_id=gap_id)
        if not found:
            raise NotFound()
        g = item(*found[0], viewer)
        after = None
        if g["after"]:
            with app.db.reading() as s:
                after = s.get(Recording, g["after"])
        return edge.page(request, "gap.html", viewer, status_code=status_code, gap=g, after=after,
                         reasons=list(REASONS.items()), error=error)

    @r.get("/gaps/{gap_id}")
    def gap(request: Request, gap_id: int):
        return gap_page(request, edge.require(request, Page.GAPS), gap_id)

    @r.post("/gaps/{gap_id}")
    async def gap_explain(request: Request, gap_id: int):
        viewer, form = await edge.posted(request, Page.GAPS)
        found = rows(viewer, only_open=False, gap_id=gap_id)
        if not found:
            raise NotFound()
        _g, _serial, officer, team = found[0]
        if not may_explain(viewer, officer, team):
            raise Forbidden("gaps")
        voice = str(form.get("voice_at", "")).strip()
        by_voice = form.get("how") == "voice"
        try:
            try:
                voice_at = float(voice) if by_voice else None
            except ValueError:
                raise refused("explain_voice_unmarked") from None
            explain_gap(app, gap_id, str(form.get("reason", "")), voice_at,
                        None if by_voice else str(form.get("note", "")).strip(), viewer.badge)
        except UserError as exc:
            return gap_page(request, viewer, gap_id, 400, edge.said(exc))
        return RedirectResponse("/gaps", status_code=303)

    return r
