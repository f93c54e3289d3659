"""Every page of the console in the console's language: walked as each role, a Chinese page
(`lang="zh-CN"`) may show no English word and no raw code (a status, an audit action, a
finding code), and an English page no Chinese of the console's own (the unit's data — names,
teams, the reasons' and findings' Chinese labels the rules use — is what it is). The words
come from one place (ingestd/web/labels.py and the findings catalogue); this test is what
keeps a new page from leaking."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser

from sqlalchemy import select

from ingestd.db.models import (AccessRequest, Case, Device, Evidence, Incident, LegalHold, Officer, Recording,
                               User)
from ingestd.timeline.reasons import REASONS
from tests.web_fixtures import client, log_in

PAGES = ("/", "/dock", "/recordings", "/recordings/{rec}", "/gaps", "/gaps/{gap}", "/cases/2026-行-021", "/incidents", "/incidents?all=1", "/cases",
         "/access", "/holds", "/retention", "/report", "/trips", "/devices", "/roster", "/alerts", "/users",
         "/audit")
ROLES = ("A1", "H1", "L1", "D1", "O1")
# Words of no language: units, formats and names of standards a Chinese page writes as they are.
NEUTRAL = {"PIN", "USB", "MB", "GB", "KB", "SHA", "SM3", "CSV", "PDF", "XLSX", "JSON", "HTML", "ISO", "HLS", "OCFL", "UTC",
           "MB/s", "CD", "DVD", "BD", "S3", "mp4", "MP4", "ID", "HTTPS", "URL", "AVC", "AAC", "HEVC", "H.264", "h264",
           "fps", "kbps", "px", "SHA-256"}


# Not words of the console: scripts and styles, and machine text shown verbatim and marked as
# such (a finding's stable code, a signed audit record, a file's digest, a configuration key).
VERBATIM = ("script", "style", "template", "code", "pre")


class _Visible(HTMLParser):
    """The text a person reads, plus the words screen readers say (aria-label, title,
    placeholder)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in VERBATIM:
            self._hidden += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in VERBATIM:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    p = _Visible()
    p.feed(html)
    return " ".join(p.parts)


def _data_words(app) -> list[str]:
    """What the unit and its cameras put on a page: names, serials, files, teams."""
    with app.db.reading() as s:
        found = [*s.execute(select(User.name)).scalars(), *s.execute(select(User.badge)).scalars(),
                 *s.execute(select(Officer.name)).scalars(), *s.execute(select(Device.serial)).scalars(),
                 *s.execute(select(Officer.team)).scalars(), *s.execute(select(User.team)).scalars(),
                 *s.execute(select(Case.case_no)).scalars(), *s.execute(select(Evidence.proves)).scalars(),
                 *s.execute(select(LegalHold.reason)).scalars(), *s.execute(select(AccessRequest.purpose)).scalars(),
                 *s.execute(select(Recording.original_name)).scalars(), *s.execute(select(Device.model)).scalars(),
                 *(str((i.facts or {}).get("reason", "")) for i in s.execute(select(Incident)).scalars())]
    found += [p.title for p in app.profiles.values()]  # the profiles' names for their camera families
    return sorted({w for w in found if w}, key=len, reverse=True) + [app.settings.dock_name, app.policy.name]


def english_in(text: str, data: list[str]) -> list[str]:
    for word in data:
        text = text.replace(word, " ")
    text = re.sub(r"\b[0-9a-f]{12,64}\b", " ", text)  # digests and ids
    return sorted({w for w in re.findall(r"[A-Za-z][A-Za-z0-9_./-]*[A-Za-z0-9]", text) if w not in NEUTRAL})


class _Frame(HTMLParser):
    """The console's own words on a page: headings, table headers, buttons, labels, the menu."""

    FRAME = ("h1", "h2", "h3", "th", "button", "label", "legend", "summary", "nav", "a")

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.FRAME or tag in VERBATIM:
            self._open.append(tag)

    def handle_endtag(self, tag):
        if tag in self._open:
            while self._open and self._open.pop() != tag:
                pass

    def handle_data(self, data):
        if self._open and not any(tag in VERBATIM for tag in self._open) and data.strip():
            self.parts.append(data.strip())


def console_chinese_in(html: str, data: list[str]) -> list[str]:
    """Chinese in the console's frame of an English page, where no English stands beside it
    (the rules' terms are kept in Chinese with their English: "证明对象 (what it proves)")."""
    p = _Frame()
    p.feed(html)
    found = []
    chinese_data = [w for w in data if re.search(r"[\u4e00-\u9fff]", w)]
    for part in p.parts:
        for word in chinese_data:
            part = part.replace(word, " ")
        if re.search(r"[\u4e00-\u9fff]", part) and not re.search(r"[A-Za-z]{3,}", part):
            found.append(part)
    return sorted(set(found))


def _state(app, ids) -> int:
    """Something on every page: an open incident and an interruption, a case with 证明对象, a
    legal hold, an access request of another team's officer and its approval."""
    from ingestd.db.models import Gap
    from ingestd.evidence.access import decide, request_access
    from ingestd.evidence.holds import place_hold
    from ingestd.evidence.metadata import set_evidence

    with app.db.reading() as s:
        rec = s.get(Recording, ids["CAM-1"])
    with app.changes.begin("admin") as ch:
        gap = Gap(key="test:gap", device_id=rec.device_id, before_recording_id=rec.id, after_recording_id=None,
                  start=rec.start, end=rec.start, seconds=0.0, kind="at_damaged_file", suggested_reason="low_battery",
                  status="open", detected_at=app.clock.now())
        ch.session.add(gap)
        ch.session.flush()
        ch.record("gap.detected", "gap", str(gap.id))
    set_evidence(app, ids["CAM-1"], "当事人拒绝检查的经过", "2026-行-021", None, "L1")
    place_hold(app, ids["CAM-1"], None, "复议期间保全", "L1")
    asked = request_access(app, ids["CAM-1"], "view", "复核案件", "O2")
    decide(app, asked["id"], "H1", True)
    with app.changes.begin("admin") as ch:
        inc = Incident(code="damaged_file", status="open", recording_id=ids["CAM-1"],
                       facts={"path": "20261120_083000.mp4", "reason": "moov missing"},
                       detail="moov atom missing", opened_at=app.clock.now())
        ch.session.add(inc)
        ch.session.flush()
        ch.record("incident.opened", "incident", str(inc.id), code=inc.code)
    return gap.id


def _walk(app, ids, gap: int, language: str, leaks_of) -> dict[str, list[str]]:
    """Every page as every role; `leaks_of(html)` names what should not be on it."""
    leaks: dict[str, list[str]] = {}
    for badge in ROLES:
        c = client(app)
        log_in(c, badge)
        for path in PAGES:
            page = c.get(path.format(rec=ids["CAM-1"], gap=gap))
            if page.status_code != 200:
                continue
            assert f'<html lang="{language}">' in page.text, path
            found = leaks_of(page.text)
            if found:
                leaks[f"{badge} {path}"] = found
    return leaks


def test_every_page_speaks_chinese_in_a_chinese_console(recorded):
    app, ids = recorded
    gap = _state(app, ids)
    data = _data_words(app)
    leaks = _walk(app, ids, gap, "zh-CN", lambda html: english_in(visible(html), data))
    assert leaks == {}, "\n".join(f"{k}: {v}" for k, v in leaks.items())


def test_every_page_speaks_english_in_an_english_console(recorded, monkeypatch):
    app, ids = recorded
    gap = _state(app, ids)
    monkeypatch.setattr(app.settings.web, "language", "en")  # shared with the fixture's source
    data = _data_words(app) + list(REASONS.values())
    leaks = _walk(app, ids, gap, "en", lambda html: console_chinese_in(html, data))
    assert leaks == {}, "\n".join(f"{k}: {v}" for k, v in leaks.items())


def test_the_audit_trail_names_actions_and_people_and_a_recording_s_history_downloads_as_pdf(recorded):
    app, ids = recorded
    auditor = client(app)
    log_in(auditor, "D1")
    def table(path: str) -> str:
        return auditor.get(path).text.split('<table class="audit">')[1]

    page = table("/audit")
    assert "入库" in page and "recording.ingested" not in visible(page)  # the name; the code stays in the record
    assert "领取任务" not in page  # the system's job entries are hidden by default ...
    assert "领取任务" in table("/audit?system=1")  # ... and shown when asked for
    assert "指定记录仪使用人" in table("/audit?action=device.owner_set")
    history = auditor.get(f"/recordings/{ids['CAM-1']}").text
    assert "查看" in history and f'/recordings/{ids["CAM-1"]}/audit.pdf' in history
    pdf = auditor.get(f"/recordings/{ids['CAM-1']}/audit.pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    with app.db.reading() as s:
        from ingestd.db.models import AuditEvent

        assert s.execute(select(AuditEvent.actor).where(AuditEvent.action == "recording.audit_downloaded",
                                                         AuditEvent.subject_id == ids["CAM-1"])).scalar() == "D1"
    officer = client(app)
    log_in(officer, "O1")
    assert officer.get(f"/recordings/{ids['CAM-1']}/audit.pdf").status_code == 403  # the audit trail's readers only


def test_an_access_request_shows_who_asks_and_which_recording_in_words_and_its_end_in_local_time(recorded):
    from ingestd.evidence.access import decide, request_access

    app, ids = recorded
    asked = request_access(app, ids["CAM-1"], "view", "复核案件", "O2")
    head = client(app)
    log_in(head, "H1")
    page = head.get("/access").text
    assert "二中队员（O2，二中队）" in page  # the requester by name and team, not a badge alone
    assert f">{ids['CAM-1'][:12]}<" not in page and "20261120_083000.mp4" in page  # by time and file
    decide(app, asked["id"], "H1", True, hours=2)
    ends = (app.clock.now() + timedelta(hours=2)).astimezone(app.settings.tz).strftime("%Y-%m-%d %H:%M")
    assert ends in head.get("/access").text  # the unit's local time, not UTC
