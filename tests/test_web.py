"""The web console over HTTP (FastAPI's TestClient on the real app, real SQLite): every route
for every role, log-in and its throttling, the form tokens, session expiry on the injected
clock, the security headers, path tricks on the file routes, and the audit entries."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ingestd.db.models import AuditEvent
from ingestd.users import add_user
from ingestd.web.access import ALLOWED, Page
from tests.web_fixtures import PASSWORD, PEOPLE, cli, client, csrf_of, log_in, officers

# Every page route, and what it serves (the table in access.py decides who may open it).
ROUTES = {"/": Page.DASHBOARD, "/dock": Page.DOCK, "/dock/panel": Page.DOCK, "/users": Page.USERS,
          "/audit": Page.AUDIT, "/recordings": Page.RECORDINGS, "/recordings.csv": Page.RECORDINGS, "/gaps": Page.GAPS,
          "/cases": Page.CASES, "/access": Page.ACCESS, "/holds": Page.HOLDS, "/retention": Page.RETENTION,
          "/incidents": Page.INCIDENTS, "/report": Page.REPORT, "/devices": Page.DEVICES, "/roster": Page.ROSTER,
          "/alerts": Page.ALERTS, "/trips": Page.TRIPS}


@pytest.mark.parametrize("role", list(PEOPLE))
def test_every_route_for_every_role(web, role):
    app, _clock = web
    c = client(app)
    assert log_in(c, PEOPLE[role]).status_code == 303
    for path, page in ROUTES.items():
        got = c.get(path).status_code
        assert got == (200 if role in ALLOWED[page] else 403), (role, path, got)
    # Changing users: the admin only; the auditor reads the page but may not post to it.
    token = csrf_of(c, "/")
    added = c.post("/users", data={"badge": f"N-{role}", "name": "新人", "role": "officer", "csrf_token": token})
    assert added.status_code == (200 if role == "admin" else 403)


def test_without_a_session_pages_send_to_the_log_in_and_posts_are_refused(web):
    app, _ = web
    c = client(app)
    for path in ROUTES:
        r = c.get(path)
        assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    assert c.post("/users", data={"badge": "X", "name": "X", "role": "admin"}).status_code == 401
    assert c.get("/dock/events", headers={"accept": "text/event-stream"}).status_code == 401
    assert c.get("/healthz").json()["ok"] is True  # no log-in needed


def test_log_in_goes_back_where_it_was_asked_and_never_to_another_host(web):
    app, _ = web
    c = client(app)
    assert log_in(c, "A1", next_path="/audit?person=A1").headers["location"] == "/audit?person=A1"
    for evil in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        c2 = client(app)
        assert log_in(c2, "A1", next_path=evil).headers["location"] == "/"


def test_form_tokens_are_checked_on_every_post(web):
    app, _ = web
    c = client(app)
    c.get("/login")
    no_token = c.post("/login", data={"badge": "A1", "password": PASSWORD})
    assert no_token.status_code == 403 and "ingestd_session" not in no_token.headers.get("set-cookie", "")
    assert log_in(c, "A1").status_code == 303
    assert c.post("/users", data={"badge": "X1", "name": "X", "role": "officer"}).status_code == 403
    other = client(app)
    log_in(other, "A1")
    foreign = csrf_of(other)  # a token of another session of the same person
    assert c.post("/users", data={"badge": "X1", "name": "X", "role": "officer", "csrf_token": foreign}).status_code == 403
    assert c.post("/users", data={"badge": "X1", "name": "X", "role": "officer",
                                  "csrf_token": csrf_of(c)}).status_code == 200


def test_sessions_end_when_idle_and_at_their_absolute_limit(web):
    app, clock = web
    c = client(app)
    log_in(c, "H1")
    clock.advance(timedelta(minutes=29))
    assert c.get("/").status_code == 200  # used: the idle time starts again
    clock.advance(timedelta(minutes=29))
    assert c.get("/").status_code == 200
    clock.advance(timedelta(minutes=31))
    assert c.get("/").status_code == 303  # idle for more than 30 minutes
    c = client(app)
    log_in(c, "H1")
    for _ in range(12 * 3):
        clock.advance(timedelta(minutes=20))
        if c.get("/").status_code != 200:
            break
    assert c.get("/").status_code == 303
    assert clock.at - datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc) >= timedelta(hours=12)


def test_a_forged_or_revoked_cookie_signs_nobody_in(web):
    app, _ = web
    c = client(app)
    log_in(c, "L1")
    cookie = c.cookies.get("ingestd_session")
    token, stamp, mac = cookie.split(".")
    other = ("y" if token[0] == "x" else "x") + token[1:]  # another token (never the same by chance)
    for forged in (f"{token}.{int(stamp) + 600}.{mac}", f"{other}.{stamp}.{mac}", "garbage"):
        c2 = client(app)
        c2.cookies.set("ingestd_session", forged)
        assert c2.get("/").status_code == 303
    assert c.post("/logout", data={"csrf_token": csrf_of(c)}).status_code == 303
    c3 = client(app)
    c3.cookies.set("ingestd_session", cookie)  # the cookie from before the log-out
    assert c3.get("/").status_code == 303


def test_log_in_is_throttled_per_account_and_per_address(web):
    app, clock = web
    c = client(app)
    for _ in range(5):
        assert log_in(c, "O1", "wrong password!").status_code == 401
    assert log_in(c, "O1").status_code == 429  # even the right password, until the window passes
    assert log_in(c, "H1").status_code == 303  # another account from the same address: still fine
    clock.advance(timedelta(minutes=16))
    assert log_in(c, "O1").status_code == 303
    for n in range(20):
        log_in(c, f"nobody{n}", "wrong password!")
    assert log_in(c, "L1").status_code == 429  # this address has failed too often
    with app.db.reading() as s:
        actions = [(a, subject) for a, subject in s.execute(select(AuditEvent.action, AuditEvent.subject_id))]
    assert actions.count(("web.login_failed", "O1")) == 5
    assert ("web.login", "H1") in actions


def test_a_temporary_password_must_be_changed_first(web):
    app, _ = web
    add_user(app, "T1", "新警员", "officer", "一中队", None, None, "admin", "temporary pass 1", temporary=True)
    c = client(app)
    r = log_in(c, "T1", "temporary pass 1")
    assert r.headers["location"] == "/password"
    assert c.get("/").headers["location"] == "/password"
    token = csrf_of(c, "/password")
    bad = c.post("/password", data={"current_password": "temporary pass 1", "new_password": "short",
                                    "repeat_password": "short", "csrf_token": token})
    assert bad.status_code == 400 and "too short" in bad.text
    ok = c.post("/password", data={"current_password": "temporary pass 1", "new_password": "my own pass 77",
                                   "repeat_password": "my own pass 77", "csrf_token": token})
    assert ok.status_code == 303 and c.get("/").status_code == 200
    assert log_in(client(app), "T1", "temporary pass 1").status_code == 401
    assert log_in(client(app), "T1", "my own pass 77").status_code == 303


def test_disabling_a_user_ends_their_sessions(web):
    app, _ = web
    officer = client(app)
    log_in(officer, "O1")
    admin = client(app)
    log_in(admin, "A1")
    assert admin.post("/users/O1/disable", data={"csrf_token": csrf_of(admin)}).status_code == 303
    assert officer.get("/").status_code == 303
    assert log_in(client(app), "O1").status_code == 401


def test_security_headers_on_every_answer(web):
    app, _ = web
    c = client(app)
    log_in(c, "A1")
    for path in ("/", "/login", "/healthz", "/static/console.css", "/no-such-page", "/users"):
        h = c.get(path).headers
        assert "default-src 'self'" in h["content-security-policy"] and "unsafe-inline" not in h["content-security-policy"]
        assert h["x-frame-options"] == "DENY" and h["referrer-policy"] == "same-origin"
        assert h["x-content-type-options"] == "nosniff"
    cookie = c.cookies.jar
    assert any(ck.name == "ingestd_session" and ck.has_nonstandard_attr("HttpOnly") for ck in cookie)
    set_cookie = log_in(client(app), "A1").headers["set-cookie"]
    assert "HttpOnly" in set_cookie and "SameSite=strict" in set_cookie.replace("Strict", "strict")


def test_path_tricks_on_static_files(web):
    app, _ = web
    c = client(app)
    for path in ("/static/../ingestd.toml", "/static/%2e%2e/%2e%2e/ingestd.toml", "/static/..%2fserver.py",
                 "/static/%2e%2e%2fsessions.py", "/static//etc/passwd"):
        r = c.get(path)
        assert r.status_code in (403, 404), path
        assert "[web]" not in r.text and "def " not in r.text


def test_no_page_loads_anything_from_another_host(web):
    app, _ = web
    c = client(app)
    log_in(c, "A1")
    for path in ("/", "/dock", "/users", "/audit", "/login"):
        html = c.get(path).text
        assert not re.search(r'(src|href)="(https?:)?//', html), path
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path  # no inline script
        assert not re.search(r"\son[a-z]+=", html), path  # no inline handlers


def test_the_audit_trail_filters_and_pages(web):
    app, _ = web
    c = client(app)
    log_in(c, "D1")
    html = c.get("/audit", params={"person": "admin", "action": "user."}).text.split('<table class="audit">')[1]
    assert "添加用户" in html and "登录" not in html  # user.added, and no web.login
    assert c.get("/audit", params={"since": "not-a-date"}).status_code == 400


def test_recordings_are_seen_by_team_and_another_teams_need_an_approved_request(recorded):
    from ingestd.evidence.access import decide, request_access

    app, ids = recorded
    mine, theirs = ids["CAM-1"], ids["CAM-2"]
    o1 = client(app)
    log_in(o1, "O1")
    listed = o1.get("/recordings").text
    assert mine in listed and theirs not in listed
    assert o1.get(f"/recordings/{mine}").status_code == 200
    o2 = client(app)
    log_in(o2, "O2")
    for path in (f"/recordings/{mine}", f"/recordings/{mine}/proxy.mp4", f"/recordings/{mine}/contact.jpg"):
        assert o2.get(path).status_code == 403, path
    with app.db.reading() as s:
        refused = s.execute(select(AuditEvent.actor).where(AuditEvent.action == "access.refused",
                                                           AuditEvent.subject_id == mine)).scalars().all()
    assert refused == ["O2", "O2", "O2"]
    req = request_access(app, mine, "view", "复核案件", "O2")
    decide(app, req["id"], "H1", True, hours=2)
    assert o2.get(f"/recordings/{mine}").status_code == 200
    with app.db.reading() as s:
        viewed = s.execute(select(AuditEvent.actor).where(AuditEvent.action == "recording.viewed",
                                                          AuditEvent.subject_id == mine)).scalars().all()
    assert viewed == ["O1", "O2"]
    d1 = client(app)
    log_in(d1, "D1")  # 督察 reads unit-wide
    assert theirs in d1.get("/recordings").text and mine in d1.get("/recordings").text


def test_the_proxy_answers_range_requests_and_no_path_trick_reaches_a_file(recorded):
    app, ids = recorded
    rec = ids["CAM-1"]
    c = client(app)
    log_in(c, "O1")
    whole = c.get(f"/recordings/{rec}/proxy.mp4")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    part = c.get(f"/recordings/{rec}/proxy.mp4", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == whole.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(whole.content)}"
    for path in (f"/recordings/{rec}/..%2f..%2fingestd.toml", f"/recordings/{rec}/%2e%2e", "/recordings/..%2fkeys",
                 f"/recordings/{rec[:-1]}x/proxy.mp4", f"/recordings/{rec}/../{ids['CAM-2']}/proxy.mp4",
                 f"/recordings/{rec}/inventory.json"):
        r = c.get(path)
        assert r.status_code in (403, 404), (path, r.status_code)
        assert b"PRIVATE KEY" not in r.content and b"[web]" not in r.content


def test_an_officer_explains_a_gap_by_voice_and_others_cannot(web, tmp_path):
    from ingestd.db.models import Gap
    from ingestd.media.synthetic import ClipSpec, make_clip

    app, clock = web
    officers(app, clock)
    cam = tmp_path / "CAM-G"
    make_clip(cam / "DCIM" / "20261120_083000.mp4", ClipSpec(seconds=2, tone_hz=300))
    make_clip(cam / "DCIM" / "20261120_083500.mp4", ClipSpec(seconds=6, tone_from_s=3, tone_hz=500))
    cli(app, "ingest", str(cam), "--device", "CAM-G")
    cli(app, "devices", "owner", "CAM-G", "O1", "--by", "admin")
    cli(app, "jobs", "work", "--until-idle", "--derivatives")
    with app.db.reading() as s:
        gap = s.execute(select(Gap).where(Gap.status == "open")).scalar_one()

    o2 = client(app)
    log_in(o2, "O2")
    assert f"/gaps/{gap.id}" not in o2.get("/gaps").text
    assert o2.get(f"/gaps/{gap.id}").status_code == 404
    auditor = client(app)
    log_in(auditor, "D1")
    assert f"/gaps/{gap.id}" in auditor.get("/gaps").text
    assert auditor.post(f"/gaps/{gap.id}", data={"reason": "low_battery", "how": "written", "note": "x",
                                                 "csrf_token": csrf_of(auditor)}).status_code == 403

    o1 = client(app)
    log_in(o1, "O1")
    page = o1.get(f"/gaps/{gap.id}")
    assert page.status_code == 200 and f"/recordings/{gap.after_recording_id}/proxy.mp4" in page.text
    token = csrf_of(o1, f"/gaps/{gap.id}")
    outside = o1.post(f"/gaps/{gap.id}", data={"reason": "low_battery", "how": "voice", "voice_at": "60",
                                               "csrf_token": token})
    assert outside.status_code == 400 and "不在后续视频内" in outside.text  # the catalogue's words, in Chinese
    unmarked = o1.post(f"/gaps/{gap.id}", data={"reason": "low_battery", "how": "voice", "voice_at": "",
                                                "csrf_token": token})
    assert unmarked.status_code == 400 and "未标记说明的位置" in unmarked.text
    done = o1.post(f"/gaps/{gap.id}", data={"reason": "low_battery", "how": "voice", "voice_at": "3.2",
                                            "csrf_token": token})
    assert done.status_code == 303
    with app.db.reading() as s:
        row = s.get(Gap, gap.id)
        assert (row.status, row.reason, row.explanation, row.voice_at_s, row.explained_by) == \
            ("explained", "low_battery", "voice", 3.2, "O1")
    again = o1.post(f"/gaps/{gap.id}", data={"reason": "other", "how": "written", "note": "改",
                                             "csrf_token": token})
    assert again.status_code == 400 and "说明不可更改" in again.text


def test_badge_and_pin_only_at_the_dock_and_only_for_explaining(web):
    from ingestd.users import set_pin

    app, _ = web
    set_pin(app, "O1", "4826", "admin")
    clock = web[1]
    elsewhere = client(app)
    assert elsewhere.get("/dock/signin").status_code == 403  # not the dock's own screen
    app.settings.web.kiosk_addresses.append("testclient")  # TestClient's address: now it is
    c = client(app)
    c.get("/dock/signin")
    wrong = c.post("/dock/signin", data={"badge": "O1", "pin": "1111",
                                         "csrf_token": c.cookies.get("ingestd_login_csrf")})
    assert wrong.status_code == 401
    ok = c.post("/dock/signin", data={"badge": "O1", "pin": "4826",
                                      "csrf_token": c.cookies.get("ingestd_login_csrf")})
    assert ok.status_code == 303 and ok.headers["location"] == "/dock/explain"
    assert c.get("/gaps").status_code == 200 and c.get("/dock/explain").status_code == 200
    assert c.get("/").status_code == 403 and c.get("/audit").status_code == 403
    assert log_in(client(app), "O1", "4826").status_code == 401  # a PIN is not a password
    # Left signed in at the shared screen: gone on the server after 10 minutes untouched, where a
    # password session at a desk lasts its half hour.
    desk = client(app)
    log_in(desk, "A1")
    clock.at += timedelta(minutes=10, seconds=30)
    assert c.get("/dock/explain").status_code != 200
    assert desk.get("/").status_code == 200


def _docked(app, clock, serial: str, session: str, status: str, minutes_ago: float, dock: str | None = None,
            **counts) -> None:
    from ingestd.db.models import Device, DockSession

    now = clock.now()
    with app.changes.begin("test") as ch:
        device = ch.session.execute(select(Device).where(Device.serial == serial)).scalar_one_or_none()
        if device is None:
            device = Device(serial=serial, profile="generic", first_seen=now, last_seen=now)
            ch.session.add(device)
            ch.session.flush()
        started = now - timedelta(minutes=minutes_ago)
        ended = None if status == "running" else started + timedelta(seconds=30)
        ch.session.add(DockSession(id=session, dock=dock or app.settings.dock_name, device_id=device.id,
                                   source_path=f"/media/{serial}", profile="generic", started_at=started,
                                   finished_at=ended, released_at=ended if status == "released" else None,
                                   status=status, **counts))
        ch.record("dock.started", "dock_session", session, device=serial)


def test_the_dock_screen_shows_each_camera_once_newest_first_with_its_bytes_and_time_left(web):
    """A camera docked twice shows its latest dock only; the newest camera comes first; while
    copying, the bytes read so far (during a file, not only between files), the rate and the
    time left; another dock's cameras are not on this dock's screen."""
    from ingestd.ingest import progress

    app, clock = web
    app.settings.web.kiosk_addresses.append("testclient")
    _docked(app, clock, "CAM-A", "a1", "released", 9)
    _docked(app, clock, "CAM-B", "b1", "released", 5, files_damaged=1)
    _docked(app, clock, "CAM-C", "c1", "released", 4, dock="another-dock")
    _docked(app, clock, "CAM-A", "a2", "running", 100 / 60, bytes_total=597_000_000, files_total=1)
    progress.begin("a2")
    try:
        progress.read("a2", 300_000_000)  # half way through one 597 MB file
        page = client(app).get("/dock")
        assert page.status_code == 200 and "<nav>" not in page.text  # the kiosk: no log-in, no menu
        assert re.findall(r'data-session="(\w+)"', page.text) == ["a2", "b1"]
        assert "已复制 300.0 / 597.0 MB" in page.text and "3.0 MB/s" in page.text
        assert "剩余时间 1:39" in page.text  # 297 MB at 3 MB/s
        assert "1 个文件损坏" in page.text and 'href="/dock/signin?camera=CAM-B"' in page.text
    finally:
        progress.end("a2")
    # Another process (no count of its own) shows the committed bytes: never 0.0 MB/s with 0:00 left.
    assert "0.0 MB/s" not in client(app).get("/dock/panel").text


def test_the_kiosk_answers_without_a_session_only_at_the_dock_and_ends_an_officer_s_session_there(web):
    from ingestd.users import set_pin

    app, clock = web
    elsewhere = client(app)
    assert elsewhere.get("/dock").status_code == 303  # to the log-in
    assert elsewhere.get("/dock/events", headers={"accept": "text/event-stream"}).status_code == 401
    app.settings.web.kiosk_addresses.append("testclient")
    set_pin(app, "O1", "4826", "admin")
    kiosk = client(app)
    clock.advance(timedelta(hours=30))  # no session to expire
    assert kiosk.get("/dock/panel").status_code == 200
    # Through a reverse proxy on the dock that is not trusted, every browser would seem local.
    assert kiosk.get("/dock", headers={"x-forwarded-for": "10.1.2.3"}).status_code == 303
    kiosk.get("/dock/signin")
    signed = kiosk.post("/dock/signin", data={"badge": "O1", "pin": "4826",
                                              "csrf_token": kiosk.cookies.get("ingestd_login_csrf")})
    assert signed.headers["location"] == "/dock/explain"
    assert kiosk.get("/dock/explain").status_code == 200
    assert kiosk.get("/dock").status_code == 200  # back at the dock screen (done, or left idle) ...
    assert kiosk.get("/dock/explain").status_code == 303  # ... the officer's session has ended
    assert _audit(app, "web.logout")


def _audit(app, action: str) -> list:
    with app.db.reading() as s:
        return s.execute(select(AuditEvent.subject_id).where(AuditEvent.action == action)).scalars().all()
