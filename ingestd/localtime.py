"""Times as a person in the unit reads them: in the unit's zone ([unit] timezone), never UTC
and never ISO's `T` and offset. One function and its formats for the console, the alerts and
the export's 文字说明."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

SECOND = "%Y-%m-%d %H:%M:%S"
MINUTE = "%Y-%m-%d %H:%M"
DAY_MINUTE = "%m-%d %H:%M"  # within the current weeks: the dashboard's lists
CLOCK = "%H:%M:%S"  # the end of a span whose start names the day
STAMP = "%Y%m%d-%H%M%S"  # in a file or folder name


def local_text(value: datetime | None, tz: ZoneInfo, fmt: str = SECOND) -> str:
    """`value` in the unit's zone, in `fmt`; "" for no time."""
    return value.astimezone(tz).strftime(fmt) if value is not None else ""
