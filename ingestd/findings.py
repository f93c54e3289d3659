"""The catalogue of findings: every problem ingestd reports has one stable code here.

The CLI, the report and the web console show `code` and the message from this table, so
a code means the same thing everywhere and can be searched for in a log or a footnote.
Codes are never renamed or reused; retire one by leaving it here unused.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True)
class FindingKind:
    code: str
    severity: Severity
    label_zh: str
    message: str  # str.format template over the finding's detail
    article: str | None = None  # the seed article the finding enforces, e.g. "002 第16条"


_KINDS = [
    # Ingest outcomes
    FindingKind("damaged_file", Severity.ERROR, "文件损坏或无法解析",
                "{path}: stored byte for byte but cannot be parsed ({reason})", "002 第16条"),
    FindingKind("duplicate_content", Severity.INFO, "重复文件",
                "{path}: same content as recording {recording_id}, not stored twice"),
    FindingKind("already_ingested", Severity.INFO, "已入库",
                "{path}: already ingested from this device as recording {recording_id}"),
    FindingKind("name_conflict", Severity.WARNING, "同名不同内容",
                "{path}: a different recording from this device has the same name; both are kept",
                "002 第17条"),
    FindingKind("skipped_symlink", Severity.WARNING, "跳过符号链接",
                "{path}: symbolic link on the camera, not followed"),
    FindingKind("skipped_special", Severity.WARNING, "跳过特殊文件",
                "{path}: not a regular file ({kind}), not read"),
    FindingKind("skipped_not_media", Severity.INFO, "非音像文件",
                "{path}: not a recording this profile takes ({reason})"),
    FindingKind("read_failed", Severity.ERROR, "读取失败",
                "{path}: could not be read off the camera ({reason}); nothing was kept, the next dock retries"),
    FindingKind("verify_mismatch", Severity.ERROR, "校验不一致",
                "{path}: the stored copy re-read from disk differs from what was read; nothing was kept"),
    FindingKind("store_write_failed", Severity.ERROR, "存储写入失败",
                "{path}: could not be written to the store ({reason}); nothing was kept", "002 第16条"),
    # Store fixity and audit
    FindingKind("fixity_changed", Severity.ERROR, "原始文件被改动",
                "{object_id}: {path} no longer has the digest it was stored with", "002 第17条"),
    FindingKind("fixity_missing", Severity.ERROR, "原始文件缺失",
                "{object_id}: {path} is missing from the store", "002 第17条"),
    FindingKind("object_invalid", Severity.ERROR, "存储对象异常",
                "{object_id}: {reason}", "002 第17条"),
    FindingKind("object_unindexed", Severity.WARNING, "存储对象未入索引",
                "{object_id}: in the store but not in the database (run `ingestd store rebuild-index`)"),
    FindingKind("index_orphan", Severity.ERROR, "索引无对应对象",
                "recording {recording_id}: in the database but its object is not in the store",
                "002 第16条"),
    FindingKind("device_mismatch", Severity.ERROR, "记录仪身份不符",
                "{device}: recognised as {profile} but {problems}; offloaded and flagged for checking"),
    FindingKind("storage_nearly_full", Severity.WARNING, "存储空间将满",
                "{device}: camera storage {fill:.0%} full at dock", "001 第27条, 003 第42条"),
    # Timeline
    FindingKind("open_interruption", Severity.WARNING, "中断未说明",
                "gap {gap}: {seconds:.0f} s without recording on {device} needs a reason and an explanation",
                "002 第14条, 003 第20条, 004 第15条"),
    FindingKind("clock_reset", Severity.WARNING, "记录仪时钟复位",
                "{device}: clip times are near 1970/2000/2080; ordered by sequence number instead"),
    FindingKind("clock_drift", Severity.WARNING, "记录仪时钟漂移",
                "{device}: camera clock drifts {drift} s/day (over 3 s/day)", "001 第27条, 003 第42条"),
    FindingKind("audit_tampered", Severity.ERROR, "审计日志被篡改",
                "audit entry {seq}: {reason}", "002 第17条"),
    # Upload compliance (the report and the alerts)
    FindingKind("late_upload", Severity.WARNING, "逾期上传",
                "recording {recording_id} of {officer}: uploaded {late_by} after its deadline {deadline}",
                "{upload_article}"),
    FindingKind("shift_overdue", Severity.ERROR, "逾期未上传",
                "shift {shift_id} of {officer} ({team}): camera {camera} has not docked; deadline {deadline} passed",
                "{upload_article}"),
    FindingKind("deadline_near", Severity.WARNING, "即将逾期",
                "shift {shift_id} of {officer} ({team}): camera {camera} has not docked; deadline {deadline}",
                "{upload_article}"),
    FindingKind("shift_no_recording", Severity.WARNING, "当班无记录",
                "shift {shift_id} of {officer} ({team}) on {day}: no recording from camera {camera}",
                "{upload_article}"),
    FindingKind("off_duty_recording", Severity.INFO, "非工作时间记录",
                "recording {recording_id} of {officer} was made outside any rostered shift; review its use",
                "002 第21条"),
    FindingKind("incident_open", Severity.ERROR, "事件未处理",
                "incident {incident_id} ({incident_code}) on recording {recording_id} still needs a written "
                "explanation", "002 第16条"),
    FindingKind("camera_not_docked", Severity.WARNING, "记录仪长期未上传",
                "{device}: not docked for {days} days (last {last_seen})", "001 第27条, 003 第42条"),
    # Evidence and case file
    FindingKind("evidence_missing_proves", Severity.WARNING, "证明对象未填写",
                "recording {recording_id} in case {case_no}: 证明对象 is not filled in",
                "000 第31条, 003 第43条, 004 第28条"),
    FindingKind("maker_unknown", Severity.WARNING, "制作人不明",
                "recording {recording_id}: no officer known for it, so 制作人 is blank",
                "000 第31条, 003 第43条, 004 第28条"),
    FindingKind("case_archive_overdue", Severity.ERROR, "案件逾期未归档",
                "case {case_no}: archive deadline {deadline} passed with {missing_proves} recording(s) missing "
                "证明对象 and {not_exported} not exported", "{archive_article}"),
]

CATALOGUE: dict[str, FindingKind] = {k.code: k for k in _KINDS}


@dataclass(frozen=True)
class Finding:
    """One instance of a catalogued problem, with the facts its message is built from."""

    code: str
    detail: dict

    def __post_init__(self) -> None:
        if self.code not in CATALOGUE:
            raise KeyError(f"finding code {self.code!r} is not in the catalogue")

    @property
    def kind(self) -> FindingKind:
        return CATALOGUE[self.code]

    @property
    def article(self) -> str | None:
        """The seed article; for rules whose article depends on the policy in force the
        catalogue holds a template filled from the finding's detail."""
        if self.kind.article is None:
            return None
        return self.kind.article.format_map(_Lenient(self.detail))

    @property
    def message(self) -> str:
        return self.kind.message.format_map(_Lenient(self.detail))

    def as_dict(self) -> dict:
        kind = self.kind
        return {
            "code": self.code,
            "severity": kind.severity.value,
            "label_zh": kind.label_zh,
            "message": self.message,
            "article": self.article,
            **{k: v for k, v in self.detail.items() if k not in ("code", "message")},
        }


class _Lenient(dict):
    """Formats a message even when a detail is missing, rather than failing the report."""

    def __missing__(self, key: str) -> str:
        return f"<{key}?>"
