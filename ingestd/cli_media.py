"""Commands of the derivatives (proxies, HLS segments, thumbnails): status, retry, request,
work. They are jobs in the one durable queue (see `ingestd jobs`)."""

from __future__ import annotations

import typer

from ingestd.cli_support import ByOpt, JsonOpt, emit, opened_app
from ingestd.errors import UserError
from ingestd.jobs.kinds import DERIVATIVES

media_app = typer.Typer(no_args_is_help=True, help="Proxies, HLS segments and thumbnails.")


@media_app.command("status")
def media_status(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Queue depth, running jobs and failures."""
    from ingestd.jobs.queue import status

    with opened_app(ctx) as app:
        data = status(app, DERIVATIVES).as_dict()
    emit(data, as_json, f"queued {data['queued']}, running {len(data['running'])}, done {data['done']}, "
                        f"failed {len(data['failed'])}" + "".join(f"\n  failed job {f['id']} ({f['kind']}): {f['error']}"
                                                                  for f in data["failed"]))


@media_app.command("retry")
def media_retry(ctx: typer.Context, job: int = typer.Argument(..., metavar="ID"),
                by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Queue a failed (or done) derivative job again."""
    from ingestd.jobs.queue import retry

    with opened_app(ctx, by) as app:
        retry(app, job, by, DERIVATIVES)
    emit({"id": job, "status": "queued"}, as_json, f"media job {job} queued again")


@media_app.command("request")
def media_request(ctx: typer.Context, rec_id: str = typer.Argument(..., metavar="REC"),
                  by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Ask for a recording's derivatives now (for the on_demand policy), first in the queue."""
    from sqlalchemy import select

    from ingestd.afterdock import derivative_specs
    from ingestd.db.models import Job
    from ingestd.jobs.queue import enqueue
    from ingestd.lookup import find_recording

    with opened_app(ctx, by) as app:
        with app.db.reading() as s:
            rec, _serial = find_recording(s, rec_id)
            have = set(s.execute(select(Job.kind).where(Job.subject == rec.id,
                                                        Job.kind.in_([k.value for k in DERIVATIVES]))).scalars())
        if rec.kind != "video":
            raise UserError(f"recording {rec.id[:12]} is a {rec.kind}, not a video")
        specs = [spec for spec in derivative_specs(app, rec, asked=True) if spec.kind.value not in have]
        if specs:
            with app.changes.begin(by) as ch:
                enqueue(ch, specs, app.clock.now())
    kinds = [spec.kind.value for spec in specs]
    emit({"recording": rec.id, "queued": kinds}, as_json, f"queued: {', '.join(kinds) or 'nothing (all exist)'}")


@media_app.command("work")
def media_work(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Work the derivatives until none can be claimed, in this process (the daemon does this by itself)."""
    from ingestd.afterdock import work_jobs

    with opened_app(ctx) as app:
        done = work_jobs(app, DERIVATIVES, app.settings.media_workers)
    emit({"jobs": done}, as_json, f"{done} media jobs done")
