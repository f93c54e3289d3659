"""An original's bytes as a file, wherever it lives: in the store, or — for one only the
bucket holds (ingestd.replica.evict) — its recorded, locked version fetched from the bucket
into a cache beside the store, its SHA-256 checked against the recording's id before any job
sees it. Jobs that read originals (derivatives made again, an export, a scan) call this
instead of resolving the store, so an evicted recording is worked on like any other."""

from __future__ import annotations

import logging
import os
import time
import uuid
from pathlib import Path

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import Eviction, Recording, ReplicaVersion
from ingestd.errors import ReplicaError
from ingestd.ingest.store import file_sha256
from ingestd.logs import event
from ingestd.replica.bucket import bucket_of

log = logging.getLogger("ingestd.replica")
KEEP_FETCHED_S = 24 * 3600  # a fetched original unused this long is removed by the eviction pass


def in_bucket_only(app: App, rec: Recording) -> bool:
    """Whether the original left this disk for the bucket (and is not back)."""
    if app.store.exists(rec.object_id):
        return False
    with app.db.reading() as s:
        return s.get(Eviction, rec.id) is not None


def original_file(app: App, rec: Recording) -> Path:
    if not in_bucket_only(app, rec):
        return app.store.resolve(rec.object_id, rec.content_name)
    with app.db.reading() as s:
        where = s.execute(select(ReplicaVersion.key, ReplicaVersion.version_id).where(
            ReplicaVersion.recording_id == rec.id, ReplicaVersion.sha256 == rec.id)).first()
    if where is None:
        return app.store.resolve(rec.object_id, rec.content_name)  # the store's own error names what is missing
    cached = app.data.fetched / f"{rec.id}{Path(rec.content_name).suffix.lower()}"
    if cached.is_file() and cached.stat().st_size == rec.size:
        os.utime(cached)  # in use: kept by the next clean-up
        return cached
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f".{cached.name}.{uuid.uuid4().hex[:8]}.part")
    started = time.monotonic()
    try:
        bucket_of(app).download(where.key, partial, where.version_id)
        if file_sha256(partial) != rec.id:
            raise ReplicaError(f"replica {app.settings.replica.bucket}/{where.key}: the bytes fetched for recording "
                               f"{rec.id[:12]} do not have its SHA-256; not used")
        os.replace(partial, cached)
    finally:
        partial.unlink(missing_ok=True)
    event(log, logging.INFO, "replica.fetched", recording=rec.id, bytes=rec.size,
          seconds=round(time.monotonic() - started, 2))
    return cached


def clean_fetched(app: App) -> int:
    """Fetched originals not used for KEEP_FETCHED_S, removed. Returns how many."""
    folder = app.data.fetched
    if not folder.is_dir():
        return 0
    cutoff = time.time() - KEEP_FETCHED_S
    removed = 0
    for path in folder.iterdir():
        if path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
