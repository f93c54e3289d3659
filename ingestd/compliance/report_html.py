"""The report as one self-contained HTML file (inline CSS, SVG charts, no fetches), and
as PDF from the same HTML. Every figure links to the items behind it: an officer's
figure to that officer's first item in the list, a team's to the team's, the unit's to
the list; figures without a list name the command that lists them."""

from __future__ import annotations

from pathlib import Path

from ingestd.compliance.charts import Bar, columns, horizontal_bars
from ingestd.compliance.report import LATE_BUCKETS, NO_OFFICER, Figures, Report
from ingestd.compliance.report_tables import COLUMNS, format_value, label, value
from ingestd.documents import render, write_pdf


KPI_KEYS = ("recordings", "on_time_rate", "late", "shifts_overdue", "gaps_open", "damaged", "missing_proves")


def anchor(code: str, team: str | None = None, badge: str | None = None) -> str:
    return "--".join(p for p in (code, team, badge) if p is not None)


def _anchors(report: Report) -> set[str]:
    found = set()
    for code, lst in report.lists.items():
        found.add(anchor(code))
        for item in lst.items:
            found.add(anchor(code, item.get("team")))
            found.add(anchor(code, item.get("team"), item.get("officer")))
    return found


def _cells(report: Report, figures: Figures, anchors: set[str], team: str | None, badge: str | None) -> list[dict]:
    cells = []
    for col in COLUMNS:
        v = value(figures, col)
        cell = {"text": format_value(v, col.kind), "href": None, "title": None,
                "alert": col.kind == "int" and bool(v) and col.list_code is not None}
        if col.list_code and v:
            target = anchor(col.list_code, team, badge)
            cell["href"] = "#" + (target if target in anchors else anchor(col.list_code))
        elif col.command:
            scope = f" --team {team}" if team else ""
            scope += f" --officer {badge}" if badge and badge != NO_OFFICER and "recordings" in col.command else ""
            cell["title"] = (f"ingestd {col.command} --from {report.period[0]} --to {report.period[1]}{scope}"
                             if "recordings" in col.command else f"ingestd {col.command}")
        cells.append(cell)
    return cells


def _charts(report: Report, language: str) -> dict[str, str]:
    rate = horizontal_bars([Bar(t.team, t.figures.on_time_rate or 0.0,
                                format_value(t.figures.on_time_rate, "rate")) for t in report.teams],
                           1.0, label("chart_rate", language), warn_below=0.9)
    late = columns([Bar(lbl, n, f"{n:,}") for (_h, lbl), n in zip(LATE_BUCKETS, report.unit.late_buckets)],
                   label("chart_late", language))
    days = report.uploads_per_day
    every = max(1, len(days) // 12)
    per_day = columns([Bar(d.day.strftime("%m-%d"), d.uploads, f"{d.uploads:,}") for d in days],
                      label("chart_days", language), label_every=every)
    return {"rate": rate, "late": late, "days": per_day}


def html(report: Report, language: str) -> str:
    anchors = _anchors(report)
    teams = [{"row": t, "cells": _cells(report, t.figures, anchors, t.team, None)} for t in report.teams]
    officers = [{"row": o, "cells": _cells(report, o.figures, anchors, o.team, o.badge)} for o in report.officers]
    lists = []
    for code, lst in report.lists.items():
        seen: set[str] = set()
        items = []
        for item in lst.items:
            ids = [a for a in (anchor(code, item.get("team")), anchor(code, item.get("team"), item.get("officer")))
                   if a not in seen]
            seen.update(ids)
            items.append({"item": item, "ids": ids})
        lists.append({"list": lst, "anchor": anchor(code), "items": items})
    unit_cells = _cells(report, report.unit, anchors, None, None)
    kpis = [(c.key, cell) for c, cell in zip(COLUMNS, unit_cells) if c.key in KPI_KEYS]
    return render("report.html.j2", r=report, L=lambda k: label(k, language), columns=COLUMNS,
                  unit_cells=unit_cells, kpis=kpis, teams=teams, officers=officers, lists=lists,
                  charts=_charts(report, language), bilingual=language == "zh-en")


def write_html(report: Report, path: Path, language: str) -> None:
    path.write_text(html(report, language), encoding="utf-8")


def write_report_pdf(report: Report, path: Path, language: str) -> None:
    write_pdf(html(report, language), path)
