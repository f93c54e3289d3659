"""A camera is untrusted: links, device nodes, FIFOs and hostile names must not escape or
hang the dock, and a read error must fail one file cleanly."""

from __future__ import annotations

import os
import subprocess

import pytest

from ingestd.ingest.names import safe_name
from tests.conftest import copy_clip, ocfl_validate


@pytest.mark.parametrize("raw, expected", [
    ("clip.mp4", "clip.mp4"),
    ("..", "unnamed"),
    ("../../etc/passwd", "_.._etc_passwd"),
    ("...mp4", "mp4"),
    ("a\x00b\x1b[31m.mp4", "a_b_[31m.mp4"),
    ("C:\\DCIM\\x.mp4", "C__DCIM_x.mp4"),
    ("ingest.json", "_ingest.json"),
    ("e\u0301.mp4", "\u00e9.mp4"),  # NFC
    ("执法记录仪_张三.MP4", "执法记录仪_张三.MP4"),
    (os.fsdecode(b"bad\xff\xfename.mp4"), "bad_xff_xfename.mp4"),  # shown as \\xff, then made safe
    ("\u202eevil\u202c.mp4", "_evil_.mp4"),  # bidi overrides are format characters
])
def test_safe_name_table(raw, expected):
    assert safe_name(raw) == expected


def test_long_names_are_cut_to_the_byte_budget_keeping_the_extension():
    name = safe_name("录" * 85 + ".mp4")  # 255 bytes of UTF-8 plus extension: a FAT long name
    assert name.endswith(".mp4") and len(name.encode()) <= 200
    name.encode().decode("utf-8")


def test_hostile_tree_is_ingested_without_escaping(dock, clips, tmp_path):
    cam = tmp_path / "cam"
    (cam / "DCIM").mkdir(parents=True)
    names = ["..mp4", "-rf.mp4", "a\nb.mp4", "录" * 80 + ".mp4", "\u202eevil.mp4", " spaced .mp4"]
    sources = [clips["h264"], clips["h264_b"], clips["h264_c"], clips["hevc"], clips["silent"]]
    for name, src in zip(names, sources):
        copy_clip(src, cam / "DCIM" / name)
    with open(os.path.join(os.fsencode(cam / "DCIM"), b"raw\xff.mp4"), "wb") as fh:
        fh.write(b"\x00" * 64)  # undecodable name, garbage content
    outside = tmp_path / "outside.mp4"
    copy_clip(clips["h264"], outside)
    os.symlink(outside, cam / "DCIM" / "link.mp4")
    os.symlink(tmp_path, cam / "DCIM" / "looplink")
    os.mkfifo(cam / "DCIM" / "pipe.mp4")
    out = dock.cli_json("ingest", str(cam), check=0)
    by_rel = {f["rel_path"]: f for f in out["files"]}
    assert by_rel["DCIM/link.mp4"]["code"] == "skipped_symlink"
    assert by_rel["DCIM/looplink"]["code"] == "skipped_symlink"
    assert by_rel["DCIM/pipe.mp4"]["code"] == "skipped_special"
    assert by_rel["DCIM/raw\\xff.mp4"]["status"] == "damaged"
    stored = [f for f in out["files"] if f["status"] in ("ingested", "damaged")]
    assert len(stored) == 6
    store_root = dock.settings.data_dir / "store"
    for p in store_root.rglob("*"):
        assert p.resolve().is_relative_to(store_root.resolve())
        assert not p.is_symlink()
    ok, root = ocfl_validate(store_root)
    assert ok and root.good_objects == 6
    assert dock.cli_json("verify")["ok"]


@pytest.mark.skipif(os.geteuid() != 0, reason="making a device node needs root")
def test_a_device_node_on_a_camera_is_skipped_and_never_read(dock, clips, tmp_path):
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "DCIM" / "good.mp4")
    os.mknod(cam / "DCIM" / "null.mp4", 0o600 | 0o020000, os.makedev(1, 3))  # /dev/null's numbers
    by_rel = {f["rel_path"]: f for f in dock.cli_json("ingest", str(cam), check=0)["files"]}
    assert by_rel["DCIM/null.mp4"]["code"] == "skipped_special"
    assert by_rel["DCIM/good.mp4"]["status"] == "ingested"


@pytest.mark.skipif(os.geteuid() != 0, reason="bind-mounting a failing file needs root")
def test_read_error_fails_one_file_cleanly_and_keeps_nothing(dock, clips, tmp_path):
    """A file whose reads return EIO (as a camera unplugged mid-copy does): that file fails,
    the others are stored, no partial file is left, and the next dock retries it."""
    cam = tmp_path / "cam"
    copy_clip(clips["h264"], cam / "good.mp4")
    bad = cam / "bad.mp4"
    bad.write_bytes(b"")
    holder = subprocess.Popen(["sleep", "300"])
    try:
        # /proc/<pid>/mem of another process reads as EIO at offset 0: a real kernel I/O error.
        mounted = subprocess.run(["mount", "--bind", f"/proc/{holder.pid}/mem", str(bad)], capture_output=True)
        if mounted.returncode != 0:
            pytest.skip(f"cannot bind-mount here: {mounted.stderr.decode().strip()}")
        try:
            out = dock.cli_json("ingest", str(cam))
        finally:
            subprocess.run(["umount", str(bad)], check=True)
    finally:
        holder.kill()
    by_name = {os.path.basename(f["path"]): f for f in out["files"]}
    assert by_name["good.mp4"]["status"] == "ingested"
    assert by_name["bad.mp4"]["status"] == "failed"
    assert by_name["bad.mp4"]["code"] == "read_failed"
    assert by_name["bad.mp4"]["recording_id"] is None
    assert list((dock.settings.data_dir / "staging").rglob("*.part*")) == []
    # The camera comes back with the file readable: the next dock takes it.
    copy_clip(clips["h264_b"], bad)
    again = {os.path.basename(f["path"]): f for f in dock.cli_json("ingest", str(cam))["files"]}
    assert again["bad.mp4"]["status"] == "ingested"
    assert again["good.mp4"]["code"] == "already_ingested"


def _deep_file(root, source, depth: int = 18, name: str = "20261120_090000.mp4") -> str:
    """A copy of `source` under `depth` directories of 242 bytes each: a path longer than
    the kernel resolves in one call (PATH_MAX, 4096 bytes), made one directory at a time.
    The names are random, as a database would find them hardest to compress."""
    import secrets

    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    parts = []
    try:
        for i in range(depth):
            parts.append(f"{i:02d}" + secrets.token_hex(120))
            os.mkdir(parts[-1], dir_fd=fd)
            inner = os.open(parts[-1], os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        out = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        try:
            os.write(out, source.read_bytes())
        finally:
            os.close(out)
    finally:
        os.close(fd)
    return "/".join([*parts, name])


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_file_deeper_than_the_system_resolves_is_taken_with_the_rest(tmp_path, clips, database):
    """One file under a path longer than PATH_MAX neither stops the camera nor is left behind:
    it and the ordinary clip beside it are stored, on SQLite and on PostgreSQL."""
    from contextlib import nullcontext

    from tests.conftest import make_dock, pg_database

    with (pg_database() if database == "postgres" else nullcontext()) as url:
        dock = make_dock(tmp_path, **({"INGESTD_DATABASE_URL": url} if url else {}))
        cam = tmp_path / "cam"
        (cam / "DCIM").mkdir(parents=True)
        copy_clip(clips["h264"], cam / "DCIM" / "20261120_083000.mp4")
        deep = _deep_file(cam, clips["h264_b"])
        assert len(os.fsencode(cam / deep)) > os.pathconf("/", "PC_PATH_MAX")
        out = dock.cli_json("ingest", str(cam))
        assert {f["rel_path"]: f["status"] for f in out["files"]} == {
            "DCIM/20261120_083000.mp4": "ingested", deep: "ingested"}
        assert dock.cli_json("verify")["findings"] == []
        again = dock.cli_json("ingest", str(cam))  # docked again: both known, nothing stored twice
        assert {f["status"] for f in again["files"]} == {"duplicate"}
