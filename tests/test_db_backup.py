"""`ingestd db backup`, which the package runs before every upgrade: SQLite copied and checked,
a PostgreSQL on this machine dumped by pg_dump (and readable by pg_restore), a remote server
said to be backed up where it runs."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from ingestd.db import pg_dump
from tests.conftest import make_dock, pg_database


def test_a_sqlite_backup_is_a_whole_database(tmp_path):
    dock = make_dock(tmp_path)
    made = dock.cli_json("db", "backup")
    path = Path(made["backup"])
    assert path.parent == dock.settings.data_dir / "backups" and made["note"] is None
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as copy:
        assert copy.execute("pragma quick_check").fetchone()[0] == "ok"
        assert copy.execute("select count(*) from users").fetchone()[0] == 1  # the first admin
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no partial copy left


@pytest.mark.postgres
def test_a_local_postgresql_is_dumped_and_restorable(tmp_path):
    if not pg_dump.available():
        pytest.skip("pg_dump is installed with postgresql by `make system-deps`")
    with pg_database() as url:
        dock = make_dock(tmp_path, INGESTD_DATABASE_URL=url)
        made = dock.cli_json("db", "backup")
        path = Path(made["backup"])
        assert path.name.endswith(".pgdump")
        listed = subprocess.run(["pg_restore", "--list", str(path)], capture_output=True, text=True, check=True)
        assert "TABLE public recordings" in listed.stdout and "TABLE public usb_refusals" in listed.stdout


def test_only_a_server_on_this_machine_is_dumped_here():
    assert pg_dump.is_local(make_url("postgresql+psycopg://postgres@127.0.0.1/test"))
    assert pg_dump.is_local(make_url("postgresql+psycopg://postgres@/test?host=/run/postgresql"))
    assert not pg_dump.is_local(make_url("postgresql+psycopg://ingestd@db.unit.example/ingestd"))
    args = pg_dump.dump_args(make_url("postgresql+psycopg://postgres:pw@127.0.0.1:5432/test"), Path("/x"))
    assert args[:3] == ["pg_dump", "--format=custom", "--no-owner"] and args[-1].startswith("postgresql://")
