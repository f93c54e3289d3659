"""The console's working pages over HTTP (real app, real SQLite, real store): who may change
what on every page, 证明对象 and a case exported as a background job down to its ISO, an
access request approved by the team head, the report in every format, the roster upload
with every problem shown, the recordings list's filters and CSV, damaged-file 说明, holds
and the four-eyes deletion."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from ingestd.db.models import AuditEvent, Incident
from ingestd.users import Role, add_user
from ingestd.web.access import CHANGES, Page
from tests.web_fixtures import PASSWORD, PEOPLE, cli, client, csrf_of, log_in

# Every changing route, with a form that changes nothing (it is refused by the rules or
# names nothing): who may post is the table's to say, never the menu's.
CHANGE_ROUTES = {"/cases": Page.CASES, "/access": Page.ACCESS, "/access/999": Page.ACCESS, "/holds": Page.HOLDS,
                 "/holds/999/release": Page.HOLDS, "/retention/999": Page.RETENTION, "/incidents/999": Page.INCIDENTS,
                 "/devices/NO-SUCH-CAM/owner": Page.DEVICES, "/alerts/test": Page.ALERTS, "/roster": Page.ROSTER,
                 "/trips/012345/2026-11-20": Page.TRIPS,
                 "/users": Page.USERS}


def _audit(app, action: str) -> list[tuple[str, str]]:
    with app.db.reading() as s:
        return s.execute(select(AuditEvent.actor, AuditEvent.subject_id).where(AuditEvent.action == action)
                         .order_by(AuditEvent.seq)).all()


@pytest.mark.parametrize("role", list(PEOPLE))
def test_every_change_for_every_role(web, role):
    app, _clock = web
    c = client(app)
    log_in(c, PEOPLE[role])
    token = csrf_of(c)
    for path, page in CHANGE_ROUTES.items():
        got = c.post(path, data={"csrf_token": token}).status_code
        allowed = Role(role) in CHANGES[page]
        assert (got == 403) != allowed, (role, path, got)
        assert got < 500, (role, path, got)


def test_evidence_then_a_case_exported_in_the_background_and_its_iso_downloaded(recorded):
    app, ids = recorded
    rec = ids["CAM-1"]
    legal = client(app)
    log_in(legal, "L1")
    token = csrf_of(legal, f"/recordings/{rec}")
    saved = legal.post(f"/recordings/{rec}/evidence", data={"csrf_token": token, "proves": "当事人拒绝检查的经过",
                                                             "content": "双方对话", "case_no": "2026-行-017"})
    assert saved.status_code == 303
    page = legal.get(f"/recordings/{rec}").text
    assert "当事人拒绝检查的经过" in page and "2026-行-017" in page
    assert legal.post(f"/recordings/{rec}/evidence", data={"csrf_token": token, "proves": "  "}).status_code == 400
    auditor = client(app)
    log_in(auditor, "D1")  # 督察 reads everything and changes nothing
    assert auditor.post(f"/recordings/{rec}/evidence", data={"csrf_token": csrf_of(auditor), "proves": "x"}
                        ).status_code == 403

    case_page = legal.get("/cases/2026-行-017")
    assert case_page.status_code == 200 and "当事人拒绝检查的经过" in case_page.text
    asked = legal.post("/cases/2026-行-017/export", data={"csrf_token": token, "disc": "cd"})
    assert asked.status_code == 303 and asked.headers["location"].startswith("/exports/")
    export_page = asked.headers["location"]
    assert 'hx-trigger="every 2s"' in legal.get(export_page).text  # still to do: the page keeps asking
    cli(app, "jobs", "work", "--until-idle")
    done = legal.get(export_page).text
    iso = re.search(r'href="(/exports/[0-9a-f]{32}/[^"]+\.iso)"', done).group(1)
    assert "every 2s" not in done
    got = legal.get(iso)
    assert got.status_code == 200 and got.content[32769:32774] == b"CD001"  # an ISO 9660 volume descriptor
    officer = client(app)
    log_in(officer, "O1")
    assert officer.get(export_page).status_code == 403 and officer.get(iso).status_code == 403
    for trick in (export_page + "/..%2f..%2fkeys", export_page + "/inventory.json", "/exports/" + "0" * 32):
        assert legal.get(trick).status_code == 404, trick
    assert [a for a, _ in _audit(app, "export.downloaded")] == ["L1"]
    assert [a for a, _ in _audit(app, "export.written")] == ["L1"]


def test_an_access_request_approved_by_the_team_head_lets_the_requester_see(recorded):
    app, ids = recorded
    mine = ids["CAM-1"]  # O1's, 一中队
    o2 = client(app)
    log_in(o2, "O2")
    refused = o2.get(f"/recordings/{mine}")
    assert refused.status_code == 403 and 'action="/access"' in refused.text  # the page offers to ask
    token = csrf_of(o2, "/access")
    assert o2.post("/access", data={"csrf_token": token, "recording": mine, "action": "view",
                                    "purpose": "复核二中队案件"}).status_code == 303
    assert "复核二中队案件" in o2.get("/access").text
    request_id = re.search(r'action="/access/(\d+)"', client_page(app, "H1", "/access")).group(1)
    h1 = client(app)
    log_in(h1, "H1")
    assert h1.post(f"/access/{request_id}", data={"csrf_token": csrf_of(h1, "/access"), "decision": "approve",
                                                  "hours": "0"}).status_code == 400  # must last some time
    assert h1.post(f"/access/{request_id}", data={"csrf_token": csrf_of(h1, "/access"), "decision": "approve",
                                                  "hours": "2"}).status_code == 303
    assert o2.get(f"/recordings/{mine}").status_code == 200
    assert _audit(app, "access.approved")[0][0] == "H1"


def client_page(app, badge: str, path: str) -> str:
    c = client(app)
    log_in(c, badge)
    return c.get(path).text


@pytest.mark.parametrize("fmt,magic", [("html", b"<!doctype html"), ("pdf", b"%PDF"), ("xlsx", b"PK"),
                                       ("csv", "\ufeff".encode()), ("json", b"{")])
def test_the_report_downloads_in_every_format(recorded, fmt, magic):
    app, _ids = recorded
    c = client(app)
    log_in(c, "H1")
    page = c.get("/report", params={"start": "2026-11-01", "end": "2026-11-24"})
    assert page.status_code == 200 and 'id="list-late_upload"' in page.text
    assert '<option selected>二中队' not in c.get("/report", params={"team": "二中队"}).text
    got = c.get("/report/download", params={"fmt": fmt, "start": "2026-11-01", "end": "2026-11-24",
                                            "team": "二中队"})
    assert got.status_code == 200, got.text[:300]
    assert got.content[:len(magic)].lower() == magic.lower()
    assert "attachment" in got.headers["content-disposition"]
    if fmt == "json":
        body = json.loads(got.content)
        assert body["format"] == "ingestd-report/1" and body["team"] == "一中队"  # a team head's is the team's
    assert _audit(app, "report.downloaded")[-1][0] == "H1"


def test_the_report_refuses_bad_periods_and_formats_in_one_line(web):
    app, _ = web
    c = client(app)
    log_in(c, "L1")
    assert c.get("/report", params={"start": "2026-13-01"}).status_code == 400
    assert c.get("/report", params={"start": "2026-11-20", "end": "2026-11-01"}).status_code == 400
    assert c.get("/report/download", params={"fmt": "exe"}).status_code == 400
    assert c.get("/report").status_code == 200  # this month so far by default


ROSTER_HEADER = ["日期", "警号", "姓名", "执法证号", "执法队", "班次开始", "班次结束", "任务类型", "返回单位时间", "执法记录仪编号"]


def _roster(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([ROSTER_HEADER, *rows])
    return out.getvalue().encode("utf-8-sig")


def test_the_roster_upload_shows_every_problem_and_imports_nothing_from_a_bad_file(web):
    app, _ = web
    c = client(app)
    log_in(c, "A1")
    token = csrf_of(c, "/roster")
    bad = _roster([["2026-11-20", "O1", "甲", "", "一中队", "08:00", "18:00", "常规", "", "CAM-1"],
                   ["2026-13-20", "O2", "乙", "", "二中队", "08:00", "18:00", "常规", "", "CAM-2"],
                   ["2026-11-20", "O3", "丙", "", "二中队", "8点", "18:00", "常规", "", "CAM-3"]])
    got = c.post("/roster", data={"csrf_token": token}, files={"file": ("排班.csv", bad, "text/csv")})
    assert got.status_code == 400
    problems = re.findall(r"<li>(.*?)</li>", got.text)
    # In the console's language, row by row: no "row 3, column …" in a Chinese page.
    assert problems == ["第 3 行「日期」列：「2026-13-20」不是日期", "第 4 行「班次开始」列：「8点」不是时间"]
    assert "排班表 排班.csv：第 3 行「日期」列：「2026-13-20」不是日期（另有 1 处错误）；未导入任何内容" in got.text
    with app.db.reading() as s:
        from ingestd.db.models import Shift

        assert s.execute(select(Shift)).first() is None
    good = _roster([["2026-11-20", "O1", "甲", "", "一中队", "08:00", "18:00", "常规", "", "CAM-1"]])
    got = c.post("/roster", data={"csrf_token": token}, files={"file": ("排班.csv", good, "text/csv")})
    assert got.status_code == 200 and "2026-11-20" in got.text
    exe = c.post("/roster", data={"csrf_token": token}, files={"file": ("roster.exe", b"MZ", "application/octet-stream")})
    assert exe.status_code == 400 and "排班表 roster.exe：不支持的文件类型 .exe（请用 .csv 或 .xlsx）" in exe.text


def test_the_recordings_list_filters_and_its_csv_cannot_run_formulas(recorded):
    app, ids = recorded
    c = client(app)
    log_in(c, "L1")
    assert ids["CAM-2"] not in c.get("/recordings", params={"device": "CAM-1"}).text
    assert c.get("/recordings", params={"open_gaps": "1"}).status_code == 200
    assert c.get("/recordings", params={"since": "yesterday"}).status_code == 400
    got = c.get("/recordings.csv", params={"device": "CAM-1"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0][0] == "id" and [r[0] for r in rows[1:]] == [ids["CAM-1"]]
    from ingestd.sheets import csv_text

    assert csv_text("=HYPERLINK(\"x\")").startswith("'") and csv_text("正常.mp4") == "正常.mp4"
    assert _audit(app, "recordings.downloaded")[0][0] == "L1"
    o2 = client(app)
    log_in(o2, "O2")  # the CSV is the list the person may see, not more
    rows = list(csv.reader(io.StringIO(o2.get("/recordings.csv").content.decode("utf-8-sig"))))
    assert [r[0] for r in rows[1:]] == [ids["CAM-2"]]


def test_the_recording_page_shows_the_activity_around_it_and_serves_hls_files_only_by_manifest(recorded):
    app, ids = recorded
    rec = ids["CAM-1"]
    c = client(app)
    log_in(c, "O1")
    page = c.get(f"/recordings/{rec}").text
    assert "制作方法" in page and 'class="timeline"' in page
    playlist = c.get(f"/recordings/{rec}/hls/index.m3u8")
    assert playlist.status_code == 200 and playlist.text.startswith("#EXTM3U")
    segment = next(line for line in playlist.text.splitlines() if line and not line.startswith("#"))
    assert c.get(f"/recordings/{rec}/hls/{segment}").status_code == 200
    for name in ("manifest.json", "..%2fproxy%2fproxy.mp4", "index.m3u8.bak"):
        assert c.get(f"/recordings/{rec}/hls/{name}").status_code == 404, name
    o2 = client(app)
    log_in(o2, "O2")
    assert o2.get(f"/recordings/{rec}/hls/index.m3u8").status_code == 403


def test_a_damaged_file_is_explained_in_writing_by_its_officer(recorded):
    app, ids = recorded
    with app.changes.begin("admin") as ch:
        inc = Incident(code="damaged_file", status="open", recording_id=ids["CAM-1"], facts={"path": "20261120_083000.mp4", "reason": "moov missing"},
                       detail="moov atom missing", opened_at=app.clock.now())
        ch.session.add(inc)
        ch.session.flush()
        ch.record("incident.opened", "incident", str(inc.id), code=inc.code)
        incident_id = inc.id
    o2 = client(app)
    log_in(o2, "O2")  # another team's file: not listed, not explained
    assert f'action="/incidents/{incident_id}"' not in o2.get("/incidents").text
    assert o2.post(f"/incidents/{incident_id}", data={"csrf_token": csrf_of(o2, "/incidents"), "note": "x"}
                   ).status_code == 403
    o1 = client(app)
    log_in(o1, "O1")
    token = csrf_of(o1, "/incidents")
    assert f'action="/incidents/{incident_id}"' in o1.get("/incidents").text
    assert o1.post(f"/incidents/{incident_id}", data={"csrf_token": token, "note": " "}).status_code == 400
    assert o1.post(f"/incidents/{incident_id}", data={"csrf_token": token, "note": "记录仪跌落后电池脱出，文件未写完"}
                   ).status_code == 303
    assert "电池脱出" in o1.get("/incidents?all=1").text
    assert o1.post(f"/incidents/{incident_id}", data={"csrf_token": token, "note": "again"}).status_code == 400


def test_holds_and_a_deletion_needing_a_second_person_checked_again_at_approval(recorded):
    from ingestd.db.models import Deletion

    app, ids = recorded
    rec = ids["CAM-1"]  # 一中队's
    h1 = client(app)
    log_in(h1, "H1")
    token = csrf_of(h1, "/holds")
    # A young recording is not due: asking is refused on the page, with the reason.
    refused = h1.post("/retention", data={"csrf_token": token, "recording": rec, "reason": "期满"})
    assert refused.status_code == 400 and "may not be deleted" in refused.text
    with app.changes.begin("A1") as ch:  # as if asked when it was due
        row = Deletion(recording_id=rec, reason="保存期满", requested_by="A1", requested_at=app.clock.now(),
                       status="pending")
        ch.session.add(row)
        ch.session.flush()
        ch.record("deletion.requested", "deletion", str(row.id), recording_id=rec)
        deletion = row.id
    decide = f'action="/retention/{deletion}"'
    assert decide in h1.get("/retention").text  # the team's head decides
    assert decide not in client_page(app, "A1", "/retention")  # never the one who asked
    a1 = client(app)
    log_in(a1, "A1")
    own = a1.post(f"/retention/{deletion}", data={"csrf_token": csrf_of(a1), "decision": "approve"})
    assert own.status_code == 400 and "must not be the one who asked" in own.text
    add_user(app, "H2", "二中队长", "team_head", "二中队", None, None, "admin", PASSWORD)
    h2 = client(app)
    log_in(h2, "H2")
    assert decide not in h2.get("/retention").text  # another team's recording: not listed to decide
    theirs = h2.post(f"/retention/{deletion}", data={"csrf_token": csrf_of(h2), "decision": "approve"})
    assert theirs.status_code == 400 and "only the head of team 一中队" in theirs.text
    assert h1.post("/holds", data={"csrf_token": token, "recording": rec, "reason": "投诉调查"}).status_code == 303
    assert "投诉调查" in h1.get("/holds").text
    held = h1.post(f"/retention/{deletion}", data={"csrf_token": token, "decision": "approve"})
    assert held.status_code == 400 and "法律保全" in held.text  # checked again now: the hold wins
    assert app.store.resolve(*_object_of(app, rec)).exists()
    assert h1.post(f"/retention/{deletion}", data={"csrf_token": token, "decision": "refuse"}).status_code == 303
    assert _audit(app, "deletion.refused")[0][0] == "H1"


def _object_of(app, rec_id: str) -> tuple[str, str]:
    from ingestd.db.models import Recording

    with app.db.reading() as s:
        rec = s.get(Recording, rec_id)
        return rec.object_id, rec.content_name


def test_every_page_in_english_when_the_unit_sets_it(recorded, monkeypatch):
    from ingestd.web.labels import WORDS

    app, ids = recorded
    assert all(zh and en for zh, en in WORDS.values())  # no word missing in either language
    monkeypatch.setattr(app.settings.web, "language", "en")  # the settings are shared with the copies' source
    c = client(app)
    log_in(c, "A1")
    for path in ("/", "/recordings", f"/recordings/{ids['CAM-1']}", "/gaps", "/incidents", "/cases", "/access",
                 "/holds", "/retention", "/report", "/devices", "/roster", "/alerts", "/users", "/audit"):
        page = c.get(path)
        assert page.status_code == 200 and '<html lang="en">' in page.text, path
        assert "Recordings" in page.text and "音像记录" not in page.text, path


def _docked(app, starts: list, corrected: list | None = None) -> list[str]:
    """Recordings of one camera (CAM-P) and officer (O1, 一中队) as a year of docks leaves the
    rows (the ingest path is tested elsewhere); `corrected`: the timeline's corrected starts."""
    from sqlalchemy import insert

    from ingestd.db.models import Device, DockSession, Recording, RecordingCompliance

    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    corrected = corrected or [None] * len(starts)
    ids = [f"{i:064x}" for i in range(1, len(starts) + 1)]
    with app.db.engine.begin() as c:
        c.execute(insert(Device), [{"id": 1, "serial": "CAM-P", "profile": "generic", "first_seen": base,
                                    "last_seen": base}])
        c.execute(insert(DockSession), [{"id": "p" * 32, "dock": "test-dock", "device_id": 1, "source_path": "/x",
                                         "profile": "generic", "started_at": base, "status": "finished",
                                         "files_seen": len(ids), "files_ingested": len(ids), "files_duplicate": 0,
                                         "files_damaged": 0, "files_skipped": 0, "files_failed": 0,
                                         "bytes_ingested": len(ids)}])
        c.execute(insert(Recording), [
            {"id": rid, "sm3": None, "size": 1, "object_id": f"urn:x:{rid}", "content_name": "a.mp4",
             "original_name": f"{i:03d}.mp4", "source_path": "a.mp4", "device_id": 1, "dock_session_id": "p" * 32,
             "badge": None, "important": False, "start": at, "end": at + timedelta(seconds=50), "duration_s": 50.0,
             "start_corrected": fixed, "time_source": "filename", "status": "ok", "name_conflict": False,
             "probe": {}, "ingested_at": base}
            for i, (rid, at, fixed) in enumerate(zip(ids, starts, corrected))])
        c.execute(insert(RecordingCompliance), [
            {"recording_id": rid, "officer_badge": "O1", "officer_source": "device_owner", "team": "一中队",
             "upload_status": "late", "off_duty": False, "computed_at": base, "made_at": fixed or at, "damaged": False}
            for rid, at, fixed in zip(ids, starts, corrected)])
    return ids


def _listed(c, query: str) -> list[str]:
    """Every recording the list shows for a query, following its keyset links to the end."""
    seen, path = [], query
    while path:
        page = c.get(path).text
        seen += re.findall(r'href="/recordings/([0-9a-f]{64})"', page)
        found = re.search(r'href="(/recordings\?[^"]*after=[^"]+)"', page)
        path = found.group(1).replace("&amp;", "&") if found else None
    return seen


def test_recordings_are_paged_whole_whatever_they_are_ordered_by(web):
    """130 recordings, some sharing a start time: every page's keyset link leads on without a
    recording lost or shown twice, read off the recordings (a camera) and off the compliance
    rows (an officer, an upload status)."""
    app, clock = web
    base = datetime(2026, 11, 1, tzinfo=timezone.utc)
    starts = [base + timedelta(minutes=i // 3) for i in range(130)]  # three recordings to a minute
    ids = _docked(app, starts)
    c = client(app)
    log_in(c, "L1")
    for query in ("/recordings?device=CAM-P", "/recordings?upload_status=late&team=一中队", "/recordings?officer=O1",
                  "/recordings"):
        seen = _listed(c, query)
        assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen)), query
        assert seen == sorted(ids, key=lambda r: (starts[ids.index(r)], r), reverse=True), query


def test_recordings_are_listed_by_when_they_were_made_as_the_report_counts_them(web):
    """A camera whose clock was 20 minutes behind: its recording made at 00:10 on 1 November
    (corrected) says 23:50 on 31 October. The list shows, orders and filters it by 制作时间, so
    the report's link to an officer's November lists what the report counted, whichever way the
    list is read (all recordings, one camera's, one officer's)."""
    app, clock = web
    fast = datetime(2026, 10, 31, 15, 50, tzinfo=timezone.utc)  # 23:50 local, by the camera's clock
    ids = _docked(app, [fast, datetime(2026, 10, 31, 16, 5, tzinfo=timezone.utc)],
                  corrected=[fast + timedelta(minutes=20), None])
    c = client(app)
    log_in(c, "L1")
    for who in ("", "device=CAM-P&", "officer=O1&"):
        assert _listed(c, f"/recordings?{who}since=2026-11-01&until=2026-11-30") == ids, who
        assert _listed(c, f"/recordings?{who}since=2026-10-01&until=2026-10-31") == [], who
    page = c.get("/recordings").text
    assert "2026-11-01 00:10:00" in page and "2026-10-31 23:50:00" not in page
    rows = list(csv.DictReader(io.StringIO(c.get("/recordings.csv").text.lstrip("\ufeff"))))
    assert (rows[0]["made"], rows[0]["start"]) == ("2026-11-01 00:10:00", "2026-10-31 23:50:00")


def test_the_admin_adds_people_to_teams_from_a_list_and_finds_a_camera_among_many(web):
    """A team typed as "1中队" would make a team nobody reports on: the console offers the unit's
    teams and refuses another; mobile and e-mail (what the alerts use) are taken and checked; 60
    cameras are found by serial or officer's name, 50 a page, each owner picked by name."""
    from ingestd.db.models import Device, Officer

    app, clock = web
    with app.changes.begin("admin") as ch:
        ch.session.add(Officer(badge="012345", name="张三", team="一中队", updated_at=clock.now()))
        for i in range(60):
            ch.session.add(Device(serial=f"CAM-{i:03d}", owner_badge="012345" if i == 42 else None,
                                  first_seen=clock.now(), last_seen=clock.now() - timedelta(days=i % 10)))
        ch.record("devices.added", "device", "CAM-000", count=60)
    c = client(app)
    log_in(c, "A1")
    page = c.get("/users").text
    assert '<select name="team">' in page and "<option >一中队</option>" in page.replace("<option  >", "<option >")
    token = csrf_of(c, "/users")
    wrong = c.post("/users", data={"csrf_token": token, "badge": "H9", "name": "新队长", "role": "team_head",
                                   "team": "1中队"})
    assert wrong.status_code == 400 and "没有名为「1中队」的执法队" in wrong.text
    assert 'value="H9"' in wrong.text and 'value="新队长"' in wrong.text  # what was typed stays
    bad = c.post("/users", data={"csrf_token": token, "badge": "H9", "name": "新队长", "role": "team_head",
                                 "team": "一中队", "mobile": "call me"})
    assert bad.status_code == 400 and "手机号格式不对：call me" in bad.text
    done = c.post("/users", data={"csrf_token": token, "badge": "H9", "name": "新队长", "role": "team_head",
                                  "team": "一中队", "mobile": "138 0000 0009", "email": "h9@unit.test"})
    assert done.status_code == 200 and "138 0000 0009" in done.text and "h9@unit.test" in done.text

    page = c.get("/devices").text
    assert "共 60 台" in page and page.count('action="/devices/CAM-') == 50 and 'href="/devices?q=&amp;stale=&amp;page=2"' in page
    assert page.count("张三（012345）一中队") >= 50  # every camera's owner is picked by name
    found = c.get("/devices?q=张三").text
    assert "共 1 台" in found and "CAM-042" in found
    assert "共 1 台" in c.get("/devices?q=cam-007").text
    stale = c.get("/devices?stale=1").text
    assert "共 18 台" in stale  # 7, 8 and 9 days of each ten
    token = csrf_of(c, "/devices")
    assert c.post("/devices/CAM-001/owner", data={"csrf_token": token, "owner": "012345"}).status_code == 303
    assert "共 2 台" in c.get("/devices?q=张三").text


def test_legal_links_by_file_name_or_time_is_warned_before_exporting_and_enters_proves_for_many(recorded):
    """法制科 names a case's recordings as the camera wrote them (both cameras wrote
    20261120_083000.mp4, so the camera's serial tells them apart) or by the time they were made,
    is stopped before exporting recordings without 证明对象, and enters it for many at once."""
    app, ids = recorded
    c = client(app)
    log_in(c, "L1")
    token = csrf_of(c, "/cases")
    assert c.post("/cases", data={"csrf_token": token, "case_no": "案-7", "title": "占道经营",
                                  "team": "一中队"}).status_code == 303
    page = c.get("/cases/案-7").text
    assert ("办结后" in page and "填写办结日期后计算" in page) or "本单位规定未设归档天数" in page  # why it is empty

    def link(text: str):
        return c.post("/cases/案-7/recordings", data={"csrf_token": token, "recordings": text})

    twice = link("20261120_083000.mp4")
    assert twice.status_code == 400 and "对应 2 个记录" in twice.text and "CAM-1 20261120_083000.mp4" in twice.text
    unknown = link("20261120_093000.mp4")
    assert unknown.status_code == 400 and "找不到编号、文件名或时间为「20261120_093000.mp4」的记录" in unknown.text
    assert link("CAM-1 20261120_083000.mp4").status_code == 303
    assert link("2026-11-20 08:30").status_code == 303  # the minute both were made: both
    page = c.get("/cases/案-7").text
    assert page.count('href="/recordings/') == 2 and "本案有 2 个记录未填写证明对象" in page

    refused = c.post("/cases/案-7/export", data={"csrf_token": token, "disc": "dvd"})
    assert refused.status_code == 400 and "有 2 个记录未填写证明对象" in refused.text
    with app.db.reading() as s:
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "export.requested")).first() is None
    assert c.post("/cases/案-7/export", data={"csrf_token": token, "disc": "dvd", "without_proves": "yes"}
                  ).status_code == 303
    with app.db.reading() as s:
        assert s.execute(select(AuditEvent).where(AuditEvent.action == "export.requested")).first() is not None

    listed = c.get("/recordings?case_no=案-7").text
    assert 'id="pick-all"' in listed and listed.count('name="rec"') == 2
    token = csrf_of(c, "/recordings")
    empty = c.post("/recordings/evidence", data={"csrf_token": token, "rec": list(ids.values()), "proves": " "})
    assert empty.status_code == 400
    done = c.post("/recordings/evidence", data={"csrf_token": token, "rec": list(ids.values()),
                                                "proves": "当事人占道经营的事实", "case_no": "案-7",
                                                "back_query": "case_no=案-7"})
    assert done.status_code == 303 and "entered=2" in done.headers["location"]
    assert "已为 2 个记录填写证明对象" in c.get(done.headers["location"]).text
    with app.db.reading() as s:
        from ingestd.db.models import Evidence

        assert {e.proves for e in s.execute(select(Evidence)).scalars()} == {"当事人占道经营的事实"}
        assert len(s.execute(select(AuditEvent).where(AuditEvent.action == "evidence.set")).all()) == 2
    assert "本案有" not in c.get("/cases/案-7").text

    # An officer ticks a recording of another team with their own: nothing is written for either.
    officer = client(app)
    log_in(officer, "O1")
    token = csrf_of(officer, "/recordings")
    other = officer.post("/recordings/evidence", data={"csrf_token": token, "rec": [ids["CAM-1"], ids["CAM-2"]],
                                                      "proves": "x"})
    assert other.status_code == 403
    with app.db.reading() as s:
        assert len(s.execute(select(AuditEvent).where(AuditEvent.action == "evidence.set")).all()) == 2
