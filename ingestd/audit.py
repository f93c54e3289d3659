"""The audit log: append-only, hash-chained, Ed25519-signed.

Each entry's hash covers the previous entry's hash and every field of the entry, and
the hash is signed with the dock's key. Each dock is a node with a chain of its own and its
public key in the database, so docks sharing PostgreSQL never wait on each other and any
of them (or a verifier with just the database) checks every chain. Editing an entry breaks
its hash; removing or reordering breaks the chain; cutting entries off the end disagrees
with the node's signed head row. Entries are appended inside the same transaction as the
state change they record (see ingestd/changes.py), so there is no change without its entry.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator

from cryptography.hazmat.primitives import serialization
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ingestd.db.models import AuditEvent, AuditHead, AuditNode
from ingestd.errors import AuditError, UserError
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


def _head_message(node: str, seq: int, digest: str) -> bytes:
    return f"head:{node}:{seq}:{digest}".encode()


def _single_chain_head_message(seq: int, digest: str) -> bytes:
    """What a head was signed as before chains had nodes (see migration 0014)."""
    return f"head:{seq}:{digest}".encode()


def lock_head(session: Session, node: str) -> AuditHead:
    """Lock the node's head row for the rest of the transaction: the node's own writers run one
    at a time, other nodes' never wait on it (on SQLite the database write lock is taken)."""
    head = session.execute(select(AuditHead).where(AuditHead.node == node).with_for_update()).scalar_one_or_none()
    if head is None:
        raise AuditError(f"node {node!r} has no audit chain in this database: it registers when it starts")
    return head


def _next_seqs(session: Session, count: int) -> list[int]:
    """Places in the unit-wide order. PostgreSQL hands them out from a sequence, so docks do not
    wait on each other for them; SQLite has one writer at a time, which may take the next."""
    if session.get_bind().dialect.name == "postgresql":
        return list(session.execute(text("select nextval('audit_event_seq') from generate_series(1, :n)"),
                                    {"n": count}).scalars())
    last = session.execute(select(func.coalesce(func.max(AuditEvent.seq), 0))).scalar_one()
    return list(range(last + 1, last + 1 + count))


def append(session: Session, signer: Signer, *, node: str, actor: str, at: datetime,
           entries: list[AuditEntry]) -> list[int]:
    """Append entries to the node's chain in this transaction; returns their unit-wide numbers."""
    head = lock_head(session, node)
    at = at.astimezone(timezone.utc)  # hashed as stored: the database hands times back in UTC
    seqs = _next_seqs(session, len(entries))
    for entry, seq in zip(entries, seqs):
        node_seq = head.seq + 1
        detail = canonical_json(entry.detail)
        digest = _entry_hash(head.hash, node_seq, at, node, actor, entry.action,
                             entry.subject_type, entry.subject_id, detail)
        session.add(AuditEvent(
            seq=seq, node=node, node_seq=node_seq, at=at, dock=node, actor=actor, action=entry.action,
            subject_type=entry.subject_type, subject_id=entry.subject_id, detail=detail,
            prev_hash=head.hash, hash=digest, signature=signer.sign(bytes.fromhex(digest)),
        ))
        head.seq, head.hash = node_seq, digest
    head.signature = signer.sign(_head_message(node, head.seq, head.hash))
    return seqs


def public_pem(signer: Signer) -> str:
    return signer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def register(session: Session, signer: Signer, node: str, at: datetime) -> list[AuditEntry]:
    """Make sure this node has its chain, under its key; returns the entries to record when this
    transaction registered it (nothing when it was already). A name taken by another key, or a
    key already serving another name, is refused: either would split or fork a chain."""
    pem = public_pem(signer)
    row = session.execute(select(AuditNode).where(AuditNode.node == node).with_for_update()).scalar_one_or_none()
    other = session.execute(select(AuditNode.node).where(AuditNode.public_key == pem,
                                                         AuditNode.node != node)).scalar_one_or_none()
    if other is not None:
        raise UserError(f"this dock's signing key already writes the audit chain of node {other!r}: "
                        f"set dock_name = {other!r} again, or give this dock a key of its own")
    if row is not None and row.public_key == pem:
        return []
    if row is not None and row.public_key is not None:
        raise UserError(f"node {node!r} in this database writes with another signing key: "
                        f"give this dock a dock_name of its own")
    if row is None:
        session.add(AuditNode(node=node, public_key=pem, registered_at=at))
        session.flush()  # the node before its head (the head's foreign key)
        session.add(AuditHead(node=node, seq=0, hash=GENESIS, signature=""))
        return [AuditEntry("audit.node_registered", "node", node, {"public_key": pem})]
    head = session.get(AuditHead, node)
    if head is None or not Verifier(signer.key.public_key()).valid(
            _single_chain_head_message(head.seq, head.hash), head.signature):
        raise UserError(f"the audit chain of node {node!r} was not signed with this dock's key: "
                        f"start the dock that wrote it, or give this dock a dock_name of its own")
    row.public_key, row.registered_at = pem, at
    return [AuditEntry("audit.node_registered", "node", node, {"public_key": pem, "single_chain_entries": head.seq})]


@dataclass(frozen=True)
class ChainState:
    node: str
    entries: int
    ok: bool
    head_hash: str | None


def verify(session: Session) -> tuple[list[Finding], list[ChainState]]:
    """Walk every node's chain with the node's registered key; every break is a finding, the
    lowest entry first. Needs nothing but the database: a central verifier can run it."""
    findings: list[Finding] = []
    chains = []
    nodes = {n.node: n for n in session.execute(select(AuditNode)).scalars()}
    for node in sorted(nodes):
        found = _verify_chain(session, nodes[node])
        head = session.get(AuditHead, node)
        chains.append(ChainState(node, head.seq if head else 0, not found, head.hash if head else None))
        findings.extend(found)
    strays = session.execute(select(AuditEvent.node, func.min(AuditEvent.seq))
                             .where(AuditEvent.node.not_in(list(nodes) or [""]))
                             .group_by(AuditEvent.node)).all()
    for node, first in strays:
        findings.append(Finding("audit_tampered", {"seq": first, "node": node,
                                                   "reason": "its node is not registered: nobody can check it"}))
    findings.sort(key=lambda f: f.detail["seq"])
    return findings, chains


def _verify_chain(session: Session, node: AuditNode) -> list[Finding]:
    findings: list[Finding] = []
    name = node.node

    def bad(seq: int, reason: str) -> None:
        findings.append(Finding("audit_tampered", {"seq": seq, "node": name, "reason": reason}))

    if node.public_key is None:
        first = session.execute(select(func.min(AuditEvent.seq)).where(AuditEvent.node == name)).scalar() or 0
        bad(first, "its dock has not registered its key since the upgrade: start that dock, then verify again")
        return findings
    verifier = Verifier(serialization.load_pem_public_key(node.public_key.encode()))
    expected, prev, last_global = 1, GENESIS, 0
    for ev in _events(session, name):
        if ev.node_seq != expected:
            bad(ev.seq, f"entries #{expected}..#{ev.node_seq - 1} of this chain are missing before it"
                if ev.node_seq > expected else f"entry #{ev.node_seq} is out of order")
        if ev.prev_hash != prev:
            bad(ev.seq, "does not follow the entry before it (removed, inserted or reordered)")
        recomputed = _entry_hash(ev.prev_hash, ev.node_seq, ev.at, ev.dock, ev.actor, ev.action,
                                 ev.subject_type, ev.subject_id, ev.detail)
        if recomputed != ev.hash:
            bad(ev.seq, "content was edited after it was written")
        elif not verifier.valid(bytes.fromhex(ev.hash), ev.signature):
            bad(ev.seq, "signature does not verify")
        expected, prev, last_global = ev.node_seq + 1, ev.hash, ev.seq
    head = session.get(AuditHead, name)
    last = expected - 1
    if head is None:
        bad(last_global, "the chain's head row is missing")
    elif head.seq != last or head.hash != prev:
        bad(last_global, f"the chain ends at #{last} but its signed head says #{head.seq}: "
                         f"entries were cut off the end")
    elif head.seq and not verifier.valid(_head_message(name, head.seq, head.hash), head.signature):
        bad(last_global, "the head signature does not verify")
    return findings


def _events(session: Session, node: str) -> Iterator[AuditEvent]:
    yield from session.execute(
        select(AuditEvent).where(AuditEvent.node == node).order_by(AuditEvent.node_seq)
        .execution_options(yield_per=2000)
    ).scalars()
