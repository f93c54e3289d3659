"""Compliance, third pass, table-driven over the five policies: a trip rostered one row a day
(the return exception, 第2款 of 000 第30条, 001 第25条, 002 第16条, 003 第41条, 004 第27条), a
camera known only from the roster (its officer, 002 第21条(六) off-duty, 不得自行保管 alerts), a
camera still holding stored files counted from its own earlier docks, a damaged file on every
camera its own incident (002 第16条), 长期保存 without a disc (001 第17条), and the report in
every format with every finding raised."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ingestd.compliance.calendar import WorkCalendar
from ingestd.compliance.deadline import normal_deadline
from ingestd.compliance.policy import UNIT_OWN, load_policies
from ingestd.compliance.rules_doc import render
from ingestd.compliance.status import Judge, RecordingFact, ShiftFact, ShiftIndex
from tests.conftest import copy_clip, make_dock

TZ = ZoneInfo("Asia/Shanghai")
POLICIES = load_policies()
ROSTER_HEAD = "日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def judge(policy: str, shifts: list[ShiftFact], owners: dict[str, str] | None = None) -> Judge:
    p = POLICIES[policy]
    return Judge(p, WorkCalendar(), TZ, ShiftIndex(shifts, tuple(p.upload.exception.assignments)), owners or {}, {},
                 [(date(2026, 11, 1), date(2026, 11, 30))])


def roster(dock, tmp: Path, *rows: str) -> None:
    path = tmp / f"roster-{len(list(tmp.glob('roster-*')))}.csv"
    path.write_text(ROSTER_HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    dock.cli_json("roster", "import", "--by", "admin", str(path))


# Monday 23 to Wednesday 25 Nov on 异地执法, one roster row a day; back Wednesday 18:00.
TRIP_ROWS = [ShiftFact(i, "012345", "一队", t(day, 8), t(day, 17), "offsite", back, "CAM-T")
             for i, (day, back) in enumerate([(23, None), (24, None), (25, t(25, 18))], start=1)]


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_trip_rostered_one_row_a_day_ends_at_the_return_on_its_last_row(policy):
    j = judge(policy, TRIP_ROWS)
    docked = t(26, 15)
    for made in (t(23, 10), t(24, 10), t(24, 21)):  # in the hours of rows 1 and 2, and the evening between
        verdict = j.recording(RecordingFact("r", "CAM-T", None, made, made + timedelta(minutes=30), docked))
        assert (verdict.upload_status, verdict.officer_badge, verdict.off_duty) == ("on_time", "012345", False)
        normal = normal_deadline(POLICIES[policy], made + timedelta(minutes=30), WorkCalendar(), TZ).at
        assert verdict.deadline.at == max(t(26, 18), normal)  # the later of return + 24 h and the normal one
    # Every row of the trip has the trip's deadline: the first two met, the last docked with nothing.
    statuses = [j.shift(j.shifts.by_id[i], n, docked if n else None, docked, t(27, 9)).status
                for i, n in ((1, 1), (2, 1), (3, 0))]
    assert statuses == ["met", "met", "no_recording"]


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_return_ends_the_trip_and_the_next_row_on_the_same_assignment_starts_another(policy):
    rows = [ShiftFact(1, "012345", "一队", t(23, 8), t(23, 17), "offsite", t(23, 20), "CAM-T"),
            ShiftFact(2, "012345", "一队", t(24, 8), t(24, 17), "offsite", None, "CAM-T"),
            ShiftFact(3, "012345", "一队", t(25, 8), t(25, 17), "regular", None, "CAM-T"),
            ShiftFact(4, "012345", "一队", t(26, 8), t(26, 17), "offsite", t(27, 12), "CAM-T")]
    j = judge(policy, rows)
    assert [j.shifts.by_id[i].returned_at for i in (1, 2, 3, 4)] == [t(23, 20), None, None, t(27, 12)]


def test_a_three_row_trip_resolves_when_docked_after_the_return(tmp_path, clips):
    """The reviewer's case: three rows, the return (25 Nov 18:00) only on the last, docked 26 Nov
    15:00: both recordings on time, the shifts met, met and docked with nothing recorded."""
    from ingestd.afterdock import ingest
    from ingestd.clock import FixedClock

    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    roster(dock, tmp_path, "2026-11-23,012345,张三,L-001,一队,08:00,17:00,异地执法,,CAM-T",
           "2026-11-24,012345,张三,L-001,一队,08:00,17:00,异地执法,,CAM-T",
           "2026-11-25,012345,张三,L-001,一队,08:00,17:00,异地执法,2026-11-25 18:00,CAM-T")
    cam = tmp_path / "CAM-T"
    copy_clip(clips["h264"], cam / "20261123_100000.mp4")
    copy_clip(clips["h264_b"], cam / "20261124_100000.mp4")
    app = dock.app(FixedClock(t(26, 15)))
    try:
        ingest(app, [cam], None, "CAM-T")
    finally:
        app.close()
    recs = dock.cli_json("recordings", "list")
    assert {(r["upload_status"], r["deadline"], r["officer"]) for r in recs} == {
        ("on_time", "2026-11-26T18:00:00+08:00", "012345")}
    shifts = sorted(dock.cli_json("compliance", "shifts"), key=lambda s: s["day"])
    assert [s["status"] for s in shifts] == ["met", "met", "no_recording"]


# 23 Nov 08:00-17:00 with camera CAM-R, which nobody is registered to.
ISSUED = ShiftFact(1, "012345", "一队", t(23, 8), t(23, 17), "regular", None, "CAM-R")


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_camera_known_only_from_the_roster_stays_with_its_officer_until_handed_in(policy):
    j = judge(policy, [ISSUED])
    j.docks = {"CAM-R": [t(24, 9)]}

    def made(at: datetime):
        return j.recording(RecordingFact("r", "CAM-R", None, at, at + timedelta(minutes=5), t(24, 9)))

    in_shift, evening, after = made(t(23, 10)), made(t(23, 20)), made(t(24, 10))
    assert (in_shift.officer_badge, in_shift.officer_source, in_shift.off_duty) == ("012345", "roster", False)
    # 20:00 after the shift, before the camera was handed in: the officer's, made off duty (002 第21条(六)).
    assert (evening.officer_badge, evening.officer_source, evening.off_duty, evening.team) == (
        "012345", "roster", True, "一队")
    assert after.officer_badge is None  # handed in at 09:00: nobody known held it at 10:00
    assert j.officer("CAM-R", None, t(24, 9), handed_in=True).badge == "012345"  # who handed it in


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_registered_owner_decides_outside_shifts_and_a_conflict_is_said(policy):
    j = judge(policy, [ISSUED], owners={"CAM-R": "099999"})
    in_shift = j.recording(RecordingFact("r", "CAM-R", None, t(23, 10), t(23, 11), t(23, 18)))
    assert in_shift.officer_badge == "012345" and "registered owner is 099999" in in_shift.note
    evening = j.recording(RecordingFact("r", "CAM-R", None, t(23, 20), t(23, 21), t(24, 9)))
    assert (evening.officer_badge, evening.officer_source, evening.note) == ("099999", "device_owner", None)


def _dock_at(dock, cam: Path, when: datetime, serial: str):
    from ingestd.afterdock import ingest
    from ingestd.clock import FixedClock

    app = dock.app(FixedClock(when))
    try:
        [run] = ingest(app, [cam], None, serial)
    finally:
        app.close()
    return run


def _report_and_events(dock, when: datetime, first: date, last: date):
    from ingestd.alerts.events import find_events
    from ingestd.clock import FixedClock
    from ingestd.compliance.report import ReportRequest, build_report

    app = dock.app(FixedClock(when))
    try:
        return build_report(app, ReportRequest(first, last)), find_events(app, when)
    finally:
        app.close()


def test_a_roster_only_camera_names_the_officer_for_the_report_and_the_alerts(tmp_path, clips):
    """The reviewer's case (002): CAM-R issued for 08:00-17:00 and never registered; a recording
    at 20:00 is the officer's and off duty, and when the camera is docked again two days later
    still holding it, the 不得自行保管 alert reaches the officer and the team head."""
    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    dock.cli_json("users", "add", "H1", "--name", "队长", "--role", "team_head", "--team", "一队", "--by", "admin")
    roster(dock, tmp_path, "2026-11-23,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-R",
           "2026-11-25,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-R")
    cam = tmp_path / "CAM-R"
    copy_clip(clips["h264"], cam / "20261123_200000.mp4")
    _dock_at(dock, cam, t(24, 9), "CAM-R")
    [rec] = dock.cli_json("recordings", "list")
    assert (rec["officer"], rec["off_duty"]) == ("012345", True)
    report, _ = _report_and_events(dock, t(24, 10), date(2026, 11, 23), date(2026, 11, 23))
    assert [(i["officer"], i["team"]) for i in report.lists["off_duty_recording"].items] == [("012345", "一队")]
    assert [(o.badge, o.figures.recordings) for o in report.officers] == [("012345", 1)]
    copy_clip(clips["h264_b"], cam / "20261125_100000.mp4")
    run = _dock_at(dock, cam, t(25, 18), "CAM-R")  # the 23rd's clip still on it, 46 h after it was made
    assert {o.code for o in run.outcomes if o.status == "duplicate"} == {"already_ingested"}
    _, events = _report_and_events(dock, t(25, 18, 5), date(2026, 11, 25), date(2026, 11, 25))
    [kept] = [e for e in events if e.key.startswith("kept:")]
    assert set(kept.recipients) == {"012345", "H1"}


def test_only_files_an_earlier_dock_of_the_same_camera_stored_count_as_kept(tmp_path, clips):
    """A first dock holding two copies of one clip, and an empty file whose (empty) bytes another
    camera brought earlier, keeps nothing: 不得自行保管 is about what this camera uploaded."""
    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    other = tmp_path / "CAM-A"
    (other / "DCIM").mkdir(parents=True)
    (other / "DCIM" / "20261101_080000.mp4").write_bytes(b"")
    _dock_at(dock, other, t(1, 9), "CAM-A")
    cam = tmp_path / "CAM-B"
    copy_clip(clips["h264"], cam / "20261110_100000.mp4")
    copy_clip(clips["h264"], cam / "COPY" / "20261110_100000.mp4")
    (cam / "20261110_110000.mp4").write_bytes(b"")
    _dock_at(dock, cam, t(20, 9), "CAM-B")  # ten days after both were made
    report, events = _report_and_events(dock, t(20, 10), date(2026, 11, 1), date(2026, 11, 30))
    assert not [i for d in report.devices for i in d["items"] if i["code"] == "camera_holds_stored"]
    assert not [e for e in events if e.key.startswith("kept:")]
    # Docked again still holding the clip this camera uploaded: now it counts, once.
    _dock_at(dock, cam, t(22, 9), "CAM-B")
    report, _ = _report_and_events(dock, t(22, 10), date(2026, 11, 1), date(2026, 11, 30))
    [device] = [d for d in report.devices if d["device"] == "CAM-B"]
    [item] = [i for i in device["items"] if i["code"] == "camera_holds_stored"]
    assert item["count"] == 1  # the clip; the empty file's bytes are still the ones CAM-A brought


@pytest.mark.parametrize("policy", ["guanxian-liulin", "hengyang-forestry"])
def test_every_damaged_file_on_every_camera_opens_its_own_incident(tmp_path, clips, policy):
    """Camera B's empty file has the bytes of camera A's (none): it is still B's damaged recording,
    with its own incident and 书面说明 (002 第16条), listed under B's officer. Two copies of one
    damaged clip in one dump are one event."""
    dock = make_dock(tmp_path, INGESTD_POLICY=policy)
    roster(dock, tmp_path, "2026-11-20,000001,甲,L-1,一队,08:00,17:00,常规,,CAM-A",
           "2026-11-20,000002,乙,L-2,二队,08:00,17:00,常规,,CAM-B")
    a, b = tmp_path / "CAM-A", tmp_path / "CAM-B"
    (a / "DCIM").mkdir(parents=True)
    (a / "DCIM" / "20261120_090000.mp4").write_bytes(b"")
    _dock_at(dock, a, t(20, 18), "CAM-A")
    (b / "DCIM").mkdir(parents=True)
    (b / "DCIM" / "20261120_100000.mp4").write_bytes(b"")
    (b / "COPY").mkdir()
    (b / "COPY" / "20261120_100000.mp4").write_bytes(b"")
    run = _dock_at(dock, b, t(20, 18, 30), "CAM-B")
    assert sorted(o.status for o in run.outcomes) == ["damaged", "duplicate"]  # the copy is the same event
    incidents = dock.cli_json("incidents", "list", "--open")
    assert len(incidents) == 2 and {i["code"] for i in incidents} == {"damaged_file"}
    report, events = _report_and_events(dock, t(20, 19), date(2026, 11, 20), date(2026, 11, 20))
    listed = sorted((i["device"], i["officer"], i["team"]) for i in report.lists["damaged_file"].items)
    assert listed == [("CAM-A", "000001", "一队"), ("CAM-B", "000002", "二队")]
    assert sorted(e.recipients[0] for e in events if e.key.startswith("incident:")) == ["000001", "000002"]
    again = _dock_at(dock, b, t(21, 9), "CAM-B")  # the same files docked again: nothing new to explain
    assert {o.status for o in again.outcomes} == {"duplicate"}
    assert len(dock.cli_json("incidents", "list", "--open")) == 2


# What each policy's scenario below must raise: every list the report has under that policy.
RAISED = {
    "panjin-natural-resources": {"late_upload", "shift_overdue", "shift_no_recording", "open_interruption",
                                 "evidence_missing_proves", "long_term_not_on_medium", "damaged_file",
                                 "off_duty_recording", "case_archive_overdue"},
    "changsha-county": {"late_upload", "shift_overdue", "shift_no_recording", "open_interruption",
                        "evidence_missing_proves", "evidence_disc_missing", "damaged_file", "off_duty_recording",
                        "case_archive_overdue"},
}


@pytest.mark.parametrize("policy", sorted(RAISED))
def test_the_report_in_every_format_with_every_finding_raised(tmp_path, clips, policy):
    """The month's report, HTML, PDF, XLSX, CSV and JSON in both languages, over data that raises
    every finding the policy has: an overdue case (once a crash in HTML and PDF) among them."""
    from ingestd.compliance.report_render import FORMATS, write_report

    dock = make_dock(tmp_path, INGESTD_POLICY=policy)
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    roster(dock, tmp_path, "2026-11-19,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-N",
           "2026-11-20,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-P",
           "2026-11-21,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-Q")
    empty = tmp_path / "CAM-N"
    empty.mkdir()
    _dock_at(dock, empty, t(19, 18), "CAM-N")  # docked in time with nothing on it
    cam = tmp_path / "CAM-P"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_100100.mp4")  # a minute on: an interruption to explain
    copy_clip(clips["h264_c"], cam / "20261120_200000.mp4")  # after the shift: off duty
    data = clips["h264"].read_bytes()
    (cam / "20261120_110000.mp4").write_bytes(data[: len(data) // 2])  # damaged
    run = _dock_at(dock, cam, t(23, 9), "CAM-P")  # days late
    [first] = [o.recording_id for o in run.outcomes if o.path.endswith("20261120_100000.mp4")]
    dock.cli_json("case", "add", "案-1", first, "--by", "L1")
    dock.cli_json("case", "end", "案-1", "--on", "2026-10-12", "--by", "L1")  # archive deadline long past
    [second] = [o.recording_id for o in run.outcomes if o.path.endswith("20261120_100100.mp4")]
    if "long_term_not_on_medium" in RAISED[policy]:
        dock.cli_json("evidence", "set", second, "--proves", "当事人拒绝检查", "--long-term", "objection_or_complaint",
                      "--by", "L1")
    report, _ = _report_and_events(dock, t(30, 12), date(2026, 11, 1), date(2026, 11, 30))
    raised = {code for code, lst in report.lists.items() if lst.total}
    assert raised == RAISED[policy]
    for item in (i for lst in report.lists.values() for i in lst.items):
        assert {"team", "officer", "officer_name", "code", "message_zh", "article"} <= set(item)
    for fmt in FORMATS:
        for language in ("zh", "en"):
            out = tmp_path / f"report-{language}.{fmt}"
            write_report(report, fmt, out, language)
            assert out.stat().st_size > 0
    html = (tmp_path / "report-zh.html").read_text(encoding="utf-8")
    assert "案-1" in html and "案件逾期未归档" in html
    cli = dock.cli("report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "html", "--out",
                   str(tmp_path / "cli.html"))
    assert cli.returncode == 0 and "案-1" in (tmp_path / "cli.html").read_text(encoding="utf-8")


# The rules whose value each seed's own words fix; every other rule is the unit's setting (本单位设定).
FIXED_BY_SEED = {
    "hengyang-forestry": {"Upload deadline", "Return exception", "Case file archived (归档)",
                          "Retention (保存期限): period", "Continuous recording (全程不间断)", "证明对象 required for",
                          "录音内容 note in the 文字说明", "Originals never cut, edited or deleted",
                          "A written storage location instead of a disc or U盘"},
    "panjin-natural-resources": {"Upload deadline", "Return exception", "Case file archived (归档)",
                                 "Retention (保存期限): period", "长期保存 categories",
                                 "长期保存 on a disc or removable medium", "Originals never cut, edited or deleted"},
    "guanxian-liulin": {"Upload deadline", "Return exception", "Continuous recording (全程不间断)",
                        "Interruptions: a stated reason and an explanation",
                        "Interruption that could not be resumed: 立即报告", "Damaged or unstorable file",
                        "Originals never cut, edited or deleted", "Viewing or copying beyond one's own permission (调阅)"},
    "changsha-county": {"Upload deadline", "Return exception", "Case file archived (归档)",
                        "Continuous recording (全程不间断)", "Interruptions: a stated reason and an explanation",
                        "Evidence on disc (刻盘入卷 / 光碟)", "Originals never cut, edited or deleted"},
    "zhengxiang-hrss": {"Upload deadline", "Return exception", "Case file archived (归档)",
                        "Retention (保存期限): period", "Continuous recording (全程不间断)",
                        "Interruptions: a stated reason and an explanation",
                        "Interruption that could not be resumed: 立即报告", "Evidence on disc (刻盘入卷 / 光碟)",
                        "录音内容 note in the 文字说明", "Originals never cut, edited or deleted",
                        "A written storage location instead of a disc or U盘"},
}


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_rules_page_marks_the_units_settings(policy):
    from ingestd.compliance.rules_doc import Whose, rows

    p = POLICIES[policy]
    for row in rows(p):
        fixed = row.rule.split(" (")[0] in FIXED_BY_SEED[policy] or row.rule in FIXED_BY_SEED[policy]
        assert (row.whose is Whose.REGULATION) == fixed, row
        assert row.whose is Whose.UNIT or row.article, row  # the regulation's value comes with its article
        for article in (row.article or "").split(", "):
            assert not article or (article.startswith(f"{p.seed} 第") and article in p.quotes), row
    # A quote is the article's words only: never the heading of the next chapter or section.
    assert not [a for a, q in p.quotes.items() if re.search(r"第[一二三四五六七八九十]+[章节]", q)]


def test_the_rules_page_says_what_each_article_asks():
    hengyang, guanxian, zhengxiang, changsha, panjin = (POLICIES[n] for n in (
        "hengyang-forestry", "guanxian-liulin", "zhengxiang-hrss", "changsha-county", "panjin-natural-resources"))
    # 000 第15条 asks 全程不间断 for some activities only, and nothing of reasons.
    assert hengyang.cite("interruption") == "000 第15条, 000 第23条, 000 第28条"
    assert "现场检查（勘验）" in hengyang.interruptions.scope and hengyang.cite("interruption_reason") == UNIT_OWN
    assert zhengxiang.cite("interruption") == "004 第14条, 004 第22条"
    assert (zhengxiang.interruptions.report_article, zhengxiang.interruptions.report_to) == ("004 第15条", "所属机关负责人")
    assert (guanxian.interruptions.report_article, guanxian.interruptions.report_to) == ("002 第14条", "执法机构负责人")
    # 003 第44条 asks for a 调阅监督制度, not an approval; 002 第19条 names the approver.
    assert changsha.access.article is None and guanxian.access.approvers == ["team_head"]
    assert guanxian.retention.fixed_by == "unit" and panjin.retention.fixed_by == "law"
    assert panjin.upload.exception.name("offsite") == "异地工作" and "边远" in panjin.upload.exception.name("remote")
    assert all(p.upload.exception.condition.startswith("确实") for p in POLICIES.values())
    page = render(POLICIES)
    assert "本单位设定" in page and "the dock learns of an interruption only when the camera is docked" in page


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_trip_ruled_storable_has_the_normal_deadline(policy):
    from dataclasses import replace

    ruled = [replace(TRIP_ROWS[0], could_store=True), *TRIP_ROWS[1:]]
    j = judge(policy, ruled)
    made = t(23, 10)
    verdict = j.recording(RecordingFact("r", "CAM-T", None, made, made + timedelta(minutes=30), t(26, 15)))
    normal = normal_deadline(POLICIES[policy], made + timedelta(minutes=30), WorkCalendar(), TZ).at
    assert verdict.deadline.at == normal and verdict.upload_status == ("late" if t(26, 15) > normal else "on_time")
    assert all(j.shifts.by_id[i].could_store for i in (1, 2, 3))  # the ruling covers the whole trip


def test_a_team_head_rules_a_trip_and_the_deadlines_follow(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    dock.cli_json("users", "add", "H1", "--name", "队长", "--role", "team_head", "--team", "一队", "--by", "admin")
    dock.cli_json("users", "add", "H2", "--name", "二队长", "--role", "team_head", "--team", "二队", "--by", "admin")
    roster(dock, tmp_path, "2026-11-23,012345,张三,L-001,一队,08:00,17:00,异地执法,,CAM-T",
           "2026-11-24,012345,张三,L-001,一队,08:00,17:00,异地执法,2026-11-25 18:00,CAM-T")
    cam = tmp_path / "CAM-T"
    copy_clip(clips["h264"], cam / "20261123_100000.mp4")
    _dock_at(dock, cam, t(26, 9), "CAM-T")
    [rec] = dock.cli_json("recordings", "list")
    assert rec["upload_status"] == "on_time"  # 24 h after the return
    refused = dock.cli("compliance", "trip", "012345", "2026-11-24", "--could-store", "--reason", "x", "--by", "H2",
                       check=2)
    assert "may not rule on a trip of team 一队" in refused.stderr
    assert dock.cli("compliance", "trip", "012345", "2026-11-24", "--could-store", "--reason", " ", "--by", "H1",
                    check=2).returncode == 2
    ruled = dock.cli_json("compliance", "trip", "012345", "2026-11-24", "--could-store", "--reason",
                          "驻地有网络，可当日上传", "--by", "H1")
    assert ruled["article"] == "002 第16条"
    [rec] = dock.cli_json("recordings", "list")
    assert (rec["upload_status"], rec["deadline"]) == ("late", "2026-11-24T10:00:02+08:00")
    roster(dock, tmp_path, "2026-11-23,012345,张三,L-001,一队,08:00,17:00,异地执法,,CAM-T",
           "2026-11-24,012345,张三,L-001,一队,08:00,17:00,异地执法,2026-11-25 18:00,CAM-T")
    assert dock.cli_json("recordings", "list")[0]["upload_status"] == "late"  # a re-import keeps the ruling
    assert [e["action"] for e in dock.cli_json("audit", "list") if e["action"] == "trip.ruled"] == ["trip.ruled"]


def test_access_is_approved_by_whom_the_regulation_names(tmp_path, clips):
    """002 第19条: 采集管理资料的部门负责人 approves — the recording's team head; under guanxian an
    admin may not, elsewhere (the unit's setting) an admin may."""
    for policy, admin_may in (("guanxian-liulin", False), ("changsha-county", True)):
        root = tmp_path / policy
        root.mkdir()
        dock = make_dock(root, INGESTD_POLICY=policy)
        dock.cli_json("users", "add", "H1", "--name", "队长", "--role", "team_head", "--team", "一队", "--by", "admin")
        dock.cli_json("users", "add", "054321", "--name", "李四", "--role", "officer", "--team", "二队", "--by",
                      "admin")
        dock.cli_json("users", "add", "A2", "--name", "信息员", "--role", "admin", "--by", "admin")
        roster(dock, root, "2026-11-20,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-1")
        cam = root / "CAM-1"
        copy_clip(clips["h264"], cam / "20261120_100000.mp4")
        _dock_at(dock, cam, t(20, 18), "CAM-1")
        [rec] = dock.cli_json("recordings", "list")
        ask = dock.cli_json("access", "request", rec["id"], "--action", "view", "--purpose", "复核", "--by", "054321")
        by_admin = dock.cli("access", "approve", str(ask["id"]), "--by", "A2", check=None)
        assert (by_admin.returncode == 0) is admin_may, by_admin.stderr
        if not admin_may:
            assert by_admin.returncode == 2 and "may not decide access requests" in by_admin.stderr
            assert dock.cli_json("access", "approve", str(ask["id"]), "--by", "H1")["status"] == "approved"


def test_archive_date_storage_location_and_custodian(tmp_path, clips):
    """The real 归档 date moves retention and ends the case's overdue finding; a written storage
    location stands instead of a disc (004 第29条); the report names the custodian (004 第31条)."""
    from ingestd.clock import FixedClock
    from ingestd.evidence import retention

    dock = make_dock(tmp_path, INGESTD_POLICY="zhengxiang-hrss", INGESTD_COMPLIANCE__CUSTODIAN="L1")
    dock.settings.compliance.custodian = "L1"  # the in-process app's settings; the commands read the environment
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    cam = tmp_path / "CAM-Z"
    copy_clip(clips["h264"], cam / "20261102_100000.mp4")
    _dock_at(dock, cam, t(2, 18), "CAM-Z")
    [rec] = dock.cli_json("recordings", "list")
    dock.cli_json("case", "add", "郑人社1号", rec["id"], "--by", "L1")
    dock.cli_json("case", "end", "郑人社1号", "--on", "2026-11-03", "--by", "L1")
    report, _ = _report_and_events(dock, t(30, 12), date(2026, 11, 1), date(2026, 11, 30))
    assert report.lists["case_archive_overdue"].total == 1 and report.lists["evidence_disc_missing"].total == 1
    assert (report.custodian, report.custodian_article) == ("法制员（L1，法制科）", "004 第31条")
    assert "专人负责：法制员（L1，法制科）（004 第31条）" in _html(report, tmp_path)
    early = dock.cli("case", "archive", "郑人社1号", "--on", "2026-11-01", "--by", "L1", check=2)
    assert "must fall between the end of the case" in early.stderr
    dock.cli_json("case", "archive", "郑人社1号", "--on", "2026-11-26", "--by", "L1")
    dock.cli_json("case", "location", "郑人社1号", "--text", "执法信息系统 /2026/郑人社1号", "--by", "L1")
    report, _ = _report_and_events(dock, t(30, 12), date(2026, 11, 1), date(2026, 11, 30))
    assert report.lists["case_archive_overdue"].total == 0 and report.lists["evidence_disc_missing"].total == 0
    app = dock.app(FixedClock(datetime(2029, 11, 27, tzinfo=TZ)))
    try:
        [item] = retention.plan(app)
    finally:
        app.close()
    assert (item.basis, item.base, item.due_on, item.state) == ("archive", date(2026, 11, 26), date(2029, 11, 26),
                                                                "due")  # 3 years from the real 归档 (004 第30条)
    actions = [e["action"] for e in dock.cli_json("audit", "list", "--action", "case.")]
    assert "case.archived" in actions and "case.storage_location" in actions


def _html(report, tmp: Path) -> str:
    from ingestd.compliance.report_render import write_report

    write_report(report, "html", tmp / "r.html", "zh")
    return (tmp / "r.html").read_text(encoding="utf-8")


def test_a_copy_leaving_the_unit_needs_an_approval_whoever_asks(tmp_path, clips):
    """002 第17条 未经批准不得擅自对外提供: even the recording's own officer, and 法制科, export it
    for another purpose than the case file only with an approved request; refused, audited."""
    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    dock.cli_json("users", "add", "H1", "--name", "队长", "--role", "team_head", "--team", "一队", "--by", "admin")
    dock.cli_json("users", "add", "012345", "--name", "张三", "--role", "officer", "--team", "一队", "--by", "admin")
    roster(dock, tmp_path, "2026-11-20,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-1")
    cam = tmp_path / "CAM-1"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    _dock_at(dock, cam, t(20, 18), "CAM-1")
    [rec] = dock.cli_json("recordings", "list")
    dock.cli_json("export", rec["id"], "--out", str(tmp_path / "case-file"), "--by", "012345")  # 入卷: own, allowed
    refused = dock.cli("export", rec["id"], "--out", str(tmp_path / "out"), "--purpose", "provide", "--by", "012345",
                       check=2)
    assert "outside the unit" in refused.stderr and "002 第17条" in refused.stderr
    assert not (tmp_path / "out").exists()
    assert dock.cli("export", rec["id"], "--out", str(tmp_path / "x"), "--purpose", "sell", "--by", "012345",
                    check=2).returncode == 2
    ask = dock.cli_json("access", "request", rec["id"], "--action", "provide", "--purpose", "法院调取",
                        "--by", "012345")
    dock.cli_json("access", "approve", str(ask["id"]), "--by", "H1")
    done = dock.cli_json("export", rec["id"], "--out", str(tmp_path / "out"), "--purpose", "provide",
                         "--by", "012345")
    assert done["purpose"] == "provide"
    audit = dock.cli_json("audit", "list", "--action", "export.written")
    assert sorted(e["detail"]["purpose"] for e in audit) == ["case_file", "provide"]
    assert [e["detail"]["why"] for e in dock.cli_json("audit", "list", "--action", "access.refused")] == ["unapproved"]


def test_a_team_head_rules_a_trip_in_the_console_for_the_teams_trips_only(tmp_path, clips):
    from ingestd.clock import FixedClock
    from tests.web_fixtures import PASSWORD, client, csrf_of, log_in
    from ingestd.users import add_user

    dock = make_dock(tmp_path, INGESTD_POLICY="panjin-natural-resources")
    roster(dock, tmp_path, "2026-11-23,012345,张三,L-001,一队,08:00,17:00,异地执法,2026-11-24 12:00,CAM-T",
           "2026-11-23,054321,李四,L-002,二队,08:00,17:00,偏远地区,,CAM-U")
    app = dock.app(FixedClock(t(25, 9)))
    try:
        add_user(app, "H1", "一队长", "team_head", "一队", None, None, "admin", PASSWORD)
        c = client(app)
        log_in(c, "H1")
        page = c.get("/trips").text
        assert "张三" in page and "李四" not in page  # the team's trips only
        assert "异地工作" in page and "确实不能及时移交记录信息" in page and "001 第25条" in page  # 001's own words
        token = csrf_of(c, "/trips")
        assert c.post("/trips/054321/2026-11-23", data={"csrf_token": token, "could_store": "yes",
                                                        "reason": "x"}).status_code == 400  # another team's
        done = c.post("/trips/012345/2026-11-23", data={"csrf_token": token, "could_store": "yes",
                                                        "reason": "驻地可上传"})
        assert done.status_code == 303
        page = c.get("/trips").text
        assert "本可及时存储：驻地可上传" in page
    finally:
        app.close()


def test_the_case_page_records_the_archive_date_and_the_storage_location(tmp_path, clips):
    from urllib.parse import quote

    from ingestd.clock import FixedClock
    from ingestd.users import add_user
    from tests.web_fixtures import PASSWORD, client, csrf_of, log_in

    dock = make_dock(tmp_path, INGESTD_POLICY="zhengxiang-hrss")
    cam = tmp_path / "CAM-W"
    copy_clip(clips["h264"], cam / "20261102_100000.mp4")
    _dock_at(dock, cam, t(2, 18), "CAM-W")
    app = dock.app(FixedClock(t(30, 9)))
    try:
        add_user(app, "L1", "法制员", "legal", None, None, None, "admin", PASSWORD)
        [rec] = dock.cli_json("recordings", "list")
        dock.cli_json("case", "add", "案-W", rec["id"], "--by", "L1")
        dock.cli_json("case", "end", "案-W", "--on", "2026-11-03", "--by", "L1")
        c = client(app)
        log_in(c, "L1")
        path = "/cases/" + quote("案-W")
        token = csrf_of(c, path)
        bad = c.post(path + "/archive", data={"csrf_token": token, "archived_on": "11/26/2026"})
        assert bad.status_code == 400 and "invalid date for the 归档 date" in bad.text
        assert c.post(path + "/archive", data={"csrf_token": token, "archived_on": "2026-11-26"}).status_code == 303
        assert c.post(path + "/location", data={"csrf_token": token, "location": "执法信息系统 /2026/案-W"}
                      ).status_code == 303
        page = c.get(path).text
        assert "2026-11-26" in page and "执法信息系统 /2026/案-W" in page and "004 第29条" in page
    finally:
        app.close()


def test_a_roster_naming_another_officer_than_the_cameras_owner_is_a_finding(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    roster(dock, tmp_path, "2026-11-20,099999,王五,L-9,二队,08:00,17:00,常规,,CAM-X",
           "2026-11-23,012345,张三,L-001,一队,08:00,17:00,常规,,CAM-O")
    cam = tmp_path / "CAM-O"
    copy_clip(clips["h264"], cam / "20261123_100000.mp4")
    _dock_at(dock, cam, t(23, 18), "CAM-O")
    dock.cli_json("devices", "owner", "CAM-O", "099999", "--by", "admin")
    [rec] = dock.cli_json("recordings", "list")
    assert rec["officer"] == "012345"  # the roster decides the shift's time
    report, _ = _report_and_events(dock, t(24, 9), date(2026, 11, 1), date(2026, 11, 30))
    [device] = [d for d in report.devices if d["device"] == "CAM-O"]
    [item] = [i for i in device["items"] if i["code"] == "camera_roster_conflict"]
    assert item["count"] == 1 and "012345" in item["message"] and "099999" in item["message"]


def test_a_roster_may_use_its_regulations_words_for_the_assignments(tmp_path):
    from ingestd.compliance.roster import read_roster

    path = tmp_path / "roster.csv"
    path.write_text(ROSTER_HEAD + "2026-11-23,012345,张三,,一队,08:00,17:00,异地工作,,CAM-T\n"
                    "2026-11-24,012345,张三,,一队,08:00,17:00,边远地区,,CAM-T\n", encoding="utf-8")
    assert [r.assignment for r in read_roster(path, TZ).rows] == ["offsite", "remote"]


def test_a_crash_of_the_structural_check_never_brands_a_recording_damaged(tmp_path, clips):
    """The checker failing (here a fault injected into it) stores the file as `unchecked`, opens
    no incident, and the after-dock probe checks it again: a sound clip becomes `ok`, a damaged
    one `damaged` with its incident (002 第16条)."""
    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    cam = tmp_path / "CAM-C"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    data = clips["h264_b"].read_bytes()
    (cam / "20261120_110000.mp4").write_bytes(data[: len(data) // 2])
    faulty = dict(dock.env, INGESTD_FAILPOINTS="check.structure=raise")
    got = subprocess.run([sys.executable, "-m", "ingestd", "ingest", str(cam), "--device", "CAM-C", "--json"],
                         env=faulty, capture_output=True, text=True, timeout=300)
    assert got.returncode == 0, got.stderr
    files = json.loads(got.stdout)["files"]
    assert {(f["status"], f.get("code")) for f in files} == {("ingested", "check_failed")}
    assert {r["status"] for r in dock.cli_json("recordings", "list")} == {"unchecked"}
    assert dock.cli_json("incidents", "list") == []
    # The after-dock probe checked them again in that process, the fault still there: its jobs
    # failed, listed for someone, and the recordings stayed `unchecked`. Once the checker works
    # (here: the fault gone), retrying them settles each.
    failed = dock.cli_json("jobs", "status")["failed"]
    assert sorted(f["kind"] for f in failed) == ["probe", "probe"]
    assert all("structural check failed again" in f["error"] for f in failed)
    for job in failed:
        dock.cli_json("jobs", "retry", str(job["id"]), "--by", "admin")
    dock.cli_json("jobs", "work", "--until-idle")
    by_name = {r["original_name"]: r for r in dock.cli_json("recordings", "list")}
    assert by_name["20261120_100000.mp4"]["status"] == "ok"
    assert by_name["20261120_110000.mp4"]["status"] == "damaged"
    [incident] = dock.cli_json("incidents", "list", "--open")
    assert incident["code"] == "damaged_file" and incident["article"] == "002 第16条"
    assert {e["action"] for e in dock.cli_json("audit", "list", "--action", "recording.checked")} == {
        "recording.checked"}


def test_the_reports_count_of_missing_proves_follows_each_entry(tmp_path, clips):
    """000 第31条: every stored recording needs 证明对象. The report sums the daily rollup, which
    follows each entry and each deletion; a day rolled up before it counted them is counted
    from the recordings instead."""
    from sqlalchemy import update

    from ingestd.db.models import ComplianceDaily

    dock = make_dock(tmp_path, INGESTD_POLICY="hengyang-forestry")
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    cam = tmp_path / "CAM-P"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    copy_clip(clips["h264_b"], cam / "20261121_100000.mp4")
    _dock_at(dock, cam, t(21, 18), "CAM-P")

    def missing() -> tuple[int, int]:
        report, _ = _report_and_events(dock, t(30, 9), date(2026, 11, 1), date(2026, 11, 30))
        return report.unit.missing_proves, len(report.lists["evidence_missing_proves"].items)

    assert missing() == (2, 2)
    [first] = [r["id"] for r in dock.cli_json("recordings", "list") if r["original_name"].startswith("20261120")]
    dock.cli_json("evidence", "set", first, "--proves", "现场检查经过", "--by", "L1")
    assert missing() == (1, 1)
    app = dock.app()
    try:
        with app.changes.begin("admin") as ch:  # as a rollup written before the count existed
            ch.session.execute(update(ComplianceDaily).values(no_proves=None))
            ch.record("test.rollup_aged", "compliance_daily", "all")
    finally:
        app.close()
    assert missing() == (1, 1)


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_the_latest_ruling_on_any_day_of_a_trip_decides_it(policy):
    from dataclasses import replace

    first = replace(TRIP_ROWS[0], could_store=True, ruled_at=t(26, 9))
    second = replace(TRIP_ROWS[1], could_store=False, ruled_at=t(26, 10))  # reconsidered an hour later
    j = judge(policy, [first, second, TRIP_ROWS[2]])
    assert not any(j.shifts.by_id[i].could_store for i in (1, 2, 3))
    j = judge(policy, [replace(first, ruled_at=t(26, 11)), second, TRIP_ROWS[2]])
    assert all(j.shifts.by_id[i].could_store for i in (1, 2, 3))


@pytest.mark.parametrize("made, why", [
    (datetime(1970, 1, 1, 8, 0, tzinfo=TZ), "clock was reset"),  # would be 57 years late
    (datetime(2099, 3, 1, 8, 0, tzinfo=TZ), "clock was reset"),  # would be on time for ever
    (t(24, 9, 30), "dated after it was docked"),  # an hour after the dock: the camera runs ahead
])
def test_a_recording_whose_time_cannot_be_trusted_is_neither_late_nor_on_time(made, why):
    j = judge("guanxian-liulin", [])
    verdict = j.recording(RecordingFact("r", "CAM-X", None, made, made + timedelta(minutes=5), t(24, 8, 20)))
    assert (verdict.upload_status, verdict.late_by_s, verdict.deadline) == ("undetermined", None, None)
    assert why in verdict.note
    ahead = j.recording(RecordingFact("r", "CAM-X", None, t(24, 8, 20), t(24, 8, 25), t(24, 8, 20)))
    assert ahead.upload_status == "on_time"  # five minutes ahead of the dock's clock is not yet a wrong one
