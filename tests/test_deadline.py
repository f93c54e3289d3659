"""Deadlines for every policy, table-driven: weekends, the 2025 and 2026 Spring Festival,
Labour Day and National Day holidays with their 调休 working weekends, the return
exception, and years no calendar covers. Expected values are worked out by hand from the
State Council holiday notices for 2025 (国办发明电〔2024〕12号) and 2026."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ingestd.compliance.calendar import CalendarNotCovered, WorkCalendar
from ingestd.compliance.deadline import upload_deadline
from ingestd.compliance.policy import load_policies

TZ = ZoneInfo("Asia/Shanghai")
POLICIES = load_policies()
WORKING_DAY_POLICIES = ["hengyang-forestry", "zhengxiang-hrss"]  # 000 第30条, 004 第27条
HOUR_POLICIES = ["panjin-natural-resources", "guanxian-liulin", "changsha-county"]  # 001 第25条, 002 第16条, 003 第41条


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


def due(policy: str, end: str, assignment=None, returned=None, calendar=None):
    return upload_deadline(POLICIES[policy], t(end), calendar or WorkCalendar(), TZ, assignment,
                           t(returned) if returned else None)


def test_every_agency_has_its_profile():
    assert set(POLICIES) == set(WORKING_DAY_POLICIES + HOUR_POLICIES)


@pytest.mark.parametrize("policy", WORKING_DAY_POLICIES)
@pytest.mark.parametrize("end, expected", [
    # the rules' worked example: Friday 18:00 under 2 working days -> Tuesday 24:00
    ("2026-11-20 18:00", "2026-11-25 00:00"),
    ("2026-11-20 00:00", "2026-11-25 00:00"),  # any time of the day counts the same
    ("2026-11-23 09:00", "2026-11-26 00:00"),  # Monday -> Wednesday 24:00
    ("2026-11-21 10:00", "2026-11-25 00:00"),  # made on a Saturday -> Mon, Tue
    # National Day 2026: Oct 1-7 off, Sat Oct 10 worked; the example in the issue
    ("2026-09-30 18:00", "2026-10-10 00:00"),
    ("2026-10-09 18:00", "2026-10-13 00:00"),  # Sat Oct 10 (调休) counts, Sun 11 does not -> Mon 12
    # Mid-Autumn 2026 (Fri Sep 25 off), Sun Sep 20 worked
    ("2026-09-19 12:00", "2026-09-22 00:00"),  # Sun 20 (调休) and Mon 21
    # Spring Festival 2026: Feb 15-23 off; Sat Feb 14 and Sat Feb 28 worked
    ("2026-02-13 18:00", "2026-02-25 00:00"),  # Sat 14 (调休), then Tue 24
    ("2026-02-26 18:00", "2026-03-01 00:00"),  # Fri 27, Sat 28 (调休)
    # Labour Day 2026: May 1-5 off, Sat May 9 worked
    ("2026-04-30 18:00", "2026-05-08 00:00"),  # Wed 6, Thu 7
    ("2026-05-07 18:00", "2026-05-10 00:00"),  # Fri 8, Sat 9 (调休)
    # Spring Festival 2025: Jan 28-Feb 4 off; Sun Jan 26 and Sat Feb 8 worked
    ("2025-01-24 18:00", "2025-01-28 00:00"),  # Sun 26 (调休), Mon 27
    ("2025-01-27 18:00", "2025-02-07 00:00"),  # Wed Feb 5, Thu Feb 6
    # Labour Day 2025: May 1-5 off; Sun Apr 27 worked
    ("2025-04-25 18:00", "2025-04-29 00:00"),  # Sun 27 (调休), Mon 28
    # National Day 2025: Oct 1-8 off; Sun Sep 28 and Sat Oct 11 worked
    ("2025-09-26 18:00", "2025-09-30 00:00"),  # Sun 28 (调休), Mon 29
    ("2025-09-30 18:00", "2025-10-11 00:00"),  # Thu Oct 9, Fri Oct 10
    ("2025-10-10 18:00", "2025-10-14 00:00"),  # Sat 11 (调休), Mon 13
    # New Year 2026 (Jan 1-3 off; Sun Jan 4 worked)
    ("2025-12-31 18:00", "2026-01-06 00:00"),  # Sun Jan 4 (调休), Mon 5
])
def test_working_day_deadlines(policy, end, expected):
    d = due(policy, end)
    assert d.at == t(expected), d.explanation
    assert d.rule == "working_days"
    assert d.article == POLICIES[policy].upload.article


@pytest.mark.parametrize("policy", HOUR_POLICIES)
def test_24_hour_deadline_is_exact_to_the_second(policy):
    d = due(policy, "2026-11-20 18:00")  # Friday: weekends do not matter for hours
    assert d.at == t("2026-11-21 18:00")
    assert d.rule == "hours"
    uploaded_late = t("2026-11-21 18:00:01")
    assert uploaded_late > d.at  # the rules' worked example: late at Saturday 18:00:01
    assert not t("2026-11-21 18:00:00") > d.at


@pytest.mark.parametrize("policy", WORKING_DAY_POLICIES + HOUR_POLICIES)
@pytest.mark.parametrize("assignment", ["continuous", "offsite", "remote"])
def test_return_exception_takes_the_later_deadline(policy, assignment):
    # the rules' worked example: rostered 异地, returns Monday 09:00 -> on time until Tuesday 09:00
    late_return = due(policy, "2026-11-20 18:00", assignment, "2026-11-23 09:00")
    if policy in HOUR_POLICIES:
        assert late_return.at == t("2026-11-24 09:00")
        assert late_return.rule == "return_exception"
    else:  # 2 working days already run to Tuesday 24:00, later than Tuesday 09:00
        assert late_return.at == t("2026-11-25 00:00")
        assert late_return.rule == "working_days"
    # Back at the unit as the recording ends: return + 24 h is no later than the normal rule.
    early_return = due(policy, "2026-11-20 18:00", assignment, "2026-11-20 18:00")
    assert early_return.rule != "return_exception"  # and the exception never shortens it
    assert early_return.at == due(policy, "2026-11-20 18:00").at


@pytest.mark.parametrize("policy", WORKING_DAY_POLICIES)
def test_return_exception_can_extend_a_working_day_deadline(policy):
    d = due(policy, "2026-11-20 18:00", "remote", "2026-11-26 15:00")
    assert d.at == t("2026-11-27 15:00") and d.rule == "return_exception"
    assert d.article == POLICIES[policy].upload.exception.article


def test_regular_assignment_ignores_a_return_time():
    assert due("guanxian-liulin", "2026-11-20 18:00", "regular", "2026-11-23 09:00").at == t("2026-11-21 18:00")


@pytest.mark.parametrize("policy", WORKING_DAY_POLICIES)
def test_uncovered_year_is_never_guessed(policy, tmp_path):
    with pytest.raises(CalendarNotCovered) as err:
        due(policy, "2026-12-30 18:00", calendar=WorkCalendar.load(tmp_path / "calendar.toml"))
    assert "2027" in str(err.value) and "calendar.toml" in str(err.value)
    # 24 h policies need no calendar
    assert due("guanxian-liulin", "2026-12-31 18:00").at == t("2027-01-01 18:00")


def test_override_file_covers_a_new_year_and_corrects_a_known_one(tmp_path):
    cal_file = tmp_path / "calendar.toml"
    cal_file.write_text('[years.2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-02"]\n'
                        '[years.2026]\nholidays = ["2026-11-24"]\n')
    cal = WorkCalendar.load(cal_file)
    # Wed 2026-12-30 -> Thu 31, Fri Jan 1 off (override), Sat Jan 2 worked (override)
    assert due("hengyang-forestry", "2026-12-30 18:00", calendar=cal).at == t("2027-01-03 00:00")
    # the override replaces the library for 2026 entirely: Nov 24 is now a day off
    assert due("hengyang-forestry", "2026-11-20 18:00", calendar=cal).at == t("2026-11-26 00:00")
    assert cal.source(2027).startswith("override")


@pytest.mark.parametrize("content, message", [
    ('[years.2027]\nholidays = ["2027-02-30"]\n', "years.2027.holidays"),
    ('[years.2027]\nholidays = ["2028-01-01"]\n', "is not in 2027"),
    ('[years.2027]\nholidays = ["2027-01-01"]\nworkdays = ["2027-01-01"]\n', "both a holiday and a workday"),
    ('[years.2027]\nextra = 1\n', "unknown key"),
    ('[years.next]\n', "not a year"),
])
def test_bad_override_file_is_named(tmp_path, content, message):
    from ingestd.errors import UserError

    cal_file = tmp_path / "calendar.toml"
    cal_file.write_text(content)
    with pytest.raises(UserError) as err:
        WorkCalendar.load(cal_file)
    assert message in str(err.value) and str(cal_file) in str(err.value)


def test_invalid_policy_file_fails_naming_the_key(tmp_path):
    from ingestd.compliance.policy import load_policy_file
    from ingestd.errors import UserError

    bad = tmp_path / "mine.toml"
    bad.write_text((__import__("ingestd.resources", fromlist=["x"]).resource_dir("policies") /
                    "guanxian-liulin.toml").read_text().replace("hours = 24\narticle", "hours = -5\narticle", 1))
    with pytest.raises(UserError) as err:
        load_policy_file(bad)
    assert "upload.hours" in str(err.value) and str(bad) in str(err.value)


def test_deadline_cli_contract(dock):
    out = dock.cli_json("deadline", "--policy", "hengyang-forestry", "--end", "2026-09-30T18:00")
    assert out["deadline"] == "2026-10-10T00:00:00+08:00"
    assert out["rule"] == "working_days" and out["article"] == "000 第30条"
    out = dock.cli_json("deadline", "--policy", "changsha-county", "--end", "2026-11-20T10:00:00+00:00",
                        "--assignment", "offsite", "--returned", "2026-11-23T09:00")
    assert out == {**out, "deadline": "2026-11-24T09:00:00+08:00", "rule": "return_exception", "article": "003 第41条"}
    for args, message in [
        (["--policy", "nope", "--end", "2026-09-30T18:00"], "unknown policy 'nope'"),
        (["--policy", "hengyang-forestry", "--end", "yesterday"], "invalid time for --end"),
        (["--policy", "hengyang-forestry", "--end", "2026-12-30T18:00"], "no working-day calendar for 2027"),
        (["--end", "2026-09-30T18:00", "--assignment", "offsite"], "needs --returned"),
        (["--end", "2026-09-30T18:00", "--assignment", "abroad", "--returned", "2026-10-01T00:00"], "unknown assignment"),
    ]:
        proc = dock.cli("deadline", *args, check=2)
        assert message in proc.stderr and "Traceback" not in proc.stderr
