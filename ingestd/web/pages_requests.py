"""What waits for someone else's word: access requests (002 第19条: another team's recording,
approved by that team's head or an admin, for a limited time), deletions under retention
(four eyes: asked by one, approved by an admin or the recording's team head who is not the
asker, 002 第17条) and incidents awaiting their written 说明 (damaged files, device faults).
The same domain code as `ingestd access …`, `ingestd retention …`, `ingestd incidents …`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from ingestd.db.models import AccessRequest, Incident, User
from ingestd.errors import UserError
from ingestd.evidence.access import access_deciders, decide, may_decide, owners, request_access, request_dict
from ingestd.evidence.incidents import explain_incident, list_incidents
from ingestd.evidence.retention import approve_deletion, list_deletions, plan, refuse_deletion, request_deletion
from ingestd.web.audit_view import recording_labels
from ingestd.web.access import Page, may_change
from ingestd.web.server import Edge, Forbidden
from ingestd.web.sessions import Viewer

SHOWN = 200


def incidents_for(app, viewer: Viewer, only_open: bool) -> list[dict]:
    """The incidents this person answers for: those of their own recordings (a team head: the
    team's); a device fault has no recording, so the unit-wide roles see it."""
    listed = list_incidents(app, only_open=only_open)
    if viewer.person.unit_wide:
        return listed
    with app.db.reading() as s:
        owner = owners(s, list({i["recording_id"] for i in listed if i["recording_id"]}))
    return [i for i in listed if i["recording_id"] and viewer.answers_for(*owner.get(i["recording_id"], (None, None)))]


def _field(form: dict, name: str) -> str:
    return str(form.get(name, "")).strip()


def router(edge: Edge, recordings_allowed) -> APIRouter:
    r = APIRouter()
    app = edge.app

    def teams_of(recording_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
        with app.db.reading() as s:
            return owners(s, recording_ids)

    def sees(viewer: Viewer, owner: tuple[str | None, str | None]) -> bool:
        return viewer.answers_for(*owner)

    def decides(viewer: Viewer, owner: tuple[str | None, str | None]) -> bool:
        return may_decide(viewer.person, owner[1], access_deciders(app.policy))

    # ---- access requests ----

    def access_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        t = edge.templates.env.globals["t"]
        with app.db.reading() as s:
            rows = [request_dict(a) for a in s.execute(select(AccessRequest).order_by(AccessRequest.id.desc())
                                                       .limit(SHOWN * 5)).scalars()]
        owner_of = teams_of(list({a["recording_id"] for a in rows}))
        mine = [a for a in rows if a["requester"] == viewer.badge][:SHOWN]
        # Who asks and for what, as the one deciding reads them: a name and team, and the
        # recording by its officer, time and file (the requester sees that once approved).
        with app.db.reading() as s:
            people = {badge: (name, team) for badge, name, team in s.execute(
                select(User.badge, User.name, User.team).where(User.badge.in_({a["requester"] for a in rows})))}
            labels = recording_labels(s, {a["recording_id"] for a in rows}, app.settings.tz)
        for a in rows:
            name, team = people.get(a["requester"], (None, None))
            a["requester_shown"] = f"{name}（{a['requester']}{'，' + team if team else ''}）" if name else a["requester"]
            a["recording_shown"] = labels.get(a["recording_id"], a["recording_id"][:12])
        def owner(a: dict) -> tuple[str | None, str | None]:
            return owner_of.get(a["recording_id"], (None, None))

        to_decide = [{**a, "team": owner(a)[1]} for a in rows
                     if a["requester"] != viewer.badge and sees(viewer, owner(a))]
        for a in to_decide:
            a["can_decide"] = a["status"] == "pending" and decides(viewer, owner(a))
        return edge.page(request, "access.html", viewer, status_code=status_code, error=error, mine=mine,
                         others=to_decide[:SHOWN], article=app.policy.cite("access"),
                         approvers=t["approvers_or"].join(t[f"approver_{a}"] for a in app.policy.access.approvers),
                         provide_article=app.policy.cite("provide"),
                         can_change=may_change(viewer.role, Page.ACCESS, viewer.kind))

    @r.get("/access")
    def access(request: Request):
        return access_page(request, edge.require(request, Page.ACCESS))

    @r.post("/access")
    async def access_ask(request: Request):
        def do(viewer: Viewer, form: dict) -> None:
            request_access(app, _field(form, "recording"), _field(form, "action") or "view",
                           _field(form, "purpose"), viewer.badge)

        return await edge.act(request, Page.ACCESS, do, "/access", access_page)

    @r.post("/access/{request_id}")
    async def access_decide(request: Request, request_id: int):
        def do(viewer: Viewer, form: dict) -> None:
            approve = _field(form, "decision") == "approve"
            try:
                hours = int(_field(form, "hours") or 72)
            except ValueError:
                raise UserError(f"hours: not a whole number: {_field(form, 'hours')[:10]}") from None
            decide(app, request_id, viewer.badge, approve, hours)

        return await edge.act(request, Page.ACCESS, do, "/access", access_page)

    # ---- retention: the plan and deletions ----

    def retention_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        items = [i for i in plan(app) if i.state == "due" or (i.due_on is not None and i.state in
                                                               ("held", "long_term", "open_case"))]
        deletions = list_deletions(app)
        owner_of = teams_of(list({i.recording_id for i in items} | {d["recording_id"] for d in deletions}))
        shown = [i.as_dict() for i in items if sees(viewer, owner_of.get(i.recording_id, (None, None)))][:SHOWN]
        decisions = []
        for d in deletions:
            owner = owner_of.get(d["recording_id"], (None, None))
            if sees(viewer, owner):
                decisions.append({**d, "can_decide": d["status"] == "pending" and d["requested_by"] != viewer.badge
                                  and decides(viewer, owner)})
        policy = app.policy
        return edge.page(request, "retention.html", viewer, status_code=status_code, error=error, items=shown,
                         deletions=decisions[:SHOWN], years=policy.retention.years, article=policy.retention.article,
                         can_change=may_change(viewer.role, Page.RETENTION, viewer.kind))

    @r.get("/retention")
    def retention(request: Request):
        return retention_page(request, edge.require(request, Page.RETENTION))

    @r.post("/retention")
    async def retention_ask(request: Request):
        def do(viewer: Viewer, form: dict) -> None:
            rec_id = _field(form, "recording")
            recordings_allowed(request, viewer, rec_id)
            request_deletion(app, rec_id, _field(form, "reason"), viewer.badge)

        return await edge.act(request, Page.RETENTION, do, "/retention", retention_page)

    @r.post("/retention/{deletion_id}")
    async def retention_decide(request: Request, deletion_id: int):
        def do(viewer: Viewer, form: dict) -> None:
            if _field(form, "decision") == "approve":
                approve_deletion(app, deletion_id, viewer.badge)
            else:
                refuse_deletion(app, deletion_id, viewer.badge)

        return await edge.act(request, Page.RETENTION, do, "/retention", retention_page)

    # ---- incidents: damaged files and device faults, and their 书面说明 ----

    def incidents_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None,
                       show_all: bool = False):
        shown = [{**i, "can_explain": i["status"] == "open" and may_change(viewer.role, Page.INCIDENTS, viewer.kind)}
                 for i in incidents_for(app, viewer, only_open=not show_all)]
        return edge.page(request, "incidents.html", viewer, status_code=status_code, error=error,
                         incidents=shown[-SHOWN:][::-1], showing_all=show_all)

    @r.get("/incidents")
    def incidents(request: Request, all: int = 0):
        return incidents_page(request, edge.require(request, Page.INCIDENTS), show_all=bool(all))

    @r.post("/incidents/{incident_id}")
    async def incidents_explain(request: Request, incident_id: int):
        def do(viewer: Viewer, form: dict) -> None:
            with app.db.reading() as s:
                inc = s.get(Incident, incident_id)
            if inc is None:
                raise UserError(f"no incident with id {incident_id}")
            owner = teams_of([inc.recording_id]).get(inc.recording_id, (None, None)) if inc.recording_id else None
            if (owner is None and not viewer.person.unit_wide) or (owner is not None and not sees(viewer, owner)):
                raise Forbidden("incidents")
            explain_incident(app, incident_id, _field(form, "note"), viewer.badge)

        return await edge.act(request, Page.INCIDENTS, do, "/incidents", incidents_page)

    return r
