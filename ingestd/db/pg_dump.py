"""`pg_dump`, the one way ingestd copies a PostgreSQL database: the custom format, which
`pg_restore` puts back whole or table by table. Only for a server on this machine: a remote
server is backed up where it runs, by its own tools and schedule."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.engine import URL

from ingestd.toolrun import run

LOCAL_HOSTS = {None, "", "localhost", "127.0.0.1", "::1"}
TIMEOUT_S = 3600.0


def is_local(url: URL) -> bool:
    return url.host in LOCAL_HOSTS or str(url.host).startswith("/")


def available() -> bool:
    return shutil.which("pg_dump") is not None


def dump_args(url: URL, target: Path) -> list[str]:
    # libpq's own URL: the driver's name (postgresql+psycopg) is SQLAlchemy's, not libpq's.
    plain = url.set(drivername="postgresql").render_as_string(hide_password=False)
    return ["pg_dump", "--format=custom", "--no-owner", f"--file={target}", plain]


def dump(url: URL, target: Path) -> None:
    run(dump_args(url, target), TIMEOUT_S)
