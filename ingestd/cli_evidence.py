"""Commands for evidence: users, 证明对象, cases, legal holds, access requests, exports and
retention. Each acting command names its person with --by (a user added with `users add`)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ingestd.errors import UserError
from ingestd.cli_support import ByOpt, JsonOpt, emit, opened_app, parse_date

users_app = typer.Typer(no_args_is_help=True, help="People and their roles.")
evidence_app = typer.Typer(no_args_is_help=True, help="Evidence metadata: 制作方法/制作时间/制作人/证明对象.")
case_app = typer.Typer(no_args_is_help=True, help="Cases (案件) and their archive deadlines.")
hold_app = typer.Typer(no_args_is_help=True, help="Legal holds: nothing held is ever deleted.")
access_app = typer.Typer(no_args_is_help=True, help="Access to other teams' recordings (调阅: approval by the owning team's head).")
retention_app = typer.Typer(no_args_is_help=True, help="Retention periods and approved deletion.")



def _lines(rows: list[dict], *keys: str) -> str:
    return "\n".join("  ".join(str(r.get(k) if r.get(k) is not None else "-") for k in keys) for r in rows) \
        or "(none)"


def _secret_from_stdin(what: str) -> str:
    """One line from standard input (so a password never shows in the process list or history)."""
    import sys

    line = sys.stdin.readline()
    if not line.strip():
        raise UserError(f"no {what} on standard input")
    return line.rstrip("\r\n")


@users_app.command("add")
def users_add(ctx: typer.Context, badge: str = typer.Argument(..., help="警号 or user name."),
              name: str = typer.Option(..., "--name"),
              role: str = typer.Option("officer", "--role", help="officer, team_head, legal, admin or auditor."),
              team: Optional[str] = typer.Option(None, "--team"), email: Optional[str] = typer.Option(None, "--email"),
              mobile: Optional[str] = typer.Option(None, "--mobile"),
              password_stdin: bool = typer.Option(False, "--password-stdin",
                                                  help="Read a password for the web console from standard input."),
              temporary: bool = typer.Option(False, "--temporary", help="It must be changed at the first log-in."),
              by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Add a user, or change one's name, role, team and contacts (by a 信息中心 admin)."""
    from ingestd.users import add_user

    password = _secret_from_stdin("password") if password_stdin else None
    if temporary and password is None:
        raise UserError("--temporary applies to a password given with --password-stdin")
    with opened_app(ctx, by) as app:
        data = add_user(app, badge, name, role, team, email, mobile, by, password, temporary)
    emit(data, as_json, f"{data['badge']} {data['name']} {data['role_zh']} {data['team'] or ''}")


@users_app.command("passwd")
def users_passwd(ctx: typer.Context, badge: str = typer.Argument(..., help="Whose password."),
                 temporary: bool = typer.Option(False, "--temporary", help="It must be changed at the next log-in."),
                 by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Set a password for the web console, read from standard input; the person's other
    log-ins end. One's own, or anyone's by a 信息中心 admin."""
    from ingestd.users import set_password

    password = _secret_from_stdin("password")
    with opened_app(ctx, by) as app:
        data = set_password(app, badge, password, by, temporary)
    emit(data, as_json, f"password set for {data['badge']}{' (temporary)' if temporary else ''}")


@users_app.command("pin")
def users_pin(ctx: typer.Context, badge: str = typer.Argument(..., help="Whose PIN."), by: str = ByOpt,
              as_json: bool = JsonOpt) -> None:
    """Set the PIN (4–8 digits, from standard input) an officer signs in with on the dock's screen."""
    from ingestd.users import set_pin

    pin = _secret_from_stdin("PIN")
    with opened_app(ctx, by) as app:
        data = set_pin(app, badge, pin, by)
    emit(data, as_json, f"PIN set for {data['badge']}")


@users_app.command("disable")
def users_disable(ctx: typer.Context, badge: str = typer.Argument(...), by: str = ByOpt,
                  as_json: bool = JsonOpt) -> None:
    """Disable a user: no more log-ins, their sessions end, their past acts stay in the audit trail."""
    from ingestd.users import disable_user

    with opened_app(ctx, by) as app:
        data = disable_user(app, badge, by)
    emit(data, as_json, f"{data['badge']} disabled")


@users_app.command("list")
def users_list(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    from ingestd.users import list_users

    with opened_app(ctx) as app:
        rows = list_users(app)
    emit(rows, as_json, _lines(rows, "badge", "name", "role_zh", "team", "email"))


@evidence_app.command("set")
def evidence_set(ctx: typer.Context, rec: str = typer.Argument(..., metavar="REC"),
                 proves: str = typer.Option(..., "--proves", help="证明对象: what the recording proves."),
                 case: Optional[str] = typer.Option(None, "--case", help="Case number (案号) to link it to."),
                 long_term: Optional[str] = typer.Option(None, "--long-term",
                                                         help="长期保存 category of the policy in force."),
                 content: Optional[str] = typer.Option(None, "--content",
                                                       help="录音内容: what the sound contains, for the 文字说明."),
                 by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Enter 证明对象 (and the case): a new OCFL version of the recording and an audit entry."""
    from ingestd.evidence.metadata import set_evidence

    with opened_app(ctx, by) as app:
        data = set_evidence(app, rec, proves, case, long_term, by, content)
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@evidence_app.command("show")
def evidence_show(ctx: typer.Context, rec: str = typer.Argument(..., metavar="REC"), as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.metadata import show

    with opened_app(ctx) as app:
        data = show(app, rec)
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@case_app.command("open")
def case_open(ctx: typer.Context, case_no: str = typer.Argument(..., metavar="NO"),
              title: Optional[str] = typer.Option(None, "--title"), team: Optional[str] = typer.Option(None, "--team"),
              by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.cases import open_case

    with opened_app(ctx, by) as app:
        data = open_case(app, case_no, title, team, by)
    emit(data, as_json, f"case {data['case_no']} opened")


@case_app.command("add")
def case_add(ctx: typer.Context, case_no: str = typer.Argument(..., metavar="NO"),
             recs: list[str] = typer.Argument(..., metavar="REC..."), by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Link recordings to a case (opened if new); 证明对象 then awaits entry for each."""
    from ingestd.evidence.metadata import link_to_case

    with opened_app(ctx, by) as app:
        data = link_to_case(app, case_no, recs, by)
    emit(data, as_json, f"case {data['case_no']}: {len(data['recordings'])} recordings linked")


@case_app.command("end")
def case_end(ctx: typer.Context, case_no: str = typer.Argument(..., metavar="NO"),
             on: str = typer.Option(..., "--on", help="Date the enforcement act ended (YYYY-MM-DD)."),
             by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Record the end of the enforcement act: the archive deadline starts."""
    from ingestd.evidence.cases import end_case

    with opened_app(ctx, by) as app:
        data = end_case(app, case_no, parse_date(on, "--on"), by)
    emit(data, as_json, f"case {data['case_no']} ended {data['ended_on']}; archive by "
                        f"{data['archive_deadline'] or 'the unit’s own rule'} ({data['archive_article']})")


@case_app.command("archive")
def case_archive(ctx: typer.Context, case_no: str = typer.Argument(..., metavar="NO"),
                 on: str = typer.Option(..., "--on", help="Date the case file was archived (归档, YYYY-MM-DD)."),
                 by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Record the day the case file was archived (归档): retention counted from 归档 runs from it."""
    from ingestd.evidence.cases import archive_case

    with opened_app(ctx, by) as app:
        data = archive_case(app, case_no, parse_date(on, "--on"), by)
    emit(data, as_json, f"case {data['case_no']} archived {data['archived_on']} (deadline "
                        f"{data['archive_deadline'] or 'the unit’s own rule'}, {data['archive_article']})")


@case_app.command("location")
def case_location(ctx: typer.Context, case_no: str = typer.Argument(..., metavar="NO"),
                  text: str = typer.Option(..., "--text", help="The storage location as the case file states it."),
                  by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Record where the case file states its recordings are kept (000 第32条, 004 第29条: instead of a disc)."""
    from ingestd.evidence.cases import set_storage_location

    with opened_app(ctx, by) as app:
        data = set_storage_location(app, case_no, text, by)
    emit(data, as_json, f"case {data['case_no']}: storage location recorded")


@case_app.command("show")
def case_show(ctx: typer.Context, case_no: str = typer.Argument(..., metavar="NO"), as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.cases import case_summary

    with opened_app(ctx) as app:
        data = case_summary(app, case_no)
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@case_app.command("list")
def case_list(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.cases import list_cases

    with opened_app(ctx) as app:
        rows = list_cases(app)
    emit(rows, as_json, _lines(rows, "case_no", "status", "ended_on", "archive_deadline", "recordings",
                               "missing_proves", "not_exported"))


@hold_app.command("place")
def hold_place(ctx: typer.Context, rec: Optional[str] = typer.Argument(None, metavar="[REC]"),
               case: Optional[str] = typer.Option(None, "--case"), reason: str = typer.Option(..., "--reason"),
               by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Hold one recording, or every recording of a case."""
    from ingestd.evidence.holds import place_hold

    with opened_app(ctx, by) as app:
        data = place_hold(app, rec, case, reason, by)
    emit(data, as_json, f"hold {data['id']} placed on {data['recording_id'] or 'case ' + str(data['case_no'])}")


@hold_app.command("release")
def hold_release(ctx: typer.Context, hold_id: int = typer.Argument(..., metavar="ID"), by: str = ByOpt,
                 as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.holds import release_hold

    with opened_app(ctx, by) as app:
        data = release_hold(app, hold_id, by)
    emit(data, as_json, f"hold {data['id']} released")


@hold_app.command("list")
def hold_list(ctx: typer.Context, released: bool = typer.Option(False, "--released", help="Include released."),
              as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.holds import list_holds

    with opened_app(ctx) as app:
        rows = list_holds(app, released)
    emit(rows, as_json, _lines(rows, "id", "recording_id", "case_no", "reason", "placed_by", "released_at"))


@access_app.command("request")
def access_request(ctx: typer.Context, rec: str = typer.Argument(..., metavar="REC"),
                   action: str = typer.Option("view", "--action", help="view or export."),
                   purpose: str = typer.Option(..., "--purpose", help="调阅事由."), by: str = ByOpt,
                   as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.access import request_access

    with opened_app(ctx, by) as app:
        data = request_access(app, rec, action, purpose, by)
    emit(data, as_json, f"access request {data['id']} pending")


@access_app.command("approve")
def access_approve(ctx: typer.Context, request_id: int = typer.Argument(..., metavar="ID"),
                   hours: int = typer.Option(72, "--hours", help="How long the approval lasts."), by: str = ByOpt,
                   as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.access import decide

    with opened_app(ctx, by) as app:
        data = decide(app, request_id, by, True, hours)
    emit(data, as_json, f"access request {data['id']} approved until {data['valid_until']}")


@access_app.command("deny")
def access_deny(ctx: typer.Context, request_id: int = typer.Argument(..., metavar="ID"), by: str = ByOpt,
                as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.access import decide

    with opened_app(ctx, by) as app:
        data = decide(app, request_id, by, False)
    emit(data, as_json, f"access request {data['id']} denied")


@access_app.command("list")
def access_list(ctx: typer.Context, pending: bool = typer.Option(False, "--pending"), as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.access import list_requests

    with opened_app(ctx) as app:
        rows = list_requests(app, pending)
    emit(rows, as_json, _lines(rows, "id", "requester", "recording_id", "action", "status", "valid_until"))


def export(ctx: typer.Context, recs: Optional[list[str]] = typer.Argument(None, metavar="[REC]..."),
           out: Path = typer.Option(..., "--out", help="An empty or new folder."),
           case: Optional[str] = typer.Option(None, "--case", help="Export (also) every recording of this case."),
           iso: bool = typer.Option(False, "--iso", help="Also write an ISO 9660 image per volume, ready to burn."),
           disc: str = typer.Option("dvd", "--disc", help="Volume size: cd, dvd, dvd-dl, bd or bytes (e.g. 700m)."),
           purpose: str = typer.Option("case_file", "--purpose",
                                       help="case_file (入卷), or provide (对外提供: a copy leaving the unit, "
                                            "only with an approved `access request --action provide`)."),
           by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Recordings for the case file, or provided outside the unit with an approval: BagIt bag(s)
    with originals, proxies, segment manifests and the 文字说明; with --iso, disc images."""
    from ingestd.db.states import ExportPurpose
    from ingestd.evidence.export import export as run_export

    if purpose not in tuple(ExportPurpose):
        raise UserError(f"unknown --purpose {purpose!r} (use {', '.join(ExportPurpose)})")
    with opened_app(ctx, by) as app:
        data = run_export(app, recs or [], out, by, case, iso, disc, purpose=ExportPurpose(purpose))
    emit(data, as_json, "\n".join(f"volume {v['volume']}: {v['files']} files, {v['bytes']} bytes  {v['path']}"
                                  + (f"  {v['iso']}" if "iso" in v else "") for v in data["volumes"]))


@retention_app.command("plan")
def retention_plan(ctx: typer.Context, show_all: bool = typer.Option(False, "--all", help="Every recording, not "
                                                                     "only those due or kept past their date."),
                   on: Optional[str] = typer.Option(None, "--on", help="As it will stand on this date "
                                                                       "(default: today)."),
                   as_json: bool = JsonOpt) -> None:
    """What retention would make due for deletion; changes nothing."""
    from ingestd.evidence.retention import plan

    with opened_app(ctx) as app:
        items = plan(app, parse_date(on, "--on") if on else None)
        policy = app.policy
    today = [i for i in items if show_all or i.state == "due" or
             (i.due_on is not None and i.state in ("held", "long_term", "open_case"))]
    rows = [i.as_dict() for i in today]
    data = {"policy": policy.name, "retention_years": policy.retention.years, "article": policy.retention.article,
            "due": sum(i.state == "due" for i in items), "items": rows}
    emit(data, as_json, _lines(rows, "recording_id", "due_on", "state_zh", "case_no", "original_name") +
         f"\n{data['due']} due under {policy.name} ({policy.retention.years or '依法'} 年, {policy.retention.article})")


@retention_app.command("request")
def retention_request(ctx: typer.Context, rec: str = typer.Argument(..., metavar="REC"),
                      reason: str = typer.Option(..., "--reason"), by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Ask to delete a recording whose retention has run out (an admin or the head of its team approves)."""
    from ingestd.evidence.retention import request_deletion

    with opened_app(ctx, by) as app:
        data = request_deletion(app, rec, reason, by)
    emit(data, as_json, f"deletion {data['id']} requested; an admin or the team's head approves with "
                        f"`ingestd retention approve {data['id']} --by …`")


@retention_app.command("approve")
def retention_approve(ctx: typer.Context, deletion_id: int = typer.Argument(..., metavar="ID"), by: str = ByOpt,
                      as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.retention import approve_deletion

    with opened_app(ctx, by) as app:
        data = approve_deletion(app, deletion_id, by)
    emit(data, as_json, f"recording {data['recording_id']} deleted ({data['object_version']} records it)")


@retention_app.command("refuse")
def retention_refuse(ctx: typer.Context, deletion_id: int = typer.Argument(..., metavar="ID"), by: str = ByOpt,
                     as_json: bool = JsonOpt) -> None:
    from ingestd.evidence.retention import refuse_deletion

    with opened_app(ctx, by) as app:
        data = refuse_deletion(app, deletion_id, by)
    emit(data, as_json, f"deletion {data['id']} refused")
