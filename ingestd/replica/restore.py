"""`ingestd store restore --from-replica`: a dock whose disk was lost or replaced gets its
originals back from the bucket. Each object's files are downloaded into the storage root
(each to a temporary name first, then renamed into place), every file is checked against the
object's own inventory (its SHA-256 digests), and the index is rebuilt from the store; the
audit chain comes back with the database (a restored PostgreSQL, or the rebuild's entries)."""

from __future__ import annotations

import os

from ingestd.app import App
from ingestd.durable import syncfs
from ingestd.errors import UserError
from ingestd.ingest.store import SPEC, STORED_MODE, file_sha256, object_id_for
from ingestd.replica.copy import bucket_of

OBJECT_MARK = f"0=ocfl_object_{SPEC}"


def restore(app: App, rec_id: str | None = None) -> dict:
    if not app.settings.replica.enabled:
        raise UserError("[replica] is not enabled: there is no bucket to restore from")
    bucket = bucket_of(app)
    store = app.store
    store.initialise()
    prefix = ""
    if rec_id is not None:
        if len(rec_id) != 64:
            raise UserError(f"--recording wants the full SHA-256 of a recording (64 hex digits), not {rec_id[:70]!r}")
        prefix = store.object_path(object_id_for(rec_id.lower())).relative_to(store.root).as_posix() + "/"
    keys = list(bucket.keys(prefix))
    objects = sorted({k[: -len(OBJECT_MARK)].rstrip("/") for k in keys if k.endswith("/" + OBJECT_MARK)})
    if not objects:
        raise UserError(f"the replica bucket {bucket.name} holds no object"
                        + (f" for recording {rec_id}" if rec_id else ""))
    fetched = kept = 0
    for key in keys:
        if not any(key.startswith(o + "/") for o in objects):
            continue  # not part of a whole object (an upload cut off before its inventory)
        dest = store.root / key
        there = bucket.stored(key)
        if dest.is_file() and there is not None and there.sha256 == file_sha256(dest):
            os.chmod(dest, STORED_MODE)  # an earlier restore cut off before it made the file read-only
            kept += 1
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.restoring")
        bucket.download(key, partial)
        if there is not None and there.sha256 is not None and file_sha256(partial) != there.sha256:
            partial.unlink()
            raise UserError(f"replica {bucket.name}/{key}: the bytes downloaded do not match the SHA-256 the "
                            f"bucket holds for them; nothing of it was put in the store")
        os.chmod(partial, STORED_MODE)
        os.replace(partial, dest)
        fetched += 1
    if fetched:
        syncfs(store.root)  # what the audit entry below says was restored is on the disk
    problems = []
    for o in objects:
        object_id = store.read_inventory_at(store.root / o)["id"]
        problems += [f"{object_id}: {f.message}" for f in store.verify_object(object_id)]
    if problems:
        raise UserError(f"restored objects fail their own inventory: {problems[0]}"
                        + (f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""))
    with app.changes.begin("ingestd") as ch:
        ch.record("replica.restored", "store", "originals", bucket=bucket.name, objects=len(objects),
                  fetched=fetched, kept=kept, recording=rec_id)
    return {"bucket": bucket.name, "objects": len(objects), "files_fetched": fetched, "files_kept": kept}

