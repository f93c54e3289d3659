"""`make bench`: ingest of >= 2 GB of camera-like files against baselines measured in the
same run on the same files. Prints ratios; writes bench/out/results.json.

Baselines: `cp -r` + `sync`; SM3 of every file with `openssl dgst -sm3`, one process per
core; and `cp` + `sha256sum` (what a careful script would do). The page cache is dropped
before each run where the machine allows it, so every run reads the "camera" from disk.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from ingestd.media.synthetic import ClipSpec, make_clip

OUT = Path(__file__).resolve().parent / "out"
TARGET_BYTES = int(float(os.environ.get("BENCH_GB", "2.2")) * 1e9)


def sh(cmd: str) -> None:
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def unique_copy(base: bytes, dest: Path, n: int) -> None:
    """The base clip plus a top-level `free` box that makes its bytes unique; still valid MP4."""
    tag = f"ingestd-bench-{n}".encode()
    dest.write_bytes(base + (8 + len(tag)).to_bytes(4, "big") + b"free" + tag)


def build_camera(root: Path) -> tuple[int, int]:
    work = root / "work"
    base = make_clip(work / "base.mp4", ClipSpec(seconds=20, width=1920, height=1080, fps=30, bitrate="8M"))
    cam = root / "camera" / "DCIM"
    cam.mkdir(parents=True)
    total = files = 0
    for i in range(3):  # a few long clips, stream-copied loops of the base
        big = cam / f"2026112{i}_080000.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", str(17 + i), "-i", str(base), "-c", "copy",
                        "-metadata", f"comment=long-{i}", str(big)], check=True)
        total += big.stat().st_size
        files += 1
    data = base.read_bytes()
    n = 0
    while total < TARGET_BYTES:
        unique_copy(data, cam / f"20261121_{9 + n // 60:02d}{n % 60:02d}00.mp4", n)
        total += len(data) + 32
        files += 1
        n += 1
    shutil.rmtree(work)
    return total, files


class PeakMemory:
    """Samples a process tree: the largest single RSS, and the summed PSS (shared pages
    counted once, split between their sharers: what the tree really costs in memory)."""

    def __init__(self, pid: int):
        self.pid, self.peak_rss, self.peak_pss, self._stop = pid, 0, 0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _tree(self, pid: int) -> list[int]:
        out = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                for child in Path(f"/proc/{pid}/task/{task}/children").read_text().split():
                    out += self._tree(int(child))
        except OSError:
            pass
        return out

    @staticmethod
    def _field(path: str, name: str) -> int:
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith(name):
                    return int(line.split()[1]) * 1024
        except OSError:
            pass
        return 0

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            tree = self._tree(self.pid)
            self.peak_rss = max([self.peak_rss] + [self._field(f"/proc/{p}/status", "VmRSS:") for p in tree])
            self.peak_pss = max(self.peak_pss, sum(self._field(f"/proc/{p}/smaps_rollup", "Pss:") for p in tree))

    def stop(self) -> tuple[int, int]:
        self._stop.set()
        self._thread.join()
        return self.peak_rss, self.peak_pss


def timed(label: str, argv: list[str] | str, env=None, rss: bool = False, expect_json: bool = True) -> dict:
    drop_caches()
    start = time.monotonic()
    proc = subprocess.Popen(argv, shell=isinstance(argv, str), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    sampler = PeakMemory(proc.pid) if rss else None
    out, err = proc.communicate()
    wall = time.monotonic() - start
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed: {err.decode()[-500:]}")
    result = {"label": label, "wall_s": round(wall, 2)}
    if rss and expect_json:  # the ingest: how long the dock itself took, before timeline and compliance
        session = json.loads(out)["sessions"][0]
        result["dock_s"] = round((datetime.fromisoformat(session["finished_at"])
                                  - datetime.fromisoformat(session["started_at"])).total_seconds(), 2)
    if sampler:
        rss, pss = sampler.stop()
        result["peak_rss_mb"], result["peak_pss_mb"] = round(rss / 1e6, 1), round(pss / 1e6, 1)
    if "dock_s" in result:
        print(f"  {'  of which the dock (copy, verify, commit)':34} {result['dock_s']:8.2f} s")
    print(f"  {label:34} {wall:8.2f} s" + (f"   largest process RSS {result['peak_rss_mb']} MB, whole tree PSS "
                                          f"{result['peak_pss_mb']} MB" if sampler else ""), flush=True)
    return result


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    try:
        print(f"building camera-like files in {tmp} ...", flush=True)
        total, files = build_camera(tmp)
        cam = tmp / "camera"
        cores = os.cpu_count() or 1
        print(f"{files} files, {total / 1e9:.2f} GB; {cores} cores; page cache dropped: {drop_caches()}")
        all_files = sorted(str(p) for p in cam.rglob("*.mp4"))
        groups = [all_files[i::cores] for i in range(cores)]
        sm3_cmd = " & ".join("openssl dgst -sm3 " + " ".join(g) + " > /dev/null" for g in groups if g) + " & wait"
        results = [
            timed("cp -r + sync", f"cp -r {cam} {tmp}/cp1 && sync"),
            timed(f"SM3, openssl, {cores} processes", sm3_cmd),
            timed("cp -r + sync + sha256sum", f"cp -r {cam} {tmp}/cp2 && sync && sha256sum $(find {tmp}/cp2 -type f) > /dev/null"),
        ]
        sh(f"rm -rf {tmp}/cp1 {tmp}/cp2")
        env = {**os.environ, "INGESTD_DATA_DIR": str(tmp / "var"), "INGESTD_LOG_LEVEL": "WARNING"}
        subprocess.run([sys.executable, "-m", "ingestd", "init"], env=env, check=True, stdout=subprocess.DEVNULL)
        results.append(timed("ingestd ingest", [sys.executable, "-m", "ingestd", "ingest", str(cam), "--json"],
                             env=env, rss=True))
        walls = {r["label"]: r["wall_s"] for r in results}
        floor = max(walls["cp -r + sync"], walls[f"SM3, openssl, {cores} processes"])
        ingest = results[-1]
        summary = {
            "machine": {"cpu": _cpu(), "cores": cores, "python": platform.python_version(), "kernel": platform.release()},
            "bytes": total, "files": files, "results": results,
            "ingest_vs_floor": round(ingest["wall_s"] / floor, 2),
            "ingest_vs_cp_sha256sum": round(ingest["wall_s"] / walls["cp -r + sync + sha256sum"], 2),
            "ingest_MBps": round(total / 1e6 / ingest["wall_s"], 1),
            "target": "ingest <= 1.25x max(cp+sync, all-core SM3); peak RSS <= 150 MB",
        }
        summary["dock_vs_floor"] = round(ingest["dock_s"] / floor, 2)
        print(f"ingest / max(cp+sync, all-core SM3) = {summary['ingest_vs_floor']}x (target <= 1.25x); "
              f"the dock alone {summary['dock_vs_floor']}x")
        print(f"ingest / (cp + sync + sha256sum)    = {summary['ingest_vs_cp_sha256sum']}x")
        print(f"ingest throughput                   = {summary['ingest_MBps']} MB/s")
        print(f"memory: largest process RSS {ingest['peak_rss_mb']} MB, whole process tree PSS "
              f"{ingest['peak_pss_mb']} MB (target <= 150 MB)")
        summary["eight_cameras"] = eight_cameras(tmp, cam, env)
        OUT.mkdir(exist_ok=True)
        (OUT / "results.json").write_text(json.dumps(summary, indent=2))
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def eight_cameras(tmp: Path, cam: Path, env: dict) -> dict:
    """The same files split over eight cameras docked at once, against eight parallel cp."""
    files = sorted(cam.rglob("*.mp4"))
    cams = [tmp / "eight" / f"CAM-{i}" for i in range(8)]
    for i, f in enumerate(files):
        target = cams[i % 8] / "DCIM" / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(f, target)
    total = sum(f.stat().st_size for f in files)
    print(f"eight cameras docked at once ({total / 1e9:.2f} GB):", flush=True)
    cp = timed("8 x cp -r in parallel + sync", " & ".join(f"cp -r {c} {tmp}/cp8-{c.name}" for c in cams) + " & wait; sync")
    sh(f"rm -rf {tmp}/cp8-*")
    env8 = {**env, "INGESTD_DATA_DIR": str(tmp / "var8")}
    subprocess.run([sys.executable, "-m", "ingestd", "init"], env=env8, check=True, stdout=subprocess.DEVNULL)
    # Run from -c, as `python -m ingestd run` is: the offload workers then import no main script.
    driver = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import dock_eight; dock_eight.main_args()"
    run = timed("ingestd, 8 cameras at once", [sys.executable, "-c", driver, *map(str, cams)], env=env8, rss=True,
                expect_json=False)
    result = {"cp_wall_s": cp["wall_s"], "ingest_wall_s": run["wall_s"],
              "cp_MBps": round(total / 1e6 / cp["wall_s"], 1), "ingest_MBps": round(total / 1e6 / run["wall_s"], 1),
              "peak_rss_mb": run["peak_rss_mb"], "peak_pss_mb": run["peak_pss_mb"]}
    print(f"aggregate: ingest {result['ingest_MBps']} MB/s vs parallel cp {result['cp_MBps']} MB/s; memory: largest "
          f"process {run['peak_rss_mb']} MB RSS, tree {run['peak_pss_mb']} MB PSS (target <= 200 MB)")
    return result


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


if __name__ == "__main__":
    main()
