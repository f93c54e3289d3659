"""Commands of the durable job queue: what is still to do after the docks, and working it."""

from __future__ import annotations

import typer

from ingestd.cli_support import ByOpt, JsonOpt, emit, opened_app
from ingestd.jobs.kinds import AFTER_DOCK, ON_REQUEST, REPLICATION, JobKind

jobs_app = typer.Typer(no_args_is_help=True, help="After-dock jobs: SM3, probes, timeline, compliance, 制作人, "
                                                  "derivatives.")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds:.0f} s"


@jobs_app.command("status")
def jobs_status(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Depth per kind (held, queued, running, done, failed), the oldest still to do, failures."""
    from ingestd.jobs.queue import status

    with opened_app(ctx) as app:
        data = status(app).as_dict()
    lines = [f"{'kind':11} {'held':>6} {'queued':>7} {'retrying':>9} {'running':>8} {'done':>8} {'failed':>7}  oldest"]
    for kind, k in data["kinds"].items():
        lines.append(f"{kind:11} {k['held']:>6} {k['queued']:>7} {k['retrying']:>9} {k['running']:>8} {k['done']:>8} "
                     f"{k['failed']:>7}  {_age(k['oldest_pending_s'])}")
    lines += [f"failed job {f['id']} ({f['kind']} {f['subject'][:16]}): {f['error']}" for f in data["failed"]]
    emit(data, as_json, "\n".join(lines))


@jobs_app.command("retry")
def jobs_retry(ctx: typer.Context, job: int = typer.Argument(..., metavar="ID"),
               by: str = ByOpt,
               as_json: bool = JsonOpt) -> None:
    """Queue a failed (or done) job of any kind again."""
    from ingestd.jobs.queue import retry
    from ingestd.users import require_user

    with opened_app(ctx, by) as app:
        with app.db.reading() as s:
            require_user(s, by, doing="retry a job")
        row = retry(app, job, by)
    emit({"id": job, "kind": row.kind, "status": "queued"}, as_json, f"job {job} ({row.kind}) queued again")


@jobs_app.command("work")
def jobs_work(ctx: typer.Context,
              until_idle: bool = typer.Option(False, "--until-idle", help="Return once nothing can be claimed "
                                              "(else run until interrupted, as the daemon's workers do)."),
              derivatives: bool = typer.Option(False, "--derivatives", help="Also proxies, HLS and thumbnails."),
              as_json: bool = JsonOpt) -> None:
    """Work the queue in this process."""
    import signal
    import threading

    from ingestd.afterdock import runner, work_jobs

    kinds = tuple(JobKind) if derivatives else AFTER_DOCK + ON_REQUEST + REPLICATION
    with opened_app(ctx) as app:
        if until_idle:
            done = work_jobs(app, kinds)
        else:
            app.open_staging()  # sweep what dead processes left before working their jobs
            stop = threading.Event()
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
            work = runner(app, kinds)
            threads = work.start(stop)
            stop.wait()
            for t in threads:
                t.join()
            done = work.done
    emit({"jobs": done}, as_json, f"{done} jobs done")
