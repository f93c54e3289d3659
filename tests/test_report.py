"""The upload-compliance report against a hand-computed unit that has every status, in
every format: HTML rendered by headless Chromium, PDF read back with pdftoppm/pdftotext,
XLSX reopened with openpyxl, CSV with its BOM, JSON with the full model."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import update

from ingestd.clock import FixedClock
from ingestd.compliance.report import ReportRequest, build_report
from ingestd.compliance.report_render import write_report
from ingestd.compliance.roster import read_roster
from ingestd.afterdock import import_roster
from ingestd.db.models import Device
from ingestd.evidence.metadata import link_to_case
from ingestd.afterdock import ingest
from ingestd.users import add_user
from tests.conftest import copy_clip, make_dock, pg_database
from tests.test_roster_compliance import ROWS, ZH, write_csv

TZ = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 20)


def _dock(app, tmp: Path, clips, serial: str, files: dict[str, object]) -> dict[str, str]:
    cam = tmp / f"cam-{serial}-{len(list(tmp.iterdir()))}"
    cam.mkdir()
    for name, clip in files.items():
        if isinstance(clip, bytes):
            (cam / name).write_bytes(clip)
        else:
            copy_clip(clips[clip], cam / name)
    runs = ingest(app, [cam], None, serial)
    return {Path(o.rel_path).name: o.recording_id for r in runs for o in r.outcomes}


@pytest.fixture(scope="module")
def unit(tmp_path_factory, clips):
    return _build_unit(tmp_path_factory.mktemp("report"), clips)


def _build_unit(tmp: Path, clips, **env: str):
    """One day (20 Nov 2026) of a unit on guanxian-liulin (24 h, 002 第16条):
    张三 (一中队, CAM-A): 10:00 on time, 10:10 on time (an open gap between), 17:00 late by 2:59:58,
        shift late, the late clip linked to a case with no 证明对象;
    王五 (一中队, CAM-C): never docks: shift overdue;
    李四 (二中队, CAM-B, 异地执法, returned 23 Nov 09:00): 16:00 on time, and a damaged 18:00 file
        whose end is unknown, uploaded within the deadline counted from its start: on time, and
        an interruption at the damaged file;
    赵六 (二中队, CAM-D, night shift): nothing from the shift (no_recording), a noon clip off duty."""
    dock = make_dock(tmp, INGESTD_INGEST__WORKERS="1", **env)
    clock = FixedClock(datetime(2026, 11, 20, 12, tzinfo=TZ))
    app = dock.app(clock)
    import_roster(app, read_roster(write_csv(tmp / "r.csv", ZH, ROWS, "utf-8-sig"), TZ), "admin")
    add_user(app, "H1", "一中队长", "team_head", "一中队", None, None, "admin")
    add_user(app, "L1", "法制员", "legal", None, None, None, "admin")
    cams = tmp / "cams"
    cams.mkdir()
    clock.at = datetime(2026, 11, 21, 8, tzinfo=TZ)
    _dock(app, cams, clips, "CAM-D", {})
    clock.at = datetime(2026, 11, 21, 9, tzinfo=TZ)
    _dock(app, cams, clips, "CAM-A", {"20261120_100000.mp4": "h264", "20261120_101000.mp4": "silent"})
    clock.at = datetime(2026, 11, 21, 20, tzinfo=TZ)
    late = _dock(app, cams, clips, "CAM-A", {"20261120_170000.mp4": "h264_b"})["20261120_170000.mp4"]
    link_to_case(app, "柳综执〔2026〕7号", [late], "L1")
    with app.changes.begin("admin") as ch:
        ch.session.execute(update(Device).where(Device.serial == "CAM-D").values(owner_badge="022222"))
        ch.record("device.owner_set", "device", "CAM-D", owner="022222")
    clock.at = datetime(2026, 11, 21, 8, 30, tzinfo=TZ)
    _dock(app, cams, clips, "CAM-D", {"20261120_120000.mp4": "hevc"})
    clock.at = datetime(2026, 11, 24, 8, 59, tzinfo=TZ)
    damaged = clips["h264"].read_bytes()[:5000]
    _dock(app, cams, clips, "CAM-B", {"20261120_160000.mp4": "h264_c", "20261120_180000.mp4": damaged})
    clock.at = datetime(2026, 11, 25, 10, tzinfo=TZ)
    from ingestd.compliance.recompute import recompute_recent
    recompute_recent(app)
    return dock, app, clock, tmp


def _officer(report, badge):
    return next(o.figures for o in report.officers if o.badge == badge)


def test_figures_match_the_hand_computed_unit(unit):
    dock, app, clock, tmp = unit
    _assert_figures(build_report(app, ReportRequest(DAY, DAY)))
    # One team only: the other team's people and items are not in it.
    one = build_report(app, ReportRequest(DAY, DAY, team="一中队"))
    assert {o.badge for o in one.officers} == {"012345", "011111"} and one.unit.recordings == 3
    assert one.lists["damaged_file"].total == 0
    # A camera not docked for a week is a device finding (001 第27条, 003 第42条).
    clock.at = datetime(2026, 12, 1, 10, tzinfo=TZ)
    later = build_report(app, ReportRequest(DAY, date(2026, 11, 30)))
    idle = {d["device"]: d["findings"]["camera_not_docked"] for d in later.devices
            if "camera_not_docked" in d["findings"]}
    assert idle == {"CAM-A": 9, "CAM-D": 9}
    clock.at = datetime(2026, 11, 25, 10, tzinfo=TZ)
    week = build_report(app, ReportRequest(DAY, date(2026, 11, 25)))
    assert {d.day.day: d.uploads for d in week.uploads_per_day if d.uploads} == {21: 4, 24: 2}
    # Bad input is one clear line.
    assert "ends (2026-11-19) before it starts" in dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-19",
                                                            "--format", "json", "--out", str(tmp / "x.json"),
                                                            check=2).stderr
    assert "unknown report format" in dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format",
                                               "doc", "--out", str(tmp / "x.doc"), check=2).stderr


@pytest.mark.postgres
def test_the_same_figures_on_postgres(tmp_path, clips):
    with pg_database() as url:
        dock, app, clock, tmp = _build_unit(tmp_path, clips, INGESTD_DATABASE_URL=url)
        try:
            _assert_figures(build_report(app, ReportRequest(DAY, DAY)))
            write_report(build_report(app, ReportRequest(DAY, DAY)), "xlsx", tmp / "pg.xlsx")
            assert dock.cli_json("audit", "verify")["ok"]
        finally:
            app.close()


def _assert_figures(r) -> None:
    z = _officer(r, "012345")
    assert (z.recordings, z.on_time, z.late, z.shifts, z.shifts_late, z.gaps_open, z.missing_proves) == (3, 2, 1, 1, 1, 1, 1)
    assert z.late_median_h == z.late_worst_h == round((3 * 3600 - 2) / 3600, 2)
    assert z.late_buckets == [0, 1, 0, 0, 0, 0] and z.on_time_rate == pytest.approx(2 / 3)
    w = _officer(r, "011111")
    assert (w.recordings, w.shifts_overdue, w.on_time_rate) == (0, 1, 0.0)
    li = _officer(r, "067890")
    assert (li.recordings, li.on_time, li.undetermined, li.damaged, li.incidents_open, li.shifts_met) == \
        (2, 2, 0, 1, 1, 1)
    assert li.gaps_open == 1  # the damaged file is itself an interruption needing a reason (002 第16条)
    zhao = _officer(r, "022222")
    assert (zhao.recordings, zhao.off_duty, zhao.shifts_no_recording, zhao.on_time_rate) == (1, 1, 1, 1.0)
    teams = {t.team: t for t in r.teams}
    assert teams["一中队"].figures.on_time_rate == pytest.approx(2 / 4) and teams["一中队"].heads == ["一中队长"]
    assert teams["二中队"].figures.on_time_rate == 1.0 and teams["二中队"].officers == 2
    assert (r.unit.recordings, r.unit.on_time, r.unit.late, r.unit.shifts_overdue) == (6, 5, 1, 1)
    assert r.unit.on_time_rate == pytest.approx(5 / 7)
    assert r.unit.hours == pytest.approx((2 + 2 + 2 + 3 + 2) / 3600, abs=0.01)
    # Every figure with a problem has its items, each with its code and article.
    counts = {code: lst.total for code, lst in r.lists.items()}
    assert counts == {"late_upload": 1, "shift_overdue": 1, "shift_excused": 0, "shift_no_recording": 1,
                      "open_interruption": 2,
                      "evidence_missing_proves": 1, "damaged_file": 1, "off_duty_recording": 1,
                      "case_archive_overdue": 0}
    late = r.lists["late_upload"].items[0]
    assert late["code"] == "late_upload" and late["article"] == "002 第16条" and late["officer_name"] == "张三"
    assert r.lists["off_duty_recording"].items[0]["article"] == "002 第21条"
    assert r.lists["damaged_file"].items[0]["code"] == "incident_open"
    assert r.lists["shift_overdue"].items[0]["officer"] == "011111"
    assert [d.day for d in r.uploads_per_day] == [DAY] and r.uploads_per_day[0].uploads == 0  # docked later


def test_json_and_sheets_carry_the_same_numbers(unit):
    dock, app, clock, tmp = unit
    out = tmp / "r.json"
    dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "json", "--out", str(out))
    model = json.loads(out.read_text(encoding="utf-8"))
    assert model["unit"]["recordings"] == 6 and model["unit"]["on_time_rate"] == pytest.approx(5 / 7)
    assert model["lists"]["late_upload"]["items"][0]["code"] == "late_upload"
    assert model["lists"]["late_upload"]["command"].startswith("ingestd recordings list --upload-status late")
    # The command a list refers to lists exactly its items.
    listed = dock.cli_json("recordings", "list", "--upload-status", "late", "--from", "2026-11-20", "--to", "2026-11-20")
    assert [r["id"] for r in listed] == [model["lists"]["late_upload"]["items"][0]["recording_id"]]
    shifts = dock.cli_json("compliance", "shifts", "--status", "overdue", "--from", "2026-11-20", "--to", "2026-11-20")
    assert [s["badge"] for s in shifts] == ["011111"]
    xlsx = tmp / "r.xlsx"
    dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "xlsx", "--out", str(xlsx))
    wb = load_workbook(xlsx)
    teams = wb["执法队"]
    assert teams.freeze_panes == "A2"
    header = [c.value for c in teams[1]]
    rows = {row[0]: row for row in teams.iter_rows(min_row=2, values_only=True)}
    rate = rows["全单位"][header.index("按时率")]
    assert isinstance(rate, float) and rate == pytest.approx(5 / 7)  # a real number cell, not text
    assert teams.cell(row=2, column=header.index("按时率") + 1).number_format == "0.0%"
    assert rows["一中队"][header.index("逾期上传")] == 1 and rows["全单位"][header.index("记录数")] == 6
    officers = {row[1]: row for row in wb["警号"].iter_rows(min_row=2, values_only=True)}
    assert officers["012345"][2] == "张三" and officers["011111"][[c.value for c in wb["警号"][1]].index("逾期未上传(班次)")] == 1
    days = list(wb["每日上传数"].iter_rows(min_row=2, values_only=True))
    assert days == [(datetime(2026, 11, 20), 0)]  # a real date cell
    assert "逾期上传" in wb.sheetnames and "当班无记录" in wb.sheetnames
    path = tmp / "r.csv"
    dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "csv", "--out", str(path))
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8 Chinese
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["# 执法队"] and "按时率" in rows[1]
    unit_row = next(r for r in rows if r and r[0] == "全单位")
    assert unit_row[rows[1].index("记录数")] == "6"


def test_html_is_self_contained_linked_and_renders_chinese_in_chromium(unit):
    dock, app, clock, tmp = unit
    out = tmp / "r.html"
    dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "html", "--out", str(out))
    html = out.read_text(encoding="utf-8")
    assert "<svg" in html and "执法记录仪上传情况报告" in html
    for ref in ("src=\"http", "href=\"http", "@import", "url(http", "<script"):
        assert ref not in html  # nothing fetched, nothing run
    # Every figure that has items links to them: the officer's late count to 张三's late item.
    assert 'href="#late_upload--一中队--012345"' in html and 'id="late_upload--一中队--012345"' in html
    assert 'href="#shift_overdue--一中队--011111"' in html and 'id="shift_overdue--一中队--011111"' in html
    # A unit that configures English gets it beside the Chinese, labels and messages alike.
    bilingual = tmp / "r-en.html"
    write_report(build_report(app, ReportRequest(DAY, DAY)), "html", bilingual, "zh-en")
    text = bilingual.read_text(encoding="utf-8")
    assert "按时率 On-time rate" in text and "has not docked; deadline" in text and "未上传" in text
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian chromium is not installed (make system-deps installs it)")
    shot = tmp / "r.png"
    profile = tmp / "chromium-profile"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--window-size=1400,1000", f"--screenshot={shot}",
                    out.as_uri()], capture_output=True, timeout=120, check=True,
                   env={**os.environ, "HOME": str(tmp)})
    from PIL import Image

    image = Image.open(shot).convert("L")
    colours = image.getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 20  # not blank: text, tables and bars
    dark = sum(n for n, level in colours if level < 128)
    assert dark > image.width * image.height * 0.005
    # The Chinese is drawn with a CJK font, not as boxes: the same page printed to PDF by
    # Chromium carries the text back out.
    pdf = tmp / "chromium.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    f"--user-data-dir={profile}", "--no-pdf-header-footer", f"--print-to-pdf={pdf}", out.as_uri()],
                   capture_output=True, timeout=120, check=True, env={**os.environ, "HOME": str(tmp)})
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "一中队" in text and "张三" in text


def test_pdf_has_the_chinese_team_names(unit):
    dock, app, clock, tmp = unit
    out = tmp / "r.pdf"
    dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "pdf", "--out", str(out))
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    for words in ("执法记录仪上传情况报告", "一中队", "二中队", "张三", "逾期上传", "late_upload", "002第16条"):
        assert words in flat
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts
    subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(out), str(tmp / "page")], check=True)
    page = next(tmp.glob("page*.png"))
    assert page.stat().st_size > 5000  # a page with content, not an empty sheet


def test_every_recording_needing_its_proves_object_is_counted_and_the_first_listed(tmp_path):
    """Under a policy where every stored recording needs 证明对象 (000 第31条) most of a month can
    be missing it: each officer's count and the total are every such recording of the period
    (not the deleted), and the list holds the `item_limit` made first, in team, officer, id order."""
    from sqlalchemy import select

    from ingestd.compliance import rollup
    from ingestd.compliance.recompute import recompute
    from ingestd.db.models import Recording, RecordingCompliance
    from tests.synthetic_year import populate

    dock = make_dock(tmp_path, INGESTD_POLICY="hengyang-forestry")
    app = dock.app(FixedClock(datetime(2026, 11, 8, 12, tzinfo=TZ)))
    populate(app, officers=4, days=6, clips_per_shift=3, start_day=date(2026, 11, 1))
    recompute(app)
    first, last = date(2026, 11, 2), date(2026, 11, 4)
    lo, hi = datetime(2026, 11, 2, tzinfo=TZ), datetime(2026, 11, 5, tzinfo=TZ)
    with app.db.engine.begin() as c:  # one of the period's, deleted after approval
        gone = c.execute(select(RecordingCompliance.recording_id).where(RecordingCompliance.made_at >= lo)
                         .order_by(RecordingCompliance.recording_id).limit(1)).scalar()
        c.execute(update(Recording).where(Recording.id == gone).values(status="deleted"))
    rollup.rebuild_days_of(app, [gone])  # as the deletion's approval does
    with app.db.reading() as s:
        made = s.execute(
            select(RecordingCompliance.team, RecordingCompliance.officer_badge, RecordingCompliance.recording_id,
                   RecordingCompliance.made_at)
            .join(Recording, Recording.id == RecordingCompliance.recording_id)
            .where(RecordingCompliance.made_at >= lo, RecordingCompliance.made_at < hi,
                   Recording.status != "deleted")).all()
    expected = sorted((team, badge, rid) for team, badge, rid, _made in made)
    first_made = sorted((team, badge, rid) for team, badge, rid, _made in sorted(made, key=lambda r: (r[3], r[2]))[:5])
    assert len(expected) > 10
    report = build_report(app, ReportRequest(first, last, item_limit=5))
    listed = report.lists["evidence_missing_proves"]
    assert report.unit.missing_proves == listed.total == len(expected)
    for o in report.officers:
        assert o.figures.missing_proves == sum(1 for _t, badge, _r in expected if badge == o.badge), o.badge
    assert [i["recording_id"] for i in listed.items] == [rid for *_who, rid in first_made]
    assert gone not in {i["recording_id"] for i in listed.items}
