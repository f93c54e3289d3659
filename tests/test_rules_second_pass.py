"""Compliance, second pass, table-driven over the five policies: the return exception over
the whole trip (000 第30条, 001 第25条, 002 第16条, 003 第41条, 004 第27条, 第2款 each), a
damaged clip judged by its last known time, written 说明 for incidents (002 第16条),
evidence discs (003 第41条, 004 第28条), 不得自行保管 (001 第25条, 002 第16条, 003 第41条),
证明对象 for every stored recording (000 第31条), interruptions reported at once (002 第14条),
the archive deadline moved off a rest day (民法典 第203条), retention from 归档 (000 第33条,
004 第30条), and every article shown coming from the unit's own regulation."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ingestd.compliance.calendar import WorkCalendar
from ingestd.compliance.policy import RULES, UNIT_OWN, load_policies
from ingestd.compliance.rules_doc import render
from ingestd.compliance.status import Judge, RecordingFact, ShiftFact, ShiftIndex
from ingestd.evidence.cases import archive_deadline
from ingestd.findings import CATALOGUE, Finding
from tests.conftest import copy_clip, make_dock

TZ = ZoneInfo("Asia/Shanghai")
POLICIES = load_policies()
SEED = {name: p.seed for name, p in POLICIES.items()}
ROSTER_HEAD = "日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


def judge(policy: str, shifts: list[ShiftFact]) -> Judge:
    p = POLICIES[policy]
    return Judge(p, WorkCalendar(), TZ, ShiftIndex(shifts, tuple(p.upload.exception.assignments)), {}, {},
                 [(date(2026, 11, 1), date(2026, 11, 30))])


def trip(returned: datetime | None) -> ShiftFact:
    # Friday 20 Nov, 08:00-18:00 on 异地执法; back at `returned`.
    return ShiftFact(1, "012345", "一队", t(20, 8), t(20, 18), "offsite", returned, "CAM-T")


def rec(start: datetime, minutes: int | None, uploaded: datetime, rid: str = "r") -> RecordingFact:
    return RecordingFact(rid, "CAM-T", None, start, start + timedelta(minutes=minutes) if minutes else None, uploaded)


# Made Saturday 21 Nov 10:00-10:30, on the trip but outside the shift's hours.
ON_TRIP = t(21, 10)


@pytest.mark.parametrize("policy", sorted(POLICIES))
@pytest.mark.parametrize("made, returned, uploaded, status", [
    (ON_TRIP, t(23, 20), t(24, 10), "on_time"),  # 24 h after the return (Tue 20:00) covers it everywhere
    (ON_TRIP, t(23, 20), t(25, 8), "late"),      # past both the return + 24 h and two working days
    (t(20, 19), t(20, 20), t(21, 12), "on_time"),  # back the same evening: within every deadline
    (t(20, 19), t(20, 20), t(22, 12), None),     # late by 24 h from the return; two working days cover it
])
def test_return_exception_covers_the_whole_trip(policy, made, returned, uploaded, status):
    verdict = judge(policy, [trip(returned)]).recording(rec(made, 30, uploaded))
    expected = max(returned + timedelta(hours=24), _normal(policy, made + timedelta(minutes=30)))
    status = status or ("on_time" if uploaded <= expected else "late")
    assert (verdict.upload_status, verdict.officer_badge, verdict.off_duty) == (status, "012345", False)
    assert verdict.deadline.at == expected
    # The later of the two, with the unit's own article (第2款 where the exception decides).
    rule = "return_exception" if expected > _normal(policy, made + timedelta(minutes=30)) else verdict.deadline.rule
    assert verdict.deadline.rule == rule
    assert verdict.deadline.article in (POLICIES[policy].upload.article, POLICIES[policy].upload.exception.article)


def _normal(policy: str, end: datetime) -> datetime:
    from ingestd.compliance.deadline import normal_deadline

    return normal_deadline(POLICIES[policy], end, WorkCalendar(), TZ).at


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_trip_without_a_return_is_pending_never_overdue(policy):
    j = judge(policy, [trip(None)])
    # Uploaded past the normal deadline while the officer is still away: nobody can say yet.
    late_upload = _normal(policy, ON_TRIP + timedelta(minutes=30)) + timedelta(hours=1)
    verdict = j.recording(rec(ON_TRIP, 30, late_upload))
    assert verdict.upload_status == "undetermined" and "return" in verdict.note
    # Within the normal deadline it is on time whatever the return turns out to be.
    assert j.recording(rec(ON_TRIP, 30, ON_TRIP + timedelta(hours=2))).upload_status == "on_time"
    # The shift itself: pending a week later, not overdue, and no deadline to remind about.
    shift = j.shift(trip(None), 0, None, None, t(28, 12))
    assert (shift.status, shift.deadline) == ("pending", None)
    # Once the return is entered (Mon 09:00), the shift's deadline is 24 h later.
    back = j.shift(trip(t(23, 9)), 0, None, None, t(28, 12))
    assert back.status == "overdue" and back.deadline.at == max(t(24, 9), _normal(policy, t(20, 18)))


@pytest.mark.parametrize("policy", sorted(POLICIES))
def test_a_damaged_clip_is_judged_by_its_last_known_time(policy):
    j = judge(policy, [])
    start = t(20, 12)
    in_time = j.recording(rec(start, None, start + timedelta(hours=3)))
    assert in_time.upload_status == "on_time" and "end time is unknown" in in_time.note
    assert in_time.deadline.at == _normal(policy, start)
    assert j.recording(rec(start, None, _normal(policy, start) + timedelta(seconds=1))).upload_status == "undetermined"


def _roster(dock, tmp: Path, *rows: str) -> None:
    path = tmp / f"roster-{len(list(tmp.glob('roster-*')))}.csv"
    path.write_text(ROSTER_HEAD + "".join(r + "\n" for r in rows), encoding="utf-8")
    dock.cli_json("roster", "import", "--by", "admin", str(path))


def test_a_return_entered_later_recomputes_the_officer(tmp_path, clips):
    """002 第16条 第2款: two recordings on an 异地执法 trip, back 23 Nov 20:00: their deadline is
    24 Nov 20:00, and the officer's on-time rate counts them on time."""
    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    _roster(dock, tmp_path, "2026-11-20,012345,张三,L-001,一队,08:00,18:00,异地执法,,CAM-T")
    cam = tmp_path / "CAM-T"
    copy_clip(clips["h264"], cam / "20261121_100000.mp4")  # on the trip, outside the shift
    copy_clip(clips["h264_b"], cam / "20261122_150000.mp4")
    from ingestd.afterdock import ingest
    from ingestd.clock import FixedClock

    app = dock.app(FixedClock(t(24, 10)))  # docked the morning after the return
    try:
        ingest(app, [cam], None, "CAM-T")
    finally:
        app.close()
    recs = dock.cli_json("recordings", "list")
    assert {r["upload_status"] for r in recs} == {"undetermined"}  # no return entered yet
    [shift] = dock.cli_json("compliance", "shifts")
    assert shift["status"] == "pending" and shift["deadline"] is None
    _roster(dock, tmp_path, "2026-11-20,012345,张三,L-001,一队,08:00,18:00,异地执法,2026-11-23 20:00,CAM-T")
    recs = dock.cli_json("recordings", "list")
    assert {(r["upload_status"], r["deadline"], r["officer"]) for r in recs} == {
        ("on_time", "2026-11-24T20:00:00+08:00", "012345")}
    assert dock.cli_json("compliance", "shifts")[0]["status"] == "met"


def test_incidents_are_explained_in_writing_and_closed(tmp_path, clips):
    dock = make_dock(tmp_path)
    dock.cli_json("users", "add", "H1", "--name", "队长", "--role", "team_head", "--team", "一队", "--by", "admin")
    cam = tmp_path / "CAM-I"
    data = clips["h264"].read_bytes()
    (cam / "20261120_100000.mp4").parent.mkdir(parents=True)
    (cam / "20261120_100000.mp4").write_bytes(data[: len(data) // 2])
    dock.cli_json("ingest", str(cam), "--device", "CAM-I")
    [inc] = dock.cli_json("incidents", "list", "--open")
    assert (inc["code"], inc["status"], inc["article"]) == ("damaged_file", "open", "002 第16条")
    assert "unknown or disabled user" in dock.cli("incidents", "explain", str(inc["id"]), "--note", "x", "--by",
                                                  "nobody", check=2).stderr
    assert dock.cli("incidents", "explain", str(inc["id"]), "--note", "  ", "--by", "H1", check=2).returncode == 2
    done = dock.cli_json("incidents", "explain", str(inc["id"]), "--note", "电池耗尽，录像中断，已书面报告队长。",
                         "--by", "H1")
    assert done["status"] == "closed" and done["object_version"] == "v2"
    assert dock.cli_json("incidents", "list", "--open") == []
    app = dock.app()
    try:
        stored = json.loads(app.store.resolve(done["object_id"], f"explanations/incident-{inc['id']}.json")
                            .read_text())
    finally:
        app.close()
    assert stored["书面说明"].startswith("电池耗尽") and stored["by"] == "H1" and stored["article"] == "002 第16条"
    again = dock.cli("incidents", "explain", str(inc["id"]), "--note", "x", "--by", "H1", check=2)
    assert "already explained" in again.stderr
    assert dock.cli_json("audit", "verify")["ok"] and dock.cli_json("verify")["ok"]


@pytest.mark.parametrize("name", sorted(POLICIES))
def test_every_article_shown_is_the_units_own(name):
    policy = POLICIES[name]
    prefix = f"{policy.seed} 第"
    for code, kind in CATALOGUE.items():
        article = Finding(code, {}).article(policy)
        if kind.rule is None:
            assert article is None
        else:
            assert article == UNIT_OWN or all(a.startswith(prefix) for a in article.split(", ")), (code, article)
    for rule in RULES:
        cited = policy.cite(rule)
        assert cited == UNIT_OWN or cited.startswith(prefix)
    assert all(a in policy.quotes and a.startswith(prefix) for a in policy.cited())


def test_rules_the_seeds_do_not_state_are_the_units_own():
    assert POLICIES["panjin-natural-resources"].cite("interruption") == UNIT_OWN  # 001 has no 全程不间断 article
    assert POLICIES["hengyang-forestry"].cite("damaged_file") == UNIT_OWN  # 002 第16条 binds 冠县 only
    assert POLICIES["hengyang-forestry"].cite("off_duty") == UNIT_OWN  # 002 第21条 likewise
    assert POLICIES["guanxian-liulin"].cite("off_duty") == "002 第21条"
    assert POLICIES["panjin-natural-resources"].upload.hours == 24  # the seed's own words: 24小时内
    assert "24小时" in POLICIES["panjin-natural-resources"].quotes["001 第25条"]
    assert POLICIES["hengyang-forestry"].evidence.proves_required == "all"  # 000 第31条


def test_the_rules_page_is_current():
    page = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
    assert page == render(POLICIES), "regenerate with `ingestd rules --out docs/rules.md`"
    for p in POLICIES.values():
        for article in p.cited():
            assert f"**{article}**: {p.quotes[article]}" in page


def test_the_report_under_hengyang_cites_only_000(tmp_path, clips):
    """Under hengyang-forestry every stored recording needs 证明对象 (000 第31条), and no 002/003/004
    article appears anywhere in the report."""
    dock = make_dock(tmp_path, INGESTD_POLICY="hengyang-forestry")
    cam = tmp_path / "CAM-H"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_100100.mp4")
    data = clips["h264_c"].read_bytes()
    (cam / "20261120_103000.mp4").write_bytes(data[: len(data) // 2])
    dock.cli_json("ingest", str(cam), "--device", "CAM-H")
    dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "json", "--out",
             str(tmp_path / "r.json"))
    text = (tmp_path / "r.json").read_text()
    report = json.loads(text)
    assert report["unit"]["missing_proves"] == 3
    assert {i["code"] for i in report["lists"]["evidence_missing_proves"]["items"]} == {"proves_missing_stored"}
    articles = set(re.findall(r'"article": "([^"]*)"', text))
    assert articles and all(a == UNIT_OWN or a.startswith("000 第") for a in articles), articles
    assert not re.search(r"00[1-4] 第\d+条", text)


def test_camera_still_holding_stored_recordings_is_a_device_finding(tmp_path, clips):
    from ingestd.afterdock import ingest
    from ingestd.alerts.events import find_events
    from ingestd.clock import FixedClock
    from ingestd.compliance.report import ReportRequest, build_report

    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    cam = tmp_path / "CAM-K"
    copy_clip(clips["h264"], cam / "20261110_100000.mp4")
    clock = FixedClock(t(11, 9))
    app = dock.app(clock)
    try:
        ingest(app, [cam], None, "CAM-K")  # uploaded the next day
        copy_clip(clips["h264_b"], cam / "20261120_100000.mp4")
        clock.at = t(21, 9)  # ten days later the first clip is still on the camera
        [run] = ingest(app, [cam], None, "CAM-K")
        report = build_report(app, ReportRequest(date(2026, 11, 1), date(2026, 11, 30)))
        events = find_events(app, clock.at)
    finally:
        app.close()
    assert {o.code for o in run.outcomes if o.status == "duplicate"} == {"already_ingested"}
    [device] = [d for d in report.devices if d["device"] == "CAM-K"]
    [item] = [i for i in device["items"] if i["code"] == "camera_holds_stored"]
    assert item["count"] == 1 and item["article"] == "002 第16条" and "2026-11-10" in item["message"]
    assert [e.finding.code for e in events if e.key.startswith("kept:")] == ["camera_holds_stored"]


def test_evidence_discs_under_changsha(tmp_path, clips):
    """003 第41条: evidence 刻盘入卷 within 24 h of the recording's end; a disc whose 文字说明 says
    证明对象 （未填写） does not count, and a changed 证明对象 asks for a new disc."""
    from ingestd.clock import FixedClock
    from ingestd.compliance.report import ReportRequest, build_report

    dock = make_dock(tmp_path, INGESTD_POLICY="changsha-county")
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    cam = tmp_path / "CAM-E"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    [rid] = [f["recording_id"] for f in dock.cli_json("ingest", str(cam), "--device", "CAM-E")["files"]]
    dock.cli_json("case", "add", "长县执〔2026〕1号", rid, "--by", "L1")

    def missing() -> list[str]:
        app = dock.app(FixedClock(t(22, 9)))  # past 24 h after the recording's end
        try:
            lists = build_report(app, ReportRequest(date(2026, 11, 20), date(2026, 11, 20))).lists
        finally:
            app.close()
        return [i["recording_id"] for i in lists["evidence_disc_missing"].items]

    assert missing() == [rid]
    dock.cli_json("export", "--case", "长县执〔2026〕1号", "--out", str(tmp_path / "e1"), "--iso", "--by", "L1")
    assert missing() == [rid]  # the disc says 证明对象 （未填写）
    dock.cli_json("evidence", "set", rid, "--proves", "当事人拒绝检查的经过", "--by", "L1")
    dock.cli_json("export", "--case", "长县执〔2026〕1号", "--out", str(tmp_path / "e2"), "--by", "L1")
    assert missing() == [rid]  # a bag without a disc image is no disc
    dock.cli_json("export", "--case", "长县执〔2026〕1号", "--out", str(tmp_path / "e3"), "--iso", "--by", "L1")
    assert missing() == []
    dock.cli_json("evidence", "set", rid, "--proves", "当事人拒绝检查及现场整改的经过", "--by", "L1")
    assert missing() == [rid]  # 证明对象 changed: the disc no longer says what it proves


def test_no_disc_finding_where_the_policy_asks_for_none(tmp_path, clips):
    from ingestd.compliance.report import ReportRequest, build_report

    dock = make_dock(tmp_path, INGESTD_POLICY="guanxian-liulin")
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    cam = tmp_path / "CAM-N"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    [rid] = [f["recording_id"] for f in dock.cli_json("ingest", str(cam), "--device", "CAM-N")["files"]]
    dock.cli_json("case", "add", "柳执1号", rid, "--by", "L1")
    app = dock.app()
    try:
        report = build_report(app, ReportRequest(date(2026, 11, 20), date(2026, 11, 20)))
    finally:
        app.close()
    assert "evidence_disc_missing" not in report.lists and report.unit.disc_missing == 0


def test_statement_carries_written_explanations_and_recording_content(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_POLICY="zhengxiang-hrss")
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    cam = tmp_path / "CAM-S"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_100100.mp4")
    ids = [f["recording_id"] for f in dock.cli_json("ingest", str(cam), "--device", "CAM-S")["files"]]
    [gap] = dock.cli_json("gaps", "list", "--open")
    dock.cli_json("gaps", "explain", str(gap["id"]), "--reason", "low_battery", "--note", "电量不足，更换电池后继续",
                  "--by", "L1")
    dock.cli_json("evidence", "set", ids[0], "--proves", "现场检查经过", "--content", "执法人员告知检查事项",
                  "--case", "蒸人社1号", "--by", "L1")
    dock.cli_json("case", "add", "蒸人社1号", ids[1], "--by", "L1")
    dock.cli_json("export", "--case", "蒸人社1号", "--out", str(tmp_path / "x"), "--by", "L1")
    [text] = [p.read_text(encoding="utf-8") for p in (tmp_path / "x").rglob("文字说明.txt")]
    assert "书面说明：电量不足，更换电池后继续" in text and "依据 004 第15条" in text
    assert "录音内容：执法人员告知检查事项（依据 004 第29条）" in text
    assert "（004 第33条）" in text and "002 第17条" not in text


@pytest.mark.parametrize("policy, at_once", [("guanxian-liulin", True), ("zhengxiang-hrss", True),
                                             ("hengyang-forestry", False)])
def test_interruptions_reported_at_once_where_the_policy_says_so(tmp_path, clips, policy, at_once):
    from ingestd.alerts.events import find_events

    dock = make_dock(tmp_path, INGESTD_POLICY=policy)
    cam = tmp_path / "CAM-G"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_100100.mp4")
    dock.cli_json("ingest", str(cam), "--device", "CAM-G")
    app = dock.app()
    try:
        events = find_events(app, app.clock.now())
    finally:
        app.close()
    gaps = [e for e in events if e.key.startswith("gap:")]
    assert bool(gaps) is at_once
    if gaps:
        # The alert cites the 立即报告 article and says the report is the officer's, at the scene.
        assert gaps[0].finding.article(POLICIES[policy]) == POLICIES[policy].interruptions.report_article
        assert POLICIES[policy].interruptions.report_to in gaps[0].finding.message_zh
        assert "接入时发现" in gaps[0].finding.message_zh and "现场立即" in gaps[0].finding.message_zh


@pytest.mark.parametrize("policy, ended, due", [
    ("hengyang-forestry", date(2026, 11, 8), date(2026, 11, 30)),   # +20 d = Sat 28 Nov → Mon 30 Nov
    ("hengyang-forestry", date(2026, 9, 11), date(2026, 10, 8)),    # +20 d = 1 Oct (国庆) → the first working day
    ("panjin-natural-resources", date(2026, 11, 2), date(2026, 12, 2)),  # +30 d = Wed 2 Dec, a working day
    ("guanxian-liulin", date(2026, 11, 2), None),                    # 002 第18条: the unit's own rules
])
def test_archive_deadline_moves_off_a_rest_day(policy, ended, due):
    calendar = WorkCalendar()
    got = archive_deadline(POLICIES[policy], ended, calendar)
    assert got == due
    if got is not None:
        assert calendar.is_workday(got)


def test_retention_counts_from_archive_and_only_for_case_files(tmp_path, clips):
    from ingestd.clock import FixedClock
    from ingestd.evidence import retention

    dock = make_dock(tmp_path, INGESTD_POLICY="hengyang-forestry")
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    cam = tmp_path / "CAM-R"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_100100.mp4")
    ids = [f["recording_id"] for f in dock.cli_json("ingest", str(cam), "--device", "CAM-R")["files"]]
    dock.cli_json("case", "add", "衡林1号", ids[0], "--by", "L1")
    dock.cli_json("case", "end", "衡林1号", "--on", "2026-11-08", "--by", "L1")
    app = dock.app(FixedClock(datetime(2031, 12, 1, tzinfo=TZ)))
    try:
        items = {i.recording_id: i for i in retention.plan(app)}
    finally:
        app.close()
    in_case, loose = items[ids[0]], items[ids[1]]
    assert (in_case.basis, in_case.base, in_case.due_on, in_case.state) == (
        "archive", date(2026, 11, 30), date(2031, 11, 30), "due")  # 5 years from 归档 (000 第33条)
    assert (loose.basis, loose.state) == ("no_case", "no_period")  # the 案卷 period reaches case files only
