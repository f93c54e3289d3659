"""The kinds of durable job, and the order they run in (shared by the CLI's `--json`, the
web and the queue: one enum, never bare strings).

A job belongs to a group (a dock session) at a stage: a job is not claimed while a job
of its group at an earlier stage is still to do, so a session's timeline waits for its
recordings' SM3 and probes, compliance for the timeline, and 制作人 for compliance.
Derivatives and recomputes belong to no group.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class JobKind(StrEnum):
    SM3 = "sm3"  # SM3 of the stored original (the 文字说明 lists it)
    PROBE = "probe"  # full media facts: mediainfo, packet timestamps for the gap scan
    RECOVER = "recover"  # what a damaged recording's camera wrote, into a playable derivative
    TIMELINE = "timeline"  # the session's clock offset, activities and interruptions
    COMPLIANCE = "compliance"  # officers, deadlines and upload statuses of what the session brought
    EVIDENCE = "evidence"  # 制作方法/制作时间/制作人 of what the session brought
    RECOMPUTE = "recompute"  # owner, roster, calendar or policy changed: compliance and 制作人 again
    PROXY = "proxy"
    HLS = "hls"
    THUMBNAILS = "thumbnails"
    EXPORT = "export"  # a case file (BagIt + ISO) a person asked for in the console
    REPLICATE = "replicate"  # the recording's OCFL object to the write-once replica bucket


class JobStatus(StrEnum):
    HELD = "held"  # waits for its session's release (or for the sweep after a crash)
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True)
class KindRule:
    stage: int  # order within a session
    priority: int  # lower first, across all kinds
    lease_s: float  # a job not finished (nor its lease renewed) in this time is taken again
    max_attempts: int = 3


# After-dock work comes before derivatives: the report, the interruptions and the evidence
# metadata are what people wait for; a proxy can follow.
RULES: dict[JobKind, KindRule] = {
    JobKind.SM3: KindRule(1, 0, 300),
    JobKind.PROBE: KindRule(1, 0, 300),
    # Decodes every recovered picture: minutes for a long clip. Its failures are for a person.
    JobKind.RECOVER: KindRule(1, 0, 3600, max_attempts=2),
    JobKind.TIMELINE: KindRule(2, 1, 300),
    JobKind.COMPLIANCE: KindRule(3, 1, 300),
    JobKind.EVIDENCE: KindRule(4, 1, 300),
    JobKind.RECOMPUTE: KindRule(0, 2, 600),
    JobKind.PROXY: KindRule(0, 10, 3600),
    JobKind.HLS: KindRule(0, 11, 3600),
    JobKind.THUMBNAILS: KindRule(0, 12, 3600),
    JobKind.EXPORT: KindRule(0, 5, 3600, max_attempts=2),
    # The network may be away for a while: many tries (with the queue's backoff) before a
    # person is asked to look; the lag finding speaks up long before they run out.
    JobKind.REPLICATE: KindRule(0, 6, 3600, max_attempts=12),
}
DERIVATIVES = (JobKind.PROXY, JobKind.HLS, JobKind.THUMBNAILS)
ON_REQUEST = (JobKind.EXPORT,)  # asked for by a person, not by a dock: a dock never waits for them
REPLICATION = (JobKind.REPLICATE,)  # over the network, on threads of its own: a dock never waits for it
AFTER_DOCK = tuple(k for k in JobKind if k not in DERIVATIVES + ON_REQUEST + REPLICATION)
SESSION_KINDS = (JobKind.TIMELINE, JobKind.COMPLIANCE, JobKind.EVIDENCE)
# Work on a recording's stored bytes: done at the dock whose store holds them.
STORE_BOUND = (JobKind.SM3, JobKind.PROBE, JobKind.RECOVER, JobKind.PROXY, JobKind.HLS, JobKind.THUMBNAILS, JobKind.REPLICATE)
IMPORTANT_BOOST = 5  # an important (重要) recording's derivatives go before the others'


def job_key(kind: JobKind, subject: str) -> str:
    return f"{kind.value}:{subject}"
