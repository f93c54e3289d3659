"""The unit's equipment and plans, for the 信息中心: cameras (health, clock drift, storage,
last dock, owner), the duty roster (uploaded here, every row/column problem shown, nothing
imported from a bad file), the trips a team head rules on (the return exception applies only
where the recordings could not be stored in time) and alerts (what was sent and what failed, a
test on a channel). The same domain code as `ingestd devices`, `ingestd roster import`,
`ingestd compliance trip`, `ingestd alerts`."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, Request
from sqlalchemy import select
from starlette.datastructures import UploadFile

from ingestd.afterdock import rule_trip, set_owner
from ingestd.camera_admission import awaiting_registration, refusals, register_camera
from ingestd.alerts.dispatch import list_alerts, send_test
from ingestd.compliance.roster import read_roster
from ingestd.compliance.roster_import import write_roster
from ingestd.compliance.recompute import shift_facts
from ingestd.compliance.status import trip_runs
from ingestd.db.models import Officer, RosterImport, Shift, TripRuling
from ingestd.db.states import UsbRefusalReason
from ingestd.devices import list_devices
from ingestd.errors import FileProblemsError, UserError
from ingestd.findings import refused
from ingestd.localtime import MINUTE, local_text, parse_date
from ingestd.web.access import Page, may_change
from ingestd.web.server import Edge, Forbidden
from ingestd.web.sessions import Viewer, csrf_ok

ROSTER_MAX_BYTES = 20 << 20  # a year of a large unit's shifts is far smaller
ROSTER_SUFFIXES = (".csv", ".xlsx", ".txt")
CAMERAS_PER_PAGE = 50  # 200 cameras on one page made it 12,000 px long
TRIPS_SHOWN_DAYS = 60  # beyond the longest deadline a ruling can still move
REFUSALS_SHOWN = timedelta(days=30)


def _field(form: dict, name: str) -> str:
    return str(form.get(name, "")).strip()


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app

    # ---- cameras ----

    def devices_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        q = request.query_params.get("q", "").strip()
        try:
            page = max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            page = 1
        stale_days = app.settings.report.not_docked_days
        cameras = list_devices(app)
        if not viewer.person.unit_wide:  # a team head the team's cameras
            cameras = [d for d in cameras if d["owner_team"] == viewer.team]
        if q:  # by serial, or by the officer's name or badge
            needle = q.casefold()
            cameras = [d for d in cameras if any(needle in (d[k] or "").casefold()
                                                 for k in ("serial", "owner", "owner_name"))]
        if request.query_params.get("stale"):
            cameras = [d for d in cameras if d["days_since_dock"] is not None and d["days_since_dock"] >= stale_days]
        pages = max(1, -(-len(cameras) // CAMERAS_PER_PAGE))
        page = min(page, pages)
        with app.db.reading() as s:
            officers = s.execute(select(Officer.badge, Officer.name, Officer.team)
                                 .order_by(Officer.team, Officer.name)).all()
        can_change = may_change(viewer.role, Page.DEVICES, viewer.kind)
        return edge.page(request, "devices.html", viewer, status_code=status_code, error=error,
                         waiting=awaiting_registration(app) if can_change else [],
                         refused=refusals(app, since=app.clock.now() - REFUSALS_SHOWN,
                                          reason=UsbRefusalReason.NOT_A_CAMERA) if can_change else [],
                         profiles=sorted(app.profiles.items()),
                         devices=cameras[(page - 1) * CAMERAS_PER_PAGE:page * CAMERAS_PER_PAGE], total=len(cameras),
                         page=page, pages=pages, q=q, stale_only=bool(request.query_params.get("stale")),
                         officers=officers, stale_days=stale_days,
                         profile_titles={n: p.title or n for n, p in app.profiles.items()},
                         can_change=can_change)

    @r.get("/devices")
    def devices(request: Request):
        return devices_page(request, edge.require(request, Page.DEVICES))

    @r.post("/devices/register")
    async def devices_register(request: Request):
        def do(viewer: Viewer, form: dict) -> None:
            register_camera(app, _field(form, "serial"), _field(form, "profile"), _field(form, "owner"), viewer.badge)

        return await edge.act(request, Page.DEVICES, do, "/devices", devices_page)

    @r.post("/devices/{serial}/owner")
    async def devices_owner(request: Request, serial: str):
        def do(viewer: Viewer, form: dict) -> None:
            set_owner(app, serial, _field(form, "owner"), viewer.badge)

        return await edge.act(request, Page.DEVICES, do, "/devices", devices_page)

    # ---- trips: the return exception, ruled by the team head ----

    def trips_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        exception = app.policy.upload.exception
        tz = app.settings.tz
        since = app.clock.now().astimezone(tz).date() - timedelta(days=TRIPS_SHOWN_DAYS)
        scope = [] if viewer.person.unit_wide else [Shift.team == viewer.team]
        with app.db.reading() as s:
            shifts = {sh.id: sh for sh in s.execute(select(Shift).where(Shift.day >= since, *scope)).scalars()}
            names = dict(s.execute(select(Officer.badge, Officer.name)).all())
            rulings = {(r.badge, r.day): r for r in s.execute(select(TripRuling).where(TripRuling.day >= since))
                       .scalars()}
            facts = shift_facts(s, list(shifts.values()))  # with the returns team heads entered
        trips = []
        for run in trip_runs(facts, tuple(exception.assignments)):
            if run[0].assignment not in exception.assignments:
                continue
            rows = [shifts[f.id] for f in run]
            ruled = [rulings[(r.badge, r.day)] for r in rows if (r.badge, r.day) in rulings]
            ruling = max(ruled, key=lambda r: r.ruled_at) if ruled else None
            trips.append({"badge": rows[0].badge, "name": names.get(rows[0].badge, ""), "team": rows[0].team,
                          "first": rows[0].day.isoformat(), "last": rows[-1].day.isoformat(), "days": len(rows),
                          "assignment": exception.name(rows[0].assignment),
                          "returned": local_text(run[-1].returned_at, tz, MINUTE),
                          "shifts": [{"day": r.day.strftime("%m-%d"), "status": r.status,
                                      "deadline": local_text(r.deadline, tz, MINUTE)} for r in rows],
                          "ruling": ruling and {"could_store": ruling.could_store, "reason": ruling.reason,
                                                "by": ruling.ruled_by, "at": local_text(ruling.ruled_at, tz, MINUTE)}})
        trips.sort(key=lambda tr: (tr["first"], tr["team"] or "", tr["badge"]), reverse=True)
        return edge.page(request, "trips.html", viewer, status_code=status_code, error=error, trips=trips,
                         article=exception.article, condition=exception.condition, days=TRIPS_SHOWN_DAYS,
                         can_change=may_change(viewer.role, Page.TRIPS, viewer.kind))

    @r.get("/trips")
    def trips(request: Request):
        return trips_page(request, edge.require(request, Page.TRIPS))

    @r.post("/trips/{badge}/{day}")
    async def trips_rule(request: Request, badge: str, day: str):
        def do(viewer: Viewer, form: dict) -> None:
            rule_trip(app, badge, parse_date(day, "the trip's day"), _field(form, "could_store") == "yes",
                      _field(form, "reason"), viewer.badge)

        return await edge.act(request, Page.TRIPS, do, "/trips", trips_page)

    # ---- the duty roster ----

    def roster_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None,
                    problems: list[str] | None = None, imported: dict | None = None):
        with app.db.reading() as s:
            history = s.execute(select(RosterImport).order_by(RosterImport.id.desc()).limit(20)).scalars().all()
        return edge.page(request, "roster.html", viewer, status_code=status_code, error=error, problems=problems or [],
                         imported=imported, history=history, can_change=may_change(viewer.role, Page.ROSTER))

    @r.get("/roster")
    def roster(request: Request):
        return roster_page(request, edge.require(request, Page.ROSTER))

    @r.post("/roster")
    async def roster_upload(request: Request):
        viewer = edge.require(request, Page.ROSTER, change=True)
        async with request.form(max_files=1, max_fields=5) as form:
            if not csrf_ok(app, viewer, form.get("csrf_token")):
                raise Forbidden("csrf")
            upload = form.get("file")
            if not isinstance(upload, UploadFile) or not upload.filename:
                return roster_page(request, viewer, 400, edge.said(refused("roster_no_file")))
            name = Path(upload.filename).name
            if Path(name).suffix.lower() not in ROSTER_SUFFIXES:
                return roster_page(request, viewer, 400, edge.said(refused("roster_file_type", file=name,
                                                                           suffix=Path(name).suffix or "(none)")))
            data = await upload.read(ROSTER_MAX_BYTES + 1)
        if len(data) > ROSTER_MAX_BYTES:
            return roster_page(request, viewer, 400, edge.said(refused("roster_too_big", file=name,
                                                                       mb=ROSTER_MAX_BYTES >> 20)))
        with tempfile.TemporaryDirectory(prefix="ingestd-roster-") as folder:
            path = Path(folder) / name  # the name the admin knows, in messages and the import's record
            path.write_bytes(data)
            try:
                parsed = read_roster(path, app.settings.tz)
                app.check_rules()  # a broken policy or calendar fails before anything is written
                # The console answers at once; the daemon's workers recompute what the roster changes
                # (the command line's `roster import` waits for it).
                result = write_roster(app, parsed, viewer.badge)
            except FileProblemsError as exc:
                return roster_page(request, viewer, 400, edge.said(exc),
                                   problems=[edge.worded(p) for p in exc.problems])
            except UserError as exc:
                return roster_page(request, viewer, 400, edge.said(exc))
        return roster_page(request, viewer, imported=result)

    # ---- alerts ----

    def alerts_page(request: Request, viewer: Viewer, status_code: int = 200, error: str | None = None):
        return edge.page(request, "alerts.html", viewer, status_code=status_code, error=error,
                         alerts=list_alerts(app, 100), channels=[c.name for c in app.settings.alerts.channels],
                         can_change=may_change(viewer.role, Page.ALERTS), sent=request.query_params.get("sent"))

    @r.get("/alerts")
    def alerts(request: Request):
        return alerts_page(request, edge.require(request, Page.ALERTS))

    @r.post("/alerts/test")
    async def alerts_test(request: Request):
        def do(viewer: Viewer, form: dict) -> str:
            send_test(app, _field(form, "channel"), _field(form, "to") or None, viewer.badge)
            return f"/alerts?sent={_field(form, 'channel')}"

        return await edge.act(request, Page.ALERTS, do, "/alerts", alerts_page)

    return r


