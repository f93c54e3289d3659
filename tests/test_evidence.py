"""Evidence: 制作方法/制作时间/制作人 derived at ingest and from the roster, 证明对象 entered as a
new OCFL version, cases, BagIt and ISO exports with the 文字说明, access across teams
(002 第19条), retention with holds, 长期保存 and approved deletion."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import bagit
import pycdlib
import pytest
from sqlalchemy import select

from ingestd.clock import FixedClock
from ingestd.compliance.roster import read_roster
from ingestd.afterdock import import_roster
from ingestd.db.models import Evidence, Export, Recording
from ingestd.errors import UserError
from ingestd.evidence import access, retention
from ingestd.evidence.disc import disc_capacity, plan_volumes
from ingestd.evidence.holds import place_hold
from ingestd.evidence.metadata import set_evidence
from ingestd.evidence.export import export
from ingestd.afterdock import ingest
from ingestd.users import add_user
from tests.conftest import copy_clip, make_dock, ocfl_validate
from tests.test_roster_compliance import ROWS, ZH, write_csv

TZ = ZoneInfo("Asia/Shanghai")


def _people(app):
    add_user(app, "012345", "张三", "officer", "一中队", None, None, "admin")
    add_user(app, "067890", "李四", "officer", "二中队", None, None, "admin")
    add_user(app, "H1", "一中队长", "team_head", "一中队", None, None, "admin")
    add_user(app, "H2", "二中队长", "team_head", "二中队", None, None, "admin")
    add_user(app, "L1", "法制员", "legal", None, None, None, "admin")
    add_user(app, "A1", "管理员甲", "admin", None, None, None, "admin")
    add_user(app, "A2", "管理员乙", "admin", None, None, None, "admin")


def _dock(app, tmp: Path, clips, serial: str, files: dict[str, str]) -> dict[str, str]:
    cam = tmp / f"cam-{serial}-{len(list(tmp.iterdir()))}"
    for name, clip in files.items():
        copy_clip(clips[clip], cam / name)
    runs = ingest(app, [cam], None, serial)
    return {Path(o.rel_path).name: o.recording_id for r in runs for o in r.outcomes}


@pytest.fixture
def unit(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    clock = FixedClock(datetime(2026, 11, 20, 20, tzinfo=TZ))
    app = dock.app(clock)
    _people(app)
    cams = tmp_path / "cams"
    cams.mkdir()
    ids = _dock(app, cams, clips, "CAM-A", {"20261120_083000.mp4": "h264", "现场_20261120_090000.mp4": "h264_b"})
    return dock, app, clock, ids


def _own_camera(app, badge: str = "012345", serial: str = "CAM-A") -> None:
    """The camera's owner: its recordings are that officer's and team's to annotate (access.py)."""
    from ingestd.afterdock import set_owner
    from ingestd.db.models import Officer

    with app.changes.begin("admin") as ch:  # as the unit's officer list (花名册) would have them
        if ch.session.get(Officer, badge) is None:
            ch.session.add(Officer(badge=badge, name="张三", team="一中队", updated_at=app.clock.now()))
            ch.record("officer.added", "officer", badge, team="一中队")
    set_owner(app, serial, badge, "admin")


def _evidence(app, rec_id) -> Evidence:
    with app.db.reading() as s:
        return s.get(Evidence, rec_id)


def test_metadata_is_derived_at_ingest_and_again_when_the_roster_arrives(unit, tmp_path):
    dock, app, clock, ids = unit
    rid = ids["20261120_083000.mp4"]
    ev = _evidence(app, rid)
    assert ev.method == "执法记录仪 CAM-A 现场录像，原始文件"  # 制作方法 from the device
    with app.db.reading() as s:
        rec = s.get(Recording, rid)
    assert ev.made_from == (rec.start_corrected or rec.start) and ev.made_to is not None  # 制作时间
    assert ev.maker is None  # nobody known yet: the report lists it as an open task
    import_roster(app, read_roster(write_csv(tmp_path / "r.csv", ZH, ROWS, "utf-8-sig"), TZ), "admin")
    assert _evidence(app, rid).maker == "张三（执法证号 湘A001，警号 012345）"  # 制作人 from the roster
    shown = dock.cli_json("evidence", "show", rid[:12])
    assert shown["制作人"].startswith("张三") and shown["证明对象"] is None


def test_proves_is_a_new_ocfl_version_and_an_audit_entry(unit):
    dock, app, clock, ids = unit
    rid = ids["20261120_083000.mp4"]
    with app.db.reading() as s:
        rec = s.get(Recording, rid)
    v1 = app.store.inventory(rec.object_id)
    original = app.store.resolve(rec.object_id, rec.content_name)
    before = original.read_bytes()
    with pytest.raises(UserError, match="officer and team are not known yet"):
        set_evidence(app, rid, "无主录像", None, None, "012345")
    _own_camera(app)
    out = dock.cli_json("evidence", "set", rid, "--proves", "当事人在禁止区域摆摊经营", "--case", "柳综执〔2026〕12号",
                        "--by", "012345")
    assert out["object_version"] == "v2" and out["证明对象"] == "当事人在禁止区域摆摊经营"
    inv = app.store.inventory(rec.object_id)
    stored = app.store.read_json(rec.object_id, "evidence.json")
    assert stored["证明对象"] == "当事人在禁止区域摆摊经营" and stored["case_no"] == "柳综执〔2026〕12号"
    assert stored["制作方法"].startswith("执法记录仪 CAM-A")
    assert inv["versions"]["v1"] == v1["versions"]["v1"]  # the earlier version is untouched
    assert rec.content_name in inv["versions"]["v2"]["state"][rid]  # the original is still the original
    assert original.read_bytes() == before and inv["versions"]["v2"]["user"]["address"] == "urn:ingestd:badge:012345"
    ok, _root = ocfl_validate(app.data.store)
    assert ok
    # A second entry is a third version; the audit chain holds both.
    dock.cli("evidence", "set", rid, "--proves", "当事人拒不改正", "--by", "012345")
    assert app.store.inventory(rec.object_id)["head"] == "v3"
    assert dock.cli_json("audit", "verify")["ok"]
    case = dock.cli_json("case", "show", "柳综执〔2026〕12号")
    assert case["recordings"] == 1 and case["missing_proves"] == 0 and case["not_exported"] == 1
    # Bad input: a clear one-line error, nothing written.
    assert "unknown or disabled user" in dock.cli("evidence", "set", rid, "--proves", "x", "--by", "nobody",
                                                  check=2).stderr
    assert "长期保存 category" in dock.cli("evidence", "set", rid, "--proves", "x", "--long-term", "群体性事件",
                                           "--by", "012345", check=2).stderr
    assert "--proves must say" in dock.cli("evidence", "set", rid, "--proves", "  ", "--by", "012345", check=2).stderr
    assert app.store.inventory(rec.object_id)["head"] == "v3"


def _case_with_both(app, ids, case_no="柳综执〔2026〕12号"):
    _own_camera(app)
    for name, proves in (("20261120_083000.mp4", "当事人在禁止区域摆摊经营"), ("现场_20261120_090000.mp4", "现场劝导过程")):
        set_evidence(app, ids[name], proves, case_no, None, "012345")


def test_export_is_a_valid_bag_and_a_disc_image_with_the_statement(unit, tmp_path):
    dock, app, clock, ids = unit
    _case_with_both(app, ids)
    assert dock.cli_json("media", "work")["jobs"] == 6  # proxies and segment manifests go in too
    out = tmp_path / "out"
    result = dock.cli_json("export", "--case", "柳综执〔2026〕12号", "--out", str(out), "--iso", "--by", "L1")
    assert len(result["volumes"]) == 1
    vol = Path(result["volumes"][0]["path"])
    # The independent check: bagit's own validator, as a reviewer would run it.
    proc = subprocess.run([str(Path(sys.executable).parent / "bagit.py"), "--validate", str(vol)],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (vol / "manifest-sha256.txt").is_file() and (vol / "manifest-sha512.txt").is_file()
    with app.db.reading() as s:
        recs = {r.id: r for r in s.execute(select(Recording)).scalars()}
    originals = sorted((vol / "data" / "originals").iterdir())
    assert len(originals) == 2 and any("现场" in p.name for p in originals)  # Chinese names survive
    for p in originals:
        rid = hashlib.sha256(p.read_bytes()).hexdigest()
        assert p.read_bytes() == app.store.resolve(recs[rid].object_id, recs[rid].content_name).read_bytes()
    assert len(list((vol / "data" / "proxies").iterdir())) == 2
    assert len(list((vol / "data" / "segments").glob("*/manifest.json"))) == 2
    # The 文字说明 lists each file with the right digests, in Chinese, as text and as PDF.
    text = (vol / "data" / "文字说明.txt").read_text(encoding="utf-8")
    pdf_text = subprocess.run(["pdftotext", "-layout", str(vol / "data" / "文字说明.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
    flat = re.sub(r"\s", "", pdf_text)
    for rid, rec in recs.items():
        assert f"SHA-256：{rid}" in text and f"SM3：{rec.sm3}" in text
        assert rid in flat and rec.sm3 in flat
    for words in ("制作方法", "制作时间", "制作人", "证明对象：当事人在禁止区域摆摊经营", "柳综执〔2026〕12号"):
        assert words in text
    assert "当事人在禁止区域摆摊经营" in flat and "文字说明" in flat and "执法记录仪CAM-A现场录像" in flat
    fonts = subprocess.run(["pdffonts", str(vol / "data" / "文字说明.pdf")], capture_output=True, text=True).stdout
    assert "CJK" in fonts  # a real CJK font is embedded: no missing-glyph boxes
    # The disc image holds the bag byte for byte, under its real names (Rock Ridge and Joliet).
    iso_path = Path(result["volumes"][0]["iso"])
    bag_files = {p.relative_to(vol).as_posix(): p.read_bytes() for p in vol.rglob("*") if p.is_file()}
    for facade in ("rr", "joliet"):
        iso = pycdlib.PyCdlib()
        iso.open(str(iso_path))
        try:
            for rel, data in bag_files.items():
                buf = io.BytesIO()
                iso.get_file_from_iso_fp(buf, **{f"{facade}_path": "/" + rel})
                assert buf.getvalue() == data, (facade, rel)
        finally:
            iso.close()
    if shutil.which("xorriso"):  # an independent reader: Rock Ridge names and bytes as a burner's tool sees them
        extracted = tmp_path / "from-iso"
        subprocess.run(["xorriso", "-osirrox", "on", "-indev", str(iso_path), "-extract", "/", str(extracted)],
                       capture_output=True, check=True)
        assert {p.relative_to(extracted).as_posix(): p.read_bytes()
                for p in extracted.rglob("*") if p.is_file()} == bag_files
    if shutil.which("isoinfo"):
        listing = subprocess.run(["isoinfo", "-J", "-f", "-i", str(iso_path)], capture_output=True, text=True,
                                 check=True).stdout
        assert len([line for line in listing.splitlines() if line.count("/") >= 1]) >= len(bag_files)
    # Who exported what is recorded, and the case now counts as exported.
    with app.db.reading() as s:
        row = s.execute(select(Export)).scalar_one()
    assert row.by == "L1" and set(row.recording_ids) == set(recs)
    assert dock.cli_json("case", "show", "柳综执〔2026〕12号")["not_exported"] == 0
    assert dock.cli_json("audit", "verify")["ok"]
    # An export never goes into a folder that already holds something.
    assert "not empty" in dock.cli("export", "--case", "柳综执〔2026〕12号", "--out", str(out), "--by", "L1",
                                   check=2).stderr


def test_large_exports_are_split_into_numbered_volumes(unit, tmp_path):
    dock, app, clock, ids = unit
    assert plan_volumes([("a", 5), ("b", 5), ("c", 3)], 10) == [["a", "b"], ["c"]]
    with pytest.raises(UserError, match="does not fit on one disc"):
        plan_volumes([("a", 11)], 10)
    assert disc_capacity("dvd") < 4_707_319_808 and disc_capacity("300k") == 307200 - 30720
    sizes = [r.size for r in app.db.reading().__enter__().execute(select(Recording)).scalars()]
    result = export(app, list(ids.values()), tmp_path / "out", "L1", disc=f"{int((max(sizes) + 1) / 0.9) + 1}")
    assert [v["volume"] for v in result["volumes"]] == [1, 2]
    for v in result["volumes"]:
        bag = bagit.Bag(v["path"])
        bag.validate()
        assert bag.info["Bag-Count"] == f"{v['volume']} of 2" and v["path"].endswith(f"-vol0{v['volume']}")
        # Each volume's statement lists every file of the export and says which volume holds it.
        text = (Path(v["path"]) / "data" / "文字说明.txt").read_text(encoding="utf-8")
        assert "第 1 卷" in text and "第 2 卷" in text


def test_a_tampered_original_is_refused_by_name(unit, tmp_path):
    dock, app, clock, ids = unit
    rid = ids["现场_20261120_090000.mp4"]
    with app.db.reading() as s:
        rec = s.get(Recording, rid)
    path = app.store.resolve(rec.object_id, rec.content_name)
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    out = tmp_path / "out"
    err = dock.cli("export", *ids.values(), "--out", str(out), "--by", "L1", check=2).stderr
    assert rid[:12] in err and "export refused" in err and "现场_20261120_090000.mp4" in err
    assert not out.exists() or not any(out.iterdir())


def test_another_teams_recording_needs_a_time_limited_approval(unit, tmp_path, clips):
    dock, app, clock, ids = unit
    import_roster(app, read_roster(write_csv(tmp_path / "r.csv", ZH, ROWS, "utf-8-sig"), TZ), "admin")
    rid = ids["20261120_083000.mp4"]  # 张三's, 一中队
    with pytest.raises(UserError, match="another team.*002 第19条"):
        export(app, [rid], tmp_path / "o1", "067890")  # 李四, 二中队
    export(app, [rid], tmp_path / "o0", "012345")  # one's own recording needs nothing
    req = access.request_access(app, rid, "export", "复议材料调取", "067890")
    with pytest.raises(UserError, match="only the head of team 一中队"):
        access.decide(app, req["id"], "H2", True)
    approved = access.decide(app, req["id"], "H1", True, hours=24)
    assert approved["status"] == "approved"
    export(app, [rid], tmp_path / "o2", "067890")
    clock.advance(timedelta(hours=25))  # the approval has run out
    with pytest.raises(UserError, match="another team"):
        export(app, [rid], tmp_path / "o3", "067890")
    assert dock.cli_json("audit", "verify")["ok"]


POLICY = """
name = "test-retention"
agency = "测试单位"
[upload]
basis = "hours"
hours = 24
article = "002 第16条"
[upload.exception]
assignments = ["continuous"]
hours_after_return = 24
article = "002 第16条"
[archive]
days_after_case_end = 30
article = "003 第41条"
[retention]
years = 3
article = "004 第30条"
[long_term]
categories = ["阻碍执法", "群体性事件"]
article = "001 第17条"
[interruptions]
article = "002 第14条"
"""


def test_retention_never_removes_held_long_term_or_open_case_items(tmp_path, clips):
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "test-retention.toml").write_text(POLICY, encoding="utf-8")
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1", INGESTD_POLICY="test-retention",
                     INGESTD_POLICIES_DIR=str(policies))
    dock.settings = dock.settings.model_copy(update={"policy": "test-retention", "policies_dir": policies})
    clock = FixedClock(datetime(2026, 11, 20, 20, tzinfo=TZ))
    app = dock.app(clock)
    _people(app)
    cams = tmp_path / "cams"
    cams.mkdir()
    ids = _dock(app, cams, clips, "CAM-A", {"20261120_083000.mp4": "h264", "20261120_090000.mp4": "h264_b",
                                            "20261120_093000.mp4": "h264_c", "20261120_100000.mp4": "silent"})
    free, held, long_term, in_case = (ids[n] for n in sorted(ids))
    place_hold(app, held, None, "行政复议中", "L1")
    _own_camera(app)
    set_evidence(app, long_term, "阻碍执法全过程", None, "阻碍执法", "012345")
    set_evidence(app, in_case, "现场检查", "案-1", None, "012345")
    clock.advance(timedelta(days=365 * 3 + 2))
    states = {i.recording_id: i.state for i in retention.plan(app)}
    assert states == {free: "due", held: "held", long_term: "long_term", in_case: "open_case"}
    for rid in (held, long_term, in_case):
        with pytest.raises(UserError, match="may not be deleted"):
            retention.request_deletion(app, rid, "期满", "A1")
    assert dock.cli_json("retention", "plan", "--on", "2029-11-23")["due"] == 1
    assert dock.cli_json("retention", "plan", "--on", "2029-11-19")["due"] == 0
    req = retention.request_deletion(app, free, "保存期满（3 年）", "A1")
    with pytest.raises(UserError, match="must not be the one who asked"):
        retention.approve_deletion(app, req["id"], "A1")
    with pytest.raises(UserError, match="needs 队长/信息中心"):
        retention.approve_deletion(app, req["id"], "L1")
    with app.db.reading() as s:
        rec = s.get(Recording, free)
    content = app.store.resolve(rec.object_id, rec.content_name)
    done = retention.approve_deletion(app, req["id"], "A2")
    assert done["status"] == "done" and not content.exists()
    record = app.store.read_json(rec.object_id, "deletion.json")
    assert record["sha256"] == free and record["approved_by"] == "A2" and record["requested_by"] == "A1"
    inv = app.store.inventory(rec.object_id)
    assert free in inv["manifest"] and free not in inv["versions"][inv["head"]]["state"]  # digest kept, file gone
    # Everything else is still there, the store verifies, and the chain holds.
    for rid in (held, long_term, in_case):
        with app.db.reading() as s:
            r = s.get(Recording, rid)
        assert app.store.resolve(r.object_id, r.content_name).is_file()
    assert dock.cli_json("verify")["ok"] and dock.cli_json("audit", "verify")["ok"]
    with pytest.raises(UserError, match="deleted under retention"):
        export(app, [free], tmp_path / "o", "L1")
    # The recording keeps its row and its history, marked deleted.
    assert {i.recording_id: i.state for i in retention.plan(app)}[free] == "deleted"
    # The store alone brings it all back: the database rebuilt from the objects knows the
    # deletion, the 证明对象, the case and the 长期保存 category.
    app.close()
    (dock.settings.data_dir / "ingestd.db").unlink()
    for suffix in ("-wal", "-shm"):
        (dock.settings.data_dir / f"ingestd.db{suffix}").unlink(missing_ok=True)
    dock.cli("db", "upgrade")
    assert dock.cli_json("store", "rebuild-index")["indexed"] == 4
    rebuilt = {r["id"]: r for r in dock.cli_json("recordings", "list")}
    assert rebuilt[free]["status"] == "deleted" and rebuilt[held]["status"] == "ok"
    assert dock.cli_json("evidence", "show", long_term)["long_term"] == "阻碍执法"
    assert dock.cli_json("evidence", "show", in_case)["证明对象"] == "现场检查"
    assert dock.cli_json("case", "show", "案-1")["recordings"] == 1
    assert dock.cli_json("verify")["ok"]
