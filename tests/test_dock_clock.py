"""The dock's own clock (the faults issue, item 10): a year off either way is found against
the database server's clock, or against three cameras that agree, and opens one incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from ingestd import dock_clock
from ingestd.afterdock import ingest
from ingestd.clock import FixedClock
from ingestd.db.models import Incident
from ingestd.findings import Finding
from tests.conftest import copy_clip, make_dock, pg_database

YEAR = timedelta(days=365)


def _incidents(app) -> list[Incident]:
    with app.db.reading() as s:
        return s.execute(select(Incident).where(Incident.code == "dock_clock_off")).scalars().all()


@pytest.mark.postgres
@pytest.mark.parametrize("step, said, said_zh", [(YEAR, "365 d fast", "快 365 天"), (-YEAR, "365 d slow", "慢 365 天")])
def test_a_dock_a_year_off_is_found_against_the_database_server(tmp_path, step, said, said_zh):
    with pg_database() as url:
        dock = make_dock(tmp_path, INGESTD_DATABASE_URL=url)
        right = dock.app(FixedClock(datetime.now(UTC)))
        try:
            reading = dock_clock.check(right)
            assert reading.against == "database" and not reading.off and abs(reading.offset_s) < 60
            assert _incidents(right) == []
        finally:
            right.close()
        wrong = dock.app(FixedClock(datetime.now(UTC) + step))
        try:
            assert dock_clock.check(wrong).off
            assert dock_clock.check(wrong).off  # asked again: still one incident for this dock
            [incident] = _incidents(wrong)
            assert incident.status == "open" and incident.facts["offset"] == said
            finding = Finding("dock_clock_off", incident.facts)
            assert said in finding.message and said_zh in finding.message_zh and "数据库服务器" in finding.message_zh
            assert "database" not in finding.message_zh
        finally:
            wrong.close()


def test_three_cameras_that_agree_outvote_the_dock(tmp_path, clips):
    """On SQLite there is no second clock but the cameras': docked under a clock a year fast,
    two cameras reading a year behind it are not enough; the third is."""
    dock = make_dock(tmp_path)
    truth = datetime(2026, 11, 20, 12, tzinfo=UTC)
    app = dock.app(FixedClock(truth + YEAR))
    try:
        for n in range(3):
            if n == 2:
                assert dock_clock.check(app) is None and _incidents(app) == []
            cam = tmp_path / f"cam{n}"
            copy_clip(clips["h264"], cam / f"2026112{n}_083000.mp4")
            ingest(app, [cam], None, f"CAM-{n}", camera_clock=truth)
        reading = dock_clock.check(app)
        assert (reading.against, reading.witnesses, reading.off) == ("cameras", 3, True)
        assert reading.offset_s == pytest.approx(YEAR.total_seconds(), abs=5)
        [incident] = _incidents(app)
        assert incident.facts["against_zh"] == "近一天接入的记录仪"
    finally:
        app.close()


@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_the_incident_reads_in_the_consoles_language(tmp_path, clips, language):
    """The admins' incidents page says which dock, how far off and against what, in the
    console's language only."""
    from tests.test_web_browser import SHOTS, signed_in_console

    dock = make_dock(tmp_path)
    truth = datetime(2026, 11, 20, 12, tzinfo=UTC)
    app = dock.app(FixedClock(truth + YEAR))
    try:
        for n in range(3):
            cam = tmp_path / f"cam{n}"
            copy_clip(clips["h264"], cam / "20261120_083000.mp4")
            ingest(app, [cam], None, f"CAM-{n}", camera_clock=truth)
        assert dock_clock.check(app).off
    finally:
        app.close()
    with signed_in_console(dock, language) as (page, base):
        page.goto(f"{base}/incidents")
        shown = page.inner_text("main")
        page.screenshot(path=str(SHOTS / f"dock-clock-incident-{language}.png"), full_page=True)
    if language == "en":
        assert "test-dock: this dock's clock is 365 d fast against the clocks of the cameras docked here" in shown
    else:
        assert "test-dock：采集站时钟比近一天接入的记录仪时钟快 365 天" in shown
        assert "fast" not in shown and "cameras" not in shown
