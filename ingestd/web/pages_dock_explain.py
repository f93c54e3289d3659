"""The officer at the dock screen: badge + PIN, then what awaits their 说明 one item a screen,
the clip, the reason and 保存 visible together, the next item after each, and "全部说明完毕，
可以离开" at the end.

An interruption (中断) is explained by a reason and either the second of the following clip
where the officer said it (003 第20条, 004 第15条), marked by playing the clip and tapping
there (never pre-filled: a second no one marked is refused), or in writing. A recording cut
off by damage ("文件被截断") has no clip to point into: its written explanation is also the
damaged file's 书面说明 (002 第16条), taken in the same step. A damaged file with no
interruption of its own is a step of its own. The same `explain_gap` and `explain_incident`
as the command line; the queue is built from what the person may explain, so a step not in
it is not theirs.

The sign-in is taken only at the dock's own screen (`[web] kiosk_addresses`), into a short
session that reaches only the dock, the interruptions and the officer's own recordings; it
ends when the officer taps 退出 or 完成, or leaves the screen untouched for `kiosk_idle_s`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select

from ingestd.db.models import Device, Gap, Recording, User
from ingestd.db.states import GapKind
from ingestd.errors import UserError
from ingestd.evidence.incidents import explain_incident
from ingestd.findings import refused
from ingestd.localtime import CLOCK, local_text
from ingestd.timeline.explain import explain_gap
from ingestd.timeline.reasons import REASONS
from ingestd.web import sessions
from ingestd.web.access import Page
from ingestd.web.pages_gaps import gaps_of, may_explain
from ingestd.web.pages_requests import incidents_for
from ingestd.web.server import Edge, Forbidden, set_session_cookie
from ingestd.web.sessions import LOGIN_CSRF_COOKIE, LoginOutcome, Viewer

QUEUE_MAX = 100


class StepKind(StrEnum):
    GAP = "gap"
    CUT_OFF = "cut_off"  # a recording cut off by damage: written, and the damaged file's 书面说明 with it
    DAMAGED = "damaged"  # a damaged file's 书面说明 alone


@dataclass(frozen=True)
class Step:
    key: str  # g<gap id> or i<incident id>: the address of the step
    kind: StepKind
    gap_id: int | None
    incident_ids: tuple[int, ...]  # the damaged-file incidents this step's written note closes
    serial: str | None
    start: datetime | None
    end: datetime | None
    seconds: float | None
    file: str | None  # the damaged or cut-off recording's name
    after: Recording | None  # the clip to play (where the officer said the reason)
    hint_s: float | None  # where the voice hint heard speech: the player starts a little before
    suggested: str | None


@dataclass(frozen=True)
class Chosen:
    """What the officer picked, kept on the form when it is refused."""

    reason: str = ""
    how: str = ""
    note: str = ""


def queue(edge: Edge, viewer: Viewer) -> list[Step]:
    """What awaits this person's 说明, oldest first: their open interruptions they may
    explain, then damaged files of their recordings that no interruption step covers."""
    app = edge.app
    with app.db.reading() as s:
        gaps = s.execute(gaps_of(viewer, lambda comp: (Gap, Device.serial, comp.officer_badge, comp.team))
                         .outerjoin(Device, Device.id == Gap.device_id)
                         .order_by(Gap.start, Gap.id).limit(QUEUE_MAX)).all()
        gaps = [(g, serial) for g, serial, officer, team in gaps if may_explain(viewer, officer, team)]
        wanted = {g.after_recording_id for g, _ in gaps if g.after_recording_id} | \
            {g.before_recording_id for g, _ in gaps}
        recordings = {r.id: r for r in s.execute(select(Recording).where(Recording.id.in_(wanted))).scalars()} \
            if wanted else {}
    incidents = [i for i in incidents_for(app, viewer, only_open=True) if i["recording_id"]]
    by_recording: dict[str, list[dict]] = {}
    for i in incidents:
        by_recording.setdefault(i["recording_id"], []).append(i)
    steps: list[Step] = []
    covered: set[int] = set()
    for g, serial in gaps:
        cut_off = g.kind == GapKind.AT_DAMAGED_FILE and g.after_recording_id is None
        closes = tuple(i["id"] for i in by_recording.get(g.before_recording_id, [])) if cut_off else ()
        covered.update(closes)
        before = recordings.get(g.before_recording_id)
        steps.append(Step(f"g{g.id}", StepKind.CUT_OFF if cut_off else StepKind.GAP, g.id, closes, serial, g.start,
                          g.end, g.seconds, before.original_name if before else None,
                          recordings.get(g.after_recording_id) if g.after_recording_id else None,
                          (g.voice_hint or {}).get("at_s"), g.suggested_reason))
    for i in incidents:
        if i["id"] not in covered:
            steps.append(Step(f"i{i['id']}", StepKind.DAMAGED, None, (i["id"],), i["device"], None, None, None,
                              i["file"], None, None, None))
    return steps


def _next_after(steps: list[Step], key: str | None) -> int:
    """The index of the step after `key` (下一处), wrapping round; 0 without one."""
    keys = [s.key for s in steps]
    return (keys.index(key) + 1) % len(keys) if key in keys else 0


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app
    tz = app.settings.tz
    t = edge.templates.env.globals["t"]

    def step_view(step: Step) -> dict:
        return {"key": step.key, "kind": step.kind.value, "serial": step.serial, "file": step.file,
                "start": local_text(step.start, tz, CLOCK), "end": local_text(step.end, tz, CLOCK),
                "seconds": step.seconds,
                "after": step.after, "start_at": max((step.hint_s or 0) - 2, 0),
                "suggested": step.suggested}

    def explain_page(request: Request, viewer: Viewer, after: str | None = None, saved: str | None = None,
                     key: str | None = None, chosen: Chosen = Chosen(), error: str | None = None,
                     status_code: int = 200):
        steps = queue(edge, viewer)
        if not steps:
            return edge.page(request, "dock_done.html", viewer, status_code=status_code, kiosk=True,
                             saved=saved is not None, idle_s=app.settings.web.kiosk_idle_s)
        keys = [s.key for s in steps]
        index = keys.index(key) if key in keys else _next_after(steps, after)
        step = steps[index]
        return edge.page(request, "dock_explain.html", viewer, status_code=status_code, kiosk=True,
                         step=step_view(step), number=index + 1, count=len(steps), saved=saved is not None,
                         reasons=list(REASONS.items()), chosen=chosen, error=error,
                         next_key=step.key if len(steps) > 1 else None,
                         damaged_article=app.policy.cite("damaged_file"),
                         idle_s=app.settings.web.kiosk_idle_s)

    @r.get("/dock/explain")
    def explain(request: Request, after: str | None = None, saved: str | None = None):
        return explain_page(request, edge.require(request, Page.GAPS), after=after, saved=saved)

    @r.post("/dock/explain/{key}")
    async def explain_step(request: Request, key: str):
        viewer, form = await edge.posted(request, Page.GAPS)
        step = next((s for s in queue(edge, viewer) if s.key == key), None)
        if step is None:  # explained meanwhile, or never this person's: the queue goes on
            return RedirectResponse("/dock/explain", status_code=303)
        chosen = Chosen(str(form.get("reason", ""))[:40], str(form.get("how", ""))[:10],
                        str(form.get("note", ""))[:5000])
        try:
            _explain(step, chosen, str(form.get("voice_at", "")).strip(), viewer)
        except UserError as exc:
            return explain_page(request, viewer, key=key, chosen=chosen, error=edge.said(exc), status_code=400)
        return RedirectResponse(f"/dock/explain?after={key}&saved=1", status_code=303)

    def _explain(step: Step, chosen: Chosen, voice: str, viewer: Viewer) -> None:
        if step.kind is StepKind.DAMAGED:
            for incident in step.incident_ids:
                explain_incident(app, incident, chosen.note, viewer.badge)
            return
        if chosen.how == "voice":
            if step.after is None:
                raise refused("explain_no_clip", gap=step.gap_id)
            try:
                voice_at = float(voice)
            except ValueError:
                raise refused("explain_voice_unmarked") from None
            explain_gap(app, step.gap_id, chosen.reason, voice_at, None, viewer.badge)
        elif chosen.how == "written":
            explain_gap(app, step.gap_id, chosen.reason, None, chosen.note, viewer.badge)
            for incident in step.incident_ids:  # the cut-off recording's 书面说明 (002 第16条), the same words
                explain_incident(app, incident, chosen.note, viewer.badge)
        else:
            raise refused("explain_one_way")

    # ---- badge + PIN, at the dock's own screen only ----

    def signin_page(request: Request, camera: str | None, error: str | None = None, status_code: int = 200):
        token = sessions.new_login_csrf()
        officer = None
        if camera:
            with app.db.reading() as s:
                officer = s.execute(select(User.badge, User.name).join(Device, Device.owner_badge == User.badge)
                                    .where(Device.serial == camera[:128], User.disabled.is_(False))).first()
        response = edge.page(request, "dock_signin.html", None, status_code=status_code, login_csrf=token,
                             error=error, officer=officer, camera=camera, kiosk=True,
                             idle_s=app.settings.web.kiosk_idle_s)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=edge.secure_for(request), path="/dock/signin")
        return response

    @r.get("/dock/signin")
    def pin_form(request: Request, camera: str | None = None):
        if not edge.at_kiosk(request):
            raise Forbidden("pin")
        return signin_page(request, camera)

    @r.post("/dock/signin")
    async def pin_sign_in(request: Request):
        if not edge.at_kiosk(request):
            raise Forbidden("pin")
        form = dict(await request.form())
        camera = str(form.get("camera", "")) or None
        if not sessions.login_csrf_ok(request.cookies.get(LOGIN_CSRF_COOKIE), form.get("csrf_token")):
            return signin_page(request, camera, t["form_expired"], 403)
        result = sessions.sign_in(app, str(form.get("badge", "")), str(form.get("pin", "")),
                                  request.client.host if request.client else "unknown", kind="pin")
        if result.outcome is LoginOutcome.THROTTLED:
            return signin_page(request, camera, t["login_throttled"], 429)
        if result.outcome is LoginOutcome.REFUSED:
            return signin_page(request, camera, t["pin_refused"], 401)
        response = RedirectResponse("/dock/explain", status_code=303)
        set_session_cookie(edge, request, response, result.token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/dock/signin")
        return response

    return r
