"""Writing a report model in the format asked for."""

from __future__ import annotations

import json
from pathlib import Path

from ingestd.compliance.report import Report
from ingestd.compliance.report_html import write_html, write_report_pdf
from ingestd.compliance.report_sheets import write_csv, write_xlsx
from ingestd.compliance.report_tables import tables
from ingestd.errors import UserError

FORMATS = ("html", "pdf", "xlsx", "csv", "json")


def write_report(report: Report, fmt: str, path: Path, language: str = "zh") -> None:
    if fmt not in FORMATS:
        raise UserError(f"unknown report format {fmt!r} (use {', '.join(FORMATS)})")
    if not path.parent.is_dir():
        raise UserError(f"folder for the report does not exist: {path.parent}")
    if fmt == "html":
        write_html(report, path, language)
    elif fmt == "pdf":
        write_report_pdf(report, path, language)
    elif fmt == "xlsx":
        write_xlsx(tables(report, language), path)
    elif fmt == "csv":
        write_csv(tables(report, language), path)
    else:
        path.write_text(json.dumps(report.as_dict(), ensure_ascii=False, indent=1, default=str), encoding="utf-8")
