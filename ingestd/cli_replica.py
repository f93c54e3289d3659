"""Commands about the write-once replica: where the second copy stands, copying what is
missing, and bringing a lost store back from it."""

from __future__ import annotations

from typing import Optional

import typer

from ingestd.cli_support import JsonOpt, emit, opened_app
from ingestd.text import printable

replica_app = typer.Typer(no_args_is_help=True, help="The write-once replica (S3 with Object Lock).")


@replica_app.command("status")
def replica_status(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Recordings proven in the bucket, those waiting (and the oldest's age), failed copies."""
    from ingestd.replica.copy import bucket_problem
    from ingestd.replica.status import replica_status as status

    with opened_app(ctx) as app:
        data = status(app).as_dict()
        # A bucket without Object Lock is refused here (exit 2); one out of reach is said.
        data["bucket_error"] = bucket_problem(app) if data["enabled"] else None
    emit(data, as_json, (f"bucket {data['bucket']}: {data['replicated']} recordings replicated "
                         f"({data['bytes'] / 1e9:.2f} GB), {data['pending']} pending"
                         + (f" (oldest {data['oldest_pending_h']} h, {data['lagging']} past the limit)"
                            if data["pending"] else "")
                         + f", {data['changed_since']} with a newer version to copy, {data['failed']} failed"
                         + ("" if data["enabled"] else "  ([replica] is not enabled)")
                         + (f"\nthe bucket cannot be reached now: {printable(data['bucket_error'])}"
                            if data["bucket_error"] else "")))


@replica_app.command("sync")
def replica_sync(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Ask for a copy of every recording not yet in the bucket or changed since, and do them now."""
    from ingestd.afterdock import replicate_pending

    with opened_app(ctx) as app:
        data = replicate_pending(app, work=True)
    emit(data, as_json, f"{data['asked']} recordings to copy; {data['done']} copies done")


def restore_command(ctx: typer.Context,
                    from_replica: bool = typer.Option(..., "--from-replica", help="Bring the originals back from "
                                                                                 "the replica bucket."),
                    recording: Optional[str] = typer.Option(None, "--recording", help="Only this recording "
                                                                                     "(its full SHA-256)."),
                    as_json: bool = JsonOpt) -> None:
    """Rebuild the store from the replica: of each file the version the dock wrote and locked
    (never simply the newest), every object checked against its inventory and its id and put
    in whole or not at all, then the index rebuilt (as `store rebuild-index`), the bucket's legal
    holds brought back and what follows a dock queued. Exit 1 names every object not brought
    back as it was and every version in the bucket that is not the dock's."""
    from ingestd.afterdock import restore_from_replica

    with opened_app(ctx) as app:
        restored, index = restore_from_replica(app, recording)
        data = {**restored.as_dict(app.policy), "index": index}
    lines = [printable(f"{f['code']}: {f['message']}") for f in data["findings"]]
    lines.append(f"{data['objects']} objects from {data['bucket']} ({data['files_fetched']} files fetched, "
                 f"{data['files_kept']} already here); index: {index['indexed']} recordings added"
                 + (f"; {index['holds_brought_back']} legal holds brought back" if index["holds_brought_back"] else "")
                 + (f"; {len(data['findings'])} problems above" if data["findings"] else ""))
    emit(data, as_json, "\n".join(lines))
    if restored.failed:
        raise typer.Exit(1)


def status_command(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """The dock's disk: originals on it and in the bucket only, free space, the last 30 days'
    intake and the days until the disk reaches its reserve."""
    from ingestd.forecast import forecast

    with opened_app(ctx) as app:
        f = forecast(app)
        finding = f.finding(app.settings.store.warn_days)
        data = {**f.as_dict(), "finding": finding.as_dict(app.policy) if finding else None}
    when = ("steady: the window fits" if f.steady else "no intake in the last 30 days" if f.days_to_reserve is None
            else f"reserve reached in {f.days_to_reserve:.0f} days")
    emit(data, as_json, "\n".join(
        [f"{f.path}: {f.free_bytes / 1e9:.1f} of {f.total_bytes / 1e9:.1f} GB free (reserve {f.reserve_bytes / 1e9:.1f} GB)",
         f"on the disk: {f.local_recordings} originals, {f.local_bytes / 1e9:.2f} GB; in the bucket only: "
         f"{f.bucket_recordings}, {f.bucket_bytes / 1e9:.2f} GB",
         f"intake {f.per_day_bytes / 1e9:.2f} GB a day over the last 30 days; " + when
         + (f"; originals older than {f.keep_local_days} days leave the disk once the bucket has proven them"
            if f.eviction else "; no replica: nothing leaves the disk")]
        + ([printable(f"{finding.code}: {finding.message}")] if finding else [])))


def evict_command(ctx: typer.Context,
                  force: bool = typer.Option(False, "--all", help="Every original that qualifies, not only while "
                                                                   "the disk is below its free target."),
                  limit: Optional[int] = typer.Option(None, "--limit", min=1, help="At most this many."),
                  as_json: bool = JsonOpt) -> None:
    """Move originals the bucket has proven off the dock's disk, oldest first (what the daemon
    does every store.evict_every_minutes), and say why each one left behind stays."""
    from ingestd.replica.evict import evict_due

    with opened_app(ctx) as app:
        run = evict_due(app, limit, force)
        data = run.as_dict(app.policy)
    emit(data, as_json, "\n".join([printable(f"{f['code']}: {f['message']}") for f in data["refused"]]
                                   + [f"{len(run.evicted)} originals left the disk ({data['evicted_bytes'] / 1e9:.2f} GB); "
                                      f"free {data['free_pct_before']}% → {data['free_pct_after']}%"]))


def recall_command(ctx: typer.Context, recording: str = typer.Argument(..., metavar="REC"),
                   by: str = typer.Option(..., "--by", help="Who asks: an admin or 法制科."),
                   as_json: bool = JsonOpt) -> None:
    """Bring an original kept in the bucket only back to the dock's disk (checked as a restore
    checks it)."""
    from ingestd.replica.recall import recall

    with opened_app(ctx) as app:
        done = recall(app, recording, by)
        data = done.as_dict(app.policy)
    emit(data, as_json, "\n".join([printable(f"{f['code']}: {f['message']}") for f in data["findings"]]
                                   + [f"recording {done.recording_id[:12]} is on the disk again ({done.files} files)"]))
