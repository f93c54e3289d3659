"""The one wrapper around the S3 client (boto3): a bucket with Object Lock, as the replica
uses it. Every failure becomes a ReplicaError naming the operation and the key; the keys
of the account are never put in a message or a log line."""

from __future__ import annotations

import base64
import hashlib
import io
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
    composite: str | None = None  # a multipart upload's: SHA-256 of its parts' SHA-256s, "-" parts
    version_id: str | None = None  # which of the key's versions this is (Object Lock keeps versions)

    @property
    def locked(self) -> bool:
        """Locked in COMPLIANCE mode: a version no one can overwrite, delete or unlock."""
        return self.mode == "COMPLIANCE"


@dataclass(frozen=True)
class Listed:
    """One version of a key as the bucket lists it, newest first; a delete marker has no size."""

    key: str
    version_id: str
    latest: bool
    size: int | None

    @property
    def delete_marker(self) -> bool:
        return self.size is None


@dataclass(frozen=True)
class Parts:
    """How a large file is cut for a multipart upload, and what the server will say of it."""

    size: int
    part_size: int

    @property
    def count(self) -> int:
        return max(1, -(-self.size // self.part_size))

    def spans(self) -> Iterator[tuple[int, int, int]]:
        """(part number, offset, length) of each part."""
        for number in range(1, self.count + 1):
            offset = (number - 1) * self.part_size
            yield number, offset, min(self.part_size, self.size - offset)


def part_digests(path: Path, parts: Parts) -> Iterator[tuple[int, bytes, bytes, bytes]]:
    """(part number, bytes, SHA-256, MD5) of each part, read in turn: one part in memory at a time."""
    with path.open("rb") as fh:
        for number, offset, length in parts.spans():
            fh.seek(offset)
            data = fh.read(length)
            yield number, data, hashlib.sha256(data).digest(), hashlib.md5(data, usedforsecurity=False).digest()


def composite_of(path: Path, parts: Parts) -> str:
    """The checksum S3 gives an object uploaded in these parts: SHA-256 over the parts' SHA-256s."""
    digests = b"".join(sha for _n, _data, sha, _md5 in part_digests(path, parts))
    return f"{_b64(hashlib.sha256(digests).digest())}-{parts.count}"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


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

    def __init__(self, raw: BinaryIO, rate: float, clock=time.monotonic, sleep=time.sleep):
        self.raw, self.rate, self.clock, self.sleep = raw, rate, clock, sleep
        self.started, self.sent = clock(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(min(n, READ_CHUNK) if n and n > 0 else READ_CHUNK)
        self.sent += len(data)
        ahead = self.sent / self.rate - (self.clock() - self.started)
        if ahead > 0:
            self.sleep(ahead)
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
            try:
                self._call("create", "", self.client.create_bucket, Bucket=self.name,
                           ObjectLockEnabledForBucket=True)
            except ReplicaError as exc:
                if exc.code != "BucketAlreadyOwnedByYou":  # another dock made it a moment ago: ours too
                    raise
        try:
            lock = self._call("check Object Lock of", "", self.client.get_object_lock_configuration,
                              Bucket=self.name)
        except ReplicaError as exc:
            if exc.code != "ObjectLockConfigurationNotFoundError":  # the server's word for "none"
                raise
            lock = {}
        if lock.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") != "Enabled":
            raise UserError(f"replica bucket {self.name} has no Object Lock: it cannot keep evidence write-once "
                            f"(make a bucket with Object Lock enabled and name it in [replica] bucket)")

    @property
    def part_size(self) -> int:
        return self.cfg.multipart_mb << 20

    def _throttled(self, raw: BinaryIO) -> BinaryIO:
        return Throttled(raw, self.cfg.bandwidth_mb_s * 1e6) if self.cfg.bandwidth_mb_s else raw

    def put(self, key: str, path: Path, sha256_hex: str, retain_until: datetime, legal_hold: bool) -> int:
        """One file, its SHA-256 sent for the server to check, locked in COMPLIANCE mode. Larger
        than a part: in parts, continuing an upload an earlier attempt left. Returns the bytes sent."""
        lock = {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": retain_until,
                **({"ObjectLockLegalHoldStatus": "ON"} if legal_hold else {})}
        size = path.stat().st_size
        if size > self.part_size:
            return self._put_parts(key, path, Parts(size, self.part_size), lock)
        with path.open("rb") as raw:
            self._call("upload", key, self.client.put_object, Bucket=self.name, Key=key, Body=self._throttled(raw),
                       ContentLength=size, ChecksumSHA256=_b64(bytes.fromhex(sha256_hex)), **lock)
        return size

    def _put_parts(self, key: str, path: Path, parts: Parts, lock: dict) -> int:
        """A multipart upload, each part with its SHA-256 for the server to check. The parts an
        earlier attempt delivered whole (size and MD5 ETag, or SHA-256 where the server lists it)
        are not sent again; the object exists only once every part is there."""
        upload_id, have = self._open_upload(key, lock)
        sent, done = 0, []
        for number, data, sha, md5 in part_digests(path, parts):
            prior = have.get(number)
            if prior is not None and prior["Size"] == len(data) and (
                    prior.get("ChecksumSHA256") == _b64(sha) if prior.get("ChecksumSHA256")
                    else prior["ETag"].strip('"') == md5.hex()):
                etag = prior["ETag"]
            else:
                got = self._call(f"upload part {number} of", key, self.client.upload_part, Bucket=self.name, Key=key,
                                 UploadId=upload_id, PartNumber=number, Body=self._throttled(io.BytesIO(data)),
                                 ContentLength=len(data), ChecksumSHA256=_b64(sha), ChecksumAlgorithm="SHA256")
                etag, sent = got["ETag"], sent + len(data)
            done.append({"PartNumber": number, "ETag": etag, "ChecksumSHA256": _b64(sha)})
        self._call("complete the upload of", key, self.client.complete_multipart_upload, Bucket=self.name, Key=key,
                   UploadId=upload_id, MultipartUpload={"Parts": done})
        return sent

    def _open_upload(self, key: str, lock: dict) -> tuple[str, dict[int, dict]]:
        """The unfinished upload of `key` an earlier attempt left, with its parts; else a new one."""
        found = self._call("list unfinished uploads of", key, self.client.list_multipart_uploads, Bucket=self.name,
                           Prefix=key).get("Uploads", [])
        for upload in sorted((u for u in found if u["Key"] == key), key=lambda u: u["Initiated"], reverse=True):
            parts: dict[int, dict] = {}
            marker = 0
            while True:
                page = self._call("list the parts of", key, self.client.list_parts, Bucket=self.name, Key=key,
                                  UploadId=upload["UploadId"], PartNumberMarker=marker)
                parts.update({p["PartNumber"]: p for p in page.get("Parts", [])})
                if not page.get("IsTruncated"):
                    return upload["UploadId"], parts
                marker = page["NextPartNumberMarker"]
        made = self._call("start the upload of", key, self.client.create_multipart_upload, Bucket=self.name,
                          Key=key, ChecksumAlgorithm="SHA256", **lock)
        return made["UploadId"], {}

    def holds_whole(self, there: Stored | None, path: Path, size: int, sha256_hex: str) -> bool:
        """Whether the bucket's object is this file: its SHA-256 as the server checked it, or for
        one uploaded in parts the composite of the parts' SHA-256s (the file read once more)."""
        if there is None or there.size != size:
            return False
        if there.sha256 is not None:
            return there.sha256 == sha256_hex
        parts = Parts(size, self.part_size)
        return there.composite is not None and there.composite.endswith(f"-{parts.count}") \
            and there.composite == composite_of(path, parts)

    def stored(self, key: str, version_id: str | None = None) -> Stored | None:
        """What the bucket holds under `key` (None: nothing), read back from the server: its
        newest version, or the one named."""
        try:
            head = self._call("read back", key, self.client.head_object, Bucket=self.name, Key=key,
                              ChecksumMode="ENABLED", **({"VersionId": version_id} if version_id else {}))
        except ReplicaError as exc:
            if exc.code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise
        checksum = head.get("ChecksumSHA256")
        whole = checksum is not None and "-" not in checksum
        return Stored(head["ContentLength"], base64.b64decode(checksum).hex() if whole else None,
                      head.get("ObjectLockRetainUntilDate"), head.get("ObjectLockMode"),
                      head.get("ObjectLockLegalHoldStatus") == "ON", checksum if checksum and not whole else None,
                      head.get("VersionId"))

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

    def versions(self, prefix: str) -> Iterator[Listed]:
        """Every version and delete marker of every key under `prefix` (what a plain listing
        hides: a key whose newest version is a delete marker). A key's versions come newest
        first, as the server lists them; its delete markers after them."""
        marks: dict = {}
        while True:
            page = self._call("list versions under", prefix, self.client.list_object_versions, Bucket=self.name,
                              Prefix=prefix, **marks)
            yield from (Listed(v["Key"], v["VersionId"], v["IsLatest"], v["Size"]) for v in page.get("Versions", []))
            yield from (Listed(m["Key"], m["VersionId"], m["IsLatest"], None) for m in page.get("DeleteMarkers", []))
            if not page.get("IsTruncated"):
                return
            marks = {"KeyMarker": page["NextKeyMarker"], "VersionIdMarker": page["NextVersionIdMarker"]}

    def download(self, key: str, dest: Path, version_id: str | None = None) -> None:
        got = self._call("download", key, self.client.get_object, Bucket=self.name, Key=key,
                         **({"VersionId": version_id} if version_id else {}))
        with dest.open("wb") as out:
            for chunk in got["Body"].iter_chunks(READ_CHUNK):
                out.write(chunk)

    def sha256_of(self, key: str, version_id: str) -> tuple[int, str]:
        """One version's size and SHA-256, from its bytes as the server sends them (a read-back,
        not the server's word for it)."""
        from botocore.exceptions import BotoCoreError
        from urllib3.exceptions import HTTPError

        got = self._call("read back", key, self.client.get_object, Bucket=self.name, Key=key, VersionId=version_id)
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in got["Body"].iter_chunks(READ_CHUNK):
                digest.update(chunk)
                size += len(chunk)
        except (BotoCoreError, HTTPError, OSError) as exc:  # the connection went mid-body
            raise ReplicaError(f"replica read back {self.name}/{key}: {exc}") from None
        return size, digest.hexdigest()

    def read(self, key: str, version_id: str) -> bytes:
        """A small file (an inventory) of one version, in memory."""
        return self._call("download", key, self.client.get_object, Bucket=self.name, Key=key,
                          VersionId=version_id)["Body"].read()

    def set_legal_hold(self, key: str, on: bool, version_id: str | None = None) -> None:
        self._call("set the legal hold of", key, self.client.put_object_legal_hold, Bucket=self.name, Key=key,
                   LegalHold={"Status": "ON" if on else "OFF"}, **({"VersionId": version_id} if version_id else {}))

    def extend(self, key: str, until: datetime, version_id: str | None = None) -> None:
        self._call("extend the retention of", key, self.client.put_object_retention, Bucket=self.name, Key=key,
                   Retention={"Mode": "COMPLIANCE", "RetainUntilDate": until},
                   **({"VersionId": version_id} if version_id else {}))

    def delete(self, key: str) -> None:
        """Every version of `key` (only once its retention allows: the server refuses before)."""
        versions = self._call("list versions of", key, self.client.list_object_versions, Bucket=self.name,
                              Prefix=key)
        for v in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            if v["Key"] == key:
                self._call("delete", key, self.client.delete_object, Bucket=self.name, Key=key,
                           VersionId=v["VersionId"])
