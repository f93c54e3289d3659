"""What a careful tester found around the store: names compared as bytes, exports into the
data directory, a full database disk, bad configuration and arguments, values that were
accepted but wrong, and names printed raw. Each ends in one clear line (exit 2 or 3) or a
recorded status, and nothing stored is lost or changed."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from ingestd.media.synthetic import ClipSpec, make_clip
from tests.conftest import copy_clip, make_dock, ocfl_validate

ROSTER_HEAD = "日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"


def one_line_error(proc: subprocess.CompletedProcess, code: int) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr
    # Structured log lines (ts=… or JSON) may come before it; the error itself is one line.
    lines = [line for line in proc.stderr.strip().splitlines() if not line.startswith(("ts=", "level=", "{"))]
    assert len(lines) == 1 and lines[0].startswith("ingestd: "), proc.stderr
    return lines[0]


def test_names_are_compared_as_the_bytes_they_are(tmp_path):
    """A file named with a literal "\\xff" and, at another dock of the same camera, one whose
    name holds the byte 0xFF, same size and mtime, different content: the second is read."""
    dock = make_dock(tmp_path)
    first, second = tmp_path / "dock1", tmp_path / "dock2"
    first.mkdir()
    second.mkdir()
    a = first / "\\xff.mp4"
    b = Path(os.fsdecode(os.fsencode(str(second)) + b"/\xff.mp4"))
    a.write_bytes(b"A" * 4096)
    b.write_bytes(b"B" * 4096)
    os.utime(a, ns=(1_700_000_000_000_000_000,) * 2)
    os.utime(b, ns=(1_700_000_000_000_000_000,) * 2)
    one = dock.cli_json("ingest", str(first), "--device", "CAM-X")["files"]
    two = dock.cli_json("ingest", str(second), "--device", "CAM-X")["files"]
    assert [f["rel_path"] for f in one] == [f["rel_path"] for f in two] == ["\\xff.mp4"]  # they display alike
    assert two[0]["status"] == "damaged" and two[0]["sha256"] != one[0]["sha256"]
    assert len(dock.cli_json("recordings", "list")) == 2
    # and the same bytes again are known: a re-dock of the second camera reads nothing
    assert dock.cli_json("ingest", str(second), "--device", "CAM-X")["files"][0]["code"] == "already_ingested"


def test_export_inside_the_data_directory_is_refused_and_verify_finds_foreign_files(tmp_path, clips):
    dock = make_dock(tmp_path)
    dock.cli_json("users", "add", "L1", "--name", "法制员", "--role", "legal", "--by", "admin")
    copy_clip(clips["h264"], tmp_path / "cam" / "20261120_100000.mp4")
    [rid] = [f["recording_id"] for f in dock.cli_json("ingest", str(tmp_path / "cam"), "--device", "C1")["files"]]
    store = dock.settings.data_dir / "store"
    for inside in (store, store / "x", dock.settings.data_dir / "exports"):
        line = one_line_error(dock.cli("export", rid, "--out", str(inside), "--by", "L1", check=None), 2)
        assert "inside the data directory" in line
    (tmp_path / "a-file").write_text("x")
    assert "is a file" in one_line_error(dock.cli("export", rid, "--out", str(tmp_path / "a-file"), "--by", "L1",
                                                  check=None), 2)
    assert ocfl_validate(store)[0] and dock.cli_json("verify")["ok"]
    # Something put into the storage root by hand is named by verify.
    (store / "notes.txt").write_text("x")
    obj = next(p for p in store.rglob("0=ocfl_object_1.1")).parent
    obj.chmod(0o755)
    (obj / "extra.bin").write_bytes(b"x")
    found = dock.cli_json("verify", check=1)["findings"]
    assert sorted(f["path"].rsplit("/", 1)[-1] for f in found if f["code"] == "store_foreign") == \
        ["extra.bin", "notes.txt"]


BAD = [
    ({"INGESTD_DATABASE_URL": "foo://bar"}, ["recordings", "list"], "INGESTD_DATABASE_URL"),
    ({"INGESTD_DATABASE_URL": "postgresql+psycopg://postgres@127.0.0.1:1/none"}, ["recordings", "list"],
     "cannot open the database"),
    ({"INGESTD_DATABASE_URL": "sqlite:////nonexistent/folder/x.db"}, ["recordings", "list"], "does not exist"),
    ({"INGESTD_INGEST__WORKERS": "-1"}, ["recordings", "list"], "INGESTD_INGEST__WORKERS"),
    ({}, ["deadline", "--end", "9999-12-31T23:59:59+08:00"], "out of range"),
    ({}, ["deadline", "--end", "2026-11-20T10:00", "--assignment", "offsite", "--returned",
          "9999-12-31T23:59:59+08:00"], "out of range"),
    ({}, ["ingest", "/tmp", "--device", "../../etc"], "--device"),
    ({}, ["ingest", "/tmp", "--device", "CAM\n99"], "--device"),
]


@pytest.mark.parametrize("env, args, says", BAD, ids=[" ".join(a)[:40] for _e, a, _s in BAD])
def test_bad_input_is_one_line_and_exit_2(tmp_path, env, args, says):
    dock = make_dock(tmp_path)
    dock.env.update(env)
    line = one_line_error(dock.cli(*args, check=None), 2)
    assert says in line and "\n" not in line


def test_bad_config_files_and_data_dirs(tmp_path):
    dock = make_dock(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b'data_dir = "\xff"\n')
    assert "not UTF-8" in one_line_error(dock.cli("--config", str(bad), "recordings", "list", check=None), 2)
    (tmp_path / "a-file").write_text("x")
    dock.env["INGESTD_DATA_DIR"] = str(tmp_path / "a-file")
    for args in (["init"], ["recordings", "list"]):
        line = one_line_error(dock.cli(*args, check=None), 2)
        assert "INGESTD_DATA_DIR" in line and "is a file" in line


def test_voice_at_must_be_a_number_of_seconds(tmp_path, clips):
    dock = make_dock(tmp_path)
    dock.cli_json("users", "add", "O1", "--name", "张三", "--role", "officer", "--by", "admin")
    copy_clip(clips["h264"], tmp_path / "cam" / "20261120_100000.mp4")
    copy_clip(clips["h264_b"], tmp_path / "cam" / "20261120_100100.mp4")
    dock.cli_json("ingest", str(tmp_path / "cam"), "--device", "C1")
    [gap] = dock.cli_json("gaps", "list")
    for value in ("nan", "inf", "-inf"):
        one_line_error(dock.cli("gaps", "explain", str(gap["id"]), "--reason", "low_battery", "--voice-at", value,
                                "--by", "O1", check=None), 2)
    assert dock.cli_json("gaps", "list")[0]["status"] == "open"


@pytest.mark.parametrize("row, says", [
    ("2026-11-20,012345,张三,,一队,2026-11-20 18:00,2026-11-20 08:00,常规,,C1", "ends"),
    ("2026-11-20,012345,张三,,一队,2026-11-21 08:00,2026-11-21 18:00,常规,,C1", "not on the row's date"),
    ("2026-11-20,012345,张三,,一队,08:00,08:00,常规,,C1", "same time"),
    ("2026-11-20,012345,张三,,一队,08:00,18:00,异地执法,2026-11-19 20:00,C1", "before the shift starts"),
])
def test_roster_rows_that_cannot_be_right_are_refused(tmp_path, row, says):
    dock = make_dock(tmp_path)
    path = tmp_path / "r.csv"
    path.write_text(ROSTER_HEAD + row + "\n", encoding="utf-8")
    line = one_line_error(dock.cli("roster", "import", "--by", "admin", str(path), check=None), 2)
    assert says in line and "row 2" in line and "nothing was imported" in line
    assert dock.cli_json("compliance", "shifts") == []


def test_xlsx_formula_without_a_saved_value_is_named(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(ROSTER_HEAD.strip().split(","))
    sheet.append(["2026-11-20", "=TEXT(12345,\"000000\")", "张三", "", "一队", "08:00", "18:00", "常规", "", "C1"])
    book.save(tmp_path / "r.xlsx")  # written by a program: no cached value for the formula
    dock = make_dock(tmp_path)
    line = one_line_error(dock.cli("roster", "import", "--by", "admin", str(tmp_path / "r.xlsx"), check=None), 2)
    assert "formula" in line and "no saved value" in line and "empty" not in line


def test_names_with_newlines_and_bidi_controls_are_printed_escaped(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_LOG_LEVEL="INFO")
    cam = tmp_path / "CAM-P"
    copy_clip(clips["h264"], cam / "20261120_100000\n.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_100100\u202e4pm.exe.mp4")
    out = dock.cli("ingest", str(cam), "--device", "CAM-P")
    for text in (out.stdout, out.stderr, dock.cli("recordings", "list").stdout):
        assert "\u202e" not in text and "20261120_100000\n" not in text
    assert "20261120_100000\\n.mp4" in out.stdout and "\\u202e4pm" in out.stdout
    assert "\\u202e" in dock.cli("recordings", "list").stdout
    # the JSON keeps the names exactly, for scripts
    names = {r["path"] for r in dock.cli_json("recordings", "list")}
    assert names == {"20261120_100000\n.mp4", "20261120_100100\u202e4pm.exe.mp4"}


def test_database_disk_full_interrupts_cleanly_and_recovers(tmp_path, small_disk):
    subprocess.run(["mount", "-o", "remount,size=2m", str(small_disk)], check=True)  # room for the empty schema
    db = small_disk / "ingestd.db"
    dock = make_dock(tmp_path, INGESTD_DATABASE_URL=f"sqlite:///{db}", INGESTD_INGEST__RESERVE_MB="0")
    cam = tmp_path / "CAM-F"
    base = make_clip(tmp_path / "base.mp4", ClipSpec(seconds=1, width=160, height=120))
    data = base.read_bytes()
    cam.mkdir()
    for i in range(400):  # tiny, distinct, sound files (a `free` box tells them apart): many rows, few bytes
        tag = f"{i:08d}".encode()
        (cam / f"20261120_{10 + i // 60:02d}{i % 60:02d}00.mp4").write_bytes(
            data + (8 + len(tag)).to_bytes(4, "big") + b"free" + tag)
    proc = dock.cli("ingest", str(cam), "--device", "CAM-F", "--no-wait", check=None)
    line = one_line_error(proc, 3)
    assert "database's disk is full" in line
    # Space comes back: the next run marks the cut-short session, raises the incident, and
    # takes every file exactly once.
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    dock.cli_json("ingest", str(cam), "--device", "CAM-F")
    sessions = dock.cli_json("devices", "list")
    assert sessions[0]["state"] == "released"
    incidents = dock.cli_json("incidents", "list", "--open")
    assert [i["code"] for i in incidents] == ["disk_full"]
    recs = dock.cli_json("recordings", "list")
    assert len(recs) == 400 and len({r["id"] for r in recs}) == 400
    assert dock.cli_json("verify")["ok"] and dock.cli_json("audit", "verify")["ok"]
    assert ocfl_validate(dock.settings.data_dir / "store")[0]


def test_a_dock_is_refused_below_the_reserve(tmp_path, clips):
    dock = make_dock(tmp_path, INGESTD_INGEST__RESERVE_MB=str(1 << 40))
    copy_clip(clips["h264"], tmp_path / "cam" / "20261120_100000.mp4")
    line = one_line_error(dock.cli("ingest", str(tmp_path / "cam"), "--device", "C1", check=None), 3)
    assert "dock refused" in line and "ingest.reserve_mb" in line
    assert dock.cli_json("recordings", "list") == []
    [inc] = dock.cli_json("incidents", "list", "--open")
    assert inc["code"] == "disk_full"
    one_line_error(dock.cli("ingest", str(tmp_path / "cam"), "--device", "C1", check=None), 3)
    assert len(dock.cli_json("incidents", "list", "--open")) == 1  # raised once while it stays low
    assert list((dock.settings.data_dir / "store").rglob("*.mp4")) == []
    shutil.rmtree(tmp_path / "cam")


def _small_dump(cam: Path, base: Path, n: int) -> None:
    cam.mkdir(parents=True)
    data = base.read_bytes()
    for i in range(n):
        tag = f"{i:08d}".encode()
        (cam / f"20261120_{10 + i // 60:02d}{i % 60:02d}00.mp4").write_bytes(
            data + (8 + len(tag)).to_bytes(4, "big") + b"free" + tag)


@pytest.mark.postgres
def test_postgres_connections_cut_while_docking(tmp_path):
    """The database goes away for moments while a dock and its jobs run (every connection
    terminated, again and again): the dock waits and retries; every file is stored and
    recorded once, every job done, the audit chain whole."""
    import threading

    from sqlalchemy import create_engine, text

    from tests.conftest import pg_database

    with pg_database() as url:
        dock = make_dock(tmp_path, INGESTD_DATABASE_URL=url)
        cam = tmp_path / "CAM-PG"
        _small_dump(cam, make_clip(tmp_path / "b.mp4", ClipSpec(seconds=1, width=160, height=120)), 60)
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        stop, cuts = threading.Event(), []

        def cut() -> None:
            with admin.connect() as conn:
                while not stop.wait(0.3):
                    n = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                          "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
                    cuts.append(n)

        cutter = threading.Thread(target=cut)
        cutter.start()
        try:
            proc = dock.cli("ingest", str(cam), "--device", "CAM-PG", "--json", check=None)
        finally:
            stop.set()
            cutter.join()
            admin.dispose()
        assert proc.returncode == 0, proc.stderr[-8000:]
        assert sum(cuts) > 0, "no connection was ever cut"
        recs = dock.cli_json("recordings", "list")
        assert len(recs) == 60 and all(r["sm3"] and r["upload_status"] for r in recs)
        status = dock.cli_json("jobs", "status")
        assert status["failed"] == [] and all(k["running"] == 0 for k in status["kinds"].values())
        assert dock.cli_json("verify")["ok"] and dock.cli_json("audit", "verify")["ok"]


def test_sqlite_locked_by_another_process_is_waited_for(tmp_path):
    import sqlite3
    import threading

    dock = make_dock(tmp_path)
    cam = tmp_path / "CAM-L"
    _small_dump(cam, make_clip(tmp_path / "b.mp4", ClipSpec(seconds=1, width=160, height=120)), 10)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(dock.settings.data_dir / "ingestd.db", isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        holding.set()
        release.wait(3)  # another process holds the write lock for a while
        conn.execute("COMMIT")
        conn.close()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait()
    proc = subprocess.Popen([os.sys.executable, "-m", "ingestd", "ingest", str(cam), "--device", "CAM-L"],
                            env=dock.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    release.set()
    holder.join()
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert len(dock.cli_json("recordings", "list")) == 10


def test_a_clock_stepped_back_and_forth_keeps_deadlines_leases_and_the_chain(tmp_path, clips):
    from datetime import datetime, timedelta, timezone

    from ingestd.afterdock import ingest, work_jobs
    from ingestd.clock import FixedClock
    from ingestd.jobs import queue
    from ingestd.jobs.kinds import DERIVATIVES
    from ingestd.schedule import compliance_sweep

    dock = make_dock(tmp_path)
    copy_clip(clips["h264"], tmp_path / "cam" / "20261120_100000.mp4")
    clock = FixedClock(datetime(2026, 11, 20, 12, tzinfo=timezone.utc))
    app = dock.app(clock)
    try:
        ingest(app, [tmp_path / "cam"], None, "C1")
        first = dock.cli_json("recordings", "list")[0]
        clock.advance(timedelta(days=-3))  # the host's clock jumps back
        [job] = queue.claim(app, "w1", DERIVATIVES)
        clock.advance(timedelta(minutes=30))  # forward a little while w1 works: its hour's lease holds
        assert job.id not in [j.id for j in queue.claim(app, "w2", DERIVATIVES, limit=10)]
        clock.advance(timedelta(days=4))  # far forward: the lease runs out and the job is taken again
        assert job.id in [j.id for j in queue.claim(app, "w4", DERIVATIVES, limit=10)]
        assert queue.finish(app, "w1", [queue.Done(job.id)]) == [job.id]  # w1 no longer holds it
        compliance_sweep(app)
        work_jobs(app, DERIVATIVES)
    finally:
        app.close()
    again = dock.cli_json("recordings", "list")[0]
    assert (again["deadline"], again["upload_status"]) == (first["deadline"], first["upload_status"])
    assert dock.cli_json("audit", "verify")["ok"]  # ordered by sequence, whatever the clock said


def test_store_disk_full_loses_nothing_and_the_next_dock_finishes(tmp_path, small_disk):
    """The store's own disk (a 1 MiB tmpfs, where O_DIRECT is refused and the plain path is
    taken) fills during a dock: each file either stored whole and recorded, or left on the
    camera with a recorded status; no traceback; with space back, the next dock takes the rest."""
    data_root = small_disk
    cam = tmp_path / "CAM-S"
    _small_dump(cam, make_clip(tmp_path / "b.mp4", ClipSpec(seconds=4, width=640, height=360, bitrate="4M")), 12)
    dump = sum(p.stat().st_size for p in cam.iterdir())
    subprocess.run(["mount", "-o", f"remount,size={dump // 2 + (1 << 20)}", str(data_root)], check=True)
    dock = make_dock(data_root, INGESTD_INGEST__RESERVE_MB="0",
                     INGESTD_DATABASE_URL=f"sqlite:///{tmp_path / 'ingestd.db'}")
    proc = dock.cli("ingest", str(cam), "--device", "CAM-S", "--json", check=None)
    assert "Traceback" not in proc.stderr
    if proc.returncode == 0:
        codes = {f["code"] for f in __import__("json").loads(proc.stdout)["files"] if f["status"] == "failed"}
        assert codes == {"store_write_failed"}
    else:
        one_line_error(proc, 3)
    subprocess.run(["mount", "-o", "remount,size=256m", str(data_root)], check=True)
    again = dock.cli_json("ingest", str(cam), "--device", "CAM-S")
    assert {f["status"] for f in again["files"]} <= {"ingested", "duplicate"}
    recs = dock.cli_json("recordings", "list")
    assert len(recs) == 12 and len({r["id"] for r in recs}) == 12
    assert dock.cli_json("verify")["ok"] and ocfl_validate(dock.settings.data_dir / "store")[0]
    assert list((dock.settings.data_dir / "staging").iterdir()) == []


def test_jobs_whose_outcome_could_not_be_recorded_are_given_back_when_the_database_returns(tmp_path, clips):
    """The database gone for longer than a worker waits, just as it records what it did: the
    job is not left `running` until its lease runs out. The worker gives it back the moment
    the database answers again, without counting the attempt, and it is done once."""
    import psycopg
    import pytest
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    from ingestd.afterdock import ingest
    from ingestd.db.models import Job
    from ingestd.jobs import queue
    from ingestd.jobs.kinds import JobKind
    from ingestd.jobs.runner import Runner

    dock = make_dock(tmp_path)
    copy_clip(clips["h264"], tmp_path / "cam" / "20261120_100000.mp4")
    app = dock.app()
    real_finish, ran = queue.finish, []

    def database_gone(*args, **kwargs):
        raise OperationalError("commit", {}, psycopg.OperationalError("could not receive data from server: "
                                                                      "No route to host"))

    try:
        ingest(app, [tmp_path / "cam"], None, "C1")
        runner = Runner(app, {JobKind.HLS: lambda a, job: ran.append(job.id) or queue.Done(job.id)},
                        (JobKind.HLS,), threads=1)
        queue.finish = database_gone
        try:
            with pytest.raises(OperationalError):
                runner.work_one("w1")
        finally:
            queue.finish = real_finish
        with app.db.reading() as s:
            [job] = s.execute(select(Job).where(Job.kind == JobKind.HLS)).scalars().all()
            assert (job.status, job.attempts) == ("running", 1)  # as a database that went away leaves it
        assert runner.work_one("w1")  # the database is back: given back, claimed again, done
        with app.db.reading() as s:
            job = s.get(Job, job.id)
            assert (job.status, job.attempts) == ("done", 1)
        assert ran == [job.id, job.id]
        given = dock.cli_json("audit", "list", "--action", "jobs.given_back")
        assert [e["detail"]["ids"] for e in given] == [[job.id]]  # an audited change, as every other
    finally:
        app.close()
