"""Reports written on a schedule (`[[report.schedules]]`): the previous day, week (Monday to
Sunday) or month, in the formats asked for, into a folder, and e-mailed through [smtp]."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from pathlib import Path

from ingestd.alerts.channels import DeliveryError, send_email
from ingestd.app import App
from ingestd.compliance.report import ReportRequest, build_report
from ingestd.compliance.report_render import write_report
from ingestd.config import ScheduledReport
from ingestd.logs import event

log = logging.getLogger("ingestd.report")


def period_for(every: str, today: date) -> tuple[date, date]:
    if every == "daily":
        day = today - timedelta(days=1)
        return day, day
    if every == "weekly":
        monday = today - timedelta(days=today.weekday() + 7)
        return monday, monday + timedelta(days=6)
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last


def write_scheduled(app: App, schedule: ScheduledReport) -> list[Path]:
    """Write (and e-mail) one scheduled report as of the app's clock; audited."""
    today = app.clock.now().astimezone(app.settings.tz).date()
    first, last = period_for(schedule.every, today)
    folder = schedule.folder or app.settings.data_dir / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    model = build_report(app, ReportRequest(first, last, schedule.team, not_docked_days=app.settings.report.not_docked_days))
    stem = f"ingestd-report-{first}" + (f"_{last}" if last != first else "") + (f"-{schedule.team}" if schedule.team else "")
    paths = []
    for fmt in schedule.formats:
        path = folder / f"{stem}.{fmt}"
        write_report(model, fmt, path, app.settings.report.language)
        paths.append(path)
    mailed = None
    if schedule.email_to:
        u = model.unit
        rate = f"{u.on_time_rate:.1%}" if u.on_time_rate is not None else "—"
        body = (f"{model.agency} 执法记录仪上传情况报告，{first} 至 {last}"
                f"{'（' + schedule.team + '）' if schedule.team else ''}：\n"
                f"记录 {u.recordings} 个，按时 {u.on_time}，逾期 {u.late}，逾期未上传班次 {u.shifts_overdue}，"
                f"按时率 {rate}。详见附件。\n")
        try:
            send_email(app.settings.smtp, schedule.email_to, f"[ingestd] 上传情况报告 {first} 至 {last}", body, paths)
            mailed = True
        except DeliveryError as exc:
            mailed = False
            event(log, logging.ERROR, "report.email_failed", period=f"{first}..{last}", error=str(exc))
    with app.changes.begin("ingestd") as ch:
        ch.record("report.written", "report", stem, period=[first.isoformat(), last.isoformat()], team=schedule.team,
                  files=[str(p) for p in paths], emailed_to=schedule.email_to if mailed else [], email_ok=mailed)
    event(log, logging.INFO, "report.written", period=f"{first}..{last}", files=len(paths), emailed=mailed)
    return paths
