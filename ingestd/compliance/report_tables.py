"""The report's tables, named and labelled once, for every renderer: the columns of the
team and officer tables, which list of items stands behind each figure, and the tables
the sheets (CSV, XLSX) are made of. Labels are Chinese; a unit that configures
`report.language = "zh-en"` gets the English beside them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ingestd.compliance.report import LATE_BUCKETS, Figures, Report

LABELS: dict[str, tuple[str, str]] = {
    "title": ("执法记录仪上传情况报告", "Body-camera upload compliance report"),
    "period": ("统计期间", "Period"), "team": ("执法队", "Team"), "officer": ("警号", "Badge"),
    "name": ("姓名", "Name"), "heads": ("队长", "Team head"), "officers": ("人数", "Officers"),
    "unit": ("全单位", "Whole unit"), "policy": ("执行规定", "Policy"), "generated": ("生成时间", "Generated"),
    "custodian": ("专人负责", "Custodian"), "custodian_none": ("未指定（[compliance] custodian）",
                                                              "not named ([compliance] custodian)"),
    "recordings": ("记录数", "Recordings"), "hours": ("时长(小时)", "Hours"),
    "on_time": ("按时上传", "On time"), "late": ("逾期上传", "Late"),
    "late_median_h": ("逾期中位(小时)", "Median late (h)"), "late_worst_h": ("最长逾期(小时)", "Worst late (h)"),
    "shifts_overdue": ("逾期未上传(班次)", "Overdue shifts"),
    "shifts_excused": ("已说明原因(班次)", "Excused shifts"), "on_time_rate": ("按时率", "On-time rate"),
    "shifts_no_recording": ("当班无记录", "Shifts w/o recording"), "gaps_open": ("中断未说明", "Open interruptions"),
    "gaps_voice": ("语音说明", "Explained by voice"), "gaps_written": ("书面说明", "Explained in writing"),
    "missing_proves": ("缺证明对象", "Missing 证明对象"), "disc_missing": ("未刻盘入卷", "Not on disc"), "damaged": ("损坏文件", "Damaged files"),
    "incidents_open": ("未处理事件", "Open incidents"), "off_duty": ("非工作时间记录", "Off-duty recordings"),
    "shifts": ("班次", "Shifts"), "undetermined": ("无法判定", "Undetermined"),
    "chart_rate": ("各队按时上传率", "On-time rate by team"), "chart_late": ("逾期时长分布", "Lateness distribution"),
    "chart_days": ("每日上传数", "Uploads per day"), "devices": ("设备情况", "Devices"),
    "device": ("记录仪", "Camera"), "findings": ("问题", "Findings"), "cases": ("案件归档", "Case files"),
    "lists": ("明细", "Items"), "code": ("代码", "Code"), "article": ("依据", "Article"),
    "detail": ("说明", "Detail"), "more": ("另有 {n} 项未列出，完整清单：", "{n} more not shown; the full list:"),
    "definitions": ("口径说明", "Definitions"), "day": ("日期", "Day"), "uploads": ("上传数", "Uploads"),
    "count": ("数量", "Count"), "case_no": ("案号", "Case"), "archive_deadline": ("归档期限", "Archive by"),
    "not_exported": ("未刻盘导出", "Not exported"), "status": ("状态", "Status"), "list_all": ("全部清单", "All items"),
}


def label(key: str, language: str) -> str:
    zh, en = LABELS[key]
    return f"{zh} {en}" if language == "zh-en" else en if language == "en" else zh


@dataclass(frozen=True)
class Column:
    key: str
    kind: str  # int | hours | rate
    list_code: str | None = None  # the list of items behind the figure
    command: str | None = None  # for figures without a list: the command that lists them


COLUMNS = [
    Column("recordings", "int", command="recordings list"),
    Column("hours", "hours"),
    Column("on_time", "int", command="recordings list --upload-status on_time"),
    Column("late", "int", "late_upload"),
    Column("late_median_h", "hours", "late_upload"),
    Column("late_worst_h", "hours", "late_upload"),
    Column("shifts_overdue", "int", "shift_overdue"),
    Column("shifts_excused", "int", "shift_excused"),
    Column("on_time_rate", "rate"),
    Column("undetermined", "int", command="recordings list --upload-status undetermined"),
    Column("shifts_no_recording", "int", "shift_no_recording"),
    Column("gaps_open", "int", "open_interruption"),
    Column("gaps_voice", "int", command="gaps list"),
    Column("gaps_written", "int", command="gaps list"),
    Column("missing_proves", "int", "evidence_missing_proves"),
    Column("disc_missing", "int", "evidence_disc_missing"),
    Column("damaged", "int", "damaged_file"),
    Column("incidents_open", "int", "damaged_file"),
    Column("off_duty", "int", "off_duty_recording"),
]


def value(figures: Figures, column: Column):
    return figures.on_time_rate if column.key == "on_time_rate" else getattr(figures, column.key)


def format_value(v, kind: str) -> str:
    if v is None:
        return "—"
    if kind == "rate":
        return f"{v:.1%}"
    if kind == "hours":
        return f"{v:,.1f}"
    return f"{v:,}"


@dataclass
class Table:
    name: str  # sheet name
    headers: list[str]
    rows: list[list]  # real numbers, dates and datetimes: the sheet writer types them
    kinds: list[str]  # per column: text | int | hours | rate | date | datetime


def tables(report: Report, language: str) -> list[Table]:
    L = lambda k: label(k, language)  # noqa: E731
    figure_headers = [L(c.key) for c in COLUMNS]
    figure_kinds = [c.kind for c in COLUMNS]

    def figures_row(f: Figures) -> list:
        return [value(f, c) for c in COLUMNS]

    out = [
        Table(L("team"), [L("team"), L("heads"), L("officers"), *figure_headers],
              [[t.team, "、".join(t.heads), t.officers, *figures_row(t.figures)] for t in report.teams]
              + [[L("unit"), "", sum(t.officers for t in report.teams), *figures_row(report.unit)]],
              ["text", "text", "int", *figure_kinds]),
        Table(L("officer"), [L("team"), L("officer"), L("name"), *figure_headers],
              [[o.team, o.badge, o.name or "", *figures_row(o.figures)] for o in report.officers],
              ["text", "text", "text", *figure_kinds]),
        Table(L("chart_late"), [L("team"), *[b for _h, b in LATE_BUCKETS]],
              [[t.team, *t.figures.late_buckets] for t in report.teams] + [[L("unit"), *report.unit.late_buckets]],
              ["text", *["int"] * len(LATE_BUCKETS)]),
        Table(L("chart_days"), [L("day"), L("uploads")], [[d.day, d.uploads] for d in report.uploads_per_day],
              ["date", "int"]),
        Table(L("devices"), [L("device"), L("team"), L("officer"), L("code"), L("findings"), L("count"), L("article")],
              [[d["device"], d.get("team") or "", d.get("owner") or "", i["code"], i["label_zh"], i["count"],
                i["article"] or ""] for d in report.devices for i in d["items"]],
              ["text", "text", "text", "text", "text", "int", "text"]),
        Table(L("cases"), [L("case_no"), L("team"), L("status"), L("archive_deadline"), L("recordings"),
                           L("missing_proves"), L("not_exported"), L("code"), L("article")],
              [[c["case_no"], c["team"] or "", c["status"], _day(c["archive_deadline"]), c["recordings"],
                c["missing_proves"], c["not_exported"], (c["finding"] or {}).get("code", ""),
                (c["finding"] or {}).get("article", "") or ""] for c in report.cases],
              ["text", "text", "text", "date", "int", "int", "int", "text", "text"]),
    ]
    for code, lst in report.lists.items():
        if not lst.total:
            continue
        out.append(Table(lst.label_zh, [L("code"), L("team"), L("officer"), L("name"), L("detail"), L("article")],
                         [[i["code"], i.get("team") or "", i.get("officer") or "", i.get("officer_name") or "",
                           i["message_zh"] + (f" / {i['message']}" if language == "zh-en" else ""),
                           i.get("article") or ""] for i in lst.items]
                         + ([[L("list_all"), "", "", "", L("more").format(n=lst.total - len(lst.items))
                              + " " + lst.command, ""]] if lst.total > len(lst.items) else []),
                         ["text"] * 6))
    return out


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


