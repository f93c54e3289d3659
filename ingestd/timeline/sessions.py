"""Activity sessions and the gaps inside them, on corrected time (pure).

A clip starting within `split_tolerance` of the previous end is the camera splitting a
long recording; a longer pause shorter than the policy's session window is an
interruption inside one activity (全程不间断: 000 第15条, 002 第14条, 003 第7条); a
longer one starts a new activity. A clip cut off (damaged) ends in an interruption.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from ingestd.db.states import GapKind


@dataclass(frozen=True)
class Clip:
    id: str
    start: datetime
    end: datetime | None
    damaged: bool
    seq: str | None = None


@dataclass(frozen=True)
class GapCandidate:
    key: str
    before: str
    after: str | None
    start: datetime
    end: datetime
    kind: GapKind
    suggested_reason: str | None

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def order(clips: list[Clip], by_seq: bool) -> list[Clip]:
    """By time; a camera whose clock reset is ordered by its sequence numbers instead."""
    if by_seq and all(c.seq is not None for c in clips):
        return sorted(clips, key=lambda c: (int(c.seq) if c.seq.isdigit() else c.seq, c.id))
    return sorted(clips, key=lambda c: (c.start, c.id))


def find_gaps(clips: list[Clip], split_tolerance_s: float, window_s: float) -> tuple[list[GapCandidate], int]:
    """Gaps between consecutive clips of one device, and the number of activities."""
    gaps: list[GapCandidate] = []
    activities = 1 if clips else 0
    tolerance, window = timedelta(seconds=split_tolerance_s), timedelta(seconds=window_s)
    for i, clip in enumerate(clips):
        nxt = clips[i + 1] if i + 1 < len(clips) else None
        ends = clip.end or clip.start
        pause = (nxt.start - ends) if nxt else None
        same_activity = pause is not None and pause < window
        if nxt is not None and not same_activity:
            activities += 1
        if clip.damaged:
            # Cut off: power lost (the commonest cause) or the camera failed. 电量不足 is
            # suggested when the activity ends there, 设备故障 when recording resumed.
            gaps.append(GapCandidate(f"at_damaged_file:{clip.id}", clip.id, nxt.id if same_activity else None,
                                     ends, nxt.start if same_activity else ends, GapKind.AT_DAMAGED_FILE,
                                     "equipment_fault" if same_activity else "low_battery"))
        elif same_activity and pause > tolerance:
            gaps.append(GapCandidate(f"between_clips:{clip.id}:{nxt.id}", clip.id, nxt.id, ends, nxt.start,
                                     GapKind.BETWEEN_CLIPS, None))
    return gaps, activities


def inside_file_gaps(clip: Clip, usual_step_s: float | None, jumps: list, tolerance_s: float) -> list[GapCandidate]:
    """Timestamp jumps inside one file: a packet arriving later than the usual frame
    interval plus the tolerance means the camera stopped and resumed inside the file.
    `jumps` are (pts before, pts after) pairs from the packet scan."""
    if usual_step_s is None:
        return []
    gaps = []
    for a, b in jumps:
        if b - a > usual_step_s + tolerance_s:
            start = clip.start + timedelta(seconds=a + usual_step_s)
            gaps.append(GapCandidate(f"inside_file:{clip.id}:{a:.3f}", clip.id, clip.id, start,
                                     clip.start + timedelta(seconds=b), GapKind.INSIDE_FILE, None))
    return gaps
