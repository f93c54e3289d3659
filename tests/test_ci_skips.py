"""The suite itself: under CI=true a skipped test fails (conftest.py), outside CI it is a skip."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_a_skip_under_ci_is_a_failure(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text("import pytest\n\ndef test_needs_something():\n    pytest.skip('PostgreSQL did not answer')\n",
                     encoding="utf-8")
    (tmp_path / "conftest.py").write_text(
        "import sys\nsys.path.insert(0, %r)\nfrom tests.conftest import pytest_runtest_makereport  # noqa: F401\n"
        % str(ROOT), encoding="utf-8")

    def run(ci: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "CI": ci}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                               str(probe)], cwd=tmp_path, env=env, capture_output=True, text=True)

    under_ci = run("true")
    assert under_ci.returncode == 1 and "1 failed" in under_ci.stdout
    assert "skipped under CI=true, where every test must run: PostgreSQL did not answer" in under_ci.stdout
    outside = run("")
    assert outside.returncode == 0 and "1 skipped" in outside.stdout
