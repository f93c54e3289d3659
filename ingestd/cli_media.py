"""Commands of the media queue: status, retry, request, work."""

from __future__ import annotations

import typer

from ingestd.cli_support import JsonOpt, emit, opened_app
from ingestd.errors import UserError

media_app = typer.Typer(no_args_is_help=True, help="Proxies, HLS segments and thumbnails.")


@media_app.command("status")
def media_status(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Queue depth, running jobs and failures."""
    from ingestd.media.queue import status

    with opened_app(ctx) as app:
        data = status(app).as_dict()
    emit(data, as_json, f"queued {data['queued']}, running {len(data['running'])}, done {data['done']}, "
                        f"failed {len(data['failed'])}" + "".join(f"\n  failed job {f['id']} ({f['kind']}): {f['error']}"
                                                                  for f in data["failed"]))


@media_app.command("retry")
def media_retry(ctx: typer.Context, job: int = typer.Argument(..., metavar="ID"),
                by: str = typer.Option("admin", "--by"), as_json: bool = JsonOpt) -> None:
    """Requeue a failed (or done) job."""
    from ingestd.media.queue import retry

    with opened_app(ctx) as app:
        retry(app, job, by)
    emit({"id": job, "status": "queued"}, as_json, f"media job {job} queued again")


@media_app.command("request")
def media_request(ctx: typer.Context, rec_id: str = typer.Argument(..., metavar="REC"),
                  by: str = typer.Option("admin", "--by"), as_json: bool = JsonOpt) -> None:
    """Ask for a recording's derivatives now (for the on_demand policy), first in the queue."""
    from sqlalchemy import select

    from ingestd.lookup import find_recording
    from ingestd.db.models import MediaJob
    from ingestd.media.queue import enqueue

    with opened_app(ctx) as app:
        with app.db.reading() as s:
            rec, _serial = find_recording(s, rec_id)
            have = set(s.execute(select(MediaJob.kind).where(MediaJob.recording_id == rec.id)).scalars())
        if rec.kind != "video":
            raise UserError(f"recording {rec.id[:12]} is a {rec.kind}, not a video")
        kinds = [k for k in ("proxy", "hls", "thumbnails") if k not in have]
        with app.changes.begin(by) as ch:
            enqueue(ch, rec.id, kinds, True, app.clock.now())
    emit({"recording": rec.id, "queued": kinds}, as_json, f"queued: {', '.join(kinds) or 'nothing (all exist)'}")


@media_app.command("work")
def media_work(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Work the queue until it is empty, in this process (the daemon does this by itself)."""
    from ingestd.media.worker import work_until_empty

    with opened_app(ctx) as app:
        done = work_until_empty(app)
    emit({"jobs": done}, as_json, f"{done} media jobs done")
