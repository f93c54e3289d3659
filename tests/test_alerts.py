"""Reminders and alerts, delivered for real: a webhook and the DingTalk/WeCom robot formats
to an HTTP server on loopback, e-mail to an SMTP server (aiosmtpd) on loopback; retries
with backoff on the injected clock; once per event across restarts; scheduled reports."""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import urllib.parse
from datetime import datetime, timedelta
from email.header import decode_header, make_header
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from ingestd.alerts.channels import webhook_signature
from ingestd.alerts.dispatch import sweep
from ingestd.app import App
from ingestd.clock import FixedClock
from ingestd.compliance.report_schedule import period_for, write_scheduled
from ingestd.compliance.roster import read_roster
from ingestd.afterdock import import_roster
from ingestd.config import AlertSettings, ScheduledReport, SmtpSettings
from ingestd.db.models import Alert, AlertDelivery
from ingestd.afterdock import ingest
from ingestd.schedule import compliance_sweep
from ingestd.users import add_user
from tests.conftest import copy_clip, make_dock
from tests.test_roster_compliance import ROWS, ZH, write_csv

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "s3cret"
DING_SECRET = "SECabc"


class Receiver:
    """An HTTP server on loopback that records every POST and answers as told per path."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status: dict[str, int] = {}
        self.reply: dict[str, bytes] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                url = urllib.parse.urlsplit(self.path)
                receiver.requests.append({"path": url.path, "query": urllib.parse.parse_qs(url.query),
                                          "headers": dict(self.headers), "body": body})
                status = receiver.status.get(url.path, 200)
                reply = receiver.reply.get(url.path, b'{"errcode":0,"errmsg":"ok"}')
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def on(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]


class Mailbox:
    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - the aiosmtpd API
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        msg["X-Rcpt"] = ",".join(envelope.rcpt_tos)
        self.messages.append(msg)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def world(tmp_path, clips):
    receiver = Receiver()
    mailbox = Mailbox()
    smtp_port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    alerts = AlertSettings(max_attempts=3, channels=[
        {"kind": "webhook", "name": "ops", "url": receiver.url + "/hook", "secret": SECRET},
        {"kind": "dingtalk", "name": "ding", "url": receiver.url + "/robot/send?access_token=abc",
         "secret": DING_SECRET},
        {"kind": "wecom", "name": "wecom", "url": receiver.url + "/cgi-bin/webhook/send?key=k"},
        {"kind": "email", "name": "mail", "to": ["duty@unit.test"]}])
    settings = dock.settings.model_copy(update={"alerts": alerts, "smtp": SmtpSettings(host="127.0.0.1",
                                                                                      port=smtp_port)})
    clock = FixedClock(datetime(2026, 11, 20, 12, tzinfo=TZ))
    app = App.open(settings, clock)
    import_roster(app, read_roster(write_csv(tmp_path / "r.csv", ZH, ROWS, "utf-8-sig"), TZ), "admin")
    add_user(app, "012345", "张三", "officer", "一中队", "zhangsan@unit.test", "13800000001", "admin")
    add_user(app, "H1", "一中队长", "team_head", "一中队", "h1@unit.test", "13800000002", "admin")
    add_user(app, "A1", "管理员", "admin", None, "admin@unit.test", None, "admin")
    yield app, settings, clock, receiver, mailbox, dock
    app.close()
    controller.stop()
    receiver.server.shutdown()


def _bodies(requests):
    return [json.loads(r["body"]) for r in requests]


def test_reminders_escalations_and_delivery_on_every_channel(world, tmp_path, clips):
    app, settings, clock, receiver, mailbox, dock = world
    # 21 Nov 16:30: the regular shifts' deadline (21 Nov 18:00, 002 第16条) is 90 minutes off.
    clock.at = datetime(2026, 11, 21, 16, 30, tzinfo=TZ)
    assert sweep(app) == {"raised": 2, "sent": 8, "failed": 0}
    hooks = receiver.on("/hook")
    assert len(hooks) == 2
    for r in hooks:  # signed so the receiver can trust it
        sig = webhook_signature(SECRET, r["headers"]["X-Ingestd-Timestamp"], r["body"])
        assert r["headers"]["X-Ingestd-Signature"] == "sha256=" + sig
    zhang = next(b for b in _bodies(hooks) if "012345" in b["recipients"])
    assert zhang["event"] == "deadline_near" and "H1" in zhang["recipients"] and zhang["article"] == "002 第16条"
    assert "CAM-A" in zhang["message_zh"] and "即将逾期" == zhang["label_zh"]
    # DingTalk: 加签 verifies, markdown, the officer and the head @-mentioned by mobile.
    for r in receiver.on("/robot/send"):
        ts, sign = r["query"]["timestamp"][0], r["query"]["sign"][0]
        expected = base64.b64encode(hmac.new(DING_SECRET.encode(), f"{ts}\n{DING_SECRET}".encode(),
                                             hashlib.sha256).digest()).decode()
        assert sign == expected and r["query"]["access_token"] == ["abc"]
    ding = next(b for b in _bodies(receiver.on("/robot/send")) if "13800000001" in b["at"]["atMobiles"])
    assert ding["msgtype"] == "markdown" and "13800000002" in ding["at"]["atMobiles"]
    assert "@13800000001" in ding["markdown"]["text"] and "即将逾期" in ding["markdown"]["title"]
    wecom = next(b for b in _bodies(receiver.on("/cgi-bin/webhook/send")) if b["text"]["mentioned_mobile_list"])
    assert wecom["msgtype"] == "text" and "CAM-A" in wecom["text"]["content"]
    # E-mail to the people concerned and the duty address, in Chinese.
    assert len(mailbox.messages) == 2
    mail = next(m for m in mailbox.messages if "zhangsan@unit.test" in m["X-Rcpt"])
    assert {"h1@unit.test", "duty@unit.test"} <= set(mail["X-Rcpt"].split(","))
    assert "即将逾期" in str(make_header(decode_header(mail["Subject"])))
    assert "CAM-A" in mail.get_content()

    # 18:00:01: the deadline has passed; escalation, and the webhook's receiver is down.
    clock.at = datetime(2026, 11, 21, 18, 0, 1, tzinfo=TZ)
    compliance_sweep(app)
    receiver.status["/hook"] = 500
    result = sweep(app)
    assert result["raised"] == 2 and result["failed"] == 2
    with app.db.reading() as s:
        failing = s.execute(select(AlertDelivery).where(AlertDelivery.channel == "ops",
                                                        AlertDelivery.status == "pending")).scalars().all()
    assert len(failing) == 2 and all(d.attempts == 1 and "HTTP 500" in d.last_error for d in failing)
    assert all(d.next_attempt_at == clock.at + timedelta(seconds=30) for d in failing)

    # A restart: a new process finds the same rows. Nothing is raised or sent again, and the
    # retry waits for its time.
    receiver.status["/hook"] = 200
    before = len(receiver.requests), len(mailbox.messages)
    restarted = App.open(settings, clock)
    assert sweep(restarted) == {"raised": 0, "sent": 0, "failed": 0}
    assert (len(receiver.requests), len(mailbox.messages)) == before
    clock.advance(timedelta(seconds=31))
    assert sweep(restarted) == {"raised": 0, "sent": 2, "failed": 0}
    overdue = [b for b in _bodies(receiver.on("/hook")) if b["event"] == "shift_overdue"]
    assert len(overdue) == 4  # two refused with 500, the same two taken on the retry
    assert [b["key"] for b in overdue[:2]] == [b["key"] for b in overdue[2:]]
    assert "A1" in overdue[0]["recipients"]  # escalated to the admins too
    clock.advance(timedelta(hours=2))
    assert sweep(App.open(settings, clock)) == {"raised": 0, "sent": 0, "failed": 0}
    with app.db.reading() as s:
        assert s.execute(select(func.count()).select_from(Alert)).scalar() == 4
        assert s.execute(select(func.count()).select_from(AlertDelivery)
                         .where(AlertDelivery.status == "sent")).scalar() == 16
    restarted.close()


def test_a_damaged_file_is_alerted_at_once_and_a_refusing_robot_is_given_up_on(world, tmp_path, clips):
    app, settings, clock, receiver, mailbox, dock = world
    receiver.reply["/cgi-bin/webhook/send"] = b'{"errcode":93000,"errmsg":"invalid webhook url"}'
    clock.at = datetime(2026, 11, 21, 9, tzinfo=TZ)
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    (cam / "20261120_110000.mp4").write_bytes(clips["h264_b"].read_bytes()[:4000])  # cut short
    ingest(app, [cam], None, "CAM-A")
    # Under 002 both are reported at once: the damaged file (第16条) and the interruption it
    # ends in (第14条, found at the dock: the officer's own 立即 report is at the scene) are
    # raised and delivered by the after-dock jobs, before any sweep.
    with app.db.reading() as s:
        assert sorted(s.execute(select(Alert.code)).scalars()) == ["damaged_file", "interruption_found"]
    assert sweep(app)["raised"] == 0
    damaged = next(b for b in _bodies(receiver.on("/hook")) if b["event"] == "damaged_file")
    assert damaged["article"] == "002 第16条" and "012345" in damaged["recipients"]
    assert damaged["message_zh"].startswith("20261120_110000.mp4：已按原样保存") and "?>" not in damaged["message_zh"]
    for _ in range(3):  # the robot keeps refusing: retried with backoff, then given up and recorded
        clock.advance(timedelta(hours=1))
        sweep(app)
    with app.db.reading() as s:
        wecom = s.execute(select(AlertDelivery).join(Alert, Alert.id == AlertDelivery.alert_id)
                          .where(AlertDelivery.channel == "wecom", Alert.code == "damaged_file")).scalar_one()
    assert wecom.status == "failed" and wecom.attempts == 3 and "93000" in wecom.last_error
    [listed] = [a for a in dock.cli_json("alerts", "list") if a["code"] == "damaged_file"]
    assert {d["channel"]: d["status"] for d in listed["deliveries"]} == \
        {"ops": "sent", "ding": "sent", "wecom": "failed", "mail": "sent"}
    assert dock.cli_json("audit", "verify")["ok"]


def test_scheduled_reports_are_written_and_mailed(world, tmp_path):
    app, settings, clock, receiver, mailbox, dock = world
    assert period_for("daily", datetime(2026, 11, 21).date()) == (datetime(2026, 11, 20).date(),) * 2
    assert [d.isoformat() for d in period_for("weekly", datetime(2026, 11, 25).date())] == ["2026-11-16", "2026-11-22"]
    assert [d.isoformat() for d in period_for("monthly", datetime(2026, 12, 1).date())] == ["2026-11-01", "2026-11-30"]
    clock.at = datetime(2026, 11, 21, 7, 30, tzinfo=TZ)
    schedule = ScheduledReport(every="daily", formats=["html", "xlsx"], folder=tmp_path / "reports",
                               email_to=["fazhike@unit.test"])
    paths = write_scheduled(app, schedule)
    assert sorted(p.name for p in paths) == ["ingestd-report-2026-11-20.html", "ingestd-report-2026-11-20.xlsx"]
    assert all(p.stat().st_size > 1000 for p in paths)
    mail = mailbox.messages[-1]
    assert mail["X-Rcpt"] == "fazhike@unit.test"
    assert sorted(part.get_filename() for part in mail.iter_attachments()) == [p.name for p in sorted(paths)]
    assert "上传情况报告" in mail.get_body(("plain",)).get_content()


def test_bad_channel_settings_are_refused_by_name(tmp_path):
    from ingestd.config import load_settings
    from ingestd.errors import ConfigError

    path = tmp_path / "ingestd.toml"
    path.write_text('[[alerts.channels]]\nkind = "pager"\nname = "x"\nurl = "http://x"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="alerts.channels"):
        load_settings(path)


def test_the_daemon_hosts_the_jobs_and_a_channel_can_be_tested(world):
    from dataclasses import replace

    from ingestd.config import ReportSettings
    from ingestd.schedule import build_scheduler

    app, settings, clock, receiver, mailbox, dock = world
    scheduled = App.open(settings.model_copy(update={"report": ReportSettings(
        schedules=[ScheduledReport(every="weekly", at="07:30")])}), clock)
    scheduler = build_scheduler(scheduled)
    assert scheduler.get_job("alerts").trigger.interval == timedelta(minutes=1)
    weekly = str(scheduler.get_job("report-0").trigger)
    assert "day_of_week='mon'" in weekly and "hour='7'" in weekly and "minute='30'" in weekly
    scheduled.close()
    # `ingestd alerts test` from the command line, configured from the environment.
    channels = json.dumps([{"kind": "webhook", "name": "ops", "url": receiver.url + "/hook", "secret": SECRET}])
    cli = replace(dock, env={**dock.env, "INGESTD_ALERTS__CHANNELS": channels})
    assert cli.cli_json("alerts", "test", "ops", "--to", "H1") == {"channel": "ops", "sent": True}
    sent = json.loads(receiver.on("/hook")[-1]["body"])
    assert sent["event"] == "alert_test" and sent["recipients"] == ["H1"]
    assert "no alert channel 'pager'" in cli.cli("alerts", "test", "pager", check=2).stderr
    receiver.status["/hook"] = 503
    assert "HTTP 503" in cli.cli("alerts", "test", "ops", check=2).stderr


def test_a_fixity_failure_reaches_the_admins_once(world, tmp_path, clips):
    import os

    from ingestd.db.models import Recording
    from ingestd.fixity import verify_store

    app, settings, clock, receiver, mailbox, dock = world
    clock.at = datetime(2026, 11, 21, 9, tzinfo=TZ)
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "20261120_100000.mp4")
    ingest(app, [cam], None, "CAM-A")
    sweep(app)
    with app.db.reading() as s:
        rec = s.execute(select(Recording)).scalar_one()
    path = app.store.resolve(rec.object_id, rec.content_name)
    os.chmod(path, 0o644)
    data = bytearray(path.read_bytes())
    data[100] ^= 1
    path.write_bytes(bytes(data))
    assert verify_store(app).failed
    assert sweep(app)["raised"] == 1
    alert = json.loads(receiver.on("/hook")[-1]["body"])
    assert alert["event"] == "fixity_changed" and sorted(alert["recipients"]) == ["A1", "admin"] and alert["article"] == "002 第17条"
    clock.advance(timedelta(minutes=5))
    assert sweep(app)["raised"] == 0
