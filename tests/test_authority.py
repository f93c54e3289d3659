"""The console's authority as an auditor inside the unit would try it: every viewing of video
audited, a view grant never a change, team walls on cases and holds, no formula in any
download, the current password and log-ins throttled without locking the owner out, PIN
sessions held to the officer's own recordings. Real app, real SQLite, real docked clips."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from ingestd.db.models import AuditEvent, Evidence, LegalHold, WebSession
from ingestd.evidence.access import decide, request_access
from ingestd.evidence.cases import open_case
from ingestd.users import add_user, set_pin
from tests.test_daemon import _free_port
from tests.test_web_browser import CHROMIUM
from tests.web_fixtures import PASSWORD, START, client, csrf_of, log_in

FILE_ROUTES = {"proxy": "proxy.mp4", "poster": "poster.jpg", "contact": "contact.jpg", "hls": "hls/index.m3u8"}


def _entries(app, action: str, subject: str | None = None) -> list[tuple[str, dict]]:
    with app.db.reading() as s:
        q = select(AuditEvent.actor, AuditEvent.detail).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        if subject is not None:
            q = q.where(AuditEvent.subject_id == subject)
        return [(actor, json.loads(detail)) for actor, detail in s.execute(q)]


def _second_team(app) -> None:
    add_user(app, "H2", "二中队长", "team_head", "二中队", None, None, "admin", PASSWORD)


def _grant(app, rec_id: str, badge: str, what: str = "view") -> None:
    req = request_access(app, rec_id, what, "复核", badge)
    decide(app, req["id"], "H1", True, hours=4)


def _version(app, rec_id: str) -> int | None:
    with app.db.reading() as s:
        ev = s.get(Evidence, rec_id)
        return ev.object_version if ev else None


# ---- 1. every viewing of video and pictures is audited, once per viewing ----

def test_each_file_route_is_audited_once_per_viewing_and_never_zero(recorded):
    app, ids = recorded
    rec = ids["CAM-1"]
    c = client(app)
    log_in(c, "H1")
    for _ in range(3):  # a player's many Range requests
        for start in (0, 1000, 5000):
            r = c.get(f"/recordings/{rec}/proxy.mp4", headers={"Range": f"bytes={start}-{start + 99}"})
            assert r.status_code == 206 and r.headers["cache-control"] == "no-store"
    for kind, name in FILE_ROUTES.items():
        assert c.get(f"/recordings/{rec}/{name}").status_code == 200, name
    played = _entries(app, "recording.played", rec)
    assert sorted(d["file"] for _a, d in played) == sorted(FILE_ROUTES) and {a for a, _d in played} == {"H1"}
    app.clock.advance(timedelta(minutes=61))  # a viewing an hour later is another viewing
    log_in(c, "H1")
    c.get(f"/recordings/{rec}/proxy.mp4", headers={"Range": "bytes=0-99"})
    assert [d["file"] for _a, d in _entries(app, "recording.played", rec)].count("proxy") == 2
    other = client(app)  # another session of the same person is another viewing
    log_in(other, "H1")
    other.get(f"/recordings/{rec}/poster.jpg")
    assert [d["file"] for _a, d in _entries(app, "recording.played", rec)].count("poster") == 2


@pytest.mark.parametrize("badge,allowed", [("O1", True), ("H1", True), ("L1", True), ("A1", True), ("D1", True),
                                           ("O2", False), ("H2", False), ("G2", True)])
def test_file_routes_for_every_role_are_allowed_as_the_recording_is_and_always_audited(recorded, badge, allowed):
    """The route table's file column: who may play another team's recording, and an audit
    entry for each that did (G2 holds an approved view grant; O2 and H2 of the other team do not)."""
    app, ids = recorded
    rec = ids["CAM-1"]
    _second_team(app)
    if badge == "G2":
        add_user(app, "G2", "二中队员", "officer", "二中队", None, None, "admin", PASSWORD)
        _grant(app, rec, "G2")
    c = client(app)
    assert log_in(c, badge).status_code == 303
    for kind, name in FILE_ROUTES.items():
        assert c.get(f"/recordings/{rec}/{name}").status_code == (200 if allowed else 403), (badge, name)
    played = _entries(app, "recording.played", rec)
    refused = _entries(app, "access.refused", rec)
    if allowed:
        assert sorted(d["file"] for a, d in played if a == badge) == sorted(FILE_ROUTES) and not refused
    else:
        assert not played and len(refused) == len(FILE_ROUTES)
        assert {(a, d["act"], d["why"]) for a, d in refused} == {(badge, "play", "other_team")}


@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is installed by `make system-deps`")
def test_a_proxy_played_and_seeked_in_chromium_is_one_audit_entry(recorded):
    from playwright.sync_api import sync_playwright

    from ingestd.web.server import WebServer

    app, ids = recorded
    rec = ids["CAM-1"]
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = WebServer(app, "127.0.0.1", port)
    assert server.start()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
            context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base + "/")
                          else route.abort())
            page = context.new_page()
            page.goto(f"{base}/login?next=/recordings/{rec}")
            page.fill("input[name=badge]", "O1")
            page.fill("input[name=password]", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_selector("video")
            page.eval_on_selector("video", "v => { v.muted = true; return v.play(); }")
            page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")
            page.eval_on_selector("video", "v => { v.currentTime = v.duration / 2; }")
            page.wait_for_function("() => !document.querySelector('video').seeking && "
                                   "document.querySelector('video').readyState >= 2")
            browser.close()
    finally:
        server.stop()
    assert [(a, d["file"]) for a, d in _entries(app, "recording.played", rec) if d["file"] == "proxy"] == \
        [("O1", "proxy")]


# ---- 2. and 3. a case is named only by its team; a grant to view never changes anything ----

def test_a_recording_is_never_put_into_another_teams_case(recorded):
    app, ids = recorded
    _second_team(app)
    open_case(app, "一中队案-1", "甲案", "一中队", "H1")
    o2 = client(app)
    log_in(o2, "O2")
    theirs = ids["CAM-2"]
    r = o2.post(f"/recordings/{theirs}/evidence", data={"proves": "现场经过", "case_no": "一中队案-1",
                                                         "csrf_token": csrf_of(o2)})
    assert r.status_code == 403 and "案件 一中队案-1 是其他中队的案件，不能使用。" in r.text
    with app.db.reading() as s:
        ev = s.get(Evidence, theirs)
        assert ev is None or ev.case_no is None
    assert _entries(app, "access.refused")[-1][1]["why"] == "case_team"
    h2 = client(app)
    log_in(h2, "H2")
    assert h2.get("/cases/一中队案-1").status_code == 404  # not even seen
    assert h2.post("/cases/一中队案-1/recordings", data={"recordings": theirs,
                                                        "csrf_token": csrf_of(h2)}).status_code == 404
    # The command line asks the same question.
    from ingestd.evidence.metadata import link_to_case
    from ingestd.errors import UserError

    with pytest.raises(UserError, match="another team's case"):
        link_to_case(app, "一中队案-1", [theirs], "H2")
    h1 = client(app)
    log_in(h1, "H1")
    assert theirs not in h1.get("/cases/一中队案-1").text


def test_a_view_grant_lets_the_holder_view_and_play_but_change_nothing(recorded):
    app, ids = recorded
    rec = ids["CAM-1"]
    _second_team(app)
    open_case(app, "二中队案-1", "乙案", "二中队", "H2")
    for badge in ("O2", "H2"):
        _grant(app, rec, badge)
    before = _version(app, rec)
    for badge in ("O2", "H2"):
        c = client(app)
        log_in(c, badge)
        assert c.get(f"/recordings/{rec}").status_code == 200
        assert 'action="/recordings/' + rec + '/evidence"' not in c.get(f"/recordings/{rec}").text
        token = csrf_of(c)
        changes = {f"/recordings/{rec}/evidence": {"proves": "改写", "content": "改写"},
                   "/holds": {"recording": rec, "reason": "扣留"},
                   "/retention": {"recording": rec, "reason": "期满"},
                   "/cases/二中队案-1/recordings": {"recordings": rec},
                   "/cases/二中队案-1/export": {"disc": "dvd"}}
        for path, form in changes.items():
            if badge == "O2" and path.startswith(("/holds", "/retention", "/cases")):
                continue  # an officer never reaches those pages' changes at all (the role table)
            got = c.post(path, data={**form, "csrf_token": token})
            assert got.status_code in (400, 403), (badge, path, got.status_code)
    assert _version(app, rec) == before
    with app.db.reading() as s:
        assert s.execute(select(func.count()).select_from(LegalHold)).scalar() == 0
        ev = s.get(Evidence, rec)
        assert ev is None or (ev.case_no is None and ev.proves is None)
    refused = {(a, d["act"]) for a, d in _entries(app, "access.refused", rec)}
    assert {("O2", "annotate"), ("H2", "annotate"), ("H2", "hold"), ("H2", "delete"), ("H2", "link_case")} <= refused


def test_a_view_grant_does_not_export_and_an_export_grant_does(recorded, tmp_path):
    from ingestd.errors import UserError
    from ingestd.evidence.export_requests import ask_export

    app, ids = recorded
    rec = ids["CAM-1"]
    _grant(app, rec, "O2", "view")
    with pytest.raises(UserError, match="access request to export"):
        ask_export(app, "O2", [rec], None)
    _grant(app, rec, "O2", "export")
    assert len(ask_export(app, "O2", [rec], None)) == 32
    with pytest.raises(UserError, match="no 督察 does"):
        ask_export(app, "D1", [rec], None)


# ---- 4. no formula in any download ----

HOSTILE = ['=HYPERLINK("http://evil/","点我")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "正常文字"]


def test_every_spreadsheet_stores_text_as_text(tmp_path):
    from ingestd.compliance.report_sheets import write_csv, write_xlsx
    from ingestd.compliance.report_tables import Table

    table = Table("人员", ["姓名", "案号", "数量", "比例"], [[h, h, -3, 0.5] for h in HOSTILE],
                  ["text", "text", "int", "rate"])
    write_xlsx([table], tmp_path / "r.xlsx")
    write_csv([table], tmp_path / "r.csv")
    ws = load_workbook(tmp_path / "r.xlsx").worksheets[0]
    cells = [cell for row in ws.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [ws.cell(row=i + 2, column=1).value for i in range(len(HOSTILE))] == HOSTILE
    assert ws["C2"].value == -3 and ws["C2"].data_type == "n"  # numbers stay numbers
    rows = list(csv.reader(io.StringIO((tmp_path / "r.csv").read_text(encoding="utf-8-sig"))))
    texts = [r[0] for r in rows[2:]] + [r[1] for r in rows[2:]]
    assert not [t for t in texts if t[:1] in ("=", "+", "-", "@")]
    assert [r[2] for r in rows[2:]] == ["-3"] * len(HOSTILE)


def test_a_case_number_an_officer_typed_is_text_in_the_recordings_csv(recorded):
    app, ids = recorded
    o1 = client(app)
    log_in(o1, "O1")
    rec = ids["CAM-1"]
    assert o1.post(f"/recordings/{rec}/evidence", data={"proves": "经过", "case_no": HOSTILE[0],
                                                       "csrf_token": csrf_of(o1)}).status_code == 303
    rows = list(csv.reader(io.StringIO(o1.get("/recordings.csv").content.decode("utf-8-sig"))))
    case_column = rows[0].index("case_no")
    assert [r[case_column] for r in rows[1:] if r[0] == rec] == ["'" + HOSTILE[0]]


# ---- 5. the current password is throttled like a log-in ----

def test_guessing_the_current_password_ends_the_session(web):
    app, _clock = web
    c = client(app)
    log_in(c, "O1")
    token = csrf_of(c, "/password")
    outcomes = [c.post("/password", data={"current_password": f"guess {n}", "new_password": "new pass 12345",
                                         "repeat_password": "new pass 12345", "csrf_token": token}).status_code
                for n in range(app.settings.web.login_failures_per_account + 2)]
    limit = app.settings.web.login_failures_per_account
    assert outcomes[:limit - 1] == [400] * (limit - 1) and outcomes[limit - 1] == 303
    assert c.get("/").status_code == 303  # signed out: back to the log-in
    assert len(_entries(app, "web.password_check_failed")) == limit
    assert [d["reason"] for _a, d in _entries(app, "web.session_ended")] == ["too many wrong current passwords"]
    with app.db.reading() as s:
        assert s.execute(select(func.count()).select_from(WebSession)
                         .where(WebSession.revoked_at.is_(None))).scalar() == 0


def test_a_pin_session_never_reaches_the_password(web):
    app, _clock = web
    set_pin(app, "O1", "4826", "admin")
    app.settings.web.kiosk_addresses.append("testclient")
    c = client(app)
    c.get("/dock/signin")
    assert c.post("/dock/signin", data={"badge": "O1", "pin": "4826",
                                        "csrf_token": c.cookies.get("ingestd_login_csrf")}).status_code == 303
    assert c.get("/password").status_code == 403
    assert c.post("/password", data={"current_password": "x", "csrf_token": "x"}).status_code == 403


# ---- 6. a PIN reaches the officer's own recordings only ----

@pytest.mark.parametrize("badge", ["O1", "H1", "L1"])
def test_a_pin_session_sees_only_the_officers_own_recordings(recorded, badge):
    app, ids = recorded
    mine, other_team = ids["CAM-1"], ids["CAM-2"]
    with app.changes.begin("admin") as ch:  # H1 and L1 own CAM-1's recording for this test's rows
        from ingestd.db.models import RecordingCompliance

        row = ch.session.get(RecordingCompliance, mine)
        row.officer_badge = badge
        ch.record("test.owner", "recording", mine)
    add_user(app, "O3", "一中队员", "officer", "一中队", None, None, "admin", PASSWORD)
    set_pin(app, badge, "4826", "admin")
    app.settings.web.kiosk_addresses.append("testclient")
    c = client(app)
    c.get("/dock/signin")
    c.post("/dock/signin", data={"badge": badge, "pin": "4826", "csrf_token": c.cookies.get("ingestd_login_csrf")})
    assert c.get(f"/recordings/{mine}").status_code == 200
    assert c.get(f"/recordings/{mine}/proxy.mp4").status_code == 200
    assert c.get(f"/recordings/{other_team}").status_code == 403
    assert c.get(f"/recordings/{other_team}/proxy.mp4").status_code == 403
    rows = list(csv.reader(io.StringIO(c.get("/recordings.csv").content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [mine]
    assert other_team not in c.get("/recordings").text
    # A teammate's recording, with the teammate's PIN session: not even the team's.
    with app.changes.begin("admin") as ch:
        ch.session.get(RecordingCompliance, mine).officer_badge = "O3"
        ch.record("test.owner", "recording", mine)
    assert c.get(f"/recordings/{mine}").status_code == 403
    assert {d["why"] for _a, d in _entries(app, "access.refused")} == {"pin"}


# ---- 7. the smaller holes ----

def test_holds_are_listed_by_team(recorded):
    from ingestd.evidence.holds import place_hold

    app, ids = recorded
    _second_team(app)
    place_hold(app, ids["CAM-1"], None, "一中队的复议", "H1")
    place_hold(app, ids["CAM-2"], None, "二中队的复议", "H2")
    h2 = client(app)
    log_in(h2, "H2")
    page = h2.get("/holds").text
    assert "二中队的复议" in page and "一中队的复议" not in page
    legal = client(app)
    log_in(legal, "L1")
    page = legal.get("/holds").text
    assert "二中队的复议" in page and "一中队的复议" in page


def test_a_log_out_without_its_form_token_is_refused_and_the_session_lives(web):
    app, _clock = web
    c = client(app)
    log_in(c, "O1")
    assert c.post("/logout", data={}).status_code == 403
    assert c.get("/").status_code == 200
    assert c.post("/logout", data={"csrf_token": csrf_of(c)}).status_code == 303
    assert c.get("/").status_code == 303


def test_cookies_are_secure_when_configured_or_a_trusted_proxy_says_https(tmp_path):
    import httpx

    from ingestd.clock import FixedClock
    from ingestd.web.server import WebServer
    from tests.conftest import make_dock

    dock = make_dock(tmp_path)
    app = dock.app(FixedClock(START))
    try:
        add_user(app, "O1", "officer", "officer", "一中队", None, None, "admin", PASSWORD)
        cases = (([], False, "https", False), (["127.0.0.1"], False, "https", True),
                 (["127.0.0.1"], False, "http", False), ([], True, None, True))
        for trusted, secure_cookies, forwarded, expect in cases:
            app.settings.web.trusted_proxies = trusted
            app.settings.web.secure_cookies = secure_cookies
            port = _free_port()
            server = WebServer(app, "127.0.0.1", port)
            assert server.start()
            try:
                headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as h:
                    # The proxy's client speaks HTTPS: a Secure cookie comes back, as it would there.
                    token = h.get("/login").headers["set-cookie"].split(";")[0].split("=", 1)[1]
                    r = h.post("/login", data={"badge": "O1", "password": PASSWORD, "next": "/", "csrf_token": token},
                               headers={"Cookie": f"ingestd_login_csrf={token}"})
                assert r.status_code == 303
                cookie = [v for k, v in r.headers.multi_items() if k == "set-cookie" and "ingestd_session" in v][0]
                assert ("; secure" in cookie.lower()) is expect, (trusted, secure_cookies, forwarded, cookie)
            finally:
                server.stop()
    finally:
        app.close()


def test_failures_from_one_address_never_lock_the_owner_out_of_a_known_one(web):
    from ingestd.web.sessions import LoginOutcome, sign_in, tried_accounts

    app, clock = web
    assert sign_in(app, "A1", PASSWORD, "10.1.1.5").outcome is LoginOutcome.OK  # the admin's desk
    for _ in range(app.settings.web.login_failures_per_account + 3):
        outcome = sign_in(app, "A1", "wrong guess!", "10.9.9.9").outcome
    assert outcome is LoginOutcome.THROTTLED
    assert sign_in(app, "A1", PASSWORD, "10.9.9.9").outcome is LoginOutcome.THROTTLED
    assert sign_in(app, "A1", PASSWORD, "10.7.7.7").outcome is LoginOutcome.THROTTLED  # an unknown address waits
    assert sign_in(app, "A1", PASSWORD, "10.1.1.5").outcome is LoginOutcome.THROTTLED  # right after a failure …
    clock.advance(timedelta(seconds=app.settings.web.login_known_address_delay_s + 1))
    assert sign_in(app, "A1", PASSWORD, "10.1.1.5").outcome is LoginOutcome.OK  # … then the owner is in
    assert sign_in(app, "A1", PASSWORD, "10.9.9.9").outcome is LoginOutcome.THROTTLED  # the attacker still waits
    # Each further failure from the attacking address doubles its wait.
    clock.advance(timedelta(minutes=1))
    assert sign_in(app, "A1", "again wrong", "10.9.9.9").outcome in (LoginOutcome.REFUSED, LoginOutcome.THROTTLED)
    assert tried_accounts(app)["A1"][0] >= app.settings.web.login_failures_per_account
    c = client(app)
    log_in(c, "D1")
    page = c.get("/users").text
    assert "A1" in page and "/audit?action=web." in page


@pytest.mark.parametrize("url,ok", [("https://oapi.dingtalk.com/robot/send", True), ("http://127.0.0.1:9/hook", True),
                                    ("http://[::1]:9/hook", True), ("http://localhost/x", True),
                                    ("http://10.0.0.5/hook", False), ("ftp://example.org/x", False),
                                    ("file:///etc/passwd", False), ("gopher://x", False), ("https:///nohost", False)])
def test_alert_addresses_are_https_or_loopback(tmp_path, url, ok):
    env = {"INGESTD_DATA_DIR": str(tmp_path / "data")}
    config = tmp_path / "ingestd.toml"
    config.write_text(f'[[alerts.channels]]\nkind = "webhook"\nname = "ops"\nurl = "{url}"\n', encoding="utf-8")
    got = subprocess.run([sys.executable, "-m", "ingestd", "--config", str(config), "rules"], env={**env, "PATH": ""},
                         capture_output=True, text=True)
    if ok:
        assert "alert address" not in got.stderr, got.stderr
    else:
        assert got.returncode == 2 and "alert address must be https" in got.stderr
        assert len(got.stderr.strip().splitlines()) == 1


def cli_output(app, *args: str, check: int = 0) -> str:
    """What `ingestd ARGS` printed (stdout, or stderr when it is expected to fail with `check`)."""
    import os

    env = {**{k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")},
           "INGESTD_DATA_DIR": str(app.settings.data_dir), "INGESTD_DOCK_NAME": "test-dock",
           "INGESTD_LOG_LEVEL": "WARNING"}
    got = subprocess.run([sys.executable, "-m", "ingestd", *args], env=env, capture_output=True, text=True)
    assert got.returncode == check, got.stderr
    return got.stdout if check == 0 else got.stderr


def test_the_audit_trail_from_the_command_line(recorded):
    app, ids = recorded
    rec = ids["CAM-1"]
    c = client(app)
    log_in(c, "L1")
    c.get(f"/recordings/{rec}")
    c.get(f"/recordings/{rec}/poster.jpg")
    listed = json.loads(cli_output(app, "audit", "list", "--subject", rec, "--action", "recording.", "--json"))
    assert [(e["actor"], e["action"]) for e in listed][:2] == [("L1", "recording.played"), ("L1", "recording.viewed")]
    assert listed[0]["detail"]["file"] == "poster"
    by_person = json.loads(cli_output(app, "audit", "list", "--person", "L1", "--from", "2026-11-24", "--to",
                                      "2026-11-24", "--json"))
    assert by_person and {e["actor"] for e in by_person} == {"L1"}
    assert json.loads(cli_output(app, "audit", "list", "--person", "L1", "--to", "2026-11-01", "--json")) == []
    text = cli_output(app, "audit", "list", "--subject", rec, "--limit", "1")
    assert len(text.strip().splitlines()) == 1 and "recording.played" in text
    bad = cli_output(app, "audit", "list", "--from", "yesterday", check=2)
    assert "invalid date for --from" in bad


@pytest.mark.postgres
def test_one_viewing_is_one_entry_when_requests_race_on_postgresql(tmp_path):
    """A player opens several Range requests at once, and docks share the database: the lock on
    the viewing keeps it to one entry (the SQLite tests above take turns anyway)."""
    from concurrent.futures import ThreadPoolExecutor

    from ingestd.clock import FixedClock
    from ingestd.web.pages_recordings import played
    from ingestd.web.sessions import sign_in
    from tests.conftest import make_dock, pg_database

    with pg_database() as url:
        app = make_dock(tmp_path, INGESTD_DATABASE_URL=url).app(FixedClock(START))
        try:
            add_user(app, "O1", "officer", "officer", "一中队", None, None, "admin", PASSWORD)
            viewer = sign_in(app, "O1", PASSWORD, "127.0.0.1").viewer
            rec = "ab" * 32
            with ThreadPoolExecutor(6) as pool:
                list(pool.map(lambda _n: played(app, viewer, rec, "proxy"), range(24)))
            assert [d["file"] for _a, d in _entries(app, "recording.played", rec)] == ["proxy"]
        finally:
            app.close()


def test_failures_elsewhere_never_end_the_owners_session(web):
    """Someone failing to log in to the account from another address does not end the owner's
    session, nor does the owner's one wrong current password while that goes on."""
    from ingestd.web.sessions import sign_in

    app, _clock = web
    c = client(app)
    log_in(c, "O1")
    for _ in range(app.settings.web.login_failures_per_account + 3):
        sign_in(app, "O1", "a wrong guess", "10.9.9.9")
    token = csrf_of(c, "/password")
    wrong = c.post("/password", data={"current_password": "not it", "new_password": "new pass 12345",
                                      "repeat_password": "new pass 12345", "csrf_token": token})
    assert wrong.status_code == 400 and c.get("/").status_code == 200
    right = c.post("/password", data={"current_password": PASSWORD, "new_password": "new pass 12345",
                                      "repeat_password": "new pass 12345", "csrf_token": token})
    assert right.status_code == 303 and c.get("/").status_code == 200
