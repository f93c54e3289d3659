"""`ingestd verify`: fixity of the stored originals against store and index."""

from __future__ import annotations

import os

import time

import pytest

from ingestd.fixity import IN_FLIGHT_S
from tests.conftest import copy_clip, make_dock, pg_database


def _ingest_two(dock, clips, tmp_path):
    copy_clip(clips["h264"], tmp_path / "cam" / "a.mp4")
    copy_clip(clips["h264_b"], tmp_path / "cam" / "b.mp4")
    out = dock.cli_json("ingest", str(tmp_path / "cam"))
    return {os.path.basename(f["path"]): f["sha256"] for f in out["files"]}


def test_clean_store_verifies(dock, clips, tmp_path):
    _ingest_two(dock, clips, tmp_path)
    out = dock.cli_json("verify")
    assert out == {"checked": 2, "elsewhere": 0, "in_bucket": 0, "bucket_checked": 0, "ok": True, "findings": []}
    assert dock.cli_json("verify", "--sample", "1")["checked"] == 1


def test_flipped_byte_is_found_and_named(dock, clips, tmp_path):
    ids = _ingest_two(dock, clips, tmp_path)
    path = dock.app().store.resolve(f"urn:ingestd:rec:{ids['a.mp4']}", "a.mp4")
    os.chmod(path, 0o644)
    with open(path, "r+b") as fh:
        fh.seek(1000)
        byte = fh.read(1)
        fh.seek(1000)
        fh.write(bytes([byte[0] ^ 0x40]))
    out = dock.cli_json("verify", check=1)
    assert out["ok"] is False
    assert [(f["code"], f["object_id"]) for f in out["findings"]] == [("fixity_changed", f"urn:ingestd:rec:{ids['a.mp4']}")]
    text = dock.cli("verify", check=1).stdout
    assert ids["a.mp4"] in text and ids["b.mp4"] not in text


def test_missing_original_and_missing_object_are_found(dock, clips, tmp_path):
    import shutil

    ids = _ingest_two(dock, clips, tmp_path)
    store = dock.app().store
    store.resolve(f"urn:ingestd:rec:{ids['a.mp4']}", "a.mp4").unlink()
    shutil.rmtree(store.object_path(f"urn:ingestd:rec:{ids['b.mp4']}"))
    out = dock.cli_json("verify", check=1)
    assert sorted(f["code"] for f in out["findings"]) == ["fixity_missing", "fixity_missing"]


def test_rewritten_file_and_inventory_still_caught_against_index(dock, clips, tmp_path):
    """Swapping the bytes and re-writing a matching inventory is caught by the index's digest."""
    import hashlib
    import json

    ids = _ingest_two(dock, clips, tmp_path)
    store = dock.app().store
    oid = f"urn:ingestd:rec:{ids['a.mp4']}"
    obj = store.object_path(oid)
    path = store.resolve(oid, "a.mp4")
    os.chmod(path, 0o644)
    path.write_bytes(b"forged")
    forged = hashlib.sha256(b"forged").hexdigest()
    inv = json.loads((obj / "inventory.json").read_text())
    inv["manifest"][forged] = inv["manifest"].pop(ids["a.mp4"])
    inv["versions"]["v1"]["state"][forged] = inv["versions"]["v1"]["state"].pop(ids["a.mp4"])
    raw = json.dumps(inv)
    for where in (obj, obj / "v1"):
        for name in ("inventory.json", "inventory.json.sha256"):
            os.chmod(where / name, 0o644)
        (where / "inventory.json").write_text(raw)
        (where / "inventory.json.sha256").write_text(f"{hashlib.sha256(raw.encode()).hexdigest()}  inventory.json\n")
    out = dock.cli_json("verify", check=1)
    assert [f["code"] for f in out["findings"]] == ["fixity_changed"]


def test_store_rebuild_index_recreates_the_database(dock, clips, tmp_path):
    ids = _ingest_two(dock, clips, tmp_path)
    before = {r["id"]: r for r in dock.cli_json("recordings", "list")}
    (dock.settings.data_dir / "ingestd.db").unlink()
    for suffix in ("-wal", "-shm"):
        (dock.settings.data_dir / f"ingestd.db{suffix}").unlink(missing_ok=True)
    dock.cli("db", "upgrade")
    # SM3 and the full probe are not in the store's ingest records: computed again from the bytes;
    # then what a dock asks for, the session's timeline, compliance and evidence metadata (3 more).
    assert dock.cli_json("store", "rebuild-index") == {"objects": 2, "indexed": 2, "already_indexed": 0,
                                                       "jobs_done": 7}
    after = {r["id"]: r for r in dock.cli_json("recordings", "list")}
    assert set(after) == set(ids.values())
    for rid, rec in before.items():
        for key in ("sha256", "sm3", "size", "start", "end", "device", "path", "status", "ingested_at"):
            assert after[rid][key] == rec[key], key
    assert dock.cli_json("store", "rebuild-index")["indexed"] == 0
    assert dock.cli_json("verify")["ok"]
    assert dock.cli_json("audit", "verify")["ok"]


def _settled(store) -> None:
    """Date every object's inventory back past a dock's commit, as a store a day old is."""
    past = time.time() - IN_FLIGHT_S - 60
    for _oid, path in store.iter_objects():
        os.utime(path / "inventory.json", (past, past))


def test_a_store_the_database_does_not_know_fails_and_names_the_rebuild(dock, clips, tmp_path):
    """A database emptied and brought to the schema again (a zeroed file, a lost disk) over a full
    store: `verify` fails and says how to bring the index back, instead of "checked 0: ok"."""
    ids = _ingest_two(dock, clips, tmp_path)
    (dock.settings.data_dir / "ingestd.db").write_bytes(b"")
    for suffix in ("-wal", "-shm"):
        (dock.settings.data_dir / f"ingestd.db{suffix}").unlink(missing_ok=True)
    upgraded = dock.cli("db", "upgrade")
    assert "run `ingestd store rebuild-index`" in upgraded.stdout  # said at once, not left for verify
    fresh = dock.cli_json("verify")  # objects just written may be a running dock's: passed over
    assert fresh["findings"] == [] and fresh["checked"] == 0
    _settled(dock.app().store)
    out = dock.cli_json("verify", check=1)
    assert sorted(f["object_id"] for f in out["findings"]) == sorted(f"urn:ingestd:rec:{i}" for i in ids.values())
    assert {f["code"] for f in out["findings"]} == {"object_unindexed"}
    assert "ingestd store rebuild-index" in dock.cli("verify", check=1).stdout
    dock.cli_json("store", "rebuild-index")
    assert dock.cli_json("verify") == {"checked": 2, "elsewhere": 0, "in_bucket": 0, "bucket_checked": 0, "ok": True,
                                       "findings": []}


@pytest.mark.postgres
def test_docks_sharing_a_database_each_verify_what_they_hold(clips, tmp_path):
    """Two docks on one PostgreSQL, each with its own store: each checks its own recordings and
    counts the other's apart, in a full check and in a sample; a recording of its own that is
    gone is still missing."""
    with pg_database() as url:
        docks = [make_dock(tmp_path / name, INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME=name)
                 for name in ("dock-a", "dock-b")]
        ids = []
        for dock, clip in zip(docks, ("h264", "h264_b")):
            copy_clip(clips[clip], dock.root / "cam" / f"{clip}.mp4")
            ids.append(dock.cli_json("ingest", str(dock.root / "cam"))["files"][0]["sha256"])
        for dock in docks:
            assert dock.cli_json("verify") == {"checked": 1, "elsewhere": 1, "in_bucket": 0, "bucket_checked": 0,
                                               "ok": True, "findings": []}
            assert dock.cli_json("verify", "--sample", "5") == {"checked": 1, "elsewhere": 0, "in_bucket": 0,
                                                                 "bucket_checked": 0, "ok": True, "findings": []}
        a, _b = docks
        a.app().store.resolve(f"urn:ingestd:rec:{ids[0]}", "h264.mp4").unlink()
        out = a.cli_json("verify", check=1)
        assert [f["code"] for f in out["findings"]] == ["fixity_missing"] and out["elsewhere"] == 1
