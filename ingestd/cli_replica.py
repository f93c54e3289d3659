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
