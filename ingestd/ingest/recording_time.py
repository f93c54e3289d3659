"""When a recording was made, and how we know: the file name (camera clock, local time),
the container's creation time, or — last resort — the file's modification time, which
cameras set when they close a clip, so it marks the end. The source is always recorded
because the compliance deadline is computed from it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ingestd.device_profiles import NameFacts
from ingestd.ingest.probe import ProbeResult


@dataclass(frozen=True)
class RecordingTime:
    start: datetime | None
    end: datetime | None
    duration_s: float | None
    source: str  # filename | container | mtime | none


def recording_time(facts: NameFacts | None, probe: ProbeResult | None, mtime_ns: int | None,
                   tz: ZoneInfo) -> RecordingTime:
    duration = probe.duration_s if probe else None
    span = timedelta(seconds=duration) if duration is not None else None
    if facts is not None and facts.start is not None:
        end = facts.end or (facts.start + span if span is not None else None)
        if duration is None and facts.end is not None:
            duration = (facts.end - facts.start).total_seconds()
        return RecordingTime(facts.start, end, duration, "filename")
    created = _container_time(probe.creation_time if probe else None)
    if created is not None:
        return RecordingTime(created, created + span if span is not None else None, duration, "container")
    if mtime_ns is not None:
        end = datetime.fromtimestamp(mtime_ns / 1e9, timezone.utc).astimezone(tz)
        return RecordingTime(end - span if span is not None else None, end, duration, "mtime")
    return RecordingTime(None, None, duration, "none")


def _container_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)  # ISO-BMFF times are UTC
    if parsed.year <= 1970:
        return None  # an unset field (epoch / 1904 base), not a time
    return parsed
