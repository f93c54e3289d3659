"""A team head's morning: an overdue shift reminded on the alert channels (once an hour at
most) or excused with a reason (audited, counted as excused, listed in the report with the
reason, no longer escalated, kept across a roster re-import), a trip over without its
返回单位时间 given one (its deadlines follow), and a dashboard of the team's own docks and
people without the store and job figures. In process on an injected clock, then on the
console, then in headless Chromium."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from ingestd.afterdock import enter_return, excuse_shift, import_roster
from ingestd.alerts.dispatch import deliver_due
from ingestd.alerts.events import find_events
from ingestd.alerts.remind import remind
from ingestd.app import App
from ingestd.clock import FixedClock
from ingestd.compliance.report import ReportRequest, build_report
from ingestd.compliance.roster import read_roster
from ingestd.compliance.shift_actions import parse_return
from ingestd.config import AlertSettings
from ingestd.db.models import AuditEvent, Device, Shift, ShiftExcuse, TripReturn
from ingestd.db.states import ShiftStatus
from ingestd.errors import Refused, UserError
from ingestd.findings import Finding
from ingestd.users import add_user
from tests.conftest import make_dock
from tests.test_alerts import Receiver
from tests.test_web_browser import CHROMIUM
from tests.web_fixtures import PASSWORD, client, csrf_of, log_in, served, shot, sign_in

TZ = ZoneInfo("Asia/Shanghai")
ROSTER = ("日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"
          "2026-11-23,012345,张三,L-001,一中队,08:00,17:00,,,CAM-A\n"
          "2026-11-23,023456,王五,L-003,一中队,08:00,17:00,异地执法,,CAM-B\n"
          "2026-11-24,023456,王五,L-003,一中队,08:00,17:00,异地执法,,CAM-B\n"
          "2026-11-23,054321,李四,L-002,二中队,08:00,17:00,,,CAM-C\n")
MORNING = datetime(2026, 11, 27, 8, 30, tzinfo=TZ)  # Friday: Monday's shifts are days overdue


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=TZ)


@pytest.fixture
def unit(tmp_path):
    """张三 (一中队) and 李四 (二中队) overdue since Monday's shift; 王五 (一中队) back from a
    two-day 异地执法 trip the roster gave no return for. A webhook on loopback is the alert
    channel."""
    receiver = Receiver()
    dock = make_dock(tmp_path)
    settings = dock.settings.model_copy(update={"alerts": AlertSettings(channels=[
        {"kind": "webhook", "name": "ops", "url": receiver.url + "/hook"}])})
    clock = FixedClock(MORNING)
    app = App.open(settings, clock)
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    import_roster(app, read_roster(tmp_path / "roster.csv", TZ), "admin")
    add_user(app, "H1", "一中队长", "team_head", "一中队", None, "13800000002", "admin", PASSWORD)
    add_user(app, "H2", "二中队长", "team_head", "二中队", None, None, "admin", PASSWORD)
    add_user(app, "L1", "法制员", "legal", None, None, None, "admin", PASSWORD)
    add_user(app, "A1", "管理员", "admin", None, None, None, "admin", PASSWORD)
    add_user(app, "012345", "张三", "officer", "一中队", None, "13800000001", "admin", PASSWORD)
    try:
        yield app, clock, receiver, tmp_path
    finally:
        app.close()
        receiver.server.shutdown()


def status_of(app: App, badge: str) -> list[ShiftStatus]:
    with app.db.reading() as s:
        return list(s.execute(select(Shift.status).where(Shift.badge == badge).order_by(Shift.day)).scalars())


def refusal(call) -> str:
    with pytest.raises(Refused) as caught:
        call()
    return caught.value.finding.code


def test_an_excuse_counts_the_shift_excused_and_the_report_says_why(unit):
    app, clock, _receiver, tmp = unit
    assert status_of(app, "012345") == [ShiftStatus.OVERDUE]
    day = datetime(2026, 11, 23).date()
    assert refusal(lambda: excuse_shift(app, "012345", day, "病假", "H2")) == "shift_not_theirs"
    assert refusal(lambda: excuse_shift(app, "012345", day, "   ", "H1")) == "excuse_reason_empty"
    assert refusal(lambda: excuse_shift(app, "023456", day, "x", "H1")) == "shift_not_overdue"  # awaits its return
    assert refusal(lambda: excuse_shift(app, "012345", day.replace(day=22), "x", "H1")) == "shift_unknown"
    with pytest.raises(UserError, match="may not excuse a shift"):
        excuse_shift(app, "012345", day, "病假", "L1")  # 法制科 does not excuse a missed upload
    done = excuse_shift(app, "012345", day, "病假，记录仪由队里保管", "H1")
    assert done["action"] == "excused" and done["recomputed"]["shift_status"] == {"excused": 1, "overdue": 1, "pending": 1}
    assert status_of(app, "012345") == [ShiftStatus.EXCUSED]

    report = build_report(app, ReportRequest(day, day.replace(day=27), None, 50, 7))
    assert (report.unit.shifts_overdue, report.unit.shifts_excused) == (1, 1)  # 李四's is still overdue
    [item] = report.lists["shift_excused"].items
    assert (item["officer"], item["reason"], item["by_name"]) == ("012345", "病假，记录仪由队里保管", "一中队长")
    assert "一中队长 说明原因：病假" in Finding("shift_excused", item).message_zh
    team = next(t for t in report.teams if t.team == "一中队")
    assert team.figures.shifts_overdue == 0 and team.figures.on_time_rate is None  # an excuse does not count against

    # The escalation stops: the sweep raises no overdue alert for it, still one for 李四's.
    clock.at = local(25, 18, 30)  # within the alerts' look-back of the deadline
    keys = {e.key for e in find_events(app, clock.now())}
    with app.db.reading() as s:
        ids = dict(s.execute(select(Shift.badge, Shift.id).where(Shift.assignment == "regular")).all())
    assert f"overdue:shift:{ids['054321']}" in keys and f"overdue:shift:{ids['012345']}" not in keys

    # A re-import of the roster keeps it; the reason can be corrected, each change audited.
    clock.at = MORNING
    import_roster(app, read_roster(tmp / "roster.csv", TZ), "admin")
    assert status_of(app, "012345") == [ShiftStatus.EXCUSED]
    excuse_shift(app, "012345", day, "病假（已补假条）", "H1")
    with app.db.reading() as s:
        assert s.get(ShiftExcuse, ("012345", day)).reason == "病假（已补假条）"
        trail = [json.loads(d)["reason"] for d in s.execute(
            select(AuditEvent.detail).where(AuditEvent.action == "shift.excused").order_by(AuditEvent.seq)).scalars()]
    assert trail == ["病假，记录仪由队里保管", "病假（已补假条）"]


def test_a_trip_without_a_return_gets_one_and_its_deadlines_follow(unit):
    app, clock, _receiver, tmp = unit
    first = datetime(2026, 11, 23).date()
    # Awaiting the return: pending, no deadline, never overdue.
    with app.db.reading() as s:
        rows = s.execute(select(Shift).where(Shift.badge == "023456").order_by(Shift.day)).scalars().all()
    assert [(r.status, r.deadline) for r in rows] == [(ShiftStatus.PENDING, None)] * 2
    assert refusal(lambda: parse_return("25日晚上", app)) == "return_time_bad"
    assert refusal(lambda: enter_return(app, "023456", first, local(22, 20), "H1")) == "return_before_trip"
    assert refusal(lambda: enter_return(app, "023456", first, local(28, 9), "H1")) == "return_in_future"
    assert refusal(lambda: enter_return(app, "012345", first, local(24, 9), "H1")) == "return_not_trip"
    assert refusal(lambda: enter_return(app, "023456", first, local(25, 18), "H2")) == "shift_not_theirs"

    # Entered on the trip's first day, it is kept on its last (a return ends the trip).
    done = enter_return(app, "023456", first, parse_return("2026-11-25T18:00", app), "H1")
    assert (done["day"], done["detail"]) == ("2026-11-24", "2026-11-25 18:00")
    with app.db.reading() as s:
        assert s.get(TripReturn, ("023456", first.replace(day=24))).returned_at == local(25, 18)
        rows = s.execute(select(Shift).where(Shift.badge == "023456").order_by(Shift.day)).scalars().all()
    # 24 h after the return (the return exception), and the camera has not docked since.
    assert [(r.status, r.deadline) for r in rows] == [(ShiftStatus.OVERDUE, local(26, 18))] * 2
    import_roster(app, read_roster(tmp / "roster.csv", TZ), "admin")  # a re-import keeps it
    assert status_of(app, "023456") == [ShiftStatus.OVERDUE] * 2


def test_a_reminder_goes_out_on_the_alert_channel_at_most_once_an_hour(unit):
    app, clock, receiver, _tmp = unit
    day = datetime(2026, 11, 23).date()
    with pytest.raises(UserError, match="may not remind an officer"):
        remind(app, "012345", day, "012345")
    assert refusal(lambda: remind(app, "054321", day, "H1")) == "shift_not_theirs"
    sent = remind(app, "012345", day, "H1")
    assert sent.recipients == ("012345", "H1")
    assert deliver_due(app) == (1, 0)
    [hook] = [json.loads(r["body"]) for r in receiver.on("/hook")]
    assert hook["event"] == "shift_reminded" and hook["recipients"] == ["012345", "H1"] and "一中队长 提醒 张三（012345）" in hook["message_zh"]
    clock.at = MORNING + timedelta(minutes=30)
    assert refusal(lambda: remind(app, "012345", day, "H1")) == "remind_too_soon"
    clock.at = MORNING + timedelta(minutes=61)
    remind(app, "012345", day, "A1")  # the admin, for any team
    with app.db.reading() as s:
        actors = list(s.execute(select(AuditEvent.actor).where(AuditEvent.action == "alert.raised")
                                .order_by(AuditEvent.seq)).scalars())
    assert actors[-2:] == ["H1", "A1"]  # raised by the people who pressed the button


def test_no_reminder_without_a_channel(tmp_path):
    dock = make_dock(tmp_path)
    app = dock.app(FixedClock(MORNING))
    try:
        (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
        import_roster(app, read_roster(tmp_path / "roster.csv", TZ), "admin")
        assert refusal(lambda: remind(app, "012345", datetime(2026, 11, 23).date(), "admin")) == "remind_no_channel"
    finally:
        app.close()


def test_the_team_heads_dashboard_acts_on_the_teams_shifts_only(unit):
    app, clock, receiver, _tmp = unit
    c = client(app)
    log_in(c, "H1")
    page = c.get("/").text
    overdue = page.split('id="overdue"')[1].split("</table>")[0]
    assert "张三（012345）" in overdue and "李四" not in overdue
    assert "2 天 15 小时" in overdue  # due Tuesday 17:00 (24 h, 002 第16条), read on Friday 08:30
    assert "王五（023456）" in page.split('id="returns"')[1]  # the trip awaiting its return
    assert "存储剩余空间" not in page and "待处理任务" not in page  # the store and the jobs are the admin's
    token = csrf_of(c, "/")
    other = c.post("/shifts/054321/2026-11-23/remind", data={"csrf_token": token})
    assert other.status_code == 400 and "H1 不能处理二中队的班次" in other.text
    assert c.post("/shifts/012345/2026-11-23/remind", data={"csrf_token": token}).status_code == 303
    page = c.get("/?reminded=张三").text
    assert "已向 张三 发出提醒" in page and "11-27 08:30" in page.split('id="overdue"')[1]
    again = c.post("/shifts/012345/2026-11-23/remind", data={"csrf_token": token})
    assert again.status_code == 400 and "已于" in again.text and "之后可再次提醒" in again.text
    empty = c.post("/shifts/012345/2026-11-23/excuse", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 400 and "请写明未按期上传的原因" in empty.text
    assert c.post("/shifts/012345/2026-11-23/excuse", data={"csrf_token": token, "reason": "记录仪送修"}
                  ).status_code == 303
    assert 'id="overdue"' not in c.get("/").text  # nothing of the team's is overdue now
    bad = c.post("/trips/023456/2026-11-23/return", data={"csrf_token": token, "returned_at": "2026-11-30T09:00"})
    assert bad.status_code == 400 and "晚于现在" in bad.text
    assert c.post("/trips/023456/2026-11-23/return", data={"csrf_token": token, "returned_at": "2026-11-25T18:00"}
                  ).status_code == 303
    page = c.get("/").text
    assert 'id="returns"' not in page and "王五（023456）" in page.split('id="overdue"')[1]  # due 26 Nov 18:00
    report = c.get("/report?start=2026-11-23&end=2026-11-27").text
    assert "记录仪送修" in report and "一中队长" in report

    admin = client(app)
    log_in(admin, "A1")
    page = admin.get("/").text
    assert "存储剩余空间" in page and "李四（054321）" in page


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_a_team_heads_morning_in_the_browser(unit, language):
    """Sign in, remind one officer, excuse another's shift, enter a trip's return, read the
    team's report: each page screenshotted at 1366×768 and checked with axe-core."""
    from playwright.sync_api import sync_playwright

    app, clock, _receiver, _tmp = unit
    zh = language == "zh-CN"
    problems, strays = [], []
    with served(app, language) as base:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale=language)
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base + "/")
                          else (strays.append(route.request.url), route.abort()))
            page = context.new_page()
            sign_in(page, base, "H1")
            row = page.locator("#shift-1")
            assert ("2 天 15 小时" if zh else "2 d 15 h") in row.inner_text()
            problems += shot(page, f"team-head-dashboard-{language}")
            row.get_by_role("button", name="提醒" if zh else "Remind").click()
            page.wait_for_selector(".notice")
            assert ("已向 张三 发出提醒" if zh else "A reminder to 张三") in page.inner_text(".notice")
            row = page.locator("#shift-1")
            row.locator("summary").click()
            row.locator("input[name=reason]").fill("记录仪送修")
            problems += shot(page, f"team-head-excuse-{language}")
            row.get_by_role("button", name="保存" if zh else "Save").click()
            page.wait_for_url(f"{base}/#overdue")
            assert page.locator("#shift-1").count() == 0
            returns = page.locator("#returns + p + table")
            returns.locator("input[name=returned_at]").fill("2026-11-25T18:00")
            returns.get_by_role("button", name="保存" if zh else "Save").click()
            page.wait_for_selector("#overdue")
            assert "王五（023456）" in page.inner_text("#overdue + table")  # due 24 h after the return: overdue too
            problems += shot(page, f"team-head-after-{language}")
            page.goto(f"{base}/report?start=2026-11-23&end=2026-11-27")
            body = page.inner_text("main")
            assert ("一中队合计" if zh else "一中队 total") in body and "记录仪送修" in body
            problems += shot(page, f"team-head-report-{language}", full=True)
            # The 信息中心's side of the same morning: the whole unit, and the people and cameras.
            context.clear_cookies()
            sign_in(page, base, "A1")
            problems += shot(page, f"admin-dashboard-{language}")
            page.goto(f"{base}/users")
            page.select_option("select[name=team]", "二中队")
            page.fill("input[name=badge]", "H3")
            page.fill("input[name=name]", "三中队长")
            page.fill("input[name=mobile]", "13800000003")
            problems += shot(page, f"admin-users-{language}", full=True)
            with app.changes.begin("admin") as ch:  # cameras as their docks register them
                for serial, owner in (("CAM-A", "012345"), ("CAM-B", "023456"), ("CAM-C", None)):
                    ch.session.add(Device(serial=serial, owner_badge=owner, first_seen=local(20, 9),
                                          last_seen=local(20, 9)))
                ch.record("devices.added", "device", "CAM-A", count=3)
            page.goto(f"{base}/devices?q=CAM")
            problems += shot(page, f"admin-devices-{language}")
            browser.close()
    assert strays == [] and problems == [], (strays, problems)
