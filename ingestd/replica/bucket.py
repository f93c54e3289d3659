"""The app's one client of its replica bucket."""

from __future__ import annotations

import threading

from ingestd.app import App
from ingestd.replica.s3 import Bucket

_lock = threading.Lock()


def bucket_of(app: App) -> Bucket:
    """The app's own client of its bucket, made once (boto3 clients are safe to share between
    threads), with the app's endpoint and credentials."""
    with _lock:
        bucket = app.clients.get("replica")
        if not isinstance(bucket, Bucket):
            bucket = Bucket(app.settings.replica)
            bucket.ensure()
            app.clients["replica"] = bucket
        return bucket
