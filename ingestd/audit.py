"""The audit log: append-only, hash-chained, Ed25519-signed.

Each entry's hash covers the previous entry's hash and every field of the entry, and
the hash is signed with the dock's key. Editing an entry breaks its hash; removing or
reordering breaks the chain; cutting entries off the end disagrees with the signed
head row. Entries are appended inside the same transaction as the state change they
record (see ingestd/changes.py), so there is no change without its entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingestd.db.models import AuditEvent, AuditHead
from ingestd.findings import Finding
from ingestd.signing import Signer, Verifier

GENESIS = "0" * 64


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


@dataclass(frozen=True)
class AuditEntry:
    action: str  # dotted verb, e.g. "recording.ingested"
    subject_type: str
    subject_id: str
    detail: dict = field(default_factory=dict)


def _entry_hash(prev_hash: str, seq: int, at: datetime, dock: str, actor: str, action: str,
                subject_type: str, subject_id: str, detail: str) -> str:
    body = canonical_json([seq, at.isoformat(timespec="microseconds"), dock, actor, action,
                           subject_type, subject_id, detail])
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _head_message(seq: int, digest: str) -> bytes:
    return f"head:{seq}:{digest}".encode()


def lock_head(session: Session) -> AuditHead:
    """Lock the head row for the rest of the transaction (row lock on PostgreSQL; on SQLite
    the statement takes the database write lock)."""
    return session.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar_one()


def append(session: Session, signer: Signer, *, dock: str, actor: str, at: datetime,
           entries: list[AuditEntry]) -> list[int]:
    """Append entries in this transaction; returns their sequence numbers.

    Locking the head row first serialises concurrent appenders (row lock on PostgreSQL,
    the write lock already held on SQLite), so the chain never forks.
    """
    head = lock_head(session)
    at = at.astimezone(timezone.utc)  # hashed as stored: the database hands times back in UTC
    seqs = []
    for entry in entries:
        seq = head.seq + 1
        detail = canonical_json(entry.detail)
        digest = _entry_hash(head.hash, seq, at, dock, actor, entry.action,
                             entry.subject_type, entry.subject_id, detail)
        session.add(AuditEvent(
            seq=seq, at=at, dock=dock, actor=actor, action=entry.action,
            subject_type=entry.subject_type, subject_id=entry.subject_id, detail=detail,
            prev_hash=head.hash, hash=digest, signature=signer.sign(bytes.fromhex(digest)),
        ))
        head.seq, head.hash = seq, digest
        seqs.append(seq)
    head.signature = signer.sign(_head_message(head.seq, head.hash))
    return seqs


def verify(session: Session, verifier: Verifier) -> list[Finding]:
    """Walk the whole chain; every break is a finding, the first one first."""
    findings: list[Finding] = []

    def bad(seq: int, reason: str) -> None:
        findings.append(Finding("audit_tampered", {"seq": seq, "reason": reason}))

    expected_seq, prev = 1, GENESIS
    for ev in _events(session):
        if ev.seq != expected_seq:
            bad(expected_seq, f"entries {expected_seq}..{ev.seq - 1} are missing" if ev.seq > expected_seq
                else f"entry {ev.seq} is out of order")
        if ev.prev_hash != prev:
            bad(ev.seq, "does not follow the entry before it (removed, inserted or reordered)")
        recomputed = _entry_hash(ev.prev_hash, ev.seq, ev.at, ev.dock, ev.actor, ev.action,
                                 ev.subject_type, ev.subject_id, ev.detail)
        if recomputed != ev.hash:
            bad(ev.seq, "content was edited after it was written")
        elif not verifier.valid(bytes.fromhex(ev.hash), ev.signature):
            bad(ev.seq, "signature does not verify")
        expected_seq, prev = ev.seq + 1, ev.hash
    head = session.get(AuditHead, 1)
    last_seq = expected_seq - 1
    if head is None:
        bad(last_seq, "the audit head row is missing")
    elif head.seq != last_seq or head.hash != prev:
        bad(head.seq if head.seq > last_seq else last_seq,
            f"log ends at entry {last_seq} but its signed head says {head.seq}: entries were cut off the end")
    elif head.seq and not verifier.valid(_head_message(head.seq, head.hash), head.signature):
        bad(head.seq, "the head signature does not verify")
    return findings


def _events(session: Session) -> Iterator[AuditEvent]:
    yield from session.execute(
        select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    ).scalars()
