"""The command line starts quickly: `ingestd --help` and the command modules import no database,
migration, web, bucket or media library; each command imports what it needs when it runs."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("sqlalchemy", "alembic", "pydantic_settings", "fastapi", "starlette", "uvicorn", "jinja2", "boto3", "av",
         "openpyxl", "argon2", "ingestd.app", "ingestd.db.models")


def test_the_command_line_imports_no_heavy_library_until_a_command_runs():
    code = ("import json, sys, ingestd.cli; "
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")
    got = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(got.stdout) == []


def test_help_still_lists_every_command_group():
    got = subprocess.run([sys.executable, "-m", "ingestd", "--help"], capture_output=True, text=True, check=True)
    for group in ("recordings", "audit", "evidence", "case", "hold", "access", "retention", "replica", "users"):
        assert group in got.stdout, group
