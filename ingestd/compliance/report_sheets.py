"""The report as sheets: XLSX (openpyxl; one sheet per table, frozen header row, real
number, percentage and date cells) and CSV (UTF-8 with BOM so that Excel opens the
Chinese correctly; the tables one after another, each under its name)."""

from __future__ import annotations

import re
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from ingestd.compliance.report_tables import Table
from ingestd.sheets import CsvWriter, append_row

NUMBER_FORMATS = {"int": "#,##0", "hours": "#,##0.0", "rate": "0.0%", "date": "yyyy-mm-dd"}


def write_xlsx(tables: list[Table], path: Path) -> None:
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for table in tables:
        ws = wb.create_sheet(_sheet_name(table.name, used))
        append_row(ws, table.headers)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            append_row(ws, row)
        for col, kind in enumerate(table.kinds, 1):
            fmt = NUMBER_FORMATS.get(kind)
            width = max([len(str(table.headers[col - 1]))] + [len(str(r[col - 1] or "")) for r in table.rows[:200]])
            ws.column_dimensions[get_column_letter(col)].width = min(60, max(8, width * 1.6))
            if fmt:
                for (cell,) in ws.iter_rows(min_row=2, min_col=col, max_col=col):
                    cell.number_format = fmt
        ws.freeze_panes = "A2"
    wb.save(path)


def _sheet_name(name: str, used: set[str]) -> str:
    base = re.sub(r"[\[\]:*?/\\]", "_", name)[:31] or "Sheet"
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base[:28]}_{n}"
        n += 1
    used.add(candidate)
    return candidate


def write_csv(tables: list[Table], path: Path) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = CsvWriter(fh)
        for i, table in enumerate(tables):
            if i:
                writer.writerow([])
            writer.writerow([f"# {table.name}"])
            writer.writerow(table.headers)
            for row in table.rows:
                writer.writerow([_csv_cell(v, k) for v, k in zip(row, table.kinds)])


def _csv_cell(value, kind: str):
    """Rates and dates in their CSV form; the rest as it is, for CsvWriter to keep text as text."""
    if value is None:
        return None
    if kind == "rate":
        return f"{value:.4f}"
    if kind == "date":
        return value.isoformat()
    return value
