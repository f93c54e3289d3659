"""Agency policy profiles (`policies/*.toml`): the numbers each agency's rules set.

A unit selects one in its config (`policy = "…"`) or writes its own beside the shipped
ones. A malformed profile fails at start, naming its file and the key.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingestd.errors import UserError
from ingestd.resources import resource_dir
from ingestd.toml_model import load_toml_model

ASSIGNMENTS = ("regular", "continuous", "offsite", "remote")
ASSIGNMENT_ZH = {"regular": "常规", "continuous": "连续工作", "offsite": "异地执法", "remote": "偏远地区"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UploadException(_Strict):
    assignments: list[Literal["continuous", "offsite", "remote"]]
    hours_after_return: int = Field(gt=0, le=24 * 30)
    article: str
    # Every unit's exception is conditional: its words (确实无法及时存储相关记录 …). A team head
    # rules a trip whose recordings could have been stored in time, and the exception then
    # does not apply to it (`ingestd compliance trip`).
    condition: str = "确实无法及时存储"  # the words most of the regulations use; a unit's file gives its own
    names: dict[str, str] = {}  # assignment -> the regulation's words for it (异地工作, 边远 …)

    def name(self, assignment: str) -> str:
        return self.names.get(assignment, ASSIGNMENT_ZH.get(assignment, assignment))


class Upload(_Strict):
    basis: Literal["hours", "working_days"]
    hours: int | None = Field(None, gt=0, le=24 * 30)
    working_days: int | None = Field(None, gt=0, le=30)
    article: str
    exception: UploadException

    @model_validator(mode="after")
    def _one_number(self) -> "Upload":
        if self.basis == "hours" and (self.hours is None or self.working_days is not None):
            raise ValueError("basis 'hours' needs `hours` (and no `working_days`)")
        if self.basis == "working_days" and (self.working_days is None or self.hours is not None):
            raise ValueError("basis 'working_days' needs `working_days` (and no `hours`)")
        return self


class Archive(_Strict):
    days_after_case_end: int | None = Field(None, gt=0, le=365)  # None: the unit's own rules
    article: str


class Retention(_Strict):
    years: int | None = Field(None, gt=0, le=100)  # None: never due automatically
    article: str
    # Who fixes the period: the regulation (its years), the law it defers to, or the unit
    # (002 第18条: 确定归档、保存方式及期限).
    fixed_by: Literal["regulation", "law", "unit"] = "regulation"
    # The article that names where the period starts; None: the regulation names none, and
    # the start (counts_from) is the unit's setting.
    start_article: str | None = None
    # 案卷 retention counts from 归档 (the archive deadline), from the end of the enforcement act,
    # or from when the recording was made; and applies to recordings in a case file only, or all.
    counts_from: Literal["archive", "case_end", "made"] = "case_end"
    applies_to: Literal["case", "all"] = "all"


class LongTerm(_Strict):
    categories: list[str] = []
    article: str | None = None
    # 采取刻录光盘、使用移动存储介质等方式长期保存 (001 第17条): a recording in one of the
    # categories must also be on a disc image (光盘 or removable medium) the dock made.
    on_medium: bool = False
    names: dict[str, str] = {}  # category -> the regulation's words for it

    def name(self, category: str) -> str:
        return self.names.get(category, category)


class Interruptions(_Strict):
    session_window_minutes: int = Field(30, gt=0, le=24 * 60)  # a setting, not an article
    article: str | None = None  # 全程不间断: where the regulation asks for it; None: the unit's own rule
    scope: str | None = None  # for which activities, in its words; None: every activity recorded
    reason_article: str | None = None  # the stated reason (说明) of an interruption; None: the unit's own rule
    report_at_once: bool = False  # the team head hears of a gap when the dock finds it
    # 确实无法继续记录 … 立即报告: the officer's duty at the scene, to the person it names. The dock
    # learns of an interruption only when the camera is docked, and says so.
    report_article: str | None = None
    report_to: str | None = None

    @model_validator(mode="after")
    def _report_names_whom(self) -> "Interruptions":
        if (self.report_article is None) != (self.report_to is None):
            raise ValueError("`report_article` and `report_to` go together")
        return self


class EvidenceRules(_Strict):
    proves_required: Literal["all", "case"] = "case"  # which stored recordings need 证明对象
    disc: Literal["none", "hours_after_end", "at_storage"] = "none"  # 刻盘入卷 / 制作光碟
    disc_hours: int | None = Field(None, gt=0, le=24 * 30)
    # 以书面文字形式载明其存储位置 (000 第32条, 004 第29条): the article letting a case file state
    # where its recordings are kept instead of holding them on a disc or U盘; None: no such way.
    location_article: str | None = None

    @model_validator(mode="after")
    def _hours_when_needed(self) -> "EvidenceRules":
        if (self.disc == "hours_after_end") != (self.disc_hours is not None):
            raise ValueError("disc 'hours_after_end' needs `disc_hours` (and only it does)")
        return self


class Access(_Strict):
    # Who approves a request to view, play or copy beyond one's own permission (调阅): the
    # regulation's approver where it names one (002 第19条: 采集管理资料的部门负责人, the head of
    # the recording's team), else the unit's setting.
    approvers: list[Literal["team_head", "admin"]] = ["team_head", "admin"]
    article: str | None = None  # the article naming the approver; None: the unit's setting


class SelfKeeping(_Strict):
    # How long after it was made a recording already stored may still be on its camera at a
    # dock before that is a finding. The regulations give no grace period (24 小时内 … 不得自行
    # 保管, 001 第25条, 002 第16条, 003 第41条): it is the unit's setting (本单位设定).
    max_hours: int = Field(24, ge=0, le=24 * 365)

    @model_validator(mode="before")
    @classmethod
    def _days_as_hours(cls, data: object) -> object:
        # Policy files written before the setting was in hours said `max_days`.
        if isinstance(data, dict) and "max_days" in data and "max_hours" not in data:
            data = {**data, "max_hours": data["max_days"] * 24}
            del data["max_days"]
        return data

    def kept_too_long(self, oldest: datetime | None, docked_at: datetime) -> bool:
        """Whether a camera docked at `docked_at`, still holding stored recordings the oldest of
        which was made at `oldest`, has kept them longer than the unit allows."""
        return oldest is not None and oldest < docked_at - timedelta(hours=self.max_hours)


# The rules a policy can back with an article ([articles]); the deadline, archive, retention,
# long-term and interruption articles live in their own sections.
RULES = ("damaged_file", "off_duty", "evidence_metadata", "evidence_disc", "device_check", "integrity",
         "self_keeping", "access", "recording_content_note", "custodian", "provide")
UNIT_OWN = "本单位规定"  # shown for a rule the unit's regulation does not state
ARTICLE = r"^\d{3} 第\d+条(?:, \d{3} 第\d+条)*$"


class Policy(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    agency: str
    seed: str | None = None
    upload: Upload
    archive: Archive
    retention: Retention
    long_term: LongTerm = LongTerm()
    interruptions: Interruptions
    evidence: EvidenceRules = EvidenceRules()
    self_keeping: SelfKeeping = SelfKeeping()
    access: Access = Access()
    articles: dict[str, str] = {}
    quotes: dict[str, str] = {}  # the words of each article cited, for the rules page

    @model_validator(mode="after")
    def _articles_known_and_quoted(self) -> "Policy":
        for rule, article in self.articles.items():
            if rule not in RULES:
                raise ValueError(f"[articles] {rule!r} is not a rule (known: {', '.join(RULES)})")
            if not re.match(ARTICLE, article):
                raise ValueError(f"[articles] {rule}: {article!r} is not like '002 第16条'")
        return self

    def cite(self, rule: str | None) -> str | None:
        """The article backing a rule under this policy; the unit's own setting (本单位规定)
        where its regulation states none. None for findings that enforce no rule."""
        if rule is None:
            return None
        sections = {"upload": self.upload.article, "archive": self.archive.article,
                    "retention": self.retention.article, "long_term": self.long_term.article,
                    "interruption": self.interruptions.article,
                    "interruption_reason": self.interruptions.reason_article,
                    "interruption_report": self.interruptions.report_article}
        article = sections[rule] if rule in sections else self.articles.get(rule)
        return article or UNIT_OWN

    def cited(self) -> list[str]:
        """Every article this policy cites, one each."""
        found = [self.upload.article, self.upload.exception.article, self.archive.article, self.retention.article,
                 self.retention.start_article, self.long_term.article, self.interruptions.article,
                 self.interruptions.reason_article, self.interruptions.report_article, self.access.article,
                 self.evidence.location_article,
                 *self.articles.values()]
        out: list[str] = []
        for group in filter(None, found):
            for article in group.split(", "):
                if article not in out:
                    out.append(article)
        return out


def load_policy_file(path: Path) -> Policy:
    return load_toml_model(path, Policy, "policy")


def load_policies(extra_dir: Path | None = None) -> dict[str, Policy]:
    policies: dict[str, Policy] = {}
    for directory in [resource_dir("policies")] + ([extra_dir] if extra_dir else []):
        for path in sorted(directory.glob("*.toml")):
            policy = load_policy_file(path)
            if path.stem != policy.name:
                raise UserError(f"policy {path}: key 'name': {policy.name!r} does not match the file name")
            policies[policy.name] = policy
    return policies


def get_policy(policies: dict[str, Policy], name: str) -> Policy:
    try:
        return policies[name]
    except KeyError:
        raise UserError(f"unknown policy {name!r} (known: {', '.join(sorted(policies))})") from None
