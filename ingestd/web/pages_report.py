"""The upload-compliance report in the console: the same model as `ingestd report` (one
builder, one set of columns and findings), a period and a team picked on the page, every
figure a link to the items behind it, and the downloads in every format the command writes.
A team head sees the team's report only."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from starlette.background import BackgroundTask

from ingestd.compliance import charts
from ingestd.compliance.charts import Bar
from ingestd.compliance.report import ReportRequest, build_report
from ingestd.compliance.report_render import FORMATS, write_report
from ingestd.compliance.report_tables import COLUMNS, format_value, label, value
from ingestd.compliance.trend import weekly
from ingestd.db.models import Officer
from ingestd.errors import UserError
from ingestd.users import Role
from ingestd.web.access import Page, may_change
from ingestd.web.server import Edge
from ingestd.web.sessions import Viewer

MEDIA = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8",
         "json": "application/json",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
ITEMS_SHOWN = 200  # per list on the page; the downloads carry the report's own limit


def router(edge: Edge) -> APIRouter:
    r = APIRouter()
    app = edge.app

    def asked(viewer: Viewer, start: str, end: str, team: str, limit: int) -> ReportRequest:
        today = app.clock.now().astimezone(app.settings.tz).date()
        try:
            first = date.fromisoformat(start) if start else today.replace(day=1)
            last = date.fromisoformat(end) if end else today
        except ValueError:
            raise UserError(f"report period: not a date (YYYY-MM-DD): {(start or end)[:20]}") from None
        if last - first > timedelta(days=366 * 2):
            raise UserError("report period: at most two years at a time")
        if viewer.role is Role.TEAM_HEAD:
            team = viewer.team or ""  # a team head's report is the team's, whatever the address says
        return ReportRequest(first, last, team or None, limit, app.settings.report.not_docked_days)

    def teams() -> list[str]:
        with app.db.reading() as s:
            return sorted(t for t in s.execute(select(Officer.team).distinct()).scalars() if t)

    @r.get("/report")
    def report(request: Request, start: str = "", end: str = "", team: str = ""):
        viewer = edge.require(request, Page.REPORT)
        try:
            req = asked(viewer, start, end, team, ITEMS_SHOWN)
            model = build_report(app, req)
        except UserError as exc:
            return edge.page(request, "message.html", viewer, status_code=400, message=str(exc), back="/report")
        # The console's language; a Chinese console shows the report's own (Chinese, or with English).
        language = "en" if edge.language == "en" else app.settings.report.language
        columns = [{"key": c.key, "label": label(c.key, language), "kind": c.kind, "list": c.list_code,
                    "link": _link(c.command, req)} for c in COLUMNS]

        def row(figures) -> list[dict]:
            return [{"text": format_value(value(figures, c), c.kind), "list": c.list_code,
                     "link": _link(c.command, req)} for c in COLUMNS]

        # A team's report totals the team; the unit's figures stand beside them for comparison.
        unit = build_report(app, replace(req, team=None, item_limit=0)).unit if req.team else None
        query = urlencode({"start": req.first, "end": req.last, **({"team": req.team} if req.team else {})})
        t = edge.templates.env.globals["t"]
        weeks = weekly(app, req.last, req.team)
        trend = charts.columns([Bar(w.monday.strftime("%m-%d"), round(w.rate * 100) if w.rate is not None else 0,
                                    f"{w.rate:.0%}" if w.rate is not None else "—") for w in weeks],
                               t["weekly_trend"], height=170, peak=100, texts=True)
        return edge.page(request, "report.html", viewer, report=model, columns=columns, row=row, query=query,
                         formats=FORMATS, teams=teams(), picked_team=req.team or "", unit=unit,
                         team_fixed=viewer.role is Role.TEAM_HEAD, first=req.first.isoformat(),
                         last=req.last.isoformat(), lists=list(model.lists.values()), trend=trend, weeks=weeks,
                         shift_links=may_change(viewer.role, Page.SHIFTS, viewer.kind))

    @r.get("/report/download")
    def download(request: Request, fmt: str = "html", start: str = "", end: str = "", team: str = ""):
        viewer = edge.require(request, Page.REPORT)
        if fmt not in FORMATS:
            return edge.page(request, "message.html", viewer, status_code=400,
                             message=f"unknown report format {fmt[:10]!r} (use {', '.join(FORMATS)})", back="/report")
        try:
            req = asked(viewer, start, end, team, 500)
            model = build_report(app, req)
        except UserError as exc:
            return edge.page(request, "message.html", viewer, status_code=400, message=str(exc), back="/report")
        folder = Path(tempfile.mkdtemp(prefix="ingestd-report-"))
        name = f"report-{req.first}-{req.last}{'-' + req.team if req.team else ''}.{fmt}"
        path = folder / "report"
        write_report(model, fmt, path, app.settings.report.language)
        with app.changes.begin(viewer.badge) as ch:
            ch.record("report.downloaded", "report", f"{req.first}..{req.last}", team=req.team, format=fmt)
        return FileResponse(path, media_type=MEDIA[fmt], filename=name,
                            background=BackgroundTask(_remove, folder))

    return r


def _link(command: str | None, req: ReportRequest) -> str | None:
    """The console's page for a figure that has no list of its own (its command's equivalent)."""
    if not command:
        return None
    if command.startswith("recordings list"):
        status = command.split("--upload-status ")[1] if "--upload-status" in command else ""
        return "/recordings?" + urlencode({"since": req.first, "until": req.last,
                                           **({"team": req.team} if req.team else {}),
                                           **({"upload_status": status} if status else {})})
    if command.startswith("gaps list"):
        return "/gaps?all=1"
    return None


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
