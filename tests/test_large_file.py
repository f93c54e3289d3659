"""Files over 4 GiB: sizes, offsets and digests must not wrap at 32 bits."""

from __future__ import annotations

import hashlib
import shutil
import subprocess

import pytest

from tests.conftest import make_dock

pytestmark = pytest.mark.soak  # a longer proof: `make soak`

SIZE = (4 << 30) + (3 << 20) + 7  # just past 4 GiB, not a multiple of any chunk size


@pytest.mark.slow
def test_file_over_4_gib_is_offloaded_exactly(tmp_path):
    if shutil.disk_usage(tmp_path).free < 3 * SIZE:
        pytest.skip("not enough free disk for a 4 GiB copy")
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    src = tmp_path / "cam" / "20261120_083000.mp4"
    src.parent.mkdir()
    with open(src, "wb") as fh:  # sparse: costs no disk on the camera side
        for offset, data in ((0, b"head"), ((4 << 30) - 2, b"\xffACROSS-4GiB\xff"), (SIZE - 4, b"tail")):
            fh.seek(offset)
            fh.write(data)
    digest = hashlib.sha256()
    with open(src, "rb") as fh:
        while chunk := fh.read(8 << 20):
            digest.update(chunk)
    sm3 = subprocess.run(["openssl", "dgst", "-sm3", "-r", str(src)], capture_output=True, text=True,
                         check=True).stdout.split()[0]
    out = dock.cli_json("ingest", str(src.parent), timeout=900)
    entry = out["files"][0]
    assert entry["size"] == SIZE
    assert entry["sha256"] == digest.hexdigest()
    rec = dock.cli_json("recordings", "list")[0]
    assert rec["size"] == SIZE and rec["sm3"] == sm3
    stored = dock.app().store.resolve(f"urn:ingestd:rec:{entry['sha256']}", src.name)
    assert stored.stat().st_size == SIZE
    assert dock.cli_json("verify")["ok"]  # re-hashes the stored 4 GiB copy
