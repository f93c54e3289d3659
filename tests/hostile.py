"""Hostile inputs for the reliability proofs, shared by the short pass in `make test`
(tests/test_hostile_soak.py) and the long one in `make soak` (tests/soak.py): media
mutated from real clips, hostile camera trees, and tampering with the store and the audit
log. Each scenario builds its input, runs the real `ingestd` command line on it, and
returns what it checked and what failed; nothing here mocks anything."""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import stat
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

FORMATS = {  # ffmpeg arguments for a small real file of each kind a camera writes
    "mp4": ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=f=440",
            "-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest"],
    "mov": ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2", "-c:v", "libx264",
            "-preset", "ultrafast"],
    "avi": ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-t", "2", "-c:v", "mpeg4"],
    "wav": ["-f", "lavfi", "-i", "sine=f=440", "-t", "2"],
    "jpg": ["-f", "lavfi", "-i", "testsrc=size=160x120", "-frames:v", "1"],
}
MUTATIONS = ("bit_flips", "truncate", "huge_box", "zero_box", "absurd_duration", "wrong_extension", "garbage_tail",
             "header_only")


@dataclass
class Outcome:
    scenario: str
    iterations: int = 0
    files: int = 0
    states: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def row(self) -> str:
        return (f"{self.scenario:28} {self.iterations:>10} {self.files:>8} {self.states:>8} "
                f"{len(self.failures):>9} {self.seconds:>8.1f}")


HEADER = f"{'scenario':28} {'iterations':>10} {'files':>8} {'states':>8} {'failures':>9} {'seconds':>8}"


def run(env: dict, *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingestd", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def base_media(folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for ext, args in FORMATS.items():
        path = folder / f"base.{ext}"
        subprocess.run(["ffmpeg", "-v", "error", "-y", *args, str(path)], check=True)
        out[ext] = path.read_bytes()
    return out


def _boxes(data: bytes) -> list[tuple[int, int, bytes]]:
    out, offset = [], 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        if size < 8:
            break
        out.append((offset, size, kind))
        offset += size
    return out


def mutate(rng: random.Random, data: bytes, ext: str, how: str) -> tuple[bytes, str]:
    b = bytearray(data)
    if how == "bit_flips":
        for _ in range(rng.randint(1, 64)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif how == "truncate":
        b = b[:rng.randrange(1, len(b))]
    elif how == "huge_box" and ext in ("mp4", "mov"):
        offset, _size, _kind = rng.choice(_boxes(data))
        b[offset:offset + 4] = struct.pack(">I", rng.choice([0xFFFFFFF0, 1]))  # 1: a 64-bit size follows
        if b[offset:offset + 4] == b"\x00\x00\x00\x01":
            b[offset + 8:offset + 16] = struct.pack(">Q", 1 << 62)
    elif how == "zero_box" and ext in ("mp4", "mov"):
        offset, _size, _kind = rng.choice(_boxes(data))
        b[offset:offset] = b"\x00\x00\x00\x00zero"  # a zero-length atom in front of a real one
    elif how == "absurd_duration" and (i := data.find(b"mvhd")) > 0:
        b[i + 16:i + 24] = struct.pack(">II", 1, 0xFFFFFFFF)  # timescale 1, duration ~136 years
    elif how == "wrong_extension":
        return bytes(b), rng.choice([e for e in FORMATS if e != ext])
    elif how == "garbage_tail":
        b += rng.randbytes(rng.randint(1, 4096))
    elif how == "header_only":
        b = b[:64]
    else:  # a mutation that does not apply to this format: flip bits instead
        return mutate(rng, data, ext, "bit_flips")
    return bytes(b), ext


def hostile_media(work: Path, env: dict, count: int, seed: int = 20261124) -> Outcome:
    """`count` files mutated from real clips of every format, docked at once: every file ends
    stored byte for byte with a status, the dock and its jobs (the demuxer, ffmpeg for voice
    hints and derivatives) finish within their limits, and nothing dies."""
    out = Outcome("hostile media")
    rng = random.Random(seed)
    bases = base_media(work / "base")
    cam = work / "CAM-FUZZ"
    cam.mkdir(parents=True)
    expected: dict[str, str] = {}
    for n in range(count):
        ext = rng.choice(list(FORMATS))
        data, ext2 = mutate(rng, bases[ext], ext, rng.choice(MUTATIONS))
        name = f"20261120_{8 + n // 3600 % 12:02d}{n // 60 % 60:02d}{n % 60:02d}_{n:05d}.{ext2}"
        (cam / name).write_bytes(data)
        expected[name] = hashlib.sha256(data).hexdigest()
    out.files = count
    start = time.monotonic()
    dock = run(env, "ingest", str(cam), "--device", "CAM-FUZZ", "--json", timeout=max(600, count * 2))
    if dock.returncode != 0:
        out.failures.append(f"ingest exited {dock.returncode}: {dock.stderr[-300:]}")
        return out
    files = {f["rel_path"]: f for f in json.loads(dock.stdout)["files"]}
    for name, sha in expected.items():
        f = files.get(name)
        if f is None:
            out.failures.append(f"{name}: no status")
        elif f["status"] not in ("ingested", "damaged", "duplicate") or f["sha256"] != sha:
            out.failures.append(f"{name}: {f['status']} {f.get('code')} sha {f['sha256']} != {sha}")
    jobs = run(env, "jobs", "work", "--until-idle", "--derivatives", timeout=max(900, count * 10))
    if jobs.returncode != 0:
        out.failures.append(f"jobs work exited {jobs.returncode}: {jobs.stderr[-300:]}")
    # Left behind would be a job never tried or still running; one that failed and waits out its
    # backoff is not (its backoff may end between the work's return and this look, so the
    # queue's "waiting to retry" count cannot tell them apart: its attempts can).
    import sqlite3

    with sqlite3.connect(Path(env["INGESTD_DATA_DIR"]) / "ingestd.db") as conn:
        untried, running = conn.execute("select sum(status = 'queued' and attempts = 0), sum(status = 'running') "
                                        "from jobs").fetchone()
    if untried or running:
        out.failures.append(f"jobs left: {untried} queued and never tried, {running} running")
    verify = run(env, "verify", "--json")
    if verify.returncode != 0:
        out.failures.append(f"verify: {verify.stdout[-300:]}")
    out.iterations, out.states, out.seconds = count, len(files), time.monotonic() - start
    return out


def hostile_tree(work: Path, env: dict, files: int, depth: int = 12, sparse_gb: float = 0.0) -> Outcome:
    """A camera tree built to mislead: symlink loops and links out of it, a FIFO, a device
    node, a socket, `files` files spread over `depth` levels, names with '..', newlines,
    bidi controls and bytes that are not UTF-8, and optionally a large sparse file. Nothing
    outside the tree is read, nothing special is opened, every file gets a status."""
    out = Outcome("hostile tree")
    cam = work / "CAM-TREE"
    level = cam
    for d in range(depth):
        level = level / f"d{d:02d}"
    level.mkdir(parents=True)
    dirs = [cam] + [cam.joinpath(*[f"d{i:02d}" for i in range(d + 1)]) for d in range(depth)]
    payload = {}
    for n in range(files):
        where = dirs[n % len(dirs)]
        data = f"ingestd hostile tree {n}\n".encode() * 4
        (where / f"f{n:05d}.mp4").write_bytes(data)
        payload[os.fspath(where / f"f{n:05d}.mp4")] = hashlib.sha256(data).hexdigest()
    odd = [b"..mp4", b"a..b.mp4", b"new\nline.mp4", "bidi\u202eexe.mp4".encode(), b"bad\xff\xfe.mp4",
           b" leading.mp4", b"-i.mp4"]
    for raw in odd:
        path = os.fsencode(cam) + b"/" + raw
        with open(path, "wb") as fh:
            fh.write(b"odd name " + raw)
    os.symlink(".", cam / "loop")  # a directory that contains itself
    os.symlink("/etc/passwd", cam / "passwd.mp4")  # a link out of the camera
    os.symlink(cam / "d00", cam / "d00" / "back")
    os.mkfifo(cam / "fifo.mp4")
    specials = 2  # the FIFO and the socket (and the device node, where it can be made)
    try:
        os.mknod(cam / "null.mp4", 0o600 | stat.S_IFCHR, os.makedev(1, 3))
        specials += 1
    except PermissionError:
        pass
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(os.fspath(cam / "sock.mp4"))
    if sparse_gb:
        with open(cam / "sparse.mp4", "wb") as fh:
            fh.truncate(int(sparse_gb * (1 << 30)))
    out.files = files + len(odd) + specials + (1 if sparse_gb else 0)
    start = time.monotonic()
    try:
        dock = run(env, "ingest", str(cam), "--device", "CAM-TREE", "--json", timeout=3600)
        text = run(env, "recordings", "list").stdout
    finally:
        sock.close()
    out.seconds = time.monotonic() - start
    if dock.returncode != 0:
        out.failures.append(f"ingest exited {dock.returncode}: {dock.stderr[-300:]}")
        return out
    result = json.loads(dock.stdout)["files"]
    by_status: dict[str, int] = {}
    for f in result:
        by_status[f["status"]] = by_status.get(f["status"], 0) + 1
    stored = {f["sha256"] for f in result if f["status"] in ("ingested", "damaged", "duplicate")}
    missing = [p for p, sha in payload.items() if sha not in stored]
    if missing:
        out.failures.append(f"{len(missing)} files not stored, e.g. {missing[0]}")
    if hashlib.sha256(Path("/etc/passwd").read_bytes()).hexdigest() in stored:
        out.failures.append("a file outside the camera was read through a symlink")
    skipped = [f for f in result if f["status"] == "skipped"]
    if len(skipped) < specials + 3:  # loop, link out, back link, and the special files
        out.failures.append(f"only {len(skipped)} entries skipped: {[f['rel_path'] for f in skipped]}")
    if "\u202e" in text or "new\nline" in text:
        out.failures.append("a name was printed with its control characters")
    out.iterations, out.states = 1, len(result)
    return out


TAMPERS = ("flip_byte", "delete_object", "edit_inventory", "foreign_file", "edit_audit", "delete_audit",
           "reorder_audit")


def tamper(work: Path, env: dict, rounds: int, seed: int = 7) -> Outcome:
    """Each round: a fresh store of a few recordings, one kind of tampering at a random
    place, and the check that `verify` or `audit verify` names it (exit 1) — then that the
    untouched copy stays clean."""
    import sqlite3

    out = Outcome("tamper")
    rng = random.Random(seed)
    bases = base_media(work / "base")
    start = time.monotonic()
    for r in range(rounds):
        how = TAMPERS[r % len(TAMPERS)]
        data_dir = work / f"t{r}" / "var"
        renv = {**env, "INGESTD_DATA_DIR": str(data_dir)}
        run(renv, "init")
        cam = work / f"t{r}" / "cam"
        cam.mkdir(parents=True)
        for i in range(3):
            (cam / f"20261120_10{i:02d}00.mp4").write_bytes(bases["mp4"] + f"free{r}-{i}".encode().rjust(16, b"\0"))
        run(renv, "ingest", str(cam), "--device", "CAM-T")
        out.files += 3
        store = data_dir / "store"
        objects = sorted(p.parent for p in store.rglob("0=ocfl_object_1.1"))
        victim = rng.choice(objects)
        db = data_dir / "ingestd.db"
        if how == "flip_byte":
            original = next(p for p in (victim / "v1" / "content").iterdir() if p.suffix == ".mp4")
            original.chmod(0o644)
            raw = bytearray(original.read_bytes())
            raw[rng.randrange(len(raw))] ^= 0x01
            original.write_bytes(bytes(raw))
        elif how == "delete_object":
            subprocess.run(["rm", "-rf", str(victim)], check=True)
        elif how == "edit_inventory":
            inv = victim / "inventory.json"
            inv.chmod(0o644)
            inv.write_text(inv.read_text().replace('"message"', '"messagE"', 1))
        elif how == "foreign_file":
            (store / rng.choice(["notes.txt", "a.mp4"])).write_text("put here by hand")
        else:
            with sqlite3.connect(db) as conn:
                last = conn.execute("select max(seq) from audit_events").fetchone()[0]
                seq = rng.randrange(2, last)
                if how == "edit_audit":
                    conn.execute("update audit_events set detail = '{}' where seq = ?", (seq,))
                elif how == "delete_audit":
                    conn.execute("delete from audit_events where seq = ?", (seq,))
                else:
                    conn.execute("update audit_events set seq = -1 where seq = ?", (seq,))
                    conn.execute("update audit_events set seq = ? where seq = ?", (seq, seq + 1))
                    conn.execute("update audit_events set seq = ? where seq = -1", (seq + 1,))
        check = run(renv, "audit" if how.endswith("audit") else "verify",
                    *(["verify"] if how.endswith("audit") else []), "--json")
        out.iterations += 1
        out.states += 1
        if check.returncode != 1 or not json.loads(check.stdout)["findings"]:
            out.failures.append(f"round {r} ({how}): not found (exit {check.returncode})")
    out.seconds = time.monotonic() - start
    return out


def camera_faults(work: Path, env: dict, rounds: int, seed: int = 11) -> Outcome:
    """Read errors from the camera at random points, injected into the real system calls by
    strace (`-e inject`, limited with `-P` to the camera's files): one EIO or ENODEV on a read,
    or an unplug (every read and open from that moment fails with ENODEV). The dock must give
    each file a status, store nothing that was not read whole, and leave the rest on the
    camera; a clean dock afterwards takes it, and the store and the audit log stay valid."""
    out = Outcome("camera read faults")
    rng = random.Random(seed)
    cam = work / "CAM-EIO"
    (cam / "DCIM").mkdir(parents=True)
    base = base_media(work / "base")["mp4"]
    for i in range(4):
        # 300 KiB more in a `free` box each: with 64 KiB chunks a file takes several reads, so a
        # fault can land mid-file
        (cam / "DCIM" / f"20261120_0{8 + i}0000.mp4").write_bytes(
            base + struct.pack(">I4s", 8 + (300 << 10), b"free") + rng.randbytes(300 << 10))
    files = sorted((cam / "DCIM").iterdir())
    expected = {hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    reads = sum(len(p.read_bytes()) // (64 << 10) + 2 for p in files)
    limit_to = [arg for p in files for arg in ("-P", str(p))]
    start = time.monotonic()
    for r in range(rounds):
        renv = {**env, "INGESTD_DATA_DIR": str(work / f"r{r}" / "var"), "INGESTD_INGEST__CHUNK_KIB": "64",
                "INGESTD_INGEST__WORKERS": str(rng.choice([1, 2]))}
        run(renv, "init")
        at = rng.randint(1, reads // int(renv["INGESTD_INGEST__WORKERS"]))
        unplug = rng.random() < 0.5
        error = "ENODEV" if unplug else rng.choice(["EIO", "ENODEV"])
        inject = [f"readv:error={error}:when={at}{'+' if unplug else ''}"]
        if unplug:
            inject.append(f"openat:error=ENODEV:when={rng.randint(1, 3)}+")
        argv = ["strace", "-f", "-qq", "-o", "/dev/null", *limit_to, "-e", "trace=readv,openat",
                *[a for i in inject for a in ("-e", f"inject={i}")],
                sys.executable, "-m", "ingestd", "ingest", str(cam), "--device", "CAM-EIO", "--json"]
        faulted = subprocess.run(argv, env=renv, capture_output=True, text=True, timeout=300,
                                 stdin=subprocess.DEVNULL)
        out.iterations += 1
        out.files += len(files)
        label = f"round {r} ({error} at read {at}{', unplugged' if unplug else ''})"
        if faulted.returncode != 0 or "Traceback" in faulted.stderr:
            out.failures.append(f"{label}: exit {faulted.returncode} {faulted.stderr[-300:]}")
            continue
        got = json.loads(faulted.stdout)["files"]
        failed = [f for f in got if f["status"] == "failed"]
        out.states += len(failed)
        if any(f["code"] != "read_failed" for f in failed):
            out.failures.append(f"{label}: a failed file with another code: {failed}")
        stored = {f["sha256"] for f in got if f["status"] in ("ingested", "duplicate")}
        if not stored <= expected or any(f["status"] not in ("ingested", "duplicate", "failed") for f in got):
            out.failures.append(f"{label}: statuses {[(f['status'], f.get('code')) for f in got]}")
        again = run(renv, "ingest", str(cam), "--device", "CAM-EIO", "--json")
        listed = json.loads(run(renv, "recordings", "list", "--json").stdout)
        if again.returncode != 0 or {rec["sha256"] for rec in listed} != expected or len(listed) != len(expected):
            out.failures.append(f"{label}: after a clean dock {len(listed)} recordings, wanted {len(expected)}")
        for check in (("verify", "--json"), ("audit", "verify", "--json")):
            if run(renv, *check).returncode != 0:
                out.failures.append(f"{label}: `{' '.join(check[:-1])}` failed")
    out.seconds = time.monotonic() - start
    return out
