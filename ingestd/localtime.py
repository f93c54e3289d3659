"""Times as a person in the unit reads them: in the unit's zone ([unit] timezone), never UTC
and never ISO's `T` and offset. One function and its formats for the console, the alerts and
the export's 文字说明; and the one reading of a date a person typed."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from ingestd.errors import UserError

SECOND = "%Y-%m-%d %H:%M:%S"
MINUTE = "%Y-%m-%d %H:%M"
DAY_MINUTE = "%m-%d %H:%M"  # within the current weeks: the dashboard's lists
CLOCK = "%H:%M:%S"  # the end of a span whose start names the day
STAMP = "%Y%m%d-%H%M%S"  # in a file or folder name
EARLIEST, LATEST = 1970, 2999  # deadlines run days past a time: a year at the calendar's end cannot have one


def local_text(value: datetime | None, tz: ZoneInfo, fmt: str = SECOND) -> str:
    """`value` in the unit's zone, in `fmt`; "" for no time."""
    return value.astimezone(tz).strftime(fmt) if value is not None else ""


def parse_date(value: str, option: str) -> date:
    """A date a person typed (YYYY-MM-DD), on the command line or in a console form."""
    value = value.strip()
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise UserError(f"invalid date for {option}: {value[:40]!r} (use YYYY-MM-DD)") from None
    return _within_years(parsed, value, "date", option)


def parse_time(value: str, option: str, tz: ZoneInfo) -> datetime:
    """A time a person typed, ISO 8601; one without an offset is the unit's local time."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"invalid time for {option}: {value!r} (use ISO 8601, e.g. 2026-09-30T18:00)") from None
    parsed = _within_years(parsed, value, "time", option)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


def _within_years(parsed, value: str, what: str, option: str):
    if not EARLIEST <= parsed.year <= LATEST:
        raise UserError(f"{what} for {option} out of range: {value!r} (years {EARLIEST}-{LATEST})")
    return parsed
