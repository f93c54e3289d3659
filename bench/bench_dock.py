"""`make bench` (part 1): the dock path against the floor of any verified copy, measured in
the same run on the same files, with the page cache dropped before every timed step.

Baseline, per dump: `cp -r` + `sync` from a cold source, then the copy read back from a
cold cache (what proving a copy costs at the least). Figures:
  - 1 GiB camera dump (4 long clips, 40 short): camera released ≤ 1.3x the baseline;
  - 200 clips of ~2 MB: released ≤ 2x the baseline;
  - the SM3 backlog of the 1 GiB dump drains at ≥ 90% of `openssl dgst -sm3` on all cores;
  - eight cameras at once: aggregate release throughput ≥ 70% of eight parallel
    cp + sync + read-back; peak memory of the whole process tree ≤ 200 MB.
Each figure is the median of ROUNDS rounds (baseline and ingestd alternating), because
this kind of machine's disk varies by half from one run to the next. Writes
bench/out/dock.json.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from memory import PeakMemory
from ingestd.media.synthetic import ClipSpec, make_clip

OUT = Path(__file__).resolve().parent / "out"
HERE = Path(__file__).resolve().parent
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


def drop_caches() -> bool:
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def unique_copy(base: bytes, dest: Path, n: int) -> int:
    """The base clip plus a top-level `free` box that makes its bytes unique; still valid MP4."""
    tag = f"ingestd-bench-{n}".encode()
    data = base + (8 + len(tag)).to_bytes(4, "big") + b"free" + tag
    dest.write_bytes(data)
    return len(data)


def gib_dump(root: Path, work: Path) -> tuple[int, int]:
    """About 1 GiB: four long 1080p clips (stream-copied loops) and forty short ones."""
    base = make_clip(work / "base20.mp4", ClipSpec(seconds=20, width=1920, height=1080, fps=30, bitrate="8M"))
    short = make_clip(work / "base6.mp4", ClipSpec(seconds=6, width=1920, height=1080, fps=30, bitrate="8M",
                                                   tone_hz=660))
    cam = root / "DCIM"
    cam.mkdir(parents=True)
    total = 0
    for i in range(4):
        big = cam / f"2026112{i}_080000.mp4"
        subprocess.run(["ffmpeg", "-v", "error", "-stream_loop", str(8 + i), "-i", str(base), "-c", "copy",
                        "-metadata", f"comment=long-{i}", str(big)], check=True)
        total += big.stat().st_size
    data = short.read_bytes()
    n = 0
    while n < 40:
        total += unique_copy(data, cam / f"20261124_{9 + n // 60:02d}{n % 60:02d}00.mp4", n)
        n += 1
    return total, 44


def small_dump(root: Path, work: Path, count: int = 200) -> tuple[int, int]:
    base = make_clip(work / "base2.mp4", ClipSpec(seconds=2, width=1920, height=1080, fps=30, bitrate="8M",
                                                  tone_hz=880)).read_bytes()
    cam = root / "DCIM"
    cam.mkdir(parents=True)
    total = sum(unique_copy(base, cam / f"20261123_{10 + n // 60:02d}{n % 60:02d}00.mp4", 1000 + n)
                for n in range(count))
    return total, count


def timed_shell(cmd: str) -> float:
    drop_caches()
    start = time.monotonic()
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - start


def copy_floor(cams: list[Path], tmp: Path) -> dict:
    """cp -r + sync from a cold source, then reading the copy back from a cold cache; the
    cameras in parallel when there are several."""
    dests = [tmp / f"floor-{i}" for i in range(len(cams))]
    copy = timed_shell(" & ".join(f"cp -r {c} {d}" for c, d in zip(cams, dests)) + " & wait; sync")
    read = timed_shell(" & ".join(f"find {d} -type f -exec cat {{}} + > /dev/null" for d in dests) + " & wait")
    for d in dests:
        shutil.rmtree(d)
    return {"cp_sync_s": round(copy, 2), "read_back_s": round(read, 2), "floor_s": round(copy + read, 2)}


def ingestd(env: dict, *args: str) -> tuple[float, dict, PeakMemory]:
    drop_caches()
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "ingestd", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    sampler = PeakMemory(proc.pid)
    out, err = proc.communicate()
    wall = time.monotonic() - start
    sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"ingestd {' '.join(args)} failed: {err.decode()[-800:]}")
    return wall, json.loads(out) if out.strip().startswith(b"{") else {}, sampler


def fresh_env(tmp: Path, name: str) -> dict:
    env = {**os.environ, "INGESTD_DATA_DIR": str(tmp / name), "INGESTD_LOG_LEVEL": "WARNING",
           "INGESTD_DOCK_NAME": "bench"}
    subprocess.run([sys.executable, "-m", "ingestd", "init"], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def dock_case(label: str, cam: Path, total: int, files: int, tmp: Path, env_name: str, target: float) -> dict:
    rounds = []
    for n in range(ROUNDS):
        floor = copy_floor([cam], tmp)
        shutil.rmtree(tmp / env_name, ignore_errors=True)
        env = fresh_env(tmp, env_name)
        wall, out, mem = ingestd(env, "ingest", str(cam), "--no-wait", "--json")
        [session] = out["sessions"]
        rounds.append({**floor, "released_after_s": session["released_after_s"], "process_wall_s": round(wall, 2),
                       "ratio": round(session["released_after_s"] / floor["floor_s"], 2),
                       "peak_rss_mb": round(mem.peak_rss / 1e6, 1), "peak_pss_mb": round(mem.peak_pss / 1e6, 1)})
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    result = {"label": label, "bytes": total, "files": files, **med, "target": target, "rounds": rounds}
    print(f"{label}: {files} files, {total / 1e6:.0f} MB (median of {ROUNDS} rounds)", flush=True)
    print(f"  cp -r + sync {med['cp_sync_s']:.2f} s + read-back {med['read_back_s']:.2f} s = {med['floor_s']:.2f} s")
    print(f"  ingestd: camera released after {med['released_after_s']:.2f} s (process wall {med['process_wall_s']:.2f} s,"
          f" including start-up)")
    print(f"  released / baseline = {med['ratio']}x (target <= {target}x; rounds "
          f"{', '.join(str(r['ratio']) for r in rounds)}); peak RSS {med['peak_rss_mb']} MB", flush=True)
    return result


def sm3_drain(env: dict, tmp: Path) -> dict:
    """The SM3 jobs the 1 GiB dock left, worked on every core, against openssl on the same
    stored files, one process per core."""
    cores = os.cpu_count() or 1
    store = Path(env["INGESTD_DATA_DIR"]) / "store"
    originals = sorted(str(p) for p in store.rglob("*.mp4"))
    groups = [originals[i::cores] for i in range(cores)]
    rounds = []
    for n in range(ROUNDS):
        openssl = timed_shell(" & ".join("openssl dgst -sm3 " + " ".join(g) + " > /dev/null" for g in groups if g)
                              + " & wait")
        drop_caches()
        args = [sys.executable, str(HERE / "drain_sm3.py")] + (["--again"] if n else [])
        drained = json.loads(subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout)
        rounds.append({"openssl_s": round(openssl, 2), "drain_s": drained["seconds"], "jobs": drained["jobs"],
                       "ratio": round(openssl / drained["seconds"], 2)})
    size = sum(os.path.getsize(p) for p in originals)
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    result = {"files": len(originals), "bytes": size, **med, "target": 0.9, "rounds": rounds}
    print(f"SM3 backlog ({len(originals)} files, {size / 1e6:.0f} MB, {cores} cores): openssl {med['openssl_s']:.2f} s, "
          f"ingestd jobs {med['drain_s']:.2f} s = {med['ratio']:.0%} of openssl's speed (target >= 90%; rounds "
          f"{', '.join(format(r['ratio'], '.0%') for r in rounds)})", flush=True)
    return result


def eight_cameras(cam: Path, total: int, tmp: Path) -> dict:
    files = sorted(cam.rglob("*.mp4"))
    cams = [tmp / "eight" / f"CAM-{i}" for i in range(8)]
    for i, f in enumerate(files):
        target = cams[i % 8] / "DCIM" / f.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(f, target)
    rounds = []
    for n in range(ROUNDS):
        floor = copy_floor(cams, tmp)
        shutil.rmtree(tmp / "var8", ignore_errors=True)
        env = fresh_env(tmp, "var8")
        drop_caches()
        proc = subprocess.Popen([sys.executable, str(HERE / "dock_eight.py"), *map(str, cams)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        mem = PeakMemory(proc.pid)
        out, err = proc.communicate()
        mem.stop()
        if proc.returncode != 0:
            raise SystemExit(f"eight cameras failed: {err.decode()[-800:]}")
        released = json.loads(out)["released_s"]
        floor_mbps, ingest_mbps = total / 1e6 / floor["floor_s"], total / 1e6 / released
        rounds.append({**floor, "released_s": released, "floor_MBps": round(floor_mbps, 1),
                       "ingest_MBps": round(ingest_mbps, 1), "ratio": round(ingest_mbps / floor_mbps, 2),
                       "peak_rss_mb": round(mem.peak_rss / 1e6, 1), "peak_pss_mb": round(mem.peak_pss / 1e6, 1)})
    med = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    result = {"bytes": total, **med, "rounds": rounds}
    print(f"eight cameras at once ({total / 1e6:.0f} MB, median of {ROUNDS}): 8 x (cp + sync + read-back) "
          f"{med['floor_s']:.2f} s = {med['floor_MBps']} MB/s; ingestd released all after {med['released_s']:.2f} s = "
          f"{med['ingest_MBps']} MB/s = {med['ratio']:.0%} (target >= 70%; rounds "
          f"{', '.join(format(r['ratio'], '.0%') for r in rounds)}); memory: tree {med['peak_pss_mb']} MB PSS, "
          f"largest process {med['peak_rss_mb']} MB RSS (target <= 200 MB)", flush=True)
    return result


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="ingestd-bench-", dir=os.environ.get("BENCH_DIR", "/var/tmp")))
    try:
        print(f"building camera dumps in {tmp} ...; page cache can be dropped: {drop_caches()}", flush=True)
        (tmp / "work").mkdir()
        gib, gib_files = gib_dump(tmp / "gib", tmp / "work")
        small, small_files = small_dump(tmp / "small", tmp / "work")
        results = {"machine": _machine()}
        results["gib"] = dock_case("1 GiB camera dump", tmp / "gib", gib, gib_files, tmp, "var-gib", 1.3)
        results["sm3"] = sm3_drain({**os.environ, "INGESTD_DATA_DIR": str(tmp / "var-gib"),
                                    "INGESTD_LOG_LEVEL": "WARNING"}, tmp)
        results["small"] = dock_case("200 clips of ~2 MB", tmp / "small", small, small_files, tmp, "var-small", 2.0)
        results["eight"] = eight_cameras(tmp / "gib", gib, tmp)
        OUT.mkdir(exist_ok=True)
        (OUT / "dock.json").write_text(json.dumps(results, indent=2))
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)


def _machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}


if __name__ == "__main__":
    main()
