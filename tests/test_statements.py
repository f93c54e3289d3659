"""No N+1: the main queries — the recordings list (and its filtered pages), a recording's page,
the dashboard, the report — send as many SQL statements for a unit four times larger, on
SQLite and on PostgreSQL. A loop that asks once per row would show here as a count that grows."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import event, select

from ingestd.clock import FixedClock
from ingestd.compliance.recompute import recompute
from ingestd.compliance.report import ReportRequest, build_report
from ingestd.db.models import Recording
from ingestd.users import add_user
from tests.conftest import make_dock, pg_database
from tests.synthetic_year import populate
from tests.web_fixtures import PASSWORD, client, log_in

START = date(2026, 11, 1)
NOW = datetime(2026, 11, 8, 4, tzinfo=timezone.utc)
PAGES = ["/recordings", "/recordings?officer=000001", "/recordings?team=2中队&upload_status=late",
         "/recordings?off_duty=1", "/", "/report?start=2026-11-01&end=2026-11-07"]


@contextmanager
def counting(engine):
    sent: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _statements(tmp_path, url: str | None, officers: int, days: int) -> tuple[dict[str, int], int]:
    dock = make_dock(tmp_path, **({"INGESTD_DATABASE_URL": url} if url else {}))
    app = dock.app(FixedClock(NOW))
    try:
        populate(app, officers=officers, days=days, clips_per_shift=4, start_day=START)
        recompute(app)
        add_user(app, "L1", "法制科", "legal", None, None, None, "admin", PASSWORD)
        with app.db.reading() as s:
            rec_id = s.execute(select(Recording.id).order_by(Recording.id).limit(1)).scalar()
        c = client(app)
        log_in(c, "L1")
        counts = {}
        for path in PAGES + [f"/recordings/{rec_id}"]:
            c.get(path)  # once first: what a process reads once (the policy, the calendar) is not counted
            with counting(app.db.engine) as sent:
                page = c.get(path)
            assert page.status_code == 200, path
            counts[path.replace(rec_id, "REC")] = len(sent)
            if path == "/recordings":
                shown = page.text.count("<tr")
        with counting(app.db.engine) as sent:
            build_report(app, ReportRequest(START, date(2026, 11, 7)))
        counts["report model"] = len(sent)
        return counts, shown
    finally:
        app.close()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_main_queries_do_not_grow_with_the_rows(tmp_path, backend):
    if backend == "sqlite":
        (small, few), (large, many) = (_statements(tmp_path / "small", None, officers=4, days=3),
                                       _statements(tmp_path / "large", None, officers=16, days=6))
    else:
        with pg_database() as small_url, pg_database() as large_url:
            small, few = _statements(tmp_path / "small", small_url, officers=4, days=3)
            large, many = _statements(tmp_path / "large", large_url, officers=16, days=6)
    assert many > few, "the larger unit shows more rows on a page"
    assert large == small, {k: (small[k], large[k]) for k in small if small[k] != large.get(k)}
    assert all(n <= 40 for n in large.values()), large  # a page is a handful of queries, not dozens
