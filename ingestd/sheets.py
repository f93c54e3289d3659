"""Every spreadsheet the product writes (the report's CSV and XLSX, scheduled report files,
the console's lists) stores text as text: a roster name, a file name or a case number a person
typed that begins with `=`, `+`, `-` or `@` must never become a formula a spreadsheet runs
(CSV injection). Numbers and dates stay numbers and dates."""

from __future__ import annotations

import csv
from typing import Any, Iterable, TextIO

from openpyxl.cell.cell import TYPE_STRING
from openpyxl.worksheet.worksheet import Worksheet

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: Any) -> str:
    """A text cell for CSV: one that a spreadsheet would read as a formula gets a leading `'`
    (what Excel and LibreOffice show as plain text). Non-text values are written as they are."""
    if value is None:
        return ""
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_STARTS) else value
    return str(value)


class CsvWriter:
    """csv.writer whose every text cell goes through csv_text."""

    def __init__(self, fh: TextIO):
        self._writer = csv.writer(fh)

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([csv_text(v) for v in row])


def append_row(ws: Worksheet, row: Iterable[Any]) -> None:
    """ws.append, with every text cell stored as a string (openpyxl stores a string that begins
    with `=` as a formula otherwise)."""
    values = list(row)
    ws.append(values)
    for cell, value in zip(ws[ws.max_row], values):
        if isinstance(value, str):
            cell.value = value
            cell.data_type = TYPE_STRING
