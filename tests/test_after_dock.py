"""The dock path releases the camera once its files are proven and committed; everything
after it is durable jobs. A crash anywhere — in the dock or in any after-dock job — leaves
work that the next process finishes: every recording ends with its SM3, deadline, upload
status, 制作人 and interruptions, and the report counts it."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from ingestd.db.models import Evidence, Gap, Job, Recording, RecordingCompliance
from ingestd.digests import file_digests
from ingestd.jobs.kinds import AFTER_DOCK
from ingestd.media.synthetic import ClipSpec, make_clip
from tests.conftest import copy_clip, make_dock, ocfl_validate, pg_database

ROSTER = ("日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"
          "2026-11-20,012345,张三,L-001,一队,08:00,18:00,常规,,{camera}\n")


@pytest.fixture(scope="module")
def dump(tmp_path_factory):
    """One camera: clips with pauses (interruptions), one cut off (damaged), and a copy of the
    first clip in another folder (the same recording, whichever of the two is taken first)."""
    cam = tmp_path_factory.mktemp("dump") / "CAM-77"
    starts = ["083000", "083100", "083400", "090000", "090300", "093000"]
    for i, hhmmss in enumerate(starts):
        make_clip(cam / "DCIM" / f"20261120_{hhmmss}.mp4",
                  ClipSpec(seconds=2 + i % 2, width=320, height=240, tone_hz=300 + 50 * i))
    whole = (cam / "DCIM" / "20261120_093000.mp4").read_bytes()
    (cam / "DCIM" / "20261120_095000.mp4").write_bytes(whole[: len(whole) // 3])
    (cam / "DCIM" / "backup").mkdir()
    (cam / "DCIM" / "backup" / "20261120_083000.mp4").write_bytes((cam / "DCIM" / "20261120_083000.mp4").read_bytes())
    return cam


def _distinct(cam: Path) -> set[str]:
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in cam.rglob("*.mp4")}


def _complete(dock, cam: Path) -> dict:
    """Everything a finished dock leaves, checked; returns the gaps by key."""
    expected = _distinct(cam)
    app = dock.app()
    try:
        with app.db.reading() as s:
            recs = {r.id: r for r in s.execute(select(Recording)).scalars()}
            comp = {c.recording_id: c for c in s.execute(select(RecordingCompliance)).scalars()}
            evidence = {e.recording_id: e for e in s.execute(select(Evidence)).scalars()}
            gaps = {g.key: g for g in s.execute(select(Gap)).scalars()}
            pending = s.execute(select(Job.kind, Job.status).where(Job.kind.in_([k.value for k in AFTER_DOCK]),
                                                                  Job.status != "done")).all()
        store_ids = {oid.rsplit(":", 1)[1] for oid, _ in app.store.iter_objects()}
        assert set(recs) == expected and store_ids == expected, "every file stored exactly once"
        assert pending == [], pending
        for rid, rec in recs.items():
            path = app.store.resolve(rec.object_id, rec.content_name)
            assert rec.sm3 == file_digests(path, sm3=True)["sm3"], rid
            assert comp[rid].upload_status in ("on_time", "late", "undetermined")
            assert comp[rid].deadline is not None or (rec.status, comp[rid].upload_status) == ("damaged", "undetermined")
            assert evidence[rid].method.startswith("执法记录仪") and evidence[rid].maker
            assert rec.start_corrected is not None
        assert len([g for g in gaps.values() if g.status == "open"]) >= 3
    finally:
        app.close()
    ok, root = ocfl_validate(dock.settings.data_dir / "store")
    assert ok and root.good_objects == len(expected)
    assert dock.cli_json("audit", "verify")["ok"]
    assert dock.cli_json("verify")["ok"]
    return gaps


def _with_roster(dock, tmp_path: Path, camera: str) -> None:
    (tmp_path / "roster.csv").write_text(ROSTER.format(camera=camera), encoding="utf-8")
    dock.cli_json("roster", "import", "--by", "admin", str(tmp_path / "roster.csv"))


def _run_killed(dock, *args: str, failpoint: str | None = None, kill_after_s: float | None = None) -> int:
    env = {**dock.env, **({"INGESTD_FAILPOINTS": failpoint} if failpoint else {})}
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", *args], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    if kill_after_s is not None:
        time.sleep(kill_after_s)  # a random moment of a real run, not a wait for time to pass
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)  # the main process only, as a tester's `kill -9` does
    return proc.wait(timeout=300)


# `make test` crashes at the dock's two points and at one point of each stage of the jobs;
# `make soak` at every point.
QUICK_POINTS = {"dock.stored", "dock.recorded", "job.claimed:sm3", "job.handled:timeline", "job.handled:evidence"}


@pytest.mark.parametrize("point", [
    pytest.param(p, marks=() if p in QUICK_POINTS else pytest.mark.soak)
    for p in ["dock.stored", "dock.recorded"] + [f"job.{when}:{kind.value}" for kind in AFTER_DOCK
                                                 if kind.value != "recompute" for when in ("claimed", "handled")]])
def test_crash_at_each_point_then_the_next_process_finishes(tmp_path, dump, point):
    dock = make_dock(tmp_path)
    _with_roster(dock, tmp_path, "CAM-77")
    assert _run_killed(dock, "ingest", str(dump), "--device", "CAM-77", failpoint=point) == -signal.SIGKILL
    again = dock.cli_json("ingest", str(dump), "--device", "CAM-77")  # a clean run of the same dump
    assert {f["status"] for f in again["files"]} <= {"ingested", "duplicate", "damaged"}
    _complete(dock, dump)
    dock.cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "json", "--out",
             str(tmp_path / "r.json"))
    unit = json.loads((tmp_path / "r.json").read_text())["unit"]
    assert unit["recordings"] == len(_distinct(dump))
    assert unit["incidents_open"] == 1  # the cut-off clip's 002 第16条 incident, opened once


def test_crash_while_a_recompute_runs_is_finished_by_the_next_command(tmp_path, dump):
    dock = make_dock(tmp_path)
    dock.cli_json("ingest", str(dump), "--device", "CAM-77")
    (tmp_path / "roster.csv").write_text(ROSTER.format(camera="CAM-77"), encoding="utf-8")
    assert _run_killed(dock, "roster", "import", "--by", "admin", str(tmp_path / "roster.csv"),
                       failpoint="job.claimed:recompute") == -signal.SIGKILL
    dock.cli_json("jobs", "work", "--until-idle")
    recs = dock.cli_json("recordings", "list")
    assert {r["officer"] for r in recs if r["officer_source"] == "roster"} == {"012345"}


@pytest.mark.slow
def test_kill_at_random_moments_of_dock_and_jobs_then_rerun(tmp_path, dump):
    dock = make_dock(tmp_path)
    _with_roster(dock, tmp_path, "CAM-77")
    rng = random.Random(20261124)
    kills = 0
    for _ in range(8):
        if _run_killed(dock, "ingest", str(dump), "--device", "CAM-77", kill_after_s=rng.uniform(0.3, 1.1)) < 0:
            kills += 1
    assert kills >= 4, "the runs finished before they could be killed"
    dock.cli_json("ingest", str(dump), "--device", "CAM-77")
    _complete(dock, dump)


def _concurrent_ingests(dock, cam: Path) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen([sys.executable, "-m", "ingestd", "ingest", str(cam), "--device", "CAM-77", "--json"],
                              env=dock.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL) for _ in range(2)]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=300), p.stdout.read(), p.stderr.read())
            for p in procs]


def test_two_ingests_of_one_dump_at_once_sqlite(tmp_path, dump):
    dock = make_dock(tmp_path)
    _with_roster(dock, tmp_path, "CAM-77")
    for done in _concurrent_ingests(dock, dump):
        assert done.returncode == 0, done.stderr
    gaps = _complete(dock, dump)
    single = make_dock(tmp_path / "single")
    _with_roster(single, tmp_path, "CAM-77")
    single.cli_json("ingest", str(dump), "--device", "CAM-77")
    assert set(gaps) == set(_complete(single, dump)), "no gap twice, none missing"


@pytest.mark.postgres
def test_two_ingests_of_one_dump_at_once_postgres(tmp_path, dump):
    with pg_database() as url:
        dock = make_dock(tmp_path, INGESTD_DATABASE_URL=url)
        _with_roster(dock, tmp_path, "CAM-77")
        for done in _concurrent_ingests(dock, dump):
            assert done.returncode == 0, done.stderr
        gaps = _complete(dock, dump)
        assert len({(g.before_recording_id, g.after_recording_id, g.kind) for g in gaps.values()}) == len(gaps)


def test_owner_change_and_roster_import_update_maker_and_figures(tmp_path, clips):
    dock = make_dock(tmp_path)
    cam = tmp_path / "CAM-OWN"
    copy_clip(clips["h264"], cam / "20261120_083000.mp4")
    [rid] = [f["recording_id"] for f in dock.cli_json("ingest", str(cam), "--device", "CAM-OWN")["files"]]
    assert dock.cli_json("evidence", "show", rid)["制作人"] is None
    # The roster names the officers; a shift on another day leaves this recording to the owner.
    (tmp_path / "r.csv").write_text(
        "日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"
        "2026-11-21,012345,张三,L-001,一队,08:00,18:00,常规,,CAM-OTHER\n"
        "2026-11-21,054321,李四,L-002,二队,08:00,18:00,常规,,CAM-OTHER2\n", encoding="utf-8")
    dock.cli_json("roster", "import", "--by", "admin", str(tmp_path / "r.csv"))
    owned = dock.cli_json("devices", "owner", "--by", "admin", "CAM-OWN", "054321")
    assert owned["recomputed"]["recordings"] == 1 and owned["evidence_rederived"] == 1
    [rec] = dock.cli_json("recordings", "list")
    assert (rec["officer"], rec["officer_source"], rec["team"]) == ("054321", "device_owner", "二队")
    assert dock.cli_json("evidence", "show", rid)["制作人"] == "李四（执法证号 L-002，警号 054321）"
    # A roster that puts the camera with another officer that day takes precedence.
    (tmp_path / "r2.csv").write_text(ROSTER.format(camera="CAM-OWN"), encoding="utf-8")
    imported = dock.cli_json("roster", "import", "--by", "admin", str(tmp_path / "r2.csv"))
    assert imported["recomputed"]["recordings"] == 1 and imported["evidence_rederived"] == 1
    [rec] = dock.cli_json("recordings", "list")
    assert (rec["officer"], rec["officer_source"]) == ("012345", "roster")
    assert dock.cli_json("evidence", "show", rid)["制作人"] == "张三（执法证号 L-001，警号 012345）"


def test_a_growing_file_is_not_stored_as_damaged(tmp_path, clips):
    from ingestd.afterdock import ingest

    dock = make_dock(tmp_path)
    source = make_clip(tmp_path / "long.mp4", ClipSpec(seconds=12, width=640, height=360, bitrate="4M"))
    data = source.read_bytes()
    cam = tmp_path / "CAM-G"
    copy_clip(clips["h264"], cam / "20261120_080000.mp4")
    growing = cam / "20261120_081000.mp4"
    growing.write_bytes(data[: len(data) // 4])
    writing, docked = threading.Event(), threading.Event()

    def write_rest() -> None:
        # Like a camera still recording: it keeps changing for as long as the dock runs (its
        # last chunk written and cut again), and ends whole only after the dock returned —
        # never a fixed time, which a loaded machine would miss.
        chunks = list(range(len(data) // 4, len(data), 16384))
        with open(growing, "ab") as fh:
            for i in chunks[:-1]:
                fh.write(data[i:i + 16384])
                fh.flush()
                writing.set()
                time.sleep(0.005)
            last = chunks[-1]
            while not docked.is_set():
                fh.write(data[last:])
                fh.flush()
                time.sleep(0.01)
                fh.truncate(last)
                time.sleep(0.01)
            fh.write(data[last:])

    writer = threading.Thread(target=write_rest)
    writer.start()
    writing.wait()
    app = dock.app()
    try:
        [run] = ingest(app, [cam], None, "CAM-G")
    finally:
        app.close()
    assert writer.is_alive(), "the file must still be growing while the dock copies it"
    docked.set()
    writer.join()
    outcome = {o.rel_path: o for o in run.outcomes}[growing.name]
    assert (outcome.status, outcome.code) == ("skipped", "changed_during_copy")
    assert [r["path"] for r in dock.cli_json("recordings", "list")] == ["20261120_080000.mp4"]
    # The next dock takes the finished file whole, once, as a sound recording.
    again = {f["rel_path"]: f for f in dock.cli_json("ingest", str(cam), "--device", "CAM-G")["files"]}
    assert again[growing.name]["status"] == "ingested"
    assert again[growing.name]["sha256"] == hashlib.sha256(data).hexdigest()
    recs = dock.cli_json("recordings", "list")
    assert len(recs) == 2 and {r["status"] for r in recs} == {"ok"}


def test_ingest_without_device_names_the_camera_by_folder_and_finds_interruptions(tmp_path, dump):
    dock = make_dock(tmp_path)
    out = dock.cli_json("ingest", str(dump))
    [session] = out["sessions"]
    assert (session["device"], session["device_source"]) == ("CAM-77", "folder_name")
    assert session["status"] == "released" and session["released_after_s"] > 0
    gaps = dock.cli_json("gaps", "list", "--open")
    assert {g["device"] for g in gaps} == {"CAM-77"} and len(gaps) >= 3
    text = dock.cli("ingest", str(dump)).stdout
    assert "device CAM-77 (folder_name)" in text


def test_ingest_without_device_takes_the_serial_from_the_file_names(tmp_path, clips):
    dock = make_dock(tmp_path)
    cam = tmp_path / "DCIM"
    copy_clip(clips["h264"], cam / "DSJ-9A_012345_20261120_083000_0001.MP4")
    copy_clip(clips["h264_b"], cam / "DSJ-9A_012345_20261120_083200_0002.MP4")
    [session] = dock.cli_json("ingest", str(cam), "--profile", "device-badge")["sessions"]
    assert (session["device"], session["device_source"]) == ("DSJ-9A", "file_names")
    assert len(dock.cli_json("gaps", "list", "--device", "DSJ-9A")) == 1


def test_no_wait_returns_at_release_and_jobs_work_finishes(tmp_path, dump):
    dock = make_dock(tmp_path)
    _with_roster(dock, tmp_path, "CAM-77")
    out = dock.cli_json("ingest", str(dump), "--device", "CAM-77", "--no-wait")
    assert out["sessions"][0]["status"] == "released"
    assert {r["sm3"] for r in dock.cli_json("recordings", "list")} == {None}
    status = dock.cli_json("jobs", "status")
    assert status["kinds"]["sm3"]["queued"] == len(_distinct(dump))
    assert status["kinds"]["timeline"]["queued"] == 1 and status["oldest_pending_s"] is not None
    assert dock.cli_json("gaps", "list") == []
    done = dock.cli_json("jobs", "work", "--until-idle")
    assert done["jobs"] >= 2 * len(_distinct(dump)) + 3
    _complete(dock, dump)
    assert "timeline" in dock.cli("jobs", "status").stdout


def test_layering_contract_holds_and_fails_on_an_upward_import(tmp_path):
    repo = Path(__file__).resolve().parent.parent
    lint = Path(sys.executable).with_name("lint-imports")
    kept = subprocess.run([str(lint)], cwd=repo, capture_output=True, text=True)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    # The same contract on a scratch copy with one upward import added must fail, naming it.
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    subprocess.run(["cp", "-r", str(repo / "ingestd"), str(repo / "pyproject.toml"), str(scratch)], check=True)
    commit = scratch / "ingestd" / "ingest" / "commit.py"
    commit.write_text(commit.read_text() + "\nfrom ingestd.timeline.process import process_docks  # noqa\n")
    broken = subprocess.run([str(lint)], cwd=scratch, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(scratch)})
    assert broken.returncode == 1
    assert "ingestd.ingest.commit -> ingestd.timeline.process" in broken.stdout


def _children(pid: int) -> set[int]:
    out = set()
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                out |= {int(child)} | _children(int(child))
    except OSError:
        pass
    return out


def test_no_process_outlives_a_killed_daemon(tmp_path, clips):
    """`kill -9` of the daemon while ffmpeg makes a proxy: the decoder dies with it."""
    dock = make_dock(tmp_path)
    inbox = dock.settings.data_dir / "inbox" / "CAM-K"
    make_clip(inbox / "20261120_083000.mp4", ClipSpec(seconds=120, width=1280, height=720, bitrate="4M"))
    env = {**dock.env, "INGESTD_DAEMON__QUIET_S": "0.2", "INGESTD_METRICS__ENABLED": "false"}
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", "run"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        children: set[int] = set()
        while time.monotonic() < deadline and not children:
            children = {c for c in _children(proc.pid)
                        if b"ffmpeg" in Path(f"/proc/{c}/cmdline").read_bytes()} if proc.poll() is None else set()
            time.sleep(0.1)
        assert children, "the daemon never started a transcode"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(Path(f"/proc/{c}").exists() and _alive(c) for c in children):
            time.sleep(0.05)
        assert not any(Path(f"/proc/{c}").exists() and _alive(c) for c in children)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_ctrl_c_stops_the_daemon_cleanly_without_tracebacks(tmp_path, clips):
    dock = make_dock(tmp_path)
    copy_clip(clips["h264"], dock.settings.data_dir / "inbox" / "CAM-C" / "20261120_083000.mp4")
    env = {**dock.env, "INGESTD_DAEMON__QUIET_S": "0.2", "INGESTD_METRICS__ENABLED": "false",
           "INGESTD_LOG_LEVEL": "INFO"}
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", "run"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not dock.cli_json("recordings", "list"):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)  # what Ctrl-C on `make run` sends
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    assert "event=daemon.stopped" in err


def test_worker_identity_tells_a_dead_local_holder(tmp_path):
    from ingestd.jobs.queue import holder_is_dead, worker_id

    me = worker_id("t-1")
    assert not holder_is_dead(me)
    gone = subprocess.Popen([sys.executable, "-c", "from ingestd.jobs.queue import worker_id; print(worker_id())"],
                            stdout=subprocess.PIPE, text=True)
    holder = gone.communicate()[0].strip()
    assert holder.split(":")[0] == me.split(":")[0] and holder_is_dead(holder + "/jobs-0")
    assert not holder_is_dead("other-host:1:1/jobs-0")  # another dock's worker: only its lease tells
