"""Commands about the write-once replica: where the second copy stands, copying what is
missing, and bringing a lost store back from it."""

from __future__ import annotations

from typing import Optional

import typer

from ingestd.cli_support import JsonOpt, emit, opened_app

replica_app = typer.Typer(no_args_is_help=True, help="The write-once replica (S3 with Object Lock).")


@replica_app.command("status")
def replica_status(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Recordings proven in the bucket, those waiting (and the oldest's age), failed copies."""
    from ingestd.replica.status import replica_status as status

    with opened_app(ctx) as app:
        data = status(app).as_dict()
    emit(data, as_json, (f"bucket {data['bucket']}: {data['replicated']} recordings replicated "
                         f"({data['bytes'] / 1e9:.2f} GB), {data['pending']} pending"
                         + (f" (oldest {data['oldest_pending_h']} h, {data['lagging']} past the limit)"
                            if data["pending"] else "")
                         + f", {data['changed_since']} with a newer version to copy, {data['failed']} failed"
                         + ("" if data["enabled"] else "  ([replica] is not enabled)")))


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
    """Rebuild the store from the replica: every file checked against its object's inventory,
    then the index rebuilt from the store (as `store rebuild-index`)."""
    from ingestd.afterdock import follow_through
    from ingestd.rebuild import rebuild_index
    from ingestd.replica.restore import restore

    with opened_app(ctx) as app:
        data = restore(app, recording)
        data["index"] = rebuild_index(app)
        data["index"]["jobs_done"] = follow_through(app)
    emit(data, as_json, f"{data['objects']} objects from {data['bucket']} ({data['files_fetched']} files fetched, "
                        f"{data['files_kept']} already here); index: {data['index']['indexed']} recordings added")
