"""The OCFL store on its own: layout, versions, write-once, crash repair, fixity."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import stat
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

from ingestd.errors import ObjectExistsError
from ingestd.ingest.staging import StagingArea
from ingestd.ingest.store import NewFile, OcflStore, Signature, object_id_for
from tests.conftest import ocfl_validate

SIG = Signature("ingestd@test", "urn:ingestd:dock:test", "test", datetime(2026, 11, 23, tzinfo=timezone.utc))


def _store(tmp_path) -> OcflStore:
    store = OcflStore(tmp_path / "store", StagingArea(tmp_path / "staging").open())
    store.initialise()
    return store


def _new(tmp_path, name: str, data: bytes) -> NewFile:
    staged = tmp_path / "given" / f"{name}.part"
    staged.parent.mkdir(parents=True, exist_ok=True)
    staged.write_bytes(data)
    return NewFile(name, hashlib.sha256(data).hexdigest(), source=staged)


def test_layout_matches_ocfl_py_0003(tmp_path):
    from ocfl.layout_0003_hash_and_id_n_tuple import _id_to_path

    store = _store(tmp_path)
    for oid in (object_id_for("ab" * 32), "odd id/with:chars 中文", "x" * 300):
        assert store.object_path(oid) == store.root / _id_to_path(oid, "sha256", 3, 3)


def test_create_object_is_valid_read_only_and_exclusive(tmp_path):
    store = _store(tmp_path)
    data = b"original bytes"
    oid = object_id_for(hashlib.sha256(data).hexdigest())
    store.create_object(oid, [_new(tmp_path, "clip.mp4", data),
                              NewFile("ingest.json", hashlib.sha256(b"{}").hexdigest(), data=b"{}")], SIG)
    path = store.resolve(oid, "clip.mp4")
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o444
    with pytest.raises(ObjectExistsError):
        store.create_object(oid, [_new(tmp_path, "clip.mp4", data)], SIG)
    assert list((tmp_path / "given").iterdir()) == [tmp_path / "given" / "clip.mp4.part"]  # caller's file untouched
    assert sorted(p.name for p in store.staging.dir.iterdir()) == ["owner.lock"]  # no markers, no work dirs
    ok, root = ocfl_validate(store.root)
    assert ok and root.good_objects == 1


def test_add_version_keeps_earlier_versions_untouched(tmp_path):
    store = _store(tmp_path)
    data = b"video"
    oid = object_id_for(hashlib.sha256(data).hexdigest())
    store.create_object(oid, [_new(tmp_path, "clip.mp4", data)], SIG)
    v1_files = {p: p.read_bytes() for p in store.object_path(oid).joinpath("v1").rglob("*") if p.is_file()}
    note = "证明对象: 当事人拒绝配合检查".encode()
    assert store.add_version(oid, [NewFile("evidence.json", hashlib.sha256(note).hexdigest(), data=note)], SIG) == "v2"
    inv = store.inventory(oid)
    assert inv["head"] == "v2"
    assert set(inv["versions"]["v2"]["state"]) == {hashlib.sha256(data).hexdigest(), hashlib.sha256(note).hexdigest()}
    assert {p: p.read_bytes() for p in v1_files} == v1_files
    assert store.resolve(oid, "evidence.json").read_bytes() == note
    assert store.resolve(oid, "clip.mp4", "v1") == store.resolve(oid, "clip.mp4")  # content not copied again
    ok, _ = ocfl_validate(store.root)
    assert ok


def test_recover_finishes_a_version_cut_off_before_the_root_inventory(tmp_path):
    store = _store(tmp_path)
    data = b"video"
    oid = object_id_for(hashlib.sha256(data).hexdigest())
    store.create_object(oid, [_new(tmp_path, "clip.mp4", data)], SIG)
    obj = store.object_path(oid)
    v1_inventory = (obj / "inventory.json").read_bytes()
    v1_sidecar = (obj / "inventory.json.sha256").read_bytes()
    store.add_version(oid, [NewFile("note.txt", hashlib.sha256(b"n").hexdigest(), data=b"n")], SIG)
    # Simulate a crash after the v2 directory landed but before the root inventory moved on:
    # the dead process's marker names the object, the next process's sweep repairs it.
    for name, content in (("inventory.json", v1_inventory), ("inventory.json.sha256", v1_sidecar)):
        os.chmod(obj / name, 0o644)
        (obj / name).write_bytes(content)
    assert store.inventory(oid)["head"] == "v1" and (obj / "v2").is_dir()
    dead = StagingArea(tmp_path / "staging")
    dead.base.joinpath("p1-dead").mkdir()
    dead.base.joinpath("p1-dead", "version-x").write_text(oid)
    sweeper = StagingArea(tmp_path / "staging").open()
    markers = [m for d in sweeper.claim_stale() for m in sweeper.markers_in(d)]
    assert [(m.kind, m.value) for m in markers] == [("version", oid)]
    store.repair(markers[0])
    assert store.inventory(oid)["head"] == "v2"
    assert ocfl_validate(store.root)[0]
    assert store.recover_object(oid) is False


def test_verify_object_finds_flipped_and_missing_bytes(tmp_path):
    store = _store(tmp_path)
    data = b"0123456789" * 1000
    oid = object_id_for(hashlib.sha256(data).hexdigest())
    store.create_object(oid, [_new(tmp_path, "clip.mp4", data)], SIG)
    assert store.verify_object(oid) == []
    path = store.resolve(oid, "clip.mp4")
    os.chmod(path, 0o644)
    raw = bytearray(path.read_bytes())
    raw[5000] ^= 0x01
    path.write_bytes(bytes(raw))
    assert [f.code for f in store.verify_object(oid)] == ["fixity_changed"]
    path.unlink()
    assert [f.code for f in store.verify_object(oid)] == ["fixity_missing"]


def test_iter_objects_walks_the_store_alone(tmp_path):
    store = _store(tmp_path)
    ids = set()
    for i in range(5):
        data = f"clip {i}".encode()
        oid = object_id_for(hashlib.sha256(data).hexdigest())
        store.create_object(oid, [_new(tmp_path, f"{i}.mp4", data)], SIG)
        ids.add(oid)
    assert {oid for oid, _ in store.iter_objects()} == ids
    assert json.loads((store.root / "ocfl_layout.json").read_text())["extension"] == \
        "0003-hash-and-id-n-tuple-storage-layout"


def test_sweep_prunes_empty_tuple_dirs_left_by_a_dead_process(tmp_path):
    store = _store(tmp_path)
    target = store.object_path(object_id_for("cd" * 32))
    target.parent.mkdir(parents=True)  # the dead process got this far, then died
    dead = tmp_path / "staging" / "p2-dead"
    dead.mkdir()
    (dead / "target-y").write_text(str(target))
    (dead / "obj-half").mkdir()
    sweeper = StagingArea(tmp_path / "staging").open()
    for claimed in sweeper.claim_stale():
        for marker in sweeper.markers_in(claimed):
            store.repair(marker)
        sweeper.remove(claimed)
    assert not dead.exists()
    assert sorted(p.name for p in store.root.iterdir()) == ["0=ocfl_1.1", "extensions", "ocfl_layout.json"]
    assert store.staging.dir.exists()  # a live process's staging is never swept
    assert ocfl_validate(store.root)[0]


def _open_and_sweep_and_mark(base: str, rounds: int) -> int:
    """One process starting and stopping again and again beside others: returns how many of its
    steps failed because its staging had been swept from under it."""
    failed = 0
    for _ in range(rounds):
        area = StagingArea(Path(base)).open()
        try:
            area.claim_stale()
            StagingArea.done(area.mark("dock", "s", sync=False))
        except FileNotFoundError:
            failed += 1
        finally:
            area.close()
    return failed


def test_processes_starting_together_never_sweep_each_others_staging(tmp_path):
    """A staging directory and its lock file are seen under their own names only once the lock
    is held: one still forming (no lock yet) is left alone by a process starting beside it;
    one whose process died while forming it is swept (its lock free, or without a lock long
    after forming could have taken). Then four processes start, sweep and stop 200 times each
    at once: no step of any finds its staging gone."""
    base = tmp_path / "staging"
    forming, abandoned = base / ".p7-forming", base / ".p8-killed"
    forming.mkdir(parents=True)
    abandoned.mkdir()
    os.utime(abandoned, (0, os.stat(abandoned).st_mtime - 1200))
    sweeper = StagingArea(base).open()
    assert [p.name for p in sweeper.claim_stale()] == ["swept-.p8-killed"] and forming.is_dir()
    (forming / "owner.lock").touch()  # its process took the lock and died before the rename
    assert [p.name for p in sweeper.claim_stale()] == ["swept-.p7-forming"]
    sweeper.close()
    assert [p.name for p in base.iterdir()] == []
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        failures = list(pool.map(_open_and_sweep_and_mark, [str(base)] * 4, [200] * 4))
    assert failures == [0, 0, 0, 0]
