"""Crash states: what a power cut could leave on disk, built from the system calls of a real
run, each recovered by the next `ingestd` start and checked.

In the spirit of ALICE (Pillai et al., OSDI 2014), CrashMonkey (Mohan et al., OSDI 2018) and
SQLite's own crash tests: `strace -f` records every call that changes the data directory
(open with O_CREAT/O_TRUNC, write, pwrite, ftruncate, rename, unlink, mkdir, chmod) with the
bytes written, and every fsync, fdatasync and syncfs. Replaying them over a snapshot taken
before the run gives a model of the files; a crash state is the model at a cut where only
some of the calls reached the disk:

- a call is *durable* at a cut when a sync before the cut covers it: fsync or fdatasync of
  its file (data, size, mode), fsync of the directory that holds the name (create, rename,
  unlink, mkdir), or syncfs;
- at each sync, the cut falls just before it; the states kept there are: only the durable
  calls; every call (the process died, the kernel did not); and seeded random mixes in which
  the names changed since the last sync reach the disk as a prefix in their order (a journal
  commits in order) while each unsynced write of file data reaches it or not on its own,
  which drops and reorders writes within a file.

Identical states are explored once. SQLite's `-shm` file is a cache rebuilt on open and is
left out, as a reboot would make it irrelevant. The camera is not part of the state: ingestd
only ever reads it."""

from __future__ import annotations

import codecs
import copy
import hashlib
import json
import os
import random
import re
import stat
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

TRACED = ("openat,open,creat,write,pwrite64,writev,pwritev,pwritev2,lseek,close,ftruncate,fsync,fdatasync,"
          "syncfs,sync,rename,renameat,renameat2,unlink,unlinkat,mkdir,mkdirat,rmdir,chmod,fchmod,fchmodat,"
          "link,linkat,fallocate,copy_file_range,sendfile")
DERIVATIVES = {"proxy", "hls", "thumbnails"}  # left to the daemon by a plain `ingest`
UNMODELLED = {"fallocate", "copy_file_range", "sendfile", "link", "linkat"}


def traced(argv: list[str], env: dict, trace: Path, **kw) -> subprocess.CompletedProcess:
    """Run a command under strace, recording what the crash model needs (with the written bytes)."""
    return subprocess.run(["strace", "-f", "-qq", "-y", "-s", "0", "-e", f"trace={TRACED}", "-e", "write=all",
                           "-o", str(trace), *argv], env=env, **kw)


# ---- the trace --------------------------------------------------------------------------

@dataclass
class Call:
    name: str
    args: list[str]
    ret: str
    data: bytearray = field(default_factory=bytearray)


_LINE = re.compile(r"^(\d+) +(.*)$")
_RESUMED = re.compile(r"^<\.\.\. (\w+) resumed>(.*)$")
_DUMP = re.compile(r"^ \| [0-9a-f]+  ")


def _split_args(text: str) -> list[str]:
    """Split strace's argument list on commas outside quotes, brackets and `<path>` decorations."""
    out, depth, cur, quote, i = [], 0, [], False, 0
    while i < len(text):
        ch = text[i]
        if quote:
            cur.append(ch)
            if ch == "\\":
                cur.append(text[i + 1])
                i += 1
            elif ch == '"':
                quote = False
        elif ch == '"':
            quote = True
            cur.append(ch)
        elif ch in "[{<(":
            depth += 1
            cur.append(ch)
        elif ch in "]}>)":
            depth -= 1
            cur.append(ch)
        elif ch == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    if cur:
        out.append("".join(cur).strip())
    return out


def parse(trace: Path) -> list[Call]:
    calls: list[Call] = []
    pending: dict[str, str] = {}
    last: Call | None = None
    for raw in trace.read_text(errors="surrogateescape").splitlines():
        dump = _DUMP.match(raw)
        if dump:
            if last is not None:  # the hex dump of the call just printed: 16 bytes a line
                last.data += bytes.fromhex(raw[dump.end():dump.end() + 49].replace(" ", ""))
            continue
        m = _LINE.match(raw)
        if not m:
            continue  # " * N bytes in buffer K" between a writev's buffers
        last = None
        pid, rest = m.groups()
        if rest.endswith("<unfinished ...>"):
            pending[pid] = rest[: -len("<unfinished ...>")].rstrip()
            continue
        resumed = _RESUMED.match(rest)
        if resumed:
            rest = pending.pop(pid, resumed.group(1) + "(") + resumed.group(2)
        if rest.startswith(("+++", "---")) or "(" not in rest or " = " not in rest:
            continue
        name, _, tail = rest.partition("(")
        args_text, _, ret = tail.rpartition(" = ")
        args_text = args_text.rstrip()
        if args_text.endswith(")"):
            args_text = args_text[:-1]
        last = Call(name, _split_args(args_text), ret.strip())
        calls.append(last)
    return calls


def _string(arg: str) -> str:
    """A quoted strace string, C escapes undone, as a file name (bytes as surrogates)."""
    body = arg[1:arg.rindex('"')]
    return os.fsdecode(codecs.escape_decode(body.encode("utf-8", "surrogateescape"))[0])


def _fd_path(arg: str) -> tuple[int | None, str | None]:
    m = re.match(r"^(-?\d+|AT_FDCWD)<(.*)>$", arg, re.S)
    if not m:
        return None, None
    fd = None if m.group(1) == "AT_FDCWD" else int(m.group(1))
    return fd, m.group(2)


def _at(dirfd_arg: str, path_arg: str) -> str:
    path = _string(path_arg)
    if path.startswith("/"):
        return path
    _, base = _fd_path(dirfd_arg)
    return os.path.join(base or "/", path)


# ---- the model --------------------------------------------------------------------------

@dataclass
class Node:
    kind: str  # "file" | "dir"
    mode: int
    data: bytearray = field(default_factory=bytearray)
    entries: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Op:
    kind: str  # create | write | truncate | rename | unlink | chmod | sync
    ino: int = -1
    parent: int = -1
    name: str = ""
    parent2: int = -1
    name2: str = ""
    offset: int = 0
    data: bytes = b""
    node_kind: str = ""
    mode: int = 0
    scope: str = ""  # for sync: file | dir | all

    @property
    def is_name(self) -> bool:
        return self.kind in ("create", "rename", "unlink")


class Fs:
    def __init__(self) -> None:
        self.nodes: dict[int, Node] = {0: Node("dir", 0o755)}
        self.next_ino = 1

    @classmethod
    def snapshot(cls, root: Path) -> "Fs":
        fs = cls()
        fs.nodes[0].mode = stat.S_IMODE(root.stat().st_mode)

        def walk(folder: Path, ino: int) -> None:
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                if entry.name.endswith("-shm"):
                    continue
                st = entry.stat(follow_symlinks=False)
                child = fs.next_ino
                fs.next_ino += 1
                if stat.S_ISDIR(st.st_mode):
                    fs.nodes[child] = Node("dir", stat.S_IMODE(st.st_mode))
                    walk(Path(entry.path), child)
                elif stat.S_ISREG(st.st_mode):
                    fs.nodes[child] = Node("file", stat.S_IMODE(st.st_mode), bytearray(Path(entry.path).read_bytes()))
                else:
                    continue
                fs.nodes[ino].entries[entry.name] = child

        walk(root, 0)
        return fs

    def lookup(self, parts: list[str]) -> int | None:
        ino = 0
        for part in parts:
            node = self.nodes.get(ino)
            if node is None or node.kind != "dir" or part not in node.entries:
                return None
            ino = node.entries[part]
        return ino

    def apply(self, op: Op) -> None:
        """Apply one call; one whose object did not reach this state is a no-op, as on disk."""
        if op.kind == "create":
            parent = self.nodes.get(op.parent)
            if parent is None or op.name in parent.entries:
                return
            self.nodes.setdefault(op.ino, Node(op.node_kind, op.mode))
            parent.entries[op.name] = op.ino
        elif op.kind in ("write", "truncate", "chmod"):
            node = self.nodes.get(op.ino)
            if node is None:
                return
            if op.kind == "chmod":
                node.mode = op.mode
            elif op.kind == "truncate":
                del node.data[op.offset:]
                node.data.extend(bytes(op.offset - len(node.data)))
            else:
                if len(node.data) < op.offset:
                    node.data.extend(bytes(op.offset - len(node.data)))
                node.data[op.offset:op.offset + len(op.data)] = op.data
        elif op.kind == "rename":
            src, dst = self.nodes.get(op.parent), self.nodes.get(op.parent2)
            if src is None or dst is None or op.name not in src.entries:
                return
            dst.entries[op.name2] = src.entries.pop(op.name)
        elif op.kind == "unlink":
            parent = self.nodes.get(op.parent)
            if parent is not None:
                parent.entries.pop(op.name, None)

    def write_to(self, target: Path) -> None:
        def out(ino: int, path: Path) -> None:
            node = self.nodes[ino]
            if node.kind == "dir":
                path.mkdir(parents=True, exist_ok=True)
                for name, child in node.entries.items():
                    out(child, path / name)
                os.chmod(path, node.mode | 0o700)
            else:
                path.write_bytes(bytes(node.data))
                os.chmod(path, node.mode)

        out(0, target)

    def files(self) -> dict[str, bytes]:
        """Every reachable file by its path below the root (for tests of the model itself)."""
        out: dict[str, bytes] = {}

        def walk(ino: int, path: str) -> None:
            for name, child in self.nodes[ino].entries.items():
                node = self.nodes[child]
                if node.kind == "dir":
                    walk(child, f"{path}{name}/")
                else:
                    out[f"{path}{name}"] = bytes(node.data)

        walk(0, "")
        return out

    def digest(self) -> str:
        h = hashlib.sha256()

        def feed(ino: int, path: str) -> None:
            node = self.nodes[ino]
            h.update(f"{path}\0{node.kind}\0{node.mode:o}\0".encode("utf-8", "surrogateescape"))
            if node.kind == "file":
                h.update(hashlib.sha256(node.data).digest())
            for name in sorted(node.entries):
                feed(node.entries[name], f"{path}/{name}")

        feed(0, "")
        return h.hexdigest()


class UnmodelledCall(Exception):
    pass


def operations(calls: list[Call], root: Path, before: Fs) -> list[Op]:
    """Resolve the calls on the data directory to operations on nodes, replaying them on a copy
    of the snapshot as they happened (the names printed by `strace -y` are those at the time)."""
    fs = copy.deepcopy(before)
    prefix = str(root).rstrip("/") + "/"
    offsets: dict[tuple[int, int], int] = {}
    ops: list[Op] = []

    def parts(path: str) -> list[str] | None:
        if path == prefix[:-1]:
            return []
        if not path.startswith(prefix) or path.endswith("-shm") or path.endswith(" (deleted)"):
            return None
        return path[len(prefix):].split("/")

    def ino_of(path: str | None) -> int | None:
        p = parts(path) if path else None
        return None if p is None else fs.lookup(p)

    def emit(op: Op) -> None:
        fs.apply(op)
        ops.append(op)

    for call in calls:
        if call.ret.startswith("-1") or call.ret.startswith("?"):
            continue
        name, a = call.name, call.args
        if name in UNMODELLED:
            paths = [p for arg in a for p in [_fd_path(arg)[1] or ""] if p.startswith(prefix)]
            if paths:
                raise UnmodelledCall(f"{name} on {paths[0]}")
            continue
        if name in ("open", "openat", "creat"):
            flags = "O_CREAT|O_TRUNC" if name == "creat" else (a[1] if name == "open" else a[2])
            fd, path = _fd_path(call.ret)
            p = parts(path) if path else None
            if p is None or not p:
                continue
            ino = fs.lookup(p)
            if ino is None and "O_CREAT" in flags:
                parent = fs.lookup(p[:-1])
                if parent is None:
                    continue
                ino = fs.next_ino
                fs.next_ino += 1
                mode_arg = a[-1] if a[-1].startswith("0") else "0644"
                emit(Op("create", ino=ino, parent=parent, name=p[-1], node_kind="file", mode=int(mode_arg, 8)))
            elif ino is not None and "O_TRUNC" in flags and fs.nodes[ino].kind == "file":
                emit(Op("truncate", ino=ino, offset=0))
            if ino is not None and fd is not None:
                offsets[(fd, ino)] = len(fs.nodes[ino].data) if "O_APPEND" in flags else 0
        elif name in ("write", "writev", "pwrite64", "pwritev", "pwritev2"):
            fd, path = _fd_path(a[0])
            ino = ino_of(path)
            if ino is None or fd is None:
                continue
            written = int(call.ret.split()[0])
            data = bytes(call.data[:written])
            if name.startswith("pwrite"):
                at = int(a[-1] if name != "pwritev2" else a[-2])
            else:
                at = offsets.get((fd, ino), 0)
                offsets[(fd, ino)] = at + written
            emit(Op("write", ino=ino, offset=at, data=data))
        elif name == "lseek":
            fd, path = _fd_path(a[0])
            ino = ino_of(path)
            if ino is not None and fd is not None:
                offsets[(fd, ino)] = int(call.ret.split()[0])
        elif name == "ftruncate":
            ino = ino_of(_fd_path(a[0])[1])
            if ino is not None:
                emit(Op("truncate", ino=ino, offset=int(a[1])))
        elif name in ("fsync", "fdatasync"):
            path = _fd_path(a[0])[1]
            ino = ino_of(path)
            if ino is not None:
                emit(Op("sync", ino=ino, scope="dir" if fs.nodes[ino].kind == "dir" else "file"))
        elif name in ("syncfs", "sync"):
            path = _fd_path(a[0])[1] if a and a[0] else None
            if name == "sync" or (path and (path + "/").startswith(prefix)):
                emit(Op("sync", scope="all"))
        elif name in ("rename", "renameat", "renameat2"):
            old = _string(a[0]) if name == "rename" else _at(a[0], a[1])
            new = _string(a[1]) if name == "rename" else _at(a[2], a[3])
            po, pn = parts(old), parts(new)
            if po is None or pn is None:
                if po is not None or pn is not None:
                    raise UnmodelledCall(f"rename across the data directory's edge: {old} → {new}")
                continue
            sp, dp = fs.lookup(po[:-1]), fs.lookup(pn[:-1])
            if sp is not None and dp is not None:
                emit(Op("rename", parent=sp, name=po[-1], parent2=dp, name2=pn[-1]))
        elif name in ("unlink", "unlinkat", "rmdir"):
            path = _string(a[0]) if name in ("unlink", "rmdir") else _at(a[0], a[1])
            p = parts(path)
            parent = fs.lookup(p[:-1]) if p else None
            if parent is not None:
                emit(Op("unlink", parent=parent, name=p[-1]))
        elif name in ("mkdir", "mkdirat"):
            path = _string(a[0]) if name == "mkdir" else _at(a[0], a[1])
            p = parts(path)
            parent = fs.lookup(p[:-1]) if p else None
            if parent is not None and fs.lookup(p) is None:
                ino = fs.next_ino
                fs.next_ino += 1
                emit(Op("create", ino=ino, parent=parent, name=p[-1], node_kind="dir", mode=int(a[-1], 8)))
        elif name in ("chmod", "fchmod", "fchmodat"):
            path = (_string(a[0]) if name == "chmod" else _fd_path(a[0])[1] if name == "fchmod"
                    else _at(a[0], a[1]))
            ino = ino_of(path)
            if ino is not None:
                emit(Op("chmod", ino=ino, mode=int(a[1] if name != "fchmodat" else a[2], 8)))
        elif name == "close":
            fd, path = _fd_path(a[0])
            ino = ino_of(path)
            if ino is not None and fd is not None:
                offsets.pop((fd, ino), None)
    return ops


def _covered(op: Op, files: set[int], dirs: set[int]) -> bool:
    if op.is_name:
        return op.parent in dirs or (op.kind == "rename" and op.parent2 in dirs)
    return op.ino in files


@dataclass
class State:
    cut: int  # how many operations had been issued
    variant: str
    fs: Fs


def states(before: Fs, ops: list[Op], mixes: int = 2, seed: int = 0, only: str | None = None) -> list[State]:
    """Every distinct state at every sync boundary (see the module's text); `only`: those of
    one variant (e.g. "durable only"), distinct among themselves."""
    rng = random.Random(seed)
    cuts = [i for i, op in enumerate(ops) if op.kind == "sync"] + [len(ops)]
    seen: set[str] = set()
    out: list[State] = []
    for cut in cuts:
        durable = [False] * cut
        files: set[int] = set()
        dirs: set[int] = set()
        everything = False
        for i in range(cut - 1, -1, -1):
            op = ops[i]
            if op.kind == "sync":
                durable[i] = True
                if op.scope == "all":
                    everything = True
                elif op.scope == "file":
                    files.add(op.ino)
                else:
                    dirs.add(op.ino)
                    files.add(op.ino)
            else:
                durable[i] = everything or _covered(op, files, dirs)
        loose_names = [i for i in range(cut) if not durable[i] and ops[i].is_name]
        choices = {"durable only": set(), "every call": set(range(cut))}
        for n in range(mixes):
            keep = set(loose_names[:rng.randint(0, len(loose_names))])
            keep |= {i for i in range(cut) if not durable[i] and not ops[i].is_name and ops[i].kind != "sync"
                     and rng.random() < 0.5}
            choices[f"mix {n + 1}"] = keep
        for variant, extra in choices.items():
            if only is not None and variant != only:
                continue
            fs = copy.deepcopy(before)
            for i in range(cut):
                if durable[i] or i in extra:
                    fs.apply(ops[i])
            key = fs.digest()
            if key not in seen:
                seen.add(key)
                out.append(State(cut, variant, fs))
    return out


# ---- recovery ---------------------------------------------------------------------------

def cli(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ingestd", *args], env=env, capture_output=True, text=True,
                          timeout=600, stdin=subprocess.DEVNULL)


def recover_and_check(state_dir: Path, env: dict, camera: Path, device: str, expected: set[str],
                      derivatives: bool = False) -> list[str]:
    """The next start on a crash state: the camera docked again and the jobs worked; then every
    recording is stored once and recorded once, the store is valid OCFL and agrees with the
    database, a database rebuilt from the store alone gives the same recordings, and the audit
    chain holds. Returns what failed (empty when the state recovered)."""
    import ocfl

    env = {**env, "INGESTD_DATA_DIR": str(state_dir / "var")}
    failures: list[str] = []
    store = state_dir / "var" / "store"
    # Before any recovery: every object that is visible must be whole. (Empty directories of
    # the storage layout may be left by a cut; the next start prunes them from its marker.)
    for declaration in store.rglob("0=ocfl_object_1.1") if store.exists() else []:
        if not ocfl.Object().validate(objdir=str(declaration.parent), log_warnings=False, log_errors=False):
            failures.append(f"the crash state holds a half-visible object: {declaration.parent.name}")
    dock = cli(env, "ingest", str(camera), "--device", device, "--json")
    if dock.returncode != 0:
        return failures + [f"next dock exited {dock.returncode}: {(dock.stderr or dock.stdout).strip()[-300:]}"]
    statuses = {f["status"] for f in json.loads(dock.stdout)["files"]}
    if not statuses <= {"ingested", "duplicate", "already_ingested", "damaged"}:
        failures.append(f"next dock left files {sorted(statuses)}")
    work = cli(env, "jobs", "work", "--until-idle", *(["--derivatives"] if derivatives else []), "--json")
    if work.returncode != 0:
        failures.append(f"jobs work exited {work.returncode}: {work.stderr.strip()[-300:]}")
    recs = cli(env, "recordings", "list", "--json")
    rows = {r["id"]: r for r in json.loads(recs.stdout)} if recs.returncode == 0 else {}
    if set(rows) != expected:
        failures.append(f"recordings {len(rows)}, wanted {len(expected)}: missing {sorted(expected - set(rows))[:2]}")
    if any(r["sm3"] is None or r["status"] is None for r in rows.values()):
        failures.append("a recording without SM3 or status after the jobs")
    objects = {p.name for p in store.rglob("*") if p.is_dir() and (p / "0=ocfl_object_1.1").exists()}
    if len(objects) != len(expected):
        failures.append(f"{len(objects)} objects in the store, wanted {len(expected)}")
    root = ocfl.StorageRoot(root=str(store))
    if not root.validate(log_warnings=False, log_errors=False):
        failures.append("OCFL storage root invalid after recovery")
    for args in (("verify", "--json"), ("audit", "verify", "--json")):
        if cli(env, *args).returncode != 0:
            failures.append(f"`ingestd {' '.join(args[:-1])}` failed after recovery")
    jobs = cli(env, "jobs", "status", "--json")
    if jobs.returncode == 0:
        left = [k for k, n in json.loads(jobs.stdout)["kinds"].items() if n["failed"] or n["running"]
                or ((n["queued"] or n["held"]) and (derivatives or k not in DERIVATIVES))]
        if left:
            failures.append(f"jobs failed or still running: {left}")
    fresh = {**env, "INGESTD_DATABASE_URL": f"sqlite:///{state_dir / 'rebuilt.db'}"}
    if cli(fresh, "db", "upgrade").returncode != 0 or cli(fresh, "store", "rebuild-index", "--json").returncode != 0:
        failures.append("store rebuild-index into a fresh database failed")
    else:
        again = {r["id"]: r for r in json.loads(cli(fresh, "recordings", "list", "--json").stdout)}
        keys = ("sha256", "sm3", "size", "start", "end", "device", "path", "status")
        if set(again) != set(rows) or any(again[k][f] != rows[k][f] for k in again for f in keys):
            failures.append("a database rebuilt from the store gives other recordings")
    return failures


# ---- the two recorded runs --------------------------------------------------------------

@dataclass
class Exploration:
    run: str
    operations: int
    syncs: int
    states: list[State]
    explored: int = 0
    failures: list[str] = field(default_factory=list)
    files: int = 0  # on the camera


def _init(work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")}
    env.update({"INGESTD_DATA_DIR": str(work / "var"), "INGESTD_DOCK_NAME": "crash", "INGESTD_LOG_LEVEL": "ERROR",
                # one offload thread and one job worker: the order of the recorded calls is then
                # the order of the program, and a state at a cut is one it could really leave
                "INGESTD_INGEST__WORKERS": "1", "INGESTD_JOBS__WORKERS": "1"})
    if cli(env, "init").returncode != 0:
        raise RuntimeError("ingestd init failed")
    return env


def camera(folder: Path, clips: int = 3) -> set[str]:
    """A camera with a few real clips and one file twice under two names."""
    dcim = folder / "DCIM"
    dcim.mkdir(parents=True)
    for i in range(clips):
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi",
                        "-i", f"sine=f={300 + 100 * i}", "-t", "2", "-c:v", "libx264", "-preset", "ultrafast",
                        "-c:a", "aac", "-shortest", str(dcim / f"2026112{i}_0{8 + i}0000.mp4")], check=True)
    (dcim / "20261120_080000_copy.mp4").write_bytes((dcim / "20261120_080000.mp4").read_bytes())
    return {hashlib.sha256(p.read_bytes()).hexdigest() for p in dcim.iterdir()}


def record(work: Path, cam: Path, which: str) -> tuple[dict, Fs, list[Op], Path]:
    """Record one run on a fresh data directory: `dock` (a dock session, released) or `jobs`
    (the after-dock jobs of a dock, derivatives included)."""
    env = _init(work)
    var = work / "var"
    dock_args = [sys.executable, "-m", "ingestd", "ingest", str(cam), "--device", "CAM-CRASH", "--no-wait", "--json"]
    if which == "jobs":
        subprocess.run(dock_args, env=env, check=True, capture_output=True)
        argv = [sys.executable, "-m", "ingestd", "jobs", "work", "--until-idle", "--derivatives", "--json"]
    else:
        argv = dock_args
    before = Fs.snapshot(var)
    trace = work / "trace.txt"
    done = traced(argv, env, trace, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the recorded run failed: {done.stderr[-500:]}")
    return env, before, operations(parse(trace), var, before), trace


def explore(work: Path, which: str, limit: int | None = None, mixes: int = 2, seed: int = 0,
            parallel: int = 2, variant: str | None = None) -> Exploration:
    """Record `which`, build its crash states, recover and check each (or only those of one
    `variant`, or `limit` of them spread over the run), `parallel` at a time."""
    import logging
    from concurrent.futures import ThreadPoolExecutor

    logging.getLogger().setLevel(logging.WARNING)  # ocfl-py names the layout of each root at INFO
    cam = work / "camera"
    expected = camera(cam)
    env, before, ops, _ = record(work / "recorded", cam, which)
    found = states(before, ops, mixes=mixes, seed=seed, only=variant)
    chosen = found if limit is None or limit >= len(found) else \
        [found[round(i * (len(found) - 1) / (limit - 1))] for i in range(limit)] if limit > 1 else found[-1:]
    result = Exploration(which, len([o for o in ops if o.kind != "sync"]), len([o for o in ops if o.kind == "sync"]),
                         found, files=len(list(cam.rglob("*.mp4"))))

    def one(n: int, state: State) -> list[str]:
        folder = work / f"state-{n:04d}"
        folder.mkdir()
        state.fs.write_to(folder / "var")
        failed = recover_and_check(folder, env, cam, "CAM-CRASH", expected, derivatives=which == "jobs")
        if not failed:
            subprocess.run(["rm", "-rf", str(folder)], check=False)
        return [f"state {n} (cut {state.cut}/{len(ops)}, {state.variant}): {f}" for f in failed]

    with ThreadPoolExecutor(parallel) as pool:
        for failed in pool.map(lambda a: one(*a), enumerate(chosen)):
            result.explored += 1
            result.failures.extend(failed)
    return result
