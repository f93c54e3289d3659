"""The metadata attached to a recording as evidence (附记; 000 第31条, 003 第43条, 004 第28条).

制作方法, 制作时间 and 制作人 are derived at ingest from the camera, the corrected timeline and
the roster, and derived again when the roster changes; 证明对象 (what it proves), the case
and a 长期保存 category are entered by a person. Each entry is written into the recording's
OCFL object as a new version holding `evidence.json`, so the store carries the metadata
beside the original bytes, which never change (002 第17条).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ingestd.app import App
from ingestd.compliance import rollup
from ingestd.db.models import RECORDING_MADE, Case, Device, Evidence, Officer, Recording, RecordingCompliance
from ingestd.errors import UserError
from ingestd.evidence.access import Act, Person, acting_person, require, require_case
from ingestd.ingest.store import NewFile, Signature
from ingestd.lookup import find_recording
from ingestd.replica.versions import add_version

EVIDENCE_JSON = "evidence.json"
BATCH = 2000
_VERB = {"video": "现场录像", "audio": "现场录音", "photo": "现场拍照", "sidecar": "设备日志"}


@dataclass(frozen=True)
class Derived:
    method: str  # 制作方法
    made_from: datetime | None  # 制作时间 (corrected camera time)
    made_to: datetime | None
    maker: str | None  # 制作人: 姓名（执法证号 …，警号 …）
    maker_badge: str | None


def derive(rec: Recording, device: Device | None, officer: Officer | None, badge: str | None) -> Derived:
    camera = " ".join(p for p in (device.model if device else None, device.serial if device else None) if p)
    method = f"执法记录仪{' ' + camera if camera else ''} {_VERB.get(rec.kind, '现场记录')}，原始文件"
    if rec.status == "damaged":
        method += "（文件损坏，按原样保存）"
    return Derived(method, rec.start_corrected or rec.start, rec.end_corrected or rec.end,
                   maker_text(officer, badge), badge)


def maker_text(officer: Officer | None, badge: str | None) -> str | None:
    if officer is None:
        return f"警号 {badge}" if badge else None
    ids = [f"执法证号 {officer.cert_no}"] if officer.cert_no else []
    ids.append(f"警号 {officer.badge}")
    return f"{officer.name}（{'，'.join(ids)}）"


def made_at_text(made_from: datetime | None, made_to: datetime | None, tz: ZoneInfo) -> str:
    if made_from is None:
        return "不明"
    start = made_from.astimezone(tz)
    text = start.strftime("%Y-%m-%d %H:%M:%S")
    if made_to is not None:
        end = made_to.astimezone(tz)
        text += " 至 " + end.strftime("%H:%M:%S" if end.date() == start.date() else "%Y-%m-%d %H:%M:%S")
    return text


def fill(app: App, recording_ids: list[str] | None = None) -> int:
    """Derive (or derive again) the first three fields for these recordings, or for all of
    them. What a person entered is never touched. Returns how many rows changed."""
    changed = 0
    ids = recording_ids if recording_ids is not None else _all_ids(app)
    for i in range(0, len(ids), BATCH):
        batch = ids[i:i + BATCH]
        with app.changes.begin("ingestd") as ch:
            # Another dock deriving some of the same rows: one after the other, for those rows only.
            ch.lock(*(f"evidence:{rid}" for rid in batch), within="evidence.derive")
            rows = ch.session.execute(
                select(Recording, Device, RecordingCompliance.officer_badge, Officer)
                .outerjoin(Device, Recording.device_id == Device.id)
                .outerjoin(RecordingCompliance, RecordingCompliance.recording_id == Recording.id)
                .outerjoin(Officer, Officer.badge == RecordingCompliance.officer_badge)
                .where(Recording.id.in_(batch))).all()
            existing = {e.recording_id: e for e in
                        ch.session.execute(select(Evidence).where(Evidence.recording_id.in_(batch))).scalars()}
            touched = 0
            for rec, device, badge, officer in rows:
                d = derive(rec, device, officer, badge or rec.badge)
                row = existing.get(rec.id)
                if row is None:
                    ch.session.add(_new_row(rec, d))
                    touched += 1
                elif (row.method, row.made_from, row.made_to, row.maker, row.maker_badge) != \
                        (d.method, d.made_from, d.made_to, d.maker, d.maker_badge):
                    row.method, row.made_from, row.made_to = d.method, d.made_from, d.made_to
                    row.maker, row.maker_badge = d.maker, d.maker_badge
                    touched += 1
            if touched:
                ch.record("evidence.derived", "recordings", f"batch-{i // BATCH}", recordings=touched)
            changed += touched
    return changed


def fill_sessions(app: App, session_ids: list[str]) -> int:
    """After a dock: the metadata of what it brought."""
    with app.db.reading() as s:
        ids = list(s.execute(select(Recording.id).where(Recording.dock_session_id.in_(session_ids))).scalars())
    return fill(app, ids)


def fill_window(app: App, first: datetime, last: datetime) -> int:
    """After a roster import: 制作人 may have changed for recordings made in its period."""
    when = RECORDING_MADE
    with app.db.reading() as s:
        ids = list(s.execute(select(Recording.id).where(when >= first, when < last)).scalars())
    return fill(app, ids)


def _new_row(rec: Recording, d: Derived) -> Evidence:
    return Evidence(recording_id=rec.id, method=d.method, made_from=d.made_from, made_to=d.made_to,
                    maker=d.maker, maker_badge=d.maker_badge)


def _all_ids(app: App) -> list[str]:
    with app.db.reading() as s:
        return list(s.execute(select(Recording.id).order_by(Recording.id)).scalars())


def document(rec: Recording, ev: Evidence, serial: str | None, tz: ZoneInfo) -> dict:
    """evidence.json: the four fields as they stand, in the words of the rules."""
    return {
        "format": "ingestd-evidence/1",
        "recording_id": rec.id,
        "original_name": rec.original_name,
        "device": serial,
        "制作方法": ev.method,
        "制作时间": made_at_text(ev.made_from, ev.made_to, tz),
        "制作时间_iso": [t.isoformat() if t else None for t in (ev.made_from, ev.made_to)],
        "制作人": ev.maker,
        "证明对象": ev.proves,
        "录音内容": ev.content_note,
        "case_no": ev.case_no,
        "long_term": ev.long_term,
        "entered_by": ev.entered_by,
        "entered_at": ev.entered_at.isoformat() if ev.entered_at else None,
    }


def set_evidence(app: App, rec_id: str, proves: str, case_no: str | None, long_term: str | None,
                 by: str, content: str | None = None) -> dict:
    """`ingestd evidence set`: enter 证明对象 (and the case, a 长期保存 category, the 录音内容
    note the case file's 文字说明 carries)."""
    proves = proves.strip()
    if not proves:
        raise UserError("--proves must say what the recording proves (证明对象)")
    if content is not None and not content.strip():
        raise UserError("--content is empty: say what the recording's sound contains (录音内容)")
    categories = app.policy.long_term.categories
    if long_term is not None and long_term not in categories:
        known = "、".join(categories) if categories else "none under this policy"
        raise UserError(f"unknown 长期保存 category {long_term!r} (policy {app.policy.name}: {known})")
    result = _write_evidence(app, rec_id, proves, case_no, long_term, by, content)
    rollup.rebuild_days_of(app, [result["recording_id"]])  # the report's count of those missing 证明对象
    return result


MAX_AT_ONCE = 200  # a page of the recordings list; more is a job for `ingestd evidence set` in a loop


def set_evidence_many(app: App, rec_ids: list[str], proves: str, case_no: str | None, by: str) -> list[dict]:
    """The same 证明对象 (and case) for several recordings a person selected: each may be
    annotated by this person, checked for all before any is written, then each its own OCFL
    version and audit entry (003 第20条), as one by one."""
    proves = proves.strip()
    if not proves:
        raise UserError("--proves must say what the recording proves (证明对象)")
    if not rec_ids:
        raise UserError("select the recordings to enter 证明对象 for")
    if len(rec_ids) > MAX_AT_ONCE:
        raise UserError(f"at most {MAX_AT_ONCE} recordings at once ({len(rec_ids)} selected)")
    acts = [Act.ANNOTATE] + ([Act.LINK_CASE] if case_no is not None else [])
    with app.db.reading() as s:
        person = acting_person(s, by, "enter evidence metadata")
        ids = [find_recording(s, r)[0].id for r in rec_ids]
        for act in acts:
            require(s, person, act, ids, app.clock.now(), app.policy.cite("access"))
    done = [_write_evidence(app, rec_id, proves, case_no, None, by, None) for rec_id in ids]
    rollup.rebuild_days_of(app, ids)
    return done


def _write_evidence(app: App, rec_id: str, proves: str, case_no: str | None, long_term: str | None, by: str,
                    content: str | None) -> dict:
    with app.changes.begin(by) as ch:
        person = acting_person(ch.session, by, "enter evidence metadata")
        rec, serial = find_recording(ch.session, rec_id)
        acts = [Act.ANNOTATE] + ([Act.LINK_CASE] if case_no is not None else [])
        for act in acts:
            require(ch.session, person, act, [rec.id], app.clock.now(), app.policy.cite("access"))
        ev = _evidence_row(ch.session, rec)
        if case_no is not None:
            _ensure_case(ch, app, case_no, person, by)
            ev.case_no = case_no
        ev.proves, ev.entered_by, ev.entered_at = proves, by, app.clock.now()
        if long_term is not None:
            ev.long_term = long_term
        if content is not None:
            ev.content_note = content.strip()
        doc = _store_version(app, ch, rec, ev, serial, by, "证明对象 entered")
        ch.record("evidence.set", "recording", rec.id, proves=proves, case_no=ev.case_no, long_term=ev.long_term,
                  content=ev.content_note, object_version=ev.object_version)
        return {**doc, "object_version": ev.object_version}


def link_to_case(app: App, case_no: str, rec_ids: list[str], by: str) -> dict:
    """`ingestd case add`: the 法制科 links recordings to a case; 证明对象 is an open task
    for each until someone enters it."""
    if not rec_ids:
        raise UserError("name the recordings to add to the case")
    with app.changes.begin(by) as ch:
        person = acting_person(ch.session, by, "link recordings to a case")
        found = [find_recording(ch.session, r) for r in rec_ids]
        require(ch.session, person, Act.LINK_CASE, [rec.id for rec, _serial in found], app.clock.now(),
                app.policy.cite("access"))
        _ensure_case(ch, app, case_no, person, by)
        for rec, serial in found:
            ev = _evidence_row(ch.session, rec)
            if ev.case_no == case_no:
                continue
            ev.case_no = case_no
            _store_version(app, ch, rec, ev, serial, by, f"linked to case {case_no}")
            ch.record("evidence.case_linked", "recording", rec.id, case_no=case_no, object_version=ev.object_version)
    return {"case_no": case_no, "recordings": [rec.id for rec, _serial in found]}


def _evidence_row(s, rec: Recording) -> Evidence:
    if rec.status == "deleted":
        raise UserError(f"recording {rec.id[:12]} was deleted under retention; nothing to annotate")
    ev = s.get(Evidence, rec.id)
    if ev is None:  # ingested moments ago, before its metadata was derived
        device = s.get(Device, rec.device_id) if rec.device_id else None
        comp = s.get(RecordingCompliance, rec.id)
        badge = comp.officer_badge if comp and comp.officer_badge else rec.badge
        ev = _new_row(rec, derive(rec, device, s.get(Officer, badge) if badge else None, badge))
        s.add(ev)
    return ev


def _store_version(app: App, ch, rec: Recording, ev: Evidence, serial: str | None, by: str, message: str) -> dict:
    """evidence.json as a new version of the recording's object (in the store, or in the
    bucket for one kept there only). Called inside the audited transaction: this dock's audit
    head lock keeps two people annotating the same object from adding the same version number."""
    doc = document(rec, ev, serial, app.settings.tz)
    data = (json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode("utf-8")
    ev.object_version = add_version(
        app, ch, rec, [NewFile(EVIDENCE_JSON, hashlib.sha256(data).hexdigest(), data=data)],
        Signature(by, f"urn:ingestd:badge:{by}", message, app.clock.now()))
    return doc


def _ensure_case(ch, app: App, case_no: str, person: Person, by: str) -> None:
    """The case named, if this person may name it (their team's; 法制科 and 信息中心 any), else
    opened as their team's."""
    ch.lock(f"case:{case_no}")  # the same case named at two docks at once is opened once
    case = ch.session.get(Case, case_no)
    require_case(person, case, app.policy.cite("access"))
    if case is None:
        ch.session.add(Case(case_no=case_no, team=person.team, status="open", opened_by=by,
                            opened_at=app.clock.now()))
        ch.record("case.opened", "case", case_no, team=person.team, via="evidence")


def show(app: App, rec_id: str) -> dict:
    with app.db.reading() as s:
        rec, serial = find_recording(s, rec_id)
        ev = s.get(Evidence, rec.id)
        if ev is None:
            raise UserError(f"recording {rec.id[:12]} has no evidence metadata yet (it is derived after ingest)")
        return {**document(rec, ev, serial, app.settings.tz), "object_version": ev.object_version,
                "exported_at": ev.exported_at.isoformat() if ev.exported_at else None}
