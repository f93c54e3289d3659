"""The one wrapper around the S3 client (boto3): a bucket with Object Lock, as the replica
uses it. Every failure becomes a ReplicaError naming the operation and the key; the keys
of the account are never put in a message or a log line."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Iterator

from ingestd.config import ReplicaSettings
from ingestd.errors import ReplicaError, UserError

READ_CHUNK = 1 << 20


@dataclass(frozen=True)
class Stored:
    """What the bucket says it holds under a key."""

    size: int
    sha256: str | None  # hex, from the checksum the server verified at the PUT
    retain_until: datetime | None
    mode: str | None
    legal_hold: bool


def _credentials(cfg: ReplicaSettings) -> tuple[str, str]:
    key, secret = cfg.access_key_id, cfg.secret_access_key.get_secret_value() if cfg.secret_access_key else None
    if cfg.credentials_file is not None:
        try:
            lines = cfg.credentials_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise UserError(f"replica credentials file {cfg.credentials_file}: {exc.strerror}") from None
        found = dict(line.split("=", 1) for line in lines if "=" in line and not line.lstrip().startswith("#"))
        found = {k.strip(): v.strip().strip('"') for k, v in found.items()}
        key, secret = found.get("access_key_id", key), found.get("secret_access_key", secret)
    if not key or not secret:
        raise UserError("the replica needs access_key_id and secret_access_key ([replica] credentials_file or "
                        "INGESTD_REPLICA__ACCESS_KEY_ID / INGESTD_REPLICA__SECRET_ACCESS_KEY)")
    return key, secret


class Throttled:
    """A file read no faster than `rate` bytes a second (the replica's bandwidth limit), so
    that the office line is not taken by the second copy."""

    def __init__(self, raw: BinaryIO, rate: float):
        self.raw, self.rate, self.started, self.sent = raw, rate, time.monotonic(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(min(n, READ_CHUNK) if n and n > 0 else READ_CHUNK)
        self.sent += len(data)
        ahead = self.sent / self.rate - (time.monotonic() - self.started)
        if ahead > 0:
            time.sleep(ahead)
        return data

    def seek(self, *args):
        return self.raw.seek(*args)

    def tell(self):
        return self.raw.tell()


class Bucket:
    def __init__(self, cfg: ReplicaSettings):
        import boto3
        from botocore.config import Config

        if not cfg.endpoint:
            raise UserError("[replica] endpoint is not set")
        key, secret = _credentials(cfg)
        self.cfg = cfg
        self.name = cfg.bucket
        self.client = boto3.client(
            "s3", endpoint_url=cfg.endpoint, region_name=cfg.region, aws_access_key_id=key,
            aws_secret_access_key=secret,
            config=Config(connect_timeout=cfg.timeout_s, read_timeout=cfg.timeout_s, retries={"max_attempts": 2},
                          s3={"addressing_style": "path"}, request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"))

    def _call(self, what: str, key: str, fn, *args, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            err = exc.response.get("Error", {})
            raise ReplicaError(f"replica {what} {self.name}/{key}: {err.get('Code', '?')} "
                               f"{err.get('Message', '')}".rstrip(), code=err.get("Code")) from None
        except BotoCoreError as exc:
            raise ReplicaError(f"replica {what} {self.name}/{key}: {exc}") from None

    def ensure(self) -> None:
        """The bucket, created with Object Lock if it is not there; one without Object Lock is
        refused (a replica that can be deleted is not write-once)."""
        try:
            self._call("check", "", self.client.head_bucket, Bucket=self.name)
        except ReplicaError as exc:
            if exc.code not in ("404", "NoSuchBucket", "NotFound"):
                raise
            self._call("create", "", self.client.create_bucket, Bucket=self.name, ObjectLockEnabledForBucket=True)
        lock = self._call("check Object Lock of", "", self.client.get_object_lock_configuration, Bucket=self.name)
        if lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise UserError(f"replica bucket {self.name} has no Object Lock: it cannot keep evidence write-once")

    def put(self, key: str, path: Path, sha256_hex: str, retain_until: datetime, legal_hold: bool) -> None:
        """One file, its SHA-256 sent for the server to check, locked in COMPLIANCE mode."""
        extra = {"ObjectLockLegalHoldStatus": "ON"} if legal_hold else {}
        with path.open("rb") as raw:
            body = Throttled(raw, self.cfg.bandwidth_mb_s * 1e6) if self.cfg.bandwidth_mb_s else raw
            self._call("upload", key, self.client.put_object, Bucket=self.name, Key=key, Body=body,
                       ContentLength=path.stat().st_size,
                       ChecksumSHA256=base64.b64encode(bytes.fromhex(sha256_hex)).decode(),
                       ObjectLockMode="COMPLIANCE", ObjectLockRetainUntilDate=retain_until, **extra)

    def stored(self, key: str) -> Stored | None:
        """What the bucket holds under `key` (None: nothing), read back from the server."""
        try:
            head = self._call("read back", key, self.client.head_object, Bucket=self.name, Key=key,
                              ChecksumMode="ENABLED")
        except ReplicaError as exc:
            if exc.code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        checksum = head.get("ChecksumSHA256")
        return Stored(head["ContentLength"], base64.b64decode(checksum).hex() if checksum and "-" not in checksum
                      else None, head.get("ObjectLockRetainUntilDate"), head.get("ObjectLockMode"),
                      head.get("ObjectLockLegalHoldStatus") == "ON")

    def keys(self, prefix: str = "") -> Iterator[str]:
        token = None
        while True:
            page = self._call("list", prefix, self.client.list_objects_v2, Bucket=self.name, Prefix=prefix,
                              **({"ContinuationToken": token} if token else {}))
            for item in page.get("Contents", []):
                yield item["Key"]
            if not page.get("IsTruncated"):
                return
            token = page["NextContinuationToken"]

    def download(self, key: str, dest: Path) -> None:
        got = self._call("download", key, self.client.get_object, Bucket=self.name, Key=key)
        with dest.open("wb") as out:
            for chunk in got["Body"].iter_chunks(READ_CHUNK):
                out.write(chunk)

    def set_legal_hold(self, key: str, on: bool) -> None:
        self._call("set the legal hold of", key, self.client.put_object_legal_hold, Bucket=self.name, Key=key,
                   LegalHold={"Status": "ON" if on else "OFF"})

    def extend(self, key: str, until: datetime) -> None:
        self._call("extend the retention of", key, self.client.put_object_retention, Bucket=self.name, Key=key,
                   Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until})

    def delete(self, key: str) -> None:
        """Every version of `key` (only once its retention allows: the server refuses before)."""
        versions = self._call("list versions of", key, self.client.list_object_versions, Bucket=self.name,
                              Prefix=key)
        for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            if v["Key"] == key:
                self._call("delete", key, self.client.delete_object, Bucket=self.name, Key=key,
                           VersionId=v["VersionId"])
