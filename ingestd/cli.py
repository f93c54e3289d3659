"""The command line (a stable contract; `--json` output is for scripts and tests).

Exit codes: 0 success; 1 findings (corruption found by a verify); 2 bad input, with a
one-line message naming the problem; 3 an internal error of ingestd's own; 4 anything
unexpected (with its traceback, so it can be fixed).
"""

from __future__ import annotations

import json
import sys
import traceback
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import typer
from ingestd import (cli_alerts, cli_compliance, cli_devices, cli_evidence, cli_incidents, cli_jobs, cli_media,
                     cli_replica, cli_timeline, logs)
from ingestd.cli_support import JsonOpt, emit, iso, opened_app, parse_date, parse_time, settings_of
from ingestd.errors import DatabaseDamagedError, IngestdError, NoSpaceError, UserError
from ingestd.text import printable

if TYPE_CHECKING:
    from ingestd.config import Settings
    from ingestd.db.models import Recording, RecordingCompliance

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="ingestd: verified offload of 执法记录仪 recordings into a write-once evidence store.")
recordings_app = typer.Typer(no_args_is_help=True, help="Recordings in the store.")
audit_app = typer.Typer(no_args_is_help=True, help="The hash-chained, signed audit log.")
store_app = typer.Typer(no_args_is_help=True, help="The OCFL originals store.")
db_app = typer.Typer(no_args_is_help=True, help="The database schema.")
app.add_typer(recordings_app, name="recordings")
app.add_typer(audit_app, name="audit")
app.add_typer(store_app, name="store")
app.add_typer(db_app, name="db")
app.add_typer(cli_compliance.roster_app, name="roster")
app.add_typer(cli_compliance.calendar_app, name="calendar")
app.add_typer(cli_compliance.compliance_app, name="compliance")
app.command("deadline")(cli_compliance.deadline)
app.command("report")(cli_compliance.report)
app.command("rules")(cli_compliance.rules)
app.add_typer(cli_timeline.gaps_app, name="gaps")
app.add_typer(cli_devices.devices_app, name="devices")
app.add_typer(cli_media.media_app, name="media")
app.add_typer(cli_jobs.jobs_app, name="jobs")
app.add_typer(cli_incidents.incidents_app, name="incidents")
app.add_typer(cli_alerts.alerts_app, name="alerts")
app.add_typer(cli_evidence.users_app, name="users")
app.add_typer(cli_evidence.evidence_app, name="evidence")
app.add_typer(cli_evidence.case_app, name="case")
app.add_typer(cli_evidence.hold_app, name="hold")
app.add_typer(cli_evidence.access_app, name="access")
app.add_typer(cli_evidence.retention_app, name="retention")
app.add_typer(cli_replica.replica_app, name="replica")
store_app.command("restore")(cli_replica.restore_command)
store_app.command("status")(cli_replica.status_command)
store_app.command("evict")(cli_replica.evict_command)
store_app.command("recall")(cli_replica.recall_command)
app.command("export")(cli_evidence.export)

@app.callback()
def _root(ctx: typer.Context,
          config: Optional[Path] = typer.Option(None, "--config", help="ingestd.toml (default: $INGESTD_CONFIG, "
                                                                      "else <data_dir>/ingestd.toml)")) -> None:
    from ingestd.config import load_settings

    settings = load_settings(config)
    logs.configure(settings.log_format, settings.log_level)
    ctx.obj = {"settings": settings}


@app.command()
def init(ctx: typer.Context,
         no_first_admin: bool = typer.Option(False, "--no-first-admin",
                                             help="Make no `admin` with a one-time password: the installer sets "
                                                  "the first administrator on the dock's own screen (the package)."),
         as_json: bool = JsonOpt) -> None:
    """Create the data directory, originals store, signing key, database and default config."""
    from ingestd.app import initialise

    result = initialise(settings_of(ctx), first_admin=not no_first_admin)
    text = f"initialised {result['data_dir']} (schema {result['schema']}, config {result['config']})"
    if result["first_admin"]:
        text += (f"\nfirst administrator: {result['first_admin']['badge']}, one-time password "
                 f"{result['first_admin']['password']} (shown once; change it at the first log-in)")
    emit(result, as_json, text)


@app.command()
def run(ctx: typer.Context) -> None:
    """The daemon: inbox watchers, ingest, and the scheduled compliance sweep."""
    from ingestd.daemon import run_daemon

    from ingestd.app import App

    application = App.open(settings_of(ctx))
    try:
        application.db.quick_check()  # a damaged file stops the start, not a dock hours later
    except DatabaseDamagedError:
        application.close()
        raise
    run_daemon(application)  # the daemon closes the app itself when it stops


@app.command()
def web(ctx: typer.Context,
        host: Optional[str] = typer.Option(None, "--host", help="Address (default: web.host in ingestd.toml)."),
        port: Optional[int] = typer.Option(None, "--port", min=1, max=65535,
                                           help="Port (default: web.port in ingestd.toml).")) -> None:
    """Serve the web console alone, without docking (`ingestd run` serves it with the daemon)."""
    from ingestd.web.server import WebServer

    from ingestd.app import App

    application = App.open(settings_of(ctx))
    try:
        WebServer(application, host, port).run()
    finally:
        application.close()


@app.command()
def ingest(ctx: typer.Context,
           paths: list[Path] = typer.Argument(..., help="Mounted camera(s) or folder(s) or files."),
           profile: Optional[str] = typer.Option(None, "--profile", help="Device profile name."),
           device: Optional[str] = typer.Option(None, "--device", help="Camera serial number."),
           camera_clock: Optional[str] = typer.Option(None, "--camera-clock", help="The camera's clock as read at "
                                                      "dock (ISO 8601), to correct its recordings' times."),
           no_wait: bool = typer.Option(False, "--no-wait", help="Return once the camera is released; the "
                                        "after-dock jobs are left to the daemon or `ingestd jobs work`."),
           as_json: bool = JsonOpt) -> None:
    """Offload recordings now (the same code path the daemon uses when a camera docks), then see
    the after-dock jobs of these sessions through (SM3, timeline, compliance, 制作人), so that
    `gaps list` and the report are right when it returns. Derivatives are left to the daemon."""
    from ingestd.afterdock import ingest as run_ingest

    for path in paths:
        if not path.exists() and not path.is_symlink():
            raise UserError(f"path does not exist: {printable(str(path))}")
    from ingestd.ingest.names import valid_serial

    if device is not None and (problem := valid_serial(device)) is not None:
        raise UserError(f"--device {printable(device)!r}: a camera serial {problem}")
    with opened_app(ctx) as application:
        application.profile(profile)  # reject an unknown profile before anything starts
        clock_reading = parse_time(camera_clock, "--camera-clock", application.settings.tz) if camera_clock else None
        runs = run_ingest(application, paths, profile, device, clock_reading, wait=not no_wait)
    data = {"sessions": [r.as_dict() for r in runs],
            "files": [o.as_dict() for r in runs for o in r.outcomes]}
    lines = [f"{o.status:9} {printable(o.rel_path)}" + (f"  ({printable(o.reason)})" if o.reason else "")
             for r in runs for o in r.outcomes]
    for r in runs:
        device_text = f"device {printable(r.device or '(none)')} ({r.device_source or 'unknown'})"
        state = f"released after {r.released_after_s:.2f} s" if r.released else "interrupted"
        lines.append(f"session {r.session_id}: {device_text}, {state}; "
                     + ", ".join(f"{k} {v}" for k, v in r.counts().items()))
    emit(data, as_json, "\n".join(lines))


def _recording_dict(rec: Recording, serial: str | None, comp: RecordingCompliance | None,
                    settings: Settings) -> dict:
    return {
        "id": rec.id, "device": serial, "path": rec.source_path, "original_name": rec.original_name,
        "start": iso(rec.start, settings), "end": iso(rec.end, settings), "duration_s": rec.duration_s,
        "time_source": rec.time_source, "size": rec.size, "sha256": rec.id, "sm3": rec.sm3,
        "kind": rec.kind, "status": rec.status, "damage_reason": rec.damage_reason, "badge": rec.badge,
        "important": rec.important, "name_conflict": rec.name_conflict, "object_id": rec.object_id,
        "dock_session": rec.dock_session_id, "ingested_at": iso(rec.ingested_at, settings),
        "officer": comp.officer_badge if comp else None, "officer_source": comp.officer_source if comp else None,
        "team": comp.team if comp else None, "deadline": iso(comp.deadline, settings) if comp else None,
        "deadline_article": comp.article if comp else None,
        "upload_status": comp.upload_status if comp else None, "late_by_s": comp.late_by_s if comp else None,
        "off_duty": comp.off_duty if comp else None,
    }


@recordings_app.command("list")
def recordings_list(ctx: typer.Context,
                    device: Optional[str] = typer.Option(None, "--device", help="Only this camera serial."),
                    status: Optional[str] = typer.Option(None, "--status", help="ok, damaged, unchecked or deleted."),
                    start: Optional[str] = typer.Option(None, "--from", help="Made on or after this local date."),
                    end: Optional[str] = typer.Option(None, "--to", help="Made on or before this local date."),
                    team: Optional[str] = typer.Option(None, "--team", help="Only this team's."),
                    officer: Optional[str] = typer.Option(None, "--officer", help="Only this officer's (badge)."),
                    upload_status: Optional[str] = typer.Option(None, "--upload-status",
                                                                help="on_time, late or undetermined."),
                    off_duty: bool = typer.Option(False, "--off-duty", help="Only those made outside any shift."),
                    as_json: bool = JsonOpt) -> None:
    """List recordings, oldest first (the lists behind the report's figures)."""
    settings = settings_of(ctx)
    from sqlalchemy import select

    from ingestd.db.models import RECORDING_MADE, Device, Recording, RecordingCompliance

    made = RECORDING_MADE
    with opened_app(ctx) as application:
        with application.db.reading() as s:
            q = (select(Recording, Device.serial, RecordingCompliance)
                 .outerjoin(Device, Recording.device_id == Device.id)
                 .outerjoin(RecordingCompliance, RecordingCompliance.recording_id == Recording.id))
            if device:
                q = q.where(Device.serial == device)
            if status:
                q = q.where(Recording.status == status)
            if start:
                q = q.where(made >= datetime.combine(parse_date(start, "--from"), time(), settings.tz))
            if end:
                q = q.where(made < datetime.combine(parse_date(end, "--to") + timedelta(days=1), time(), settings.tz))
            if team:
                q = q.where(RecordingCompliance.team == team)
            if officer:
                q = q.where(RecordingCompliance.officer_badge == officer)
            if upload_status:
                q = q.where(RecordingCompliance.upload_status == upload_status)
            if off_duty:
                q = q.where(RecordingCompliance.off_duty.is_(True))
            rows = s.execute(q.order_by(made, Recording.id)).all()
            data = [_recording_dict(rec, serial, comp, settings) for rec, serial, comp in rows]
    emit(data, as_json, "\n".join(
        f"{d['id'][:12]}  {d['start'] or '-':25}  {d['status']:7}  {d['size']:>12}  {printable(d['path'])}"
        for d in data))


@recordings_app.command("show")
def recordings_show(ctx: typer.Context, rec_id: str = typer.Argument(..., metavar="REC",
                                                                     help="Recording id or a unique prefix (8+)."),
                    as_json: bool = JsonOpt) -> None:
    """Show one recording with its stored ingest record."""
    settings = settings_of(ctx)
    with opened_app(ctx) as application:
        with application.db.reading() as s:
            from ingestd.db.models import RecordingCompliance, Recovery
            from ingestd.lookup import find_recording, kept
            from ingestd.media.recovered import recovery_dict

            rec, serial = find_recording(s, rec_id)
            data = _recording_dict(rec, serial, s.get(RecordingCompliance, rec.id), settings)
            recovery = s.get(Recovery, rec.id)
            where = kept(s, rec.id)
        data["probe"] = rec.probe
        if recovery is not None:
            data["recovery"] = recovery_dict(recovery, rec.source_path, settings.tz)
        data["kept"] = where.as_dict(settings.tz)
        data["inventory_head"] = (where.head if where.where == "bucket"
                                  else application.store.inventory(rec.object_id)["head"])
    emit(data, as_json, "\n".join(f"{k}: {v}" for k, v in data.items()))


@app.command()
def verify(ctx: typer.Context,
           sample: Optional[int] = typer.Option(None, "--sample", min=1, help="Check N random recordings only."),
           bucket_all: bool = typer.Option(False, "--bucket-all", help="Read back every original kept in the "
                                                                       "bucket only (default: a sample)."),
           as_json: bool = JsonOpt) -> None:
    """Re-hash originals against the store (fixity), and read back from the bucket those kept
    there only. Exit 1 names every changed or missing object."""
    from ingestd.fixity import verify_store

    with opened_app(ctx) as application:
        report = verify_store(application, sample, bucket_all=bucket_all)
        data = report.as_dict(application.policy)
    text = [f"{f.code}: {f.message}" for f in report.findings]
    text.append(f"checked {report.checked} recordings: {'FAILED' if report.failed else 'ok'}"
                + (f" ({report.elsewhere} held by other docks, theirs to check)" if report.elsewhere else "")
                + (f"; {report.bucket_checked} of {report.in_bucket} kept in the bucket only read back from it"
                   if report.in_bucket else ""))
    emit(data, as_json, "\n".join(text))
    if report.failed:
        raise typer.Exit(1)


@app.command()
def doctor(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Check the dock itself: time sync and clock steps, the days until the store's disk fills,
    the store and the database, the USB rules, the inbox, the replica, the dock screen and the
    signing key's permissions. Exit 1 when something needs doing, each with its code and what
    to do; it changes nothing."""
    from ingestd.doctor import diagnose

    found = diagnose(settings_of(ctx))
    text = []
    for check in found.checks:
        text.append(f"{check.state.value:8} {check.name.value:12} {printable(check.said)}")
        text += [f"{'':21}{f.code}: {printable(f.message)}" for f in check.findings]
    text.append("healthy" if found.ok else f"{len(found.findings)} finding(s): see above")
    emit(found.as_dict(), as_json, "\n".join(text))
    if not found.ok:
        raise typer.Exit(1)


@audit_app.command("verify")
def audit_verify(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Check every dock's audit chain and its signatures, with the keys the docks registered in
    the database. Exit 1 names the first bad entry."""
    from ingestd import audit

    with opened_app(ctx) as application:
        with application.db.reading() as s:
            findings, chains = audit.verify(s)
    entries = sum(c.entries for c in chains)
    data = {"ok": not findings, "entries": entries, "first_bad": findings[0].detail["seq"] if findings else None,
            "chains": [{"node": c.node, "entries": c.entries, "ok": c.ok, "head": c.head_hash} for c in chains],
            "findings": [f.as_dict(application.policy) for f in findings]}
    text = "\n".join([f"{f.code}: {f.message}" for f in findings] +
                     [f"chain {c.node}: {c.entries} entries, {'ok' if c.ok else 'BROKEN'}" for c in chains] +
                     [f"audit log: {entries} entries in {len(chains)} chains, " +
                      ("ok" if not findings else f"FIRST BAD ENTRY {data['first_bad']}")])
    emit(data, as_json, text)
    if findings:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(ctx: typer.Context,
               person: str = typer.Option("", "--person", help="entries by this badge (or `ingestd`, a dock's own)"),
               subject: str = typer.Option("", "--subject", help="entries about this recording id, case, user …"),
               action: str = typer.Option("", "--action", help="an action, or its start: `recording.` for all"),
               since: Optional[str] = typer.Option(None, "--from", help="first local day, YYYY-MM-DD"),
               until: Optional[str] = typer.Option(None, "--to", help="last local day, YYYY-MM-DD"),
               limit: int = typer.Option(1000, "--limit", min=1, max=100_000, help="at most this many, newest first"),
               before: Optional[int] = typer.Option(None, "--before", help="entries below this seq (the next page)"),
               as_json: bool = JsonOpt) -> None:
    """The audit trail, newest first, as the console's audit page shows it: who watched,
    exported or changed a recording, and when. One entry a line (or --json for scripts)."""
    from ingestd.audit_trail import TrailFilter, read_trail

    wanted = TrailFilter(person=person, subject=subject, action=action, before=before,
                         since=parse_date(since, "--from") if since else None,
                         until=parse_date(until, "--to") if until else None)
    with opened_app(ctx) as application:
        tz = application.settings.tz
        with application.db.reading() as s:
            entries = read_trail(s, wanted, tz, limit)
    emit([e.as_dict(tz) for e in entries], as_json,
         "\n".join(printable(f"{e.seq}  {e.at.astimezone(tz):%Y-%m-%d %H:%M:%S}  {e.actor}  {e.action}  "
                              f"{e.subject_type} {e.subject_id}  "
                              + json.dumps(e.detail, ensure_ascii=False, sort_keys=True)) for e in entries)
         or "no audit entries match")


@store_app.command("rebuild-index")
def store_rebuild_index(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Recreate missing database rows from the store's own ingest records, then the work a dock
    asks for after it (SM3, probes, each session's timeline, compliance and evidence metadata)."""
    from ingestd.afterdock import rebuild

    with opened_app(ctx) as application:
        result = rebuild(application)
    emit(result, as_json, f"{result['objects']} objects: {result['indexed']} indexed, "
                           f"{result['already_indexed']} already in the index")


@db_app.command("check")
def db_check(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Check the database: reachable, at this ingestd's schema, and (SQLite) every page whole
    (PRAGMA quick_check). A damaged file exits 3 and says how to recover."""
    from ingestd.db import migrate
    from ingestd.db.engine import Database

    settings = settings_of(ctx)
    db = Database.open(settings.db_url, settings.source_of("database_url"))
    try:
        db.check()
        db.quick_check()
        data = {"database": db.shown_url, "schema": migrate.current_revision(db), "needs": migrate.head_revision(),
                "pages": "ok" if db.is_sqlite else None}
    finally:
        db.dispose()
    at_head = data["schema"] == data["needs"]
    emit({**data, "ok": at_head}, as_json,
         f"{data['database']}: " + ("pages whole, " if db.is_sqlite else "")
         + (f"schema {data['schema']}" if at_head else
            f"schema {data['schema'] or 'none'}, this ingestd needs {data['needs']}: run `ingestd db upgrade`"))
    if not at_head:
        raise typer.Exit(1)


@db_app.command("backup")
def db_backup(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Back the database up now, into the data directory's backups/: SQLite copied and
    checked, a PostgreSQL on this machine dumped with pg_dump (restore with pg_restore), a
    remote PostgreSQL left to its server's own backups (said, exit 0). The package runs this
    before every upgrade."""
    from ingestd.datadir import DataDir
    from ingestd.db import migrate
    from ingestd.db.engine import Database

    settings = settings_of(ctx)
    db = Database.open(settings.db_url, settings.source_of("database_url"))
    try:
        db.check()
        made = migrate.backup(db, DataDir(settings.data_dir).backups)
    finally:
        db.dispose()
    emit(made.as_dict(), as_json, made.path or made.note)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Migrate the database to the newest schema (SQLite is backed up first)."""
    from ingestd.db import migrate
    from ingestd.datadir import DataDir
    from ingestd.db.engine import Database

    settings = settings_of(ctx)
    db = Database.open(settings.db_url, settings.source_of("database_url"))
    try:
        db.check()
        backup = migrate.upgrade(db, DataDir(settings.data_dir).backups)
        data = {"schema": migrate.current_revision(db), "backup": backup}
    finally:
        db.dispose()
    if DataDir(settings.data_dir).signing_key.exists():
        # The dock takes up its chain at once (a single chain of old proves to be its own).
        from ingestd.app import App

        application = App.open(settings)
        try:
            application.changes.register()
            data["store_not_indexed"] = _store_without_index(application)
        finally:
            application.close()
    note = ("\nthe store holds recordings this database does not know (a new or emptied database): run "
            "`ingestd store rebuild-index`" if data.get("store_not_indexed") else "")
    emit(data, as_json, f"schema at {data['schema']}" + (f" (backup {backup})" if backup else "") + note)


def _store_without_index(application) -> bool:
    """A database with no recording over a store with objects: what a zeroed or lost database
    file leaves once upgraded; said at once, not found later by `verify`."""
    from sqlalchemy import func, select

    from ingestd.db.models import Recording

    with application.db.reading() as s:
        if s.execute(select(func.count()).select_from(Recording)).scalar():
            return False
    return next(iter(application.store.iter_objects()), None) is not None


def main() -> None:
    """Entry point: typer handles usage errors (exit 2) and --help; ours are mapped here."""
    try:
        app()
    except UserError as exc:
        print(f"ingestd: {printable(str(exc))}", file=sys.stderr)
        sys.exit(2)
    except (NoSpaceError, DatabaseDamagedError) as exc:
        print(f"ingestd: {printable(str(exc))}", file=sys.stderr)
        sys.exit(3)
    except IngestdError as exc:
        print(f"ingestd: internal error: {printable(str(exc))}", file=sys.stderr)
        sys.exit(3)
    except Exception:  # noqa: BLE001 - reported in full, never swallowed
        traceback.print_exc()
        sys.exit(4)
