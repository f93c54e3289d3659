"""Evidence (证明对象 on a recording), cases (案件: link recordings, end the case, export the
case file as a background job and download its ISO) and legal holds. The same domain code as
`ingestd evidence set`, `ingestd case …`, `ingestd export` and `ingestd hold …`: each change a
new OCFL version where the rules want one (003 第20条) and an audit entry naming the person.

A team head sees and acts on the team's cases; 法制科, 信息中心 and 督察 (read only) all of them."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select

from ingestd.db.models import Device, Evidence, Recording
from ingestd.evidence.cases import (archive_case, case_recordings, case_states, end_case, open_case,
                                   set_storage_location)
from ingestd.evidence.disc import DISC_BYTES
from ingestd.evidence.export_requests import ask_export, download_path, export_state, may_download, recent_exports
from ingestd.evidence.holds import RELEASERS, list_holds, place_hold, release_hold
from ingestd.evidence.metadata import link_to_case, set_evidence, set_evidence_many
from ingestd.findings import refused
from ingestd.localtime import MINUTE, local_text, parse_date
from ingestd.lookup import recordings_named
from ingestd.users import Role
from ingestd.web.access import Page, may_change
from ingestd.web.server import Edge, Forbidden, NotFound
from ingestd.web.sessions import Viewer


def _field(form: dict, name: str) -> str:
    return str(form.get(name, "")).strip()


def router(edge: Edge, recordings_allowed) -> APIRouter:
    """`recordings_allowed(request, viewer, rec_id)` is the recordings page's own check (002
    第19条, audited): 证明对象 is entered only on a recording the person may see."""
    r = APIRouter()
    app = edge.app
    tz = app.settings.tz

    def team_of(viewer: Viewer) -> str | None:
        """The one team whose cases a team head sees; None for the unit-wide roles."""
        return None if viewer.person.unit_wide else (viewer.team or "")

    def the_case(viewer: Viewer, case_no: str):
        with app.db.reading() as s:
            found = case_states(s, app.policy, app.calendar, team=team_of(viewer), case_no=case_no)
            if not found:
                raise NotFound()
            ids = case_recordings(s, case_no)
            rows = s.execute(select(Recording, Evidence, Device.serial)
                             .join(Evidence, Evidence.recording_id == Recording.id)
                             .outerjoin(Device, Device.id == Recording.device_id)
                             .where(Recording.id.in_(ids)).order_by(Recording.start)).all() if ids else []
        return found[0], rows

    # ---- 证明对象 on one recording ----

    @r.post("/recordings/{rec_id}/evidence")
    async def evidence(request: Request, rec_id: str):
        def do(viewer: Viewer, form: dict) -> str:
            recordings_allowed(request, viewer, rec_id)
            set_evidence(app, rec_id, _field(form, "proves"), _field(form, "case_no") or None,
                         _field(form, "long_term") or None, viewer.badge, _field(form, "content") or None)
            return f"/recordings/{rec_id}#evidence"

        def show(request: Request, viewer: Viewer, status_code: int, error: str):
            return edge.page(request, "message.html", viewer, status_code=status_code, message=error,
                             back=f"/recordings/{rec_id}")

        return await edge.act(request, Page.EVIDENCE, do, f"/recordings/{rec_id}", show)

    @r.post("/recordings/evidence")
    async def evidence_many(request: Request):
        """证明对象 (and 案号) for the recordings ticked on the list, at once."""
        picked = [str(v) for v in (await request.form()).getlist("rec")]

        def do(viewer: Viewer, form: dict) -> str:
            for rec_id in picked:
                recordings_allowed(request, viewer, rec_id)
            case_no = _field(form, "case_no") or None
            done = set_evidence_many(app, picked, _field(form, "proves"), case_no, viewer.badge)
            return f"/recordings?{_field(form, 'back_query')}&entered={len(done)}".replace("?&", "?")

        def show(request: Request, viewer: Viewer, status_code: int, error: str):
            return edge.page(request, "message.html", viewer, status_code=status_code, message=error,
                             back="/recordings")

        return await edge.act(request, Page.EVIDENCE, do, "/recordings", show)

    # ---- cases ----

    def cases_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        with app.db.reading() as s:
            states = case_states(s, app.policy, app.calendar, team=team_of(viewer))
        return edge.page(request, "cases.html", viewer, status_code=status_code, error=error,
                         cases=[c.as_dict() for c in states], can_change=may_change(viewer.role, Page.CASES),
                         choose_team=viewer.person.unit_wide,  # a team's head opens the team's cases only
                         archive_days=app.policy.archive.days_after_case_end, article=app.policy.archive.article,
                         location_article=app.policy.evidence.location_article)

    @r.get("/cases")
    def cases(request: Request):
        return cases_page(request, edge.require(request, Page.CASES))

    @r.post("/cases")
    async def cases_open(request: Request):
        def do(viewer: Viewer, form: dict) -> str:
            team = viewer.team if viewer.role is Role.TEAM_HEAD else (_field(form, "team") or None)
            opened = open_case(app, _field(form, "case_no"), _field(form, "title") or None, team, viewer.badge)
            return f"/cases/{opened['case_no']}"

        return await edge.act(request, Page.CASES, do, "/cases", cases_page)

    def case_page(request: Request, viewer: Viewer, case_no: str, status_code: int = 200, error: str | None = None):
        state, rows = the_case(viewer, case_no)
        items = [{"id": rec.id, "name": rec.original_name, "start": local_text(rec.start, tz, MINUTE),
                  "device": serial, "proves": ev.proves, "exported": ev.exported_at is not None,
                  "deleted": rec.status == "deleted"} for rec, ev, serial in rows]
        exports = recent_exports(app, None if viewer.person.unit_wide else viewer.badge, case_no)
        return edge.page(request, "case.html", viewer, status_code=status_code, error=error, case=state.as_dict(),
                         items=items, exports=exports, discs=list(DISC_BYTES), today=app.clock.now().astimezone(tz)
                         .date().isoformat(), can_change=may_change(viewer.role, Page.CASES),
                         article=app.policy.archive.article, location_article=app.policy.evidence.location_article,
                         archive_days=app.policy.archive.days_after_case_end,
                         missing_proves=sum(1 for i in items if not i["proves"] and not i["deleted"]))

    @r.get("/cases/{case_no}")
    def case(request: Request, case_no: str):
        return case_page(request, edge.require(request, Page.CASES), case_no)

    def case_action(case_no: str, act):
        async def handler(request: Request):
            def do(viewer: Viewer, form: dict) -> str | None:
                the_case(viewer, case_no)  # the team head's own team only
                return act(viewer, form)

            def show(request: Request, viewer: Viewer, status_code: int, error: str):
                return case_page(request, viewer, case_no, status_code, error)

            return await edge.act(request, Page.CASES, do, f"/cases/{case_no}", show)
        return handler

    @r.post("/cases/{case_no}/recordings")
    async def case_link(request: Request, case_no: str):
        def act(viewer: Viewer, form: dict) -> None:
            with app.db.reading() as s:  # by id, file name or time, one a line
                ids = recordings_named(s, _field(form, "recordings").splitlines(), tz)
            for rec_id in ids:
                recordings_allowed(request, viewer, rec_id)
            link_to_case(app, case_no, ids, viewer.badge)

        return await case_action(case_no, act)(request)

    @r.post("/cases/{case_no}/end")
    async def case_end(request: Request, case_no: str):
        def act(viewer: Viewer, form: dict) -> None:
            end_case(app, case_no, parse_date(_field(form, "ended_on"), "the end date"), viewer.badge)

        return await case_action(case_no, act)(request)

    @r.post("/cases/{case_no}/archive")
    async def case_archive(request: Request, case_no: str):
        def act(viewer: Viewer, form: dict) -> None:
            archive_case(app, case_no, parse_date(_field(form, "archived_on"), "the 归档 date"), viewer.badge)

        return await case_action(case_no, act)(request)

    @r.post("/cases/{case_no}/location")
    async def case_location(request: Request, case_no: str):
        def act(viewer: Viewer, form: dict) -> None:
            set_storage_location(app, case_no, _field(form, "location"), viewer.badge)

        return await case_action(case_no, act)(request)

    @r.post("/cases/{case_no}/export")
    async def case_export(request: Request, case_no: str):
        def act(viewer: Viewer, form: dict) -> str:
            state, rows = the_case(viewer, case_no)
            missing = sum(1 for rec, ev, _serial in rows if not ev.proves and rec.status != "deleted")
            if missing and _field(form, "without_proves") != "yes":
                # 证明对象 belongs on the disc with each recording: exporting without it is a choice
                # made knowingly, not by a click that did not read the page.
                raise refused("export_missing_proves", n=missing, case_no=case_no)
            token = ask_export(app, viewer.badge, [], case_no, _field(form, "disc") or "dvd")
            return f"/exports/{token}"

        return await case_action(case_no, act)(request)

    # ---- exports: progress and download ----

    def mine(viewer: Viewer, token: str):
        state = export_state(app, token) if len(token) == 32 and token.isalnum() else None
        if state is None:
            raise NotFound()
        if not may_download(state, viewer.person):
            raise Forbidden("export")
        return state

    @r.get("/exports/{token}")
    def export_page(request: Request, token: str):
        viewer = edge.require(request, Page.CASES)
        return edge.page(request, "export.html", viewer, export=mine(viewer, token))

    @r.get("/exports/{token}/{name}")
    def export_download(request: Request, token: str, name: str):
        viewer = edge.require(request, Page.CASES)
        state = mine(viewer, token)
        try:
            path = download_path(app, state, name)
        except LookupError:
            raise NotFound() from None
        if not path.is_file():
            raise NotFound()
        with app.changes.begin(viewer.badge) as ch:
            ch.record("export.downloaded", "export_request", token, file=name, case_no=state.case_no)
        return FileResponse(path, media_type="application/x-iso9660-image", filename=name)

    # ---- legal holds ----

    def holds_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        def local(value: str | None) -> str:
            return local_text(datetime.fromisoformat(value), tz, MINUTE) if value else ""

        holds = [{**h, "placed_at": local(h["placed_at"]), "released_at": local(h["released_at"])}
                 for h in list_holds(app, include_released=True, person=viewer.person)]
        return edge.page(request, "holds.html", viewer, status_code=status_code, error=error, holds=holds,
                         can_change=may_change(viewer.role, Page.HOLDS),
                         can_release=may_change(viewer.role, Page.HOLDS) and viewer.role in RELEASERS)

    @r.get("/holds")
    def holds(request: Request):
        return holds_page(request, edge.require(request, Page.HOLDS))

    @r.post("/holds")
    async def holds_place(request: Request):
        def do(viewer: Viewer, form: dict) -> None:
            rec_id, case_no = _field(form, "recording") or None, _field(form, "case_no") or None
            if rec_id:
                recordings_allowed(request, viewer, rec_id)
            if case_no and viewer.role is Role.TEAM_HEAD:
                the_case(viewer, case_no)
            place_hold(app, rec_id, case_no, _field(form, "reason"), viewer.badge)

        return await edge.act(request, Page.HOLDS, do, "/holds", holds_page)

    @r.post("/holds/{hold_id}/release")
    async def holds_release(request: Request, hold_id: int):
        def do(viewer: Viewer, _form: dict) -> None:
            release_hold(app, hold_id, viewer.badge)

        return await edge.act(request, Page.HOLDS, do, "/holds", holds_page)

    return r

