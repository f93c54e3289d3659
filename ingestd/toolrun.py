"""Running an external program the one safe way: stdin closed, stdout and stderr
captured, a time limit, and on expiry terminate → wait → kill of its whole process group.
The program dies with ingestd (parent-death signal, set by util-linux's setpriv before it
execs the program), so a killed dock never leaves a decoder running. Failures raise
ToolError carrying the tail of stderr. Each tool has its own thin module building its
arguments (media/ffmpeg.py, sources/mount.py); all of them run through here."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from dataclasses import dataclass

from ingestd.errors import ToolError, ToolTimeoutError

STDERR_TAIL = 600
GRACE_S = 5.0
# Eight cameras docked together must not start eight decoders on a two-core box: tools
# wait for a slot (memory stays bounded; the slot is held at most until the time limit).
_SLOTS = threading.BoundedSemaphore(max(2, os.cpu_count() or 1))


@dataclass(frozen=True)
class ToolOutput:
    stdout: bytes
    stderr: str


def stderr_tail(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    return " | ".join(lines[-4:])[-STDERR_TAIL:]


def run(args: list[str], timeout_s: float, *, nice: bool = False) -> ToolOutput:
    with _SLOTS:
        return _run(args, timeout_s, nice)


def wrapped(args: list[str], nice: bool) -> list[str]:
    """The command line actually run: each wrapper sets one thing on its own process and execs
    the next, so the tool keeps all of them (no preexec_fn: unsafe in a threaded process)."""
    prefix: list[str] = []
    if shutil.which("setpriv"):
        prefix += ["setpriv", "--pdeathsig", "KILL", "--"]
    if nice:
        # Idle CPU and I/O class: the dock's copies always go first.
        prefix += ["nice", "-n", "19"] + (["ionice", "-c", "3"] if shutil.which("ionice") else [])
    return prefix + args


def _run(args: list[str], timeout_s: float, nice: bool) -> ToolOutput:
    tool = os.path.basename(args[0])
    if shutil.which(args[0]) is None:
        raise ToolError(tool, "not installed (run `make system-deps`)")
    proc = subprocess.Popen(wrapped(args, nice), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        _stop(proc)
        out, err = proc.communicate()
        raise ToolTimeoutError(tool, f"timed out after {timeout_s:.0f}s", stderr_tail(err)) from None
    if proc.returncode != 0:
        raise ToolError(tool, f"exited with status {proc.returncode}", stderr_tail(err), proc.returncode)
    return ToolOutput(out, err.decode("utf-8", "replace"))


def _stop(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue
