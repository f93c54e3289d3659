"""Camera clocks: the offset from the host's synced clock, resets, and drift.

The offset is measured per dock session: from the camera's own clock when the profile
can read it (exact), else bounded by the newest file: a clip cannot have ended after
the camera was docked, so a newest end later than the dock time shows the camera is at
least that far ahead. Raw camera times are never overwritten; corrected times sit
beside them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

DRIFT_LIMIT_S_PER_DAY = 3.0


@dataclass(frozen=True)
class ClockReading:
    offset_s: float | None  # camera minus host
    source: str  # camera | newest_file | none


def dock_offset(camera_at: datetime | None, host_at: datetime, newest_end: datetime | None) -> ClockReading:
    if camera_at is not None:
        return ClockReading((camera_at - host_at).total_seconds(), "camera")
    if newest_end is not None and not is_reset(newest_end) and newest_end > host_at:
        return ClockReading((newest_end - host_at).total_seconds(), "newest_file")
    return ClockReading(None, "none")


def is_reset(when: datetime) -> bool:
    """A camera that lost its clock counts from 1970 or 2000 (or wraps to ~2080)."""
    return when.year <= 2001 or when.year >= 2079


def corrected(when: datetime | None, offset_s: float | None) -> datetime | None:
    if when is None:
        return None
    return when - timedelta(seconds=offset_s) if offset_s else when


def drift_per_day(readings: list[tuple[datetime, float]]) -> float | None:
    """Seconds per day the camera clock gains (+) or loses (-), from exact readings at
    least a day apart (first and last)."""
    readings = sorted(readings)
    if len(readings) < 2:
        return None
    (t0, o0), (t1, o1) = readings[0], readings[-1]
    days = (t1 - t0).total_seconds() / 86400
    if days < 1:
        return None
    return (o1 - o0) / days
