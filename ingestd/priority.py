"""Idle CPU and I/O priority for the calling thread, so that background work (SM3, probes,
the timeline, derivatives) never slows a dock in flight. Linux keeps both priorities per
thread: the thread's id is what setpriority(2) and ioprio_set(2) take."""

from __future__ import annotations

import ctypes
import os
import platform
import threading

IDLE_NICE = 19
_IOPRIO_CLASS_IDLE = 3
_IOPRIO_CLASS_SHIFT = 13
_IOPRIO_WHO_PROCESS = 1
# ioprio_set(2) has no libc wrapper; its number differs by architecture.
_SYS_IOPRIO_SET = {"x86_64": 251, "aarch64": 30, "i686": 289, "armv7l": 314, "riscv64": 30}.get(platform.machine())


def idle_this_thread() -> None:
    tid = threading.get_native_id()
    os.setpriority(os.PRIO_PROCESS, tid, IDLE_NICE)
    if _SYS_IOPRIO_SET is None:
        return  # an architecture we do not know: CPU priority alone
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(_SYS_IOPRIO_SET, _IOPRIO_WHO_PROCESS, tid, _IOPRIO_CLASS_IDLE << _IOPRIO_CLASS_SHIFT) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"ioprio_set: {os.strerror(err)}")
