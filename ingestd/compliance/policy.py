"""Agency policy profiles (`policies/*.toml`): the numbers each agency's rules set.

A unit selects one in its config (`policy = "…"`) or writes its own beside the shipped
ones. A malformed profile fails at start, naming its file and the key.
"""

from __future__ import annotations

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
    years: int | None = Field(None, gt=0, le=100)  # None: per law; never due automatically
    article: str


class LongTerm(_Strict):
    categories: list[str] = []
    article: str | None = None


class Interruptions(_Strict):
    session_window_minutes: int = Field(30, gt=0, le=24 * 60)
    article: str


class Policy(_Strict):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    agency: str
    seed: str | None = None
    upload: Upload
    archive: Archive
    retention: Retention
    long_term: LongTerm = LongTerm()
    interruptions: Interruptions


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
