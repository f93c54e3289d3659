"""`make soak`: the long reliability proofs, with a table of what was tried and what failed
(every failure must be 0): 500+ media files mutated from real clips, a hostile tree of
10,000 files 12 levels deep with a 5 GB sparse file, tampering at random places, camera
read errors and unplugs at random points, the crash points of the dock and of every
after-dock job kind repeated at random moments, and every crash state a power cut could
leave during a recorded dock and a recorded run of the after-dock jobs (tests/crashstates.py).
Run from the repository: `python -m tests.soak` (SOAK_SCALE=0.1 for a quick look)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.crashstates import explore
from tests.hostile import HEADER, Outcome, camera_faults, hostile_media, hostile_tree, run, tamper

SCALE = float(os.environ.get("SOAK_SCALE", "1"))


def fresh(work: Path, name: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")}
    env.update({"INGESTD_DATA_DIR": str(work / name / "var"), "INGESTD_LOG_LEVEL": "ERROR",
                "INGESTD_DOCK_NAME": "soak"})
    subprocess.run([sys.executable, "-m", "ingestd", "init"], env=env, check=True, capture_output=True)
    return env


def kill_loop(work: Path, env: dict, rounds: int) -> Outcome:
    """A camera docked again and again, killed (SIGKILL) at random moments of the dock and
    of its jobs; then one clean run: every file stored once, every job done, the store and
    the audit log valid."""
    out = Outcome("kill -9 at random moments")
    cam = work / "CAM-KILL"
    cam.mkdir(parents=True)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=320x240:rate=15", "-f", "lavfi",
                    "-i", "sine", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac",
                    "-shortest", str(work / "base.mp4")], check=True)
    base = (work / "base.mp4").read_bytes()
    for i in range(40):
        tag = f"soak{i:04d}".encode()
        (cam / f"20261120_{9 + i // 60:02d}{i % 60:02d}00.mp4").write_bytes(
            base + (8 + len(tag)).to_bytes(4, "big") + b"free" + tag)
    out.files = 40
    rng = random.Random(5)
    start = time.monotonic()
    for _ in range(rounds):
        proc = subprocess.Popen([sys.executable, "-m", "ingestd", "ingest", str(cam), "--device", "CAM-KILL"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.3, 3.0))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            out.states += 1
        proc.wait()
        out.iterations += 1
    final = run(env, "ingest", str(cam), "--device", "CAM-KILL", "--json")
    if final.returncode != 0:
        out.failures.append(f"clean run exited {final.returncode}")
    recs = run(env, "recordings", "list", "--json")
    import json

    rows = json.loads(recs.stdout)
    if len(rows) != 40 or any(r["sm3"] is None or r["upload_status"] is None for r in rows):
        out.failures.append(f"{len(rows)} recordings, some without SM3 or status")
    for args in (["verify", "--json"], ["audit", "verify", "--json"]):
        if run(env, *args).returncode != 0:
            out.failures.append(f"{' '.join(args)} failed")
    out.seconds = time.monotonic() - start
    return out


def crash_states(work: Path, which: str) -> Outcome:
    start = time.monotonic()
    result = explore(work, which, mixes=2 if SCALE >= 1 else 1, limit=None if SCALE >= 1 else max(6, int(60 * SCALE)))
    # iterations: the cuts (one at each sync, one at the end)
    out = Outcome(f"crash states: {which}", iterations=result.syncs + 1, files=result.files,
                  states=result.explored, failures=result.failures)
    out.seconds = time.monotonic() - start
    return out


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="ingestd-soak-", dir=os.environ.get("SOAK_DIR", "/var/tmp")))
    outcomes = [
        hostile_media(work / "media", fresh(work, "media"), count=max(10, int(520 * SCALE))),
        hostile_tree(work / "tree", fresh(work, "tree"), files=max(100, int(10_000 * SCALE)),
                     sparse_gb=5.0 * SCALE if SCALE >= 1 else 0.0),
        tamper(work / "tamper", fresh(work, "tamper"), rounds=max(7, int(70 * SCALE))),
        camera_faults(work / "eio", fresh(work, "eio"), rounds=max(4, int(30 * SCALE))),
        kill_loop(work / "kill", fresh(work, "kill"), rounds=max(4, int(40 * SCALE))),
        crash_states(work / "crash-dock", "dock"),
        crash_states(work / "crash-jobs", "jobs"),
    ]
    print(HEADER)
    for o in outcomes:
        print(o.row())
        for f in o.failures[:10]:
            print(f"    {f}")
    failed = sum(len(o.failures) for o in outcomes)
    print(f"soak: {sum(o.iterations for o in outcomes)} iterations, {failed} failures; work folder {work}")
    if not failed and not os.environ.get("SOAK_KEEP"):
        subprocess.run(["rm", "-rf", str(work)], check=False)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
