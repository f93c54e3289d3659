"""`make bench` (part 5): a simulated county — BENCH_DOCKS (20) dock processes on this machine,
each with its own data directory, store and audit chain, docking small camera dumps at the
same moment into one PostgreSQL and one write-once bucket (SeaweedFS with Object Lock on
loopback), then working what follows (after-dock jobs, the copies to the bucket).

Baseline, measured in the same run with the page cache dropped: one dock alone docking one
dump and working its jobs (process start to exit). Figures: the county's wall time as a
ratio of that baseline, commits per second (transactions and audit entries), lock waits
(the server's pg_locks sampled every 50 ms: how often anyone waited, the most waiting at
once, on what), replica lag (ingested → proven in the bucket), and the result checked
exactly once: every recording once (one camera is docked at two docks at once), every
dock's chain valid, every recording in the bucket. Writes bench/out/county.json.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from bench_dock import drop_caches, unique_copy  # noqa: E402
from ingestd import audit  # noqa: E402
from ingestd.app import App, initialise  # noqa: E402
from ingestd.changes import lock_key  # noqa: E402
from ingestd.config import ReplicaSettings, Settings  # noqa: E402
from ingestd.db.models import Job, Recording, Replica  # noqa: E402
from ingestd.jobs.kinds import DERIVATIVES  # noqa: E402
from ingestd.media.synthetic import ClipSpec, make_clip  # noqa: E402
from tests.s3_server import start_s3  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
DOCKS = int(os.environ.get("BENCH_DOCKS", "20"))
CLIPS = int(os.environ.get("BENCH_COUNTY_CLIPS", "4"))
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STARTS = ["083000", "083400", "090000", "091500", "093000", "094500", "100000", "101500"]
KEY, SECRET = "ingestd-bench", "bench-secret-not-real"


def dumps(work: Path) -> dict[str, Path]:
    """One folder a camera: CLIPS short clips each, their bytes unique to the camera."""
    bases = [make_clip(work / f"base{k}.mp4", ClipSpec(seconds=2 + k % 2, width=320, height=240, tone_hz=300 + 60 * k))
             for k in range(CLIPS)]
    out = {}
    for i in range(DOCKS - 1):  # the last dock docks camera 0 again, at the same moment as dock 0
        cam = work / "cams" / f"CAM-{i:02d}"
        (cam / "DCIM").mkdir(parents=True)
        for k, base in enumerate(bases):
            unique_copy(base.read_bytes(), cam / "DCIM" / f"20261120_{STARTS[k % len(STARTS)]}.mp4", i * 100 + k)
        out[cam.name] = cam
    return out


def roster(path: Path) -> Path:
    lines = ["日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号"]
    lines += [f"2026-11-20,{i:06d},警员{i},L-{i:03d},{i % 4 + 1}中队,08:00,18:00,常规,,CAM-{i:02d}"
              for i in range(DOCKS - 1)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# The unit-wide names docks take turns on (ingestd.changes.Change.lock), to tell them apart.
NAMED = {lock_key(n): f"advisory: {n}" for n in ("compliance", "evidence.derive", "rules:deadlines")}


class LockSampler:
    """pg_locks every 50 ms: locks someone is waiting for, by type, in the county's database."""

    def __init__(self, url: str):
        self.engine = create_engine(url)
        self.samples = self.waiting_samples = self.most = 0
        self.kinds: dict[str, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.engine.connect() as conn:
            while not self.stop.wait(0.05):
                rows = conn.execute(text("select locktype, classid, objid from pg_locks l "
                                         "join pg_database d on d.oid = l.database "
                                         "where not l.granted and d.datname = current_database()")).all()
                conn.commit()
                self.samples += 1
                if rows:
                    self.waiting_samples += 1
                    self.most = max(self.most, len(rows))
                    for kind, high, low in rows:
                        if kind == "advisory":
                            key = int.from_bytes(((high << 32) | low).to_bytes(8, "big"), "big", signed=True)
                            kind = NAMED.get(key, "advisory: one item (a recording, camera, alert …)")
                        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def __enter__(self) -> "LockSampler":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()
        self.engine.dispose()


def stats(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        commits, deadlocks = conn.execute(text("select xact_commit, deadlocks from pg_stat_database "
                                               "where datname = current_database()")).one()
        entries = conn.execute(text("select count(*) from audit_events")).scalar()
    engine.dispose()
    return commits, deadlocks, entries


def dock_env(root: Path, name: str, url: str, endpoint: str, bucket: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")}
    env.update({"INGESTD_DATA_DIR": str(root / "var"), "INGESTD_DOCK_NAME": name, "INGESTD_DATABASE_URL": url,
                "INGESTD_LOG_LEVEL": "WARNING", "INGESTD_WEB__ENABLED": "false", "INGESTD_INGEST__WORKERS": "1",
                "INGESTD_JOBS__WORKERS": "1", "INGESTD_REPLICA__ENABLED": "true", "INGESTD_REPLICA__ENDPOINT": endpoint,
                "INGESTD_REPLICA__BUCKET": bucket, "INGESTD_REPLICA__ACCESS_KEY_ID": KEY,
                "INGESTD_REPLICA__SECRET_ACCESS_KEY": SECRET})
    return env


def dock_run(env: dict, cam: Path) -> subprocess.Popen:
    """What a dock does when a camera is put in: the dock, then what follows it, the copies included."""
    script = (f"{sys.executable} -m ingestd ingest {cam} --device {cam.name} --json && "
              f"{sys.executable} -m ingestd jobs work --until-idle --json")
    return subprocess.Popen(["sh", "-c", script], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, stdin=subprocess.DEVNULL)


def released_after(out: str) -> list[float]:
    """From a dock run's output (the dock's JSON, then the jobs'): when each camera was released."""
    first, _end = json.JSONDecoder().raw_decode(out)
    return [r["released_after_s"] for r in first["sessions"] if r.get("released_after_s") is not None]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-county-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    names = [f"ingestd_county_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    s3 = start_s3(tmp / "s3")
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        base_url, url = (PG_ADMIN.rsplit("/", 1)[0] + f"/{name}" for name in names)
        cams = dumps(tmp / "work")
        feeds = [(f"dock-{i:02d}", cams[f"CAM-{i:02d}"] if i < DOCKS - 1 else cams["CAM-00"]) for i in range(DOCKS)]
        replica = ReplicaSettings(enabled=True, endpoint=s3.endpoint, bucket="county", access_key_id=KEY,
                                  secret_access_key=SECRET)

        # Baseline: one dock alone, its own database and bucket, one camera.
        alone = tmp / "alone"
        initialise(Settings(data_dir=alone / "var", dock_name="alone", database_url=base_url,
                            replica=replica.model_copy(update={"bucket": "alone"})))
        env = dock_env(alone, "alone", base_url, s3.endpoint, "alone")
        subprocess.run([sys.executable, "-m", "ingestd", "roster", "import", "--by", "admin",
                        str(roster(tmp / "roster.csv"))], env=env, check=True, capture_output=True)
        drop_caches()
        t = time.monotonic()
        proc = dock_run(env, cams["CAM-01"])
        out, err = proc.communicate(timeout=900)
        assert proc.returncode == 0, err
        baseline = time.monotonic() - t
        alone_released = released_after(out)
        print(f"county simulation: {DOCKS} docks, {DOCKS - 1} cameras of {CLIPS} clips (camera 0 at two docks)")
        print(f"  baseline: one dock alone, dock + its jobs + copies    {baseline:7.2f} s "
              f"(camera released after {alone_released[0]:.2f} s)", flush=True)

        t = time.monotonic()
        for name, _cam in feeds:
            initialise(Settings(data_dir=tmp / name / "var", dock_name=name, database_url=url, replica=replica))
        made = time.monotonic() - t
        env0 = dock_env(tmp / feeds[0][0], feeds[0][0], url, s3.endpoint, "county")
        subprocess.run([sys.executable, "-m", "ingestd", "roster", "import", "--by", "admin",
                        str(tmp / "roster.csv")], env=env0, check=True, capture_output=True)
        commits0, deadlocks0, entries0 = stats(url)
        drop_caches()
        with LockSampler(url) as locks:
            t = time.monotonic()
            procs = [(name, dock_run(dock_env(tmp / name, name, url, s3.endpoint, "county"), cam))
                     for name, cam in feeds]
            released, failures = [], []
            for name, p in procs:
                out, err = p.communicate(timeout=3600)
                if p.returncode != 0:
                    (OUT / f"county-{name}.err").parent.mkdir(exist_ok=True)
                    (OUT / f"county-{name}.err").write_text(err)
                    failures.append((name, next((line for line in reversed(err.strip().splitlines())
                                                 if "Error" in line and "Background" not in line), "?")))
                    continue
                released += released_after(out)
            wall = time.monotonic() - t
        commits1, deadlocks1, entries1 = stats(url)

        expected = {hashlib.sha256(p.read_bytes()).hexdigest() for cam in cams.values() for p in cam.rglob("*.mp4")}
        app = App.open(Settings(data_dir=tmp / feeds[0][0] / "var", dock_name=feeds[0][0], database_url=url,
                                replica=replica))
        with app.db.reading() as s:
            recs = list(s.execute(select(Recording.id, Recording.ingested_at)).all())
            copies = dict(s.execute(select(Replica.recording_id, Replica.replicated_at)).all())
            findings, chains = audit.verify(s)
            per_recording = s.execute(select(func.count(Recording.id))).scalar()
            undone = s.execute(select(Job.kind, Job.status, Job.attempts, Job.error).where(
                Job.status != "done", Job.kind.not_in([k.value for k in DERIVATIVES]))).all()
        app.close()
        lags = sorted((copies[rid] - at).total_seconds() for rid, at in recs if rid in copies)
        ok = (not failures and {r for r, _ in recs} == expected and per_recording == len(expected)
              and set(copies) == expected and not findings and len(chains) == DOCKS and not undone)
        result = {
            "docks": DOCKS, "cameras": DOCKS - 1, "clips": CLIPS, "recordings": len(recs), "expected": len(expected),
            "baseline_s": round(baseline, 2), "alone_released_s": round(alone_released[0], 2), "initialise_s": round(made, 1), "wall_s": round(wall, 2),
            "ratio": round(wall / baseline, 2), "released_median_s": round(statistics.median(released), 2)
            if released else None, "released_max_s": round(max(released), 2) if released else None,
            "transactions": commits1 - commits0, "transactions_per_s": round((commits1 - commits0) / wall, 1),
            "audit_entries": entries1 - entries0, "audit_entries_per_s": round((entries1 - entries0) / wall, 1),
            "deadlocks": deadlocks1 - deadlocks0, "lock_samples": locks.samples,
            "samples_with_waits": locks.waiting_samples, "most_waiting": locks.most, "waits_by_type": locks.kinds,
            "replica_lag_median_s": round(statistics.median(lags), 1) if lags else None,
            "replica_lag_max_s": round(max(lags), 1) if lags else None, "chains": len(chains),
            "failures": failures, "exactly_once": ok}
        print(f"  {DOCKS} docks at once, dock + jobs + copies             {wall:7.2f} s  "
              f"({wall / baseline:.1f}x one dock alone, for {DOCKS}x the work)")
        if released:
            print(f"  camera released after (median / max)                 {result['released_median_s']:7.2f} s / "
                  f"{result['released_max_s']:.2f} s")
        print(f"  commits: {result['transactions']} transactions ({result['transactions_per_s']}/s), "
              f"{result['audit_entries']} audit entries ({result['audit_entries_per_s']}/s) in {DOCKS} chains")
        print(f"  lock waits: {locks.waiting_samples} of {locks.samples} samples saw a waiter "
              f"({100 * locks.waiting_samples / max(1, locks.samples):.1f}%), at most {locks.most} at once, "
              f"by type {locks.kinds}; deadlocks {result['deadlocks']}")
        print(f"  replica lag, ingested → proven in the bucket (median / max): "
              f"{result['replica_lag_median_s']} s / {result['replica_lag_max_s']} s")
        print(f"  exactly once: {len(recs)} recordings of {len(expected)} expected, {len(copies)} in the bucket, "
              f"{len(chains)} chains {'valid' if not findings else 'BROKEN'}, failures {failures}: "
              f"{'ok' if ok else 'FAILED'}", flush=True)
        OUT.mkdir(exist_ok=True)
        (OUT / "county.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
        if not ok:
            for kind, status, attempts, error in undone:
                print(f"    job {kind} {status} after {attempts} attempts: {(error or '')[:300]}")
            raise SystemExit(1)
    finally:
        s3.stop()
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
