"""PostgreSQL restarted under a dock and under the job workers (the faults issue, items 2
and 3), on a server of the test's own: the machine's shared server is never stopped."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, func, select, text

from ingestd.db.models import DockSession, SourceFile
from tests.conftest import make_dock
from tests.private_postgres import PrivatePostgres
from tests.test_daemon import wait_for

FILES = 250


@pytest.fixture
def own_postgres():
    pg = PrivatePostgres()
    pg.start()
    try:
        yield pg
    finally:
        pg.close()


def _camera(root, clip) -> None:
    """FILES distinct recordings: one tiny clip with a different tail each (bytes after the
    last box, which players ignore), so every file is its own recording."""
    cam = root / "cam" / "DCIM"
    cam.mkdir(parents=True)
    data = clip.read_bytes()
    for i in range(FILES):
        (cam / f"20261120_{8 + i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}.mp4").write_bytes(
            data + b"\0\0\0\x10free" + i.to_bytes(8, "big"))


def _ours(stderr: str) -> str:
    """What a failed run said, shortened to its last line and the frames of ingestd's own code."""
    lines = stderr.strip().splitlines()
    return "\n".join([line for line in lines if "/ingestd/" in line and "site-packages" not in line][-12:]
                     + lines[-1:])


def _crash_under(pg: PrivatePostgres, engine, args: list[str], env: dict, reached) -> subprocess.CompletedProcess:
    """Run `ingestd *args`; once `reached()` the server crashes (connections cut, the next
    start recovers and says "starting up"), stays down 3 s, and comes back."""
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(reached, timeout=300, step=0.02)
        engine.dispose()
        pg.stop("immediate")
        time.sleep(3)  # the outage itself
        pg.start()
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


@pytest.mark.postgres
def test_a_command_line_dock_outlives_a_database_restart(tmp_path, clips, own_postgres):
    """`ingestd ingest` with the server crashed for 3 s a quarter of the way through: it waits,
    goes on, and ends with every file taken and its session finished (the reviewer's run
    died after 76 of 250 files, its session left `running`)."""
    dock = make_dock(tmp_path, INGESTD_DATABASE_URL=own_postgres.url, INGESTD_DATABASE_WAIT_S="60")
    _camera(tmp_path, clips["h264"])
    engine = create_engine(own_postgres.url, pool_pre_ping=True)

    def recorded() -> int:
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(SourceFile)).scalar()
        except Exception:  # noqa: BLE001 - the server is down for a moment: nothing recorded yet
            return 0

    done = _crash_under(own_postgres, engine, ["ingest", str(tmp_path / "cam"), "--json"], dock.env,
                        lambda: recorded() >= FILES // 4)
    assert done.returncode == 0, _ours(done.stderr)
    assert "Traceback" not in done.stderr
    with engine.connect() as conn:
        statuses = conn.execute(select(DockSession.status)).scalars().all()
        taken = conn.execute(select(func.count(func.distinct(SourceFile.rel_path))).where(
            SourceFile.outcome.in_(["ingested", "damaged"]))).scalar()
        conn.execute(text("select 1"))
    engine.dispose()
    assert "running" not in statuses
    assert taken == FILES


@pytest.mark.postgres
def test_job_workers_outlive_a_database_restart_and_leave_nothing_running(tmp_path, clips, own_postgres):
    """The after-dock jobs of 250 recordings worked by `ingestd jobs work --until-idle`, the
    server crashed and restarted under it: every job ends done, none is left `running` with a
    lease minutes ahead (the reviewer found 32 such after a 3 s restart)."""
    from ingestd.db.models import Job

    dock = make_dock(tmp_path, INGESTD_DATABASE_URL=own_postgres.url, INGESTD_DATABASE_WAIT_S="60")
    _camera(tmp_path, clips["h264"])
    dock.cli("ingest", str(tmp_path / "cam"), "--no-wait", timeout=300)
    engine = create_engine(own_postgres.url, pool_pre_ping=True)

    def done() -> int:
        try:
            with engine.connect() as conn:
                return conn.execute(select(func.count()).select_from(Job).where(Job.status == "done")).scalar()
        except Exception:  # noqa: BLE001 - the server is down for a moment
            return 0

    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(Job).where(Job.kind.in_(["sm3", "probe"]))).scalar()
    assert total >= 2 * FILES
    worked = _crash_under(own_postgres, engine, ["jobs", "work", "--until-idle", "--json"], dock.env,
                          lambda: done() >= total // 4)
    assert worked.returncode == 0, _ours(worked.stderr)
    with engine.connect() as conn:
        left = dict(conn.execute(select(Job.status, func.count()).group_by(Job.status)).all())
    engine.dispose()
    assert "running" not in left and "failed" not in left, left
