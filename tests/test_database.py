"""The schema: migrations and models agree, on SQLite and on the real PostgreSQL; several
processes (docks) sharing one database and store store each recording once."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select, text

from ingestd.db import migrate
from ingestd.db.engine import Database
from ingestd.db.models import RECORDING_MADE, Base, Recording
from tests.conftest import copy_clip, make_dock, ocfl_validate, pg_database



@pytest.fixture
def pg_url():
    with pg_database() as url:
        yield url


def _schema_diff(url: str) -> list:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()


def test_migrations_match_models_on_sqlite(dock):
    assert _schema_diff(dock.settings.db_url) == []
    # Indexes on an expression are beyond the comparison on SQLite: the migration's must be the
    # ones the queries' own expression reads in order.
    engine = create_engine(dock.settings.db_url)
    with engine.connect() as conn:
        for query, index in ((select(Recording.id).order_by(RECORDING_MADE.desc()).limit(1), "ix_recordings_made"),
                             (select(Recording.id).where(Recording.device_id == 1).order_by(RECORDING_MADE.desc())
                              .limit(1), "ix_recordings_device_made")):
            compiled = query.compile(conn, compile_kwargs={"literal_binds": True})
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}"))
            assert f"USING INDEX {index}" in plan and "TEMP B-TREE" not in plan, plan
    engine.dispose()


@pytest.mark.postgres
def test_migrations_match_models_on_postgres(tmp_path, pg_url):
    make_dock(tmp_path, INGESTD_DATABASE_URL=pg_url)
    assert _schema_diff(pg_url) == []


@pytest.mark.postgres
def test_ingest_verify_and_audit_on_postgres(tmp_path, pg_url, clips):
    dock = make_dock(tmp_path, INGESTD_DATABASE_URL=pg_url)
    copy_clip(clips["h264"], tmp_path / "cam" / "20261120_083000.mp4")
    copy_clip(clips["hevc"], tmp_path / "cam" / "b.mp4")
    (tmp_path / "cam" / "cut.mp4").write_bytes(clips["h264_b"].read_bytes()[:3000])
    out = dock.cli_json("ingest", str(tmp_path / "cam"), "--device", "PG-1")
    assert sorted(f["status"] for f in out["files"]) == ["damaged", "ingested", "ingested"]
    recs = dock.cli_json("recordings", "list")
    assert {r["start"] for r in recs} >= {"2026-11-20T08:30:00+08:00"}
    assert dock.cli_json("verify")["ok"]
    assert dock.cli_json("audit", "verify")["ok"]
    again = dock.cli_json("ingest", str(tmp_path / "cam"), "--device", "PG-1")
    assert {f["code"] for f in again["files"]} == {"already_ingested"}


def _concurrent_docks(dock, cam, n: int = 3) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen([sys.executable, "-m", "ingestd", "ingest", str(cam), "--device", f"DOCK-{i}",
                               "--json"], env=dock.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(n)]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=300), *p.communicate()) for p in procs]


def _assert_each_stored_once(dock, cam):
    import hashlib

    results = _concurrent_docks(dock, cam)
    for r in results:
        assert r.returncode == 0, r.stderr
    expected = {hashlib.sha256(p.read_bytes()).hexdigest() for p in cam.rglob("*.mp4")}
    app = dock.app()
    with app.db.reading() as s:
        assert set(s.execute(select(Recording.id)).scalars()) == expected
    assert {oid.rsplit(":", 1)[1] for oid, _ in app.store.iter_objects()} == expected
    assert ocfl_validate(dock.settings.data_dir / "store")[0]
    assert dock.cli_json("audit", "verify")["ok"]


def _camera(tmp_path, clips):
    cam = tmp_path / "cam"
    for i, name in enumerate(("h264", "h264_b", "h264_c", "hevc", "silent")):
        copy_clip(clips[name], cam / f"{i}.mp4")
    return cam


def test_docks_sharing_sqlite_and_store_store_each_recording_once(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    _assert_each_stored_once(dock, _camera(tmp_path, clips))


@pytest.mark.postgres
def test_docks_sharing_postgres_and_store_store_each_recording_once(tmp_path, clips, pg_url):
    dock = make_dock(tmp_path, INGESTD_DATABASE_URL=pg_url, INGESTD_INGEST__WORKERS="1")
    _assert_each_stored_once(dock, _camera(tmp_path, clips))


def test_upgrade_backs_up_sqlite_before_migrating(tmp_path):
    from alembic import command

    from ingestd.db import migrate
    from ingestd.db.engine import Database

    db = Database.open(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    backup = migrate.upgrade(db, tmp_path / "backups")
    assert backup is not None and migrate.current_revision(db) == migrate.head_revision()
    old = Database.open(f"sqlite:///{backup}")
    assert migrate.current_revision(old) == "0001"  # the copy is the database as it was
    old.dispose()
    assert migrate.upgrade(db, tmp_path / "backups") is None  # at head: nothing to back up
    db.dispose()


def test_an_upgrade_killed_while_backing_up_leaves_no_file_named_like_a_backup(tmp_path):
    """Killed after the copy is written and before it is checked: the backups folder holds no
    `ingestd-*.db` an admin could mistake for a backup, the database is as it was, and the next
    upgrade removes the leftover and takes a backup that opens at the old revision."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database.open(url)
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0014")
    db.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")}
    env.update(INGESTD_DATA_DIR=str(tmp_path / "var"), INGESTD_DATABASE_URL=url)
    backups = tmp_path / "var" / "backups"

    def upgrade(**extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ingestd", "db", "upgrade", "--json"], env={**env, **extra},
                              capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)

    killed = upgrade(INGESTD_FAILPOINTS="db.backup_copied")
    assert killed.returncode == -9, killed.stderr
    assert not list(backups.glob("ingestd-*")) and list(backups.glob(f".*{migrate.PARTIAL_BACKUP}*"))
    db = Database.open(url)
    assert migrate.current_revision(db) == "0014"
    db.dispose()

    done = upgrade()
    assert done.returncode == 0, done.stderr
    backup = json.loads(done.stdout)["backup"]
    assert [p.name for p in backups.iterdir()] == [os.path.basename(backup)]  # the leftover is gone
    old = Database.open(f"sqlite:///{backup}")
    assert migrate.current_revision(old) == "0014"
    old.dispose()


def test_a_backup_that_does_not_check_out_stops_the_upgrade(tmp_path, monkeypatch):
    """A copy cut short after it was written (as a full disk or a failing one would leave it)
    is never named a backup, and the database is not upgraded."""
    from alembic import command

    from ingestd.errors import IngestdError

    def cut_the_copy(point: str) -> None:
        if point == "db.backup_copied":
            partial = next((tmp_path / "backups").glob(f".*{migrate.PARTIAL_BACKUP}"))
            os.truncate(partial, partial.stat().st_size // 2)

    db = Database.open(f"sqlite:///{tmp_path / 'old.db'}")
    cfg = migrate.alembic_config()
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0001")
    monkeypatch.setattr(migrate.failpoints, "hit", cut_the_copy)
    with pytest.raises(IngestdError, match="copy of the database taken before upgrading"):
        migrate.upgrade(db, tmp_path / "backups")
    assert migrate.current_revision(db) == "0001" and not list((tmp_path / "backups").iterdir())
    db.dispose()


def test_the_schema_question_answers_as_alembic_does(dock):
    """Every command asks whether the schema is at head without loading Alembic: the answer is
    Alembic's own, on a database at head, at an older revision and with no version at all."""
    from alembic.script import ScriptDirectory

    assert migrate.head_revision() == ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()
    engine = create_engine(dock.settings.db_url)
    db = Database.open(dock.settings.db_url, "test")
    try:
        for revision in (migrate.head_revision(), "0001", None):
            with engine.begin() as conn:
                conn.execute(text("delete from alembic_version"))
                if revision:
                    conn.execute(text("insert into alembic_version (version_num) values (:r)"), {"r": revision})
            with engine.connect() as conn:
                assert migrate.current_revision(db) == MigrationContext.configure(conn).get_current_revision()
    finally:
        db.dispose()
        engine.dispose()


def _damage(path, at: str) -> None:
    with open(path, "r+b") as fh:
        if at == "header":
            fh.write(b"this is not a database file!")
        else:  # a run of pages in the middle, as a failing disk leaves them
            fh.seek(path.stat().st_size // 2)
            fh.write(b"\xff" * 8192)


def test_a_damaged_sqlite_database_is_said_in_one_line_with_the_way_back(dock):
    """A file that is not a database stops every command in one line (exit 3) naming the
    file and the way back; damaged pages further in are found by `db check` and stop the
    daemon's start, instead of a traceback from some query later."""
    db_file = dock.settings.data_dir / "ingestd.db"
    assert dock.cli_json("db", "check")["ok"] is True
    good = db_file.read_bytes()
    _damage(db_file, "header")
    for args in (["recordings", "list"], ["db", "check"], ["run"]):
        out = dock.cli(*args, check=3, timeout=60)
        assert out.stderr.count("\n") == 1 and "is damaged" in out.stderr and str(db_file) in out.stderr
        assert "ingestd store rebuild-index" in out.stderr and "Traceback" not in out.stderr
    db_file.write_bytes(good)
    _damage(db_file, "middle")
    for args in (["db", "check"], ["run"]):
        out = dock.cli(*args, check=3, timeout=60)
        assert "is damaged" in out.stderr and out.stderr.count("\n") == 1


@pytest.mark.parametrize("said, transient", [
    ('connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  the database system is '
     'shutting down', True),
    ('connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  the database system is '
     'starting up', True),
    ("FATAL:  the database system is in recovery mode", True),
    ('connection failed: connection to server at "127.0.0.1", port 37091 failed: FATAL:  the database system is '
     'not yet accepting connections', True),  # PostgreSQL 15 replaying its log after a crash
    ('FATAL:  password authentication failed for user "ingestd"', False),
    ('relation "recordings" does not exist', False),
])
def test_a_server_starting_or_stopping_is_waited_for_and_a_real_refusal_is_not(said, transient):
    """PostgreSQL says these at connect time with no SQLSTATE: the retry must know them by
    their words, or a dock dies on a 3 s restart."""
    import psycopg
    from sqlalchemy.exc import OperationalError

    from ingestd.db.engine import is_transient

    assert is_transient(OperationalError("connect", {}, psycopg.OperationalError(said))) is transient
