"""Shared fixtures: real ffmpeg clips made once per session, a fresh data dir per test,
and a runner for the real `ingestd` command line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingestd.app import App, initialise
from ingestd.clock import FixedClock
from ingestd.config import Settings
from ingestd.media.synthetic import ClipSpec, make_clip
from tests.cli_runner import run_ingestd

pytest_plugins = ["tests.web_fixtures"]

UTC = timezone.utc


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true nothing is skipped quietly: CI runs as root with PostgreSQL, chromium and
    the system packages installed by `make system-deps`, so a test that skips there (a database
    that did not answer, a browser or a root-only fault that could not be set up) is a failure
    that names why, never a pass by not testing."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = (report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr))\
            .removeprefix("Skipped: ")
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where every test must run: {reason}"


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """Tiny real recordings, built once: H.264 and HEVC, with and without audio."""
    base = tmp_path_factory.mktemp("clips")
    specs = {
        "h264": ClipSpec(seconds=2, creation_time=datetime(2026, 11, 20, 0, 30, tzinfo=UTC)),
        "h264_b": ClipSpec(seconds=2, tone_hz=660, creation_time=datetime(2026, 11, 20, 0, 40, tzinfo=UTC)),
        "h264_c": ClipSpec(seconds=3, tone_hz=880, creation_time=datetime(2026, 11, 20, 0, 50, tzinfo=UTC)),
        "hevc": ClipSpec(seconds=2, codec="libx265", creation_time=datetime(2026, 11, 20, 1, 0, tzinfo=UTC)),
        "silent": ClipSpec(seconds=2, audio=False),
    }
    return {name: make_clip(base / f"{name}.mp4", spec) for name, spec in specs.items()}


@dataclass
class Dock:
    """A data dir initialised for one test, plus ways to drive it."""

    root: Path
    settings: Settings
    env: dict
    first_admin_password: str | None = None  # the one-time password `init` printed

    def app(self, clock=None) -> App:
        return App.open(self.settings, clock)

    def cli(self, *args: str, check: int | None = 0, timeout: float = 300) -> subprocess.CompletedProcess:
        proc = run_ingestd(args, self.env, timeout)
        if check is not None and proc.returncode != check:
            raise AssertionError(f"ingestd {' '.join(args)} exited {proc.returncode}, wanted {check}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def cli_json(self, *args: str, check: int | None = 0, timeout: float = 300):
        return json.loads(self.cli(*args, "--json", check=check, timeout=timeout).stdout)


def make_dock(root: Path, **env_extra: str) -> Dock:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGESTD_")}
    # The daemon's web console is tested on ports of its own (tests/test_web*.py), not 8080.
    env.update({"INGESTD_DATA_DIR": str(root / "var"), "INGESTD_DOCK_NAME": "test-dock",
                "INGESTD_LOG_LEVEL": "WARNING", "INGESTD_WEB__ENABLED": "false", **env_extra})
    settings = Settings(data_dir=root / "var", dock_name=env["INGESTD_DOCK_NAME"], database_url=env_extra.get("INGESTD_DATABASE_URL"),
                        ingest={"workers": int(env_extra.get("INGESTD_INGEST__WORKERS", "0"))},
                        **({"policy": env_extra["INGESTD_POLICY"]} if "INGESTD_POLICY" in env_extra else {}))
    made = initialise(settings)
    return Dock(root, settings, env, (made["first_admin"] or {}).get("password"))


def copy_dock(dock: Dock, root: Path) -> Dock:
    """A copy of a dock's data directory under `root`: a state that takes long to build (docks,
    derivatives) is built once, and each test changes a copy of its own."""
    shutil.copytree(dock.root / "var", root / "var", symlinks=True)
    return Dock(root, dock.settings.model_copy(update={"data_dir": root / "var"}),
                {**dock.env, "INGESTD_DATA_DIR": str(root / "var")}, dock.first_admin_password)


@pytest.fixture
def dock(tmp_path) -> Dock:
    return make_dock(tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 23, 2, 0, tzinfo=UTC))


def copy_clip(src: Path, dest: Path) -> Path:
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dest)
    return dest


def ocfl_validate(store: Path):
    """The independent check: ocfl-py's validator over the whole storage root."""
    import ocfl

    root = ocfl.StorageRoot(root=str(store))
    ok = root.validate(log_warnings=False, log_errors=True)
    return ok, root


PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def pg_database():
    """A fresh database on the machine's PostgreSQL, dropped afterwards (skips without it)."""
    from sqlalchemy import create_engine, text

    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - the reason is shown in the skip
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 not reachable: {exc}")
    name = f"ingestd_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs of its own, to fill; skipped where this machine cannot mount one."""
    where = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    where.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)],
                                           capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
