"""China's statutory working days: weekends off, 法定节假日 off, 调休 make-up days on.

The years chinesecalendar knows come from it; any year can be given (or corrected) in
an admin-edited override file, because the State Council publishes each year's
holidays only in the December before. A date no source covers is never guessed: the
error names the year and how to add it.

Override file (TOML), e.g. var/calendar.toml:

    [years.2027]
    holidays = ["2027-01-01", "2027-02-05", …]   # days off that would be working days
    workdays = ["2027-02-07", …]                 # 调休 weekend days that are working days
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

from ingestd.errors import UserError


class CalendarNotCovered(UserError):
    """A working-day computation reached a year no calendar source covers."""


@dataclass(frozen=True)
class YearOverride:
    holidays: frozenset[date]
    workdays: frozenset[date]


@dataclass
class WorkCalendar:
    override_file: Path | None = None
    overrides: dict[int, YearOverride] = field(default_factory=dict)
    # A year of recordings asks about the same few hundred days millions of times, and the
    # library validates its whole table on every call.
    _days: dict[date, bool] = field(default_factory=dict, repr=False)
    _added: dict[tuple[date, int], date] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, override_file: Path | None) -> "WorkCalendar":
        overrides: dict[int, YearOverride] = {}
        if override_file is not None and override_file.is_file():
            try:
                data = tomllib.loads(override_file.read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError as exc:
                raise UserError(f"calendar {override_file}: invalid TOML: {exc}") from None
            for key, table in (data.get("years") or {}).items():
                overrides[_year(override_file, key)] = _year_override(override_file, key, table)
        return cls(override_file, overrides)

    def source(self, year: int) -> str:
        if year in self.overrides:
            return f"override ({self.override_file})"
        return "chinesecalendar" if self._library_covers(year) else "none"

    def is_workday(self, day: date) -> bool:
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = self._is_workday(day)
        return known

    def _is_workday(self, day: date) -> bool:
        override = self.overrides.get(day.year)
        if override is not None:
            if day in override.workdays:
                return True
            if day in override.holidays:
                return False
            return day.weekday() < 5
        if not self._library_covers(day.year):
            where = self.override_file or "the calendar override file (setting calendar_file)"
            raise CalendarNotCovered(
                f"no working-day calendar for {day.year}: add a [years.{day.year}] table with that year's "
                f"holidays and 调休 workdays to {where}, or upgrade chinesecalendar")
        return chinese_calendar.is_workday(day)

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after `start` (start itself not counted)."""
        key = (start, n)
        if key not in self._added:
            self._added[key] = self._add_workdays(start, n)
        return self._added[key]

    def _add_workdays(self, start: date, n: int) -> date:
        day = start
        while n > 0:
            day += timedelta(days=1)
            if self.is_workday(day):
                n -= 1
        return day

    @staticmethod
    def _library_covers(year: int) -> bool:
        try:
            chinese_calendar.is_workday(date(year, 6, 1))
        except NotImplementedError:
            return False
        return True


def _year(path: Path, key: str) -> int:
    try:
        year = int(key)
    except ValueError:
        raise UserError(f"calendar {path}: key 'years.{key}': not a year") from None
    if not 1990 <= year <= 2200:
        raise UserError(f"calendar {path}: key 'years.{key}': not a plausible year")
    return year


def _year_override(path: Path, key: str, table: dict) -> YearOverride:
    parsed: dict[str, frozenset[date]] = {}
    for name in ("holidays", "workdays"):
        days = set()
        for value in table.get(name, []):
            try:
                day = value if isinstance(value, date) else date.fromisoformat(str(value))
            except ValueError:
                raise UserError(f"calendar {path}: key 'years.{key}.{name}': {value!r} is not a date") from None
            if day.year != int(key):
                raise UserError(f"calendar {path}: key 'years.{key}.{name}': {day} is not in {key}")
            days.add(day)
        parsed[name] = frozenset(days)
    unknown = set(table) - {"holidays", "workdays"}
    if unknown:
        raise UserError(f"calendar {path}: key 'years.{key}.{sorted(unknown)[0]}': unknown key")
    both = parsed["holidays"] & parsed["workdays"]
    if both:
        raise UserError(f"calendar {path}: key 'years.{key}': {min(both)} is both a holiday and a workday")
    return YearOverride(parsed["holidays"], parsed["workdays"])
