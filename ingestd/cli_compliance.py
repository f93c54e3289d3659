"""Commands of the compliance engine: deadline, roster, calendar, compliance."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Optional

import typer

from ingestd.cli_support import ByOpt, JsonOpt, emit, opened_app, parse_date, parse_time, settings_of
from ingestd.errors import UserError

roster_app = typer.Typer(no_args_is_help=True, help="The duty roster (排班表).")
calendar_app = typer.Typer(no_args_is_help=True, help="The statutory working-day calendar.")
compliance_app = typer.Typer(no_args_is_help=True, help="Upload deadlines and statuses.")


def deadline(ctx: typer.Context,
             policy: Optional[str] = typer.Option(None, "--policy", help="Policy profile (default: the configured one)."),
             end: str = typer.Option(..., "--end", help="When the recording ended (ISO 8601; local time if no offset)."),
             assignment: Optional[str] = typer.Option(None, "--assignment", help="regular, continuous, offsite or remote."),
             returned: Optional[str] = typer.Option(None, "--returned", help="When the officer returned to the unit."),
             as_json: bool = JsonOpt) -> None:
    """The upload deadline of a recording under a policy (docs/rules.md)."""
    from ingestd.compliance.calendar import WorkCalendar
    from ingestd.compliance.deadline import upload_deadline
    from ingestd.compliance.policy import ASSIGNMENTS, get_policy, load_policies

    settings = settings_of(ctx)
    tz = settings.tz
    chosen = get_policy(load_policies(settings.policies_dir), policy or settings.policy)
    if assignment is not None and assignment not in ASSIGNMENTS:
        raise UserError(f"unknown assignment {assignment!r} (use {', '.join(ASSIGNMENTS)})")
    if assignment not in (None, "regular") and returned is None:
        raise UserError(f"--assignment {assignment} needs --returned (the time the officer returned to the unit)")
    result = upload_deadline(chosen, parse_time(end, "--end", tz), WorkCalendar.load(settings.calendar_path), tz,
                             assignment, parse_time(returned, "--returned", tz) if returned else None)
    data = {**result.as_dict(tz), "policy": chosen.name}
    emit(data, as_json, f"{data['deadline']}  ({data['explanation']}; {data['article']})")


def rules(ctx: typer.Context,
          out: Optional[Path] = typer.Option(None, "--out", help="Write the page here (default: print it).")) -> None:
    """The rules page (docs/rules.md): every policy's values with their articles and the articles' words."""
    from ingestd.compliance.rules_doc import render

    from ingestd.compliance.policy import load_policies

    page = render(load_policies(settings_of(ctx).policies_dir))
    if out is None:
        print(page, end="")
    else:
        out.write_text(page, encoding="utf-8")


@roster_app.command("import")
def roster_import(ctx: typer.Context, file: Path = typer.Argument(..., help="CSV or XLSX."),
                  by: str = ByOpt,
                  as_json: bool = JsonOpt) -> None:
    """Import a roster; re-importing a period replaces it. Nothing is imported from a bad file."""
    from ingestd.afterdock import import_roster
    from ingestd.compliance.roster import read_roster

    with opened_app(ctx, by) as app:
        roster = read_roster(file, app.settings.tz)
        app.check_rules()  # a broken policy or calendar fails before anything is written
        result = import_roster(app, roster, by)
    emit(result, as_json, f"imported {result['shifts']} shifts for {result['period'][0]}..{result['period'][1]} "
                          f"(replaced {result['replaced']})")


@calendar_app.command("show")
def calendar_show(ctx: typer.Context, year: int = typer.Argument(...), as_json: bool = JsonOpt) -> None:
    """Days off on weekdays and working weekend days (调休) of a year, and where they come from."""
    from ingestd.compliance.calendar import WorkCalendar

    settings = settings_of(ctx)
    cal = WorkCalendar.load(settings.calendar_path)
    day, holidays, workdays = date(year, 1, 1), [], []
    while day.year == year:
        working = cal.is_workday(day)
        if day.weekday() < 5 and not working:
            holidays.append(day.isoformat())
        elif day.weekday() >= 5 and working:
            workdays.append(day.isoformat())
        day += timedelta(days=1)
    data = {"year": year, "source": cal.source(year), "holidays": holidays, "workdays": workdays}
    emit(data, as_json, f"{year} ({data['source']})\nweekday holidays: {' '.join(holidays)}\n"
                        f"working weekend days (调休): {' '.join(workdays)}")


@compliance_app.command("recompute")
def compliance_recompute(ctx: typer.Context,
                         start: Optional[str] = typer.Option(None, "--from", help="First local date (default: all)."),
                         end: Optional[str] = typer.Option(None, "--to", help="Last local date."),
                         as_json: bool = JsonOpt) -> None:
    """Recompute officers, deadlines and statuses (also run after each dock and on a schedule)."""
    from ingestd.compliance.recompute import recompute

    if (start is None) != (end is None):
        raise UserError("give both --from and --to, or neither")
    window = (parse_date(start, "--from"), parse_date(end, "--to")) if start and end else None
    with opened_app(ctx) as app:
        result = recompute(app, window).as_dict()
    emit(result, as_json, f"{result['recordings']} recordings {result['upload_status']}; "
                          f"{result['shifts']} shifts {result['shift_status']}")


@compliance_app.command("shifts")
def compliance_shifts(ctx: typer.Context,
                      status: Optional[str] = typer.Option(None, "--status", help="pending, met, late, overdue, "
                                                                                   "excused, no_recording or "
                                                                                   "undetermined."),
                      start: Optional[str] = typer.Option(None, "--from", help="First day (YYYY-MM-DD)."),
                      end: Optional[str] = typer.Option(None, "--to", help="Last day."),
                      team: Optional[str] = typer.Option(None, "--team"), as_json: bool = JsonOpt) -> None:
    """Rostered shifts with their deadline and status (the lists behind the report's shift figures)."""
    from sqlalchemy import select

    from ingestd.db.models import Officer, Shift

    settings = settings_of(ctx)
    with opened_app(ctx) as app:
        with app.db.reading() as s:
            q = select(Shift, Officer.name).join(Officer, Officer.badge == Shift.badge)
            if status:
                q = q.where(Shift.status == status)
            if start:
                q = q.where(Shift.day >= parse_date(start, "--from"))
            if end:
                q = q.where(Shift.day <= parse_date(end, "--to"))
            if team:
                q = q.where(Shift.team == team)
            rows = [{"id": sh.id, "day": sh.day.isoformat(), "badge": sh.badge, "name": name, "team": sh.team,
                     "camera": sh.camera, "assignment": sh.assignment, "status": sh.status,
                     "deadline": sh.deadline.astimezone(settings.tz).isoformat() if sh.deadline else None,
                     "article": sh.article}
                    for sh, name in s.execute(q.order_by(Shift.day, Shift.team, Shift.badge))]
    emit(rows, as_json, "\n".join(f"{r['day']}  {r['team'] or '-':8} {r['badge']:8} {r['name']:6} {r['camera'] or '-':10} "
                                  f"{r['status']:12} {r['deadline'] or '-'}" for r in rows) or "(none)")


@compliance_app.command("trip")
def compliance_trip(ctx: typer.Context, badge: str = typer.Argument(..., help="The officer's badge."),
                    day: str = typer.Argument(..., help="A day of the trip on the roster (YYYY-MM-DD)."),
                    could_store: bool = typer.Option(..., "--could-store/--could-not-store",
                                                     help="Whether the trip's recordings could have been stored "
                                                          "in time (then the normal deadline applies)."),
                    reason: str = typer.Option(..., "--reason", help="Why, for the record."),
                    by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """A team head's ruling on a trip: the return exception applies only where its recordings 确实 could
    not be stored in time (000 第30条, 001 第25条, 002 第16条, 003 第41条, 004 第27条)."""
    from ingestd.afterdock import rule_trip

    with opened_app(ctx, by) as app:
        result = rule_trip(app, badge, parse_date(day, "DAY"), could_store, reason, by)
    verdict = "could have been stored in time: the normal deadline applies" if could_store else \
        "could not be stored in time: the return exception applies"
    emit(result, as_json, f"trip of {badge} on {result['day']}: {verdict} ({result['article']})")


@compliance_app.command("excuse")
def compliance_excuse(ctx: typer.Context, badge: str = typer.Argument(..., help="The officer's badge."),
                      day: str = typer.Argument(..., help="The shift's day on the roster (YYYY-MM-DD)."),
                      reason: str = typer.Option(..., "--reason", help="Why the camera was not docked in time."),
                      by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """A team head's reason for an overdue shift: it counts as excused, not overdue, is no longer
    escalated, and the report lists it with the reason and who gave it."""
    from ingestd.afterdock import excuse_shift

    with opened_app(ctx, by) as app:
        result = excuse_shift(app, badge, parse_date(day, "DAY"), reason, by)
    emit(result, as_json, f"shift of {badge} on {result['day']} excused by {by}: {result['detail']}")


@compliance_app.command("return")
def compliance_return(ctx: typer.Context, badge: str = typer.Argument(..., help="The officer's badge."),
                      day: str = typer.Argument(..., help="A day of the trip on the roster (YYYY-MM-DD)."),
                      at: str = typer.Option(..., "--at", help="When the officer returned to the unit "
                                                                "(YYYY-MM-DD HH:MM, local time)."),
                      by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """返回单位时间 of a trip the roster gave none: its recordings are due 24 h after it (the return
    exception: 000 第30条, 001 第25条, 002 第16条, 003 第41条, 004 第27条)."""
    from ingestd.afterdock import enter_return
    from ingestd.compliance.shift_actions import parse_return

    with opened_app(ctx, by) as app:
        result = enter_return(app, badge, parse_date(day, "DAY"), parse_return(at, app), by)
    emit(result, as_json, f"trip of {badge} ending {result['day']}: returned {result['detail']}")


@compliance_app.command("remind")
def compliance_remind(ctx: typer.Context, badge: str = typer.Argument(..., help="The officer's badge."),
                      day: str = typer.Argument(..., help="The overdue shift's day (YYYY-MM-DD)."),
                      by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Remind an officer whose shift is overdue, on the unit's alert channels (at most once an hour)."""
    from ingestd.alerts.remind import remind

    with opened_app(ctx, by) as app:
        result = remind(app, badge, parse_date(day, "DAY"), by).as_dict()
    emit(result, as_json, f"reminded {badge} about the shift on {result['day']} ({', '.join(result['recipients'])})")


def report(ctx: typer.Context,
           start: str = typer.Option(..., "--from", help="First day of the period (YYYY-MM-DD)."),
           end: str = typer.Option(..., "--to", help="Last day of the period (inclusive)."),
           team: Optional[str] = typer.Option(None, "--team", help="Only this team."),
           fmt: str = typer.Option("html", "--format", help="html, pdf, xlsx, csv or json."),
           out: Path = typer.Option(..., "--out", help="The file to write."),
           limit: int = typer.Option(500, "--limit", min=1, help="Items shown per list (totals are always complete)."),
           as_json: bool = JsonOpt) -> None:
    """The upload-compliance report per team and officer, with the items behind every figure."""
    from ingestd.compliance.report import ReportRequest, build_report
    from ingestd.compliance.report_render import write_report

    with opened_app(ctx) as app:
        req = ReportRequest(parse_date(start, "--from"), parse_date(end, "--to"), team, limit,
                            app.settings.report.not_docked_days)
        model = build_report(app, req)
        write_report(model, fmt, out, app.settings.report.language)
    u = model.unit
    data = {"out": str(out.resolve()), "format": fmt, "recordings": u.recordings, "on_time": u.on_time,
            "late": u.late, "shifts_overdue": u.shifts_overdue, "on_time_rate": u.on_time_rate}
    rate = f"{u.on_time_rate:.1%}" if u.on_time_rate is not None else "-"
    emit(data, as_json, f"wrote {out} ({fmt}): {u.recordings} recordings, on time {u.on_time}, late {u.late}, "
                        f"overdue shifts {u.shifts_overdue}, on-time rate {rate}")
