"""Duty roster import (排班表): CSV (UTF-8 with or without BOM, or GB18030) or XLSX, with
Chinese or English headers. The whole file is checked before anything is written; a bad
row is reported with its row number and column and nothing from that file is imported.

Re-importing a period replaces it: shifts of the file's teams on the file's dates are
replaced by the file's shifts (a team's file never touches another team's shifts).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ingestd.compliance.policy import ASSIGNMENT_ZH
from ingestd.errors import FileProblemsError, UserError
from ingestd.findings import Finding, refused

HEADERS = {
    "日期": "date", "date": "date",
    "警号": "badge", "badge": "badge",
    "姓名": "name", "name": "name",
    "执法证号": "cert_no", "cert_no": "cert_no",
    "执法队": "team", "team": "team",
    "班次开始": "shift_start", "shift_start": "shift_start",
    "班次结束": "shift_end", "shift_end": "shift_end",
    "任务类型": "assignment", "assignment": "assignment",
    "返回单位时间": "returned_at", "returned_at": "returned_at",
    "执法记录仪编号": "camera", "camera": "camera",
}
REQUIRED = ("date", "badge", "name", "shift_start", "shift_end")
# The regulations' own words for the same assignments (001 第25条: 异地工作, 边远), as a unit
# under them writes its roster.
ASSIGNMENT_WORDS = {"异地工作": "offsite", "边远地区": "remote", "偏远、交通不便地区": "remote",
                    "边远、交通不便地区": "remote"}
ASSIGNMENT_VALUES = {**{zh: en for en, zh in ASSIGNMENT_ZH.items()}, **{en: en for en in ASSIGNMENT_ZH},
                     **ASSIGNMENT_WORDS, "": "regular"}


@dataclass(frozen=True)
class RosterRow:
    row: int  # as the admin sees it in the file (header is row 1)
    day: date
    badge: str
    name: str
    cert_no: str | None
    team: str | None
    start: datetime
    end: datetime
    assignment: str
    returned_at: datetime | None
    camera: str | None


@dataclass(frozen=True)
class Roster:
    file_name: str
    sha256: str
    rows: list[RosterRow]

    @property
    def period(self) -> tuple[date, date]:
        days = [r.day for r in self.rows]
        return min(days), max(days)

    @property
    def teams(self) -> list[str | None]:
        return sorted({r.team for r in self.rows}, key=lambda t: (t is None, t or ""))


class _RowProblem(Exception):
    """A problem of one cell: its column, and the finding that words it (the row is added where
    the row is known)."""

    def __init__(self, column: str, code: str, **detail):
        super().__init__(code)
        self.column, self.code, self.detail = column, code, detail


@dataclass(frozen=True)
class _Formula:
    """An XLSX cell holding a formula whose value was never calculated and saved (a file
    written by a program, not by Excel): its value is unknown, not empty."""

    text: str


def read_roster(path: Path, tz: ZoneInfo) -> Roster:
    if not path.is_file():
        raise UserError(f"roster file not found: {path}")
    raw = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        table = _xlsx_rows(path)
    elif suffix in (".csv", ".txt"):
        table = _csv_rows(raw, path)
    else:
        raise refused("roster_file_type", file=path.name, suffix=suffix or "(none)")
    if not table:
        raise refused("roster_file_empty", file=path.name)
    columns = _columns(path, table[0])
    rows: list[RosterRow] = []
    problems: list[Finding] = []
    for number, cells in enumerate(table[1:], start=2):
        if all(_text(c) == "" for c in cells):
            continue
        values = {key: (cells[i] if i < len(cells) else None) for key, (i, _) in columns.items()}
        try:
            for key, value in values.items():
                if isinstance(value, _Formula):
                    raise _RowProblem(key, "roster_formula", formula=value.text)
            rows.append(_parse_row(number, values, tz))
        except _RowProblem as exc:
            header = columns.get(exc.column, (None, exc.column))[1]
            problems.append(Finding(exc.code, {"row": number, "column": header, **exc.detail}))
    problems += _overlaps(rows)
    if problems:
        more = len(problems) - 1
        summary = Finding("roster_problems", {
            "file": path.name, "first": problems[0].message, "first_zh": problems[0].message_zh,
            "more": f" (and {more} more problems)" if more else "", "more_zh": f"（另有 {more} 处错误）" if more else ""})
        raise FileProblemsError(summary, problems)
    if not rows:
        raise refused("roster_no_shifts", file=path.name)
    return Roster(path.name, hashlib.sha256(raw).hexdigest(), rows)


def _csv_rows(raw: bytes, path: Path) -> list[list[str]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise refused("roster_encoding", file=path.name)
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_rows(path: Path) -> list[list[object]]:
    from openpyxl import load_workbook

    def rows(data_only: bool) -> list[list[object]]:
        try:
            book = load_workbook(path, read_only=True, data_only=data_only)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises many types for a bad file
            raise refused("roster_not_xlsx", file=path.name, error=exc.__class__.__name__) from None
        try:
            return [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        finally:
            book.close()

    values, formulas = rows(True), rows(False)
    # A formula cell reads back as None when no value was saved with it: say so, not "empty".
    return [[_Formula(f) if v is None and isinstance(f, str) and f.startswith("=") else v
             for v, f in zip(vrow, frow + [None] * (len(vrow) - len(frow)))]
            for vrow, frow in zip(values, formulas + [[]] * (len(values) - len(formulas)))]


def _columns(path: Path, header: list[object]) -> dict[str, tuple[int, str]]:
    columns: dict[str, tuple[int, str]] = {}
    for i, cell in enumerate(header):
        name = _text(cell)
        key = HEADERS.get(name) or HEADERS.get(name.lower())
        if key is None:
            if name:
                raise refused("roster_unknown_column", file=path.name, name=name)
            continue
        if key in columns:
            raise refused("roster_column_twice", file=path.name, name=name)
        columns[key] = (i, name)
    missing = [k for k in REQUIRED if k not in columns]
    if missing:
        zh = {v: k for k, v in HEADERS.items() if not k.isascii()}
        raise refused("roster_column_missing", file=path.name, zh=zh[missing[0]], key=missing[0])
    return columns


def _parse_row(number: int, values: dict[str, object], tz: ZoneInfo) -> RosterRow:
    day = _date(values.get("date"), "date")
    if isinstance(values.get("badge"), (int, float)):
        # Excel turns 012345 into the number 12345; guessing the zeros back could name the
        # wrong officer, so the admin is asked to keep the column as text.
        raise _RowProblem("badge", "roster_badge_number", value=_text(values.get("badge")))
    badge = _required(values.get("badge"), "badge")
    name = _required(values.get("name"), "name")
    start = _when(values.get("shift_start"), "shift_start", day, tz)
    if start.astimezone(tz).date() != day:
        raise _RowProblem("shift_start", "roster_start_off_day", start=f"{start.astimezone(tz):%Y-%m-%d %H:%M}",
                          day=day.isoformat())
    end = _when(values.get("shift_end"), "shift_end", day, tz)
    if _has_date(values.get("shift_end")):
        if end <= start:
            raise _RowProblem("shift_end", "roster_end_before_start", end=f"{end.astimezone(tz):%Y-%m-%d %H:%M}")
    elif end == start:
        raise _RowProblem("shift_end", "roster_zero_length")
    elif end < start:
        end += timedelta(days=1)  # a night shift running past midnight
    if end - start > timedelta(hours=72):
        raise _RowProblem("shift_end", "roster_too_long")
    assignment = ASSIGNMENT_VALUES.get(_text(values.get("assignment")).lower())
    if assignment is None:
        raise _RowProblem("assignment", "roster_assignment_unknown", value=_text(values.get("assignment")))
    returned = None
    if _text(values.get("returned_at")):
        returned = _when(values.get("returned_at"), "returned_at", day, tz)
        if returned < start and not _has_date(values.get("returned_at")):
            returned += timedelta(days=1)
        if returned < start:
            raise _RowProblem("returned_at", "roster_return_before_start")
    return RosterRow(number, day, badge, name, _text(values.get("cert_no")) or None,
                     _text(values.get("team")) or None, start, end, assignment, returned,
                     _text(values.get("camera")) or None)


def _overlaps(rows: list[RosterRow]) -> list[Finding]:
    problems = []
    by_badge: dict[str, list[RosterRow]] = {}
    for r in rows:
        by_badge.setdefault(r.badge, []).append(r)
    for shifts in by_badge.values():
        shifts.sort(key=lambda r: r.start)
        for a, b in zip(shifts, shifts[1:]):
            if b.start < a.end:
                problems.append(Finding("roster_overlap", {"row": b.row, "other": a.row, "badge": b.badge}))
    return problems


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # spreadsheets hand badge numbers back as floats
    return str(value).strip()


def _required(value: object, column: str) -> str:
    text = _text(value)
    if not text:
        raise _RowProblem(column, "roster_cell_empty")
    return text


def _date(value: object, column: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise _RowProblem(column, "roster_not_date", value=text) if text else _RowProblem(column, "roster_cell_empty")


def _has_date(value: object) -> bool:
    """A full date and time, rather than a time on the row's date."""
    return isinstance(value, datetime) or (not isinstance(value, time) and len(_text(value)) > 8)


def _when(value: object, column: str, day: date, tz: ZoneInfo) -> datetime:
    """A time on the row's date, or a full date and time."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz) if value.tzinfo is None else value
    if isinstance(value, time):
        return datetime.combine(day, value, tzinfo=tz)
    text = _text(value)
    for fmt in ("%H:%M", "%H:%M:%S"):
        try:
            return datetime.combine(day, datetime.strptime(text, fmt).time(), tzinfo=tz)
        except ValueError:
            continue
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise _RowProblem(column, "roster_not_time", value=text) if text else _RowProblem(column, "roster_cell_empty")
