"""Crash states (tests/crashstates.py): the model itself, on a small program whose every
possible state is known, and the short pass over a recorded dock (`make soak` explores
every state of a dock and of a run of the after-dock jobs)."""

from __future__ import annotations

import shutil
import sys

import pytest

from tests.crashstates import Fs, explore, operations, parse, states, traced

pytestmark = [pytest.mark.soak,  # a longer proof: `make soak`
              pytest.mark.skipif(shutil.which("strace") is None, reason="strace is installed by `make system-deps`")]

PROGRAM = """
import os, sys
root = sys.argv[1]
fd = os.open(os.path.join(root, "a.tmp"), os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"hello")
os.fsync(fd)                          # the bytes are durable, the name is not
os.close(fd)
os.rename(os.path.join(root, "a.tmp"), os.path.join(root, "a"))
d = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
os.fsync(d)                           # now the name is
fd = os.open(os.path.join(root, "c"), os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"one")
os.write(fd, b"two")                  # never synced
os.close(fd)
os.pwrite(os.open(os.path.join(root, "old"), os.O_WRONLY), b"NEW", 0)
"""


def test_the_model_keeps_only_what_a_sync_made_durable(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    (root / "old").write_bytes(b"old data")
    before = Fs.snapshot(root)
    (tmp_path / "prog.py").write_text(PROGRAM)
    done = traced([sys.executable, str(tmp_path / "prog.py"), str(root)], {}, tmp_path / "trace.txt")
    assert done.returncode == 0
    ops = operations(parse(tmp_path / "trace.txt"), root, before)
    assert [o.kind for o in ops] == ["create", "write", "sync", "rename", "sync", "create", "write", "write", "write"]
    found = states(before, ops, mixes=8, seed=1)
    by = {(s.cut, s.variant): s.fs.files() for s in found}
    # Cut before the first fsync: nothing new is durable.
    assert by[(2, "durable only")] == {"old": b"old data"}
    # Before the directory's fsync the file's bytes are durable but its name is not: a.tmp
    # exists only where the create reached the disk, and then whole.
    assert all(f.get("a.tmp", b"hello") == b"hello" and "a" not in f or f["a"] == b"hello"
               for (cut, _v), f in by.items() if cut == 4)
    last = len(ops)
    assert by[(last, "every call")] == {"a": b"hello", "c": b"onetwo", "old": b"NEW data"}
    # The end's "durable only" state (kept once, under the first cut and variant that gave it).
    assert {"a": b"hello", "old": b"old data"} in by.values()
    seen_c = {f.get("c") for f in by.values()}
    # Unsynced writes reach the disk or not each on its own: a hole where only the second did.
    assert seen_c <= {None, b"", b"one", b"\0\0\0two", b"onetwo"} and len(seen_c) >= 3
    assert {f["old"] for f in by.values()} == {b"old data", b"NEW data"}


@pytest.mark.slow
def test_every_durable_state_of_a_dock_recovers(tmp_path):
    """The strictest state at every sync of a recorded dock (only what was synced survived),
    each recovered by the next start: stored once and recorded once, valid OCFL, the same
    recordings from a database rebuilt from the store, the audit chain intact."""
    result = explore(tmp_path, "dock", variant="durable only")
    assert result.syncs >= 10 and result.explored >= 6
    assert result.failures == [], result.failures
