"""The audit log: every change leaves a signed, chained entry; tampering of any kind is named."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, select, text, update

from ingestd.db.models import AuditEvent, AuditHead, AuditNode, DockSession
from ingestd.errors import AuditError
from tests.conftest import copy_clip


@pytest.fixture
def audited(dock, clips, tmp_path):
    copy_clip(clips["h264"], tmp_path / "cam" / "a.mp4")
    copy_clip(clips["h264_b"], tmp_path / "cam" / "b.mp4")
    (tmp_path / "cam" / "junk.txt").write_text("x")
    dock.cli_json("ingest", str(tmp_path / "cam"))
    assert dock.cli_json("audit", "verify")["ok"]
    return dock


def _raw(dock, *statements):
    with dock.app().db.engine.begin() as conn:
        for st in statements:
            conn.execute(st)


def test_ingest_is_fully_audited(audited):
    with audited.app().db.reading() as s:
        actions = [e.action for e in s.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()]
    # the first command notes the rules in force (policy, calendar), then the dock starts
    # (registering the camera, named after its folder, in the same transaction)
    # (the dock's own chain is registered with its key before anything else it writes)
    assert actions[:5] == ["audit.node_registered", "user.added", "rules.changed", "device.registered",
                           "dock.started"]  # init made admin
    # the camera is released, then the jobs that follow run: compliance for what arrived
    assert actions.index("dock.released") < actions.index("compliance.recomputed")
    assert actions.index("recording.sm3") > actions.index("dock.released")  # SM3 is after-dock work
    assert actions.count("recording.ingested") == 2
    assert actions.count("source.skipped") == 1


def test_edited_entry_is_named(audited):
    _raw(audited, update(AuditEvent).where(AuditEvent.seq == 2).values(detail='{"forged":true}'))
    out = audited.cli_json("audit", "verify", check=1)
    assert out["first_bad"] == 2
    assert "edited" in out["findings"][0]["message"]


def test_removed_entry_is_named(audited):
    _raw(audited, delete(AuditEvent).where(AuditEvent.seq == 3))
    out = audited.cli_json("audit", "verify", check=1)
    assert out["first_bad"] == 4  # the entry after the gap no longer follows its predecessor
    assert "#3..#3 of this chain are missing" in out["findings"][0]["message"]


def test_reordered_entries_are_named(audited):
    # Swap the contents of entries 2 and 3 (keeping their sequence numbers).
    with audited.app().db.reading() as s:
        two, three = (s.get(AuditEvent, n) for n in (2, 3))
        cols = ["at", "dock", "actor", "action", "subject_type", "subject_id", "detail", "prev_hash", "hash", "signature"]
        v2 = {c: getattr(two, c) for c in cols}
        v3 = {c: getattr(three, c) for c in cols}
    _raw(audited, update(AuditEvent).where(AuditEvent.seq == 2).values(**v3),
         update(AuditEvent).where(AuditEvent.seq == 3).values(**v2))
    out = audited.cli_json("audit", "verify", check=1)
    assert out["first_bad"] == 2


def test_entries_cut_off_the_end_are_noticed(audited):
    with audited.app().db.reading() as s:
        last = s.get(AuditHead, "test-dock").seq
    _raw(audited, delete(AuditEvent).where(AuditEvent.seq == last))
    out = audited.cli_json("audit", "verify", check=1)
    assert "cut off the end" in out["findings"][0]["message"]


def test_a_change_without_an_audit_entry_is_refused(dock):
    app = dock.app()
    with pytest.raises(AuditError):
        with app.changes.begin("someone") as ch:
            ch.session.execute(update(DockSession).values(status="interrupted"))
    with pytest.raises(AuditError):
        with app.changes.begin("someone") as ch:
            ch.session.add(AuditNode(node="sneaked-in"))
    with app.db.reading() as s:
        assert s.execute(text("select count(*) from audit_nodes")).scalar() == 1


def test_entries_written_with_a_local_time_clock_still_verify(dock):
    """The clock may hand out times in any zone; the chain must not depend on it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from ingestd.clock import FixedClock

    app = dock.app(FixedClock(datetime(2026, 11, 20, 20, tzinfo=ZoneInfo("Asia/Shanghai"))))
    with app.changes.begin("someone") as ch:
        ch.record("test.local_time", "test", "1")
    assert dock.cli_json("audit", "verify")["ok"]
