"""Mounting a docked camera read-only, nosuid, nodev, noexec, by the unprivileged daemon:
through udisks2 (`udisksctl`, allowed by a polkit rule) or `systemd-mount`. Nothing on a
camera is ever executed, and the volume is never mounted writable."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

from ingestd.errors import ToolError
from ingestd.toolrun import run

OPTIONS = "ro,nosuid,nodev,noexec"
TIMEOUT_S = 60.0


class Mounter(Protocol):
    def mount(self, node: str, name: str) -> Path: ...

    def unmount(self, node: str, path: Path) -> None: ...


def udisks_mount_args(node: str) -> list[str]:
    return ["udisksctl", "mount", "--no-user-interaction", "-b", node, "-o", OPTIONS]


def udisks_unmount_args(node: str) -> list[str]:
    return ["udisksctl", "unmount", "--no-user-interaction", "-b", node]


def parse_udisks_mount(stdout: str) -> Path:
    m = re.search(r"Mounted \S+ at (.+?)\.?\s*$", stdout.strip())
    if not m:
        raise ToolError("udisksctl", f"unexpected output: {stdout.strip()[:200]}")
    return Path(m.group(1))


class UdisksMounter:
    def mount(self, node: str, name: str) -> Path:
        return parse_udisks_mount(run(udisks_mount_args(node), TIMEOUT_S).stdout.decode())

    def unmount(self, node: str, path: Path) -> None:
        run(udisks_unmount_args(node), TIMEOUT_S)


def systemd_mount_args(node: str, target: Path) -> list[str]:
    return ["systemd-mount", "--collect", "-o", OPTIONS, node, str(target)]


class SystemdMounter:
    def __init__(self, base: Path):
        self.base = base

    def mount(self, node: str, name: str) -> Path:
        target = self.base / re.sub(r"[^A-Za-z0-9_.-]", "_", name)
        target.mkdir(parents=True, exist_ok=True)
        run(systemd_mount_args(node, target), TIMEOUT_S)
        return target

    def unmount(self, node: str, path: Path) -> None:
        run(["systemd-umount", str(path)], TIMEOUT_S)
