"""A PostgreSQL server of the test's own (Debian's postgresql-15 binaries, `initdb` in a
temporary folder, loopback only, trust auth) that the test may stop, restart and kill —
what the machine's shared server on 5432 must never be put through."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

BIN = Path("/usr/lib/postgresql/15/bin")
OWNER = "postgres"  # the server refuses to run as root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivatePostgres:
    def __init__(self) -> None:
        if not (BIN / "initdb").exists():
            pytest.skip(f"PostgreSQL's binaries are not at {BIN} (Debian's postgresql-15)")
        self.root = Path(tempfile.mkdtemp(prefix="ingestd-pg-", dir="/tmp"))
        self.data, self.port = self.root / "data", _free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        if os.geteuid() == 0:
            shutil.chown(self.root, OWNER)
        self._as_owner([str(BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust",
                        "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"])

    def _as_owner(self, cmd: list[str], check: bool = True) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", OWNER, "--"] if os.geteuid() == 0 else []
        return subprocess.run(prefix + cmd, capture_output=True, text=True, timeout=120, check=check,
                              stdin=subprocess.DEVNULL)

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self._as_owner([str(BIN / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args], check)

    def start(self) -> None:
        self._ctl("-l", str(self.root / "log"), "-o",
                  f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off", "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-m", mode, "stop", check=False)

    def close(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
