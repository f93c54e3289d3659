"""Small pure pieces, table-driven: config, structural MP4 check, tool wrapper, digests."""

from __future__ import annotations

import os
import struct
import time

import pytest

from ingestd.config import load_settings
from ingestd.digests import _CryptographySm3, file_digests
from ingestd.errors import ConfigError, StoreError, ToolError, ToolTimeoutError
from ingestd.ingest.mp4box import structure_problem
from ingestd.ingest.offload import OffloadRequest, offload
from ingestd.media import ffmpeg
from ingestd.media.synthetic import ClipSpec, clip_args


# ----- config ------------------------------------------------------------------------------

def test_config_defaults_file_and_env_precedence(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("INGESTD_"):
            monkeypatch.delenv(key)
    cfg = tmp_path / "ingestd.toml"
    cfg.write_text('timezone = "Asia/Urumqi"\n[ingest]\nworkers = 3\nchunk_kib = 256\n')
    monkeypatch.setenv("INGESTD_INGEST__WORKERS", "5")
    s = load_settings(cfg)
    assert s.timezone == "Asia/Urumqi"  # from the file
    assert s.ingest.workers == 5  # the environment wins over the file
    assert s.ingest.chunk_kib == 256
    assert s.web.host == "127.0.0.1"  # default
    assert s.db_url.startswith("sqlite:///") and s.db_url.endswith("var/ingestd.db")


@pytest.mark.parametrize("content, message", [
    ('colour = "blue"\n', "invalid setting 'colour'"),
    ("[ingest]\nworkers = -1\n", "invalid setting 'ingest.workers'"),
    ('timezone = "Mars/Olympus"\n', "unknown timezone 'Mars/Olympus'"),
    ("[ingest\n", "invalid TOML"),
])
def test_bad_config_is_named(tmp_path, content, message):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_settings(cfg)
    assert message in str(err.value) and str(cfg) in str(err.value)
    assert "\n" not in str(err.value)


def test_default_config_written_by_init_is_valid_and_commented(dock):
    text = (dock.settings.data_dir / "ingestd.toml").read_text()
    assert text.count("#") > 20
    load_settings(dock.settings.data_dir / "ingestd.toml")


# ----- structural MP4 check -------------------------------------------------------------------

def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _write(tmp_path, data: bytes) -> tuple[str, int]:
    path = tmp_path / "f.mp4"
    path.write_bytes(data)
    return str(path), len(data)


@pytest.mark.parametrize("data, problem", [
    (_box(b"ftyp", b"isom") + _box(b"mdat", b"x" * 100) + _box(b"moov", b"m" * 20), None),
    (_box(b"ftyp", b"isom") + _box(b"moov", b"m" * 20) + _box(b"mdat", b"x" * 100)[:60], "'mdat' box is cut off"),
    (_box(b"ftyp", b"isom") + _box(b"mdat", b"x" * 100), "no 'moov' box"),
    (_box(b"ftyp", b"isom") + b"\x00\x00", "cut off inside a box header"),
    (_box(b"ftyp", b"isom") + struct.pack(">I4s", 4, b"free"), "invalid box size 4"),
    # 64-bit largesize box, whole
    (_box(b"ftyp", b"isom") + struct.pack(">I4sQ", 1, b"mdat", 16 + 10) + b"y" * 10 + _box(b"moov", b""), None),
    # size 0: the last box runs to the end of the file
    (_box(b"ftyp", b"isom") + _box(b"moov", b"") + struct.pack(">I4s", 0, b"mdat") + b"z" * 50, None),
])
def test_structure_problem_table(tmp_path, data, problem):
    found = structure_problem(*_write(tmp_path, data))
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_largesize_box_claiming_more_than_4gib_on_a_short_file(tmp_path):
    data = _box(b"ftyp", b"isom") + struct.pack(">I4sQ", 1, b"mdat", (5 << 30)) + b"q" * 100  # 12 + 5 GiB needed
    assert "needs 5368709132 bytes" in structure_problem(*_write(tmp_path, data))


# ----- the ffmpeg/ffprobe wrapper ----------------------------------------------------------------

def test_tool_timeout_kills_the_process_group(tmp_path):
    marker = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(ToolTimeoutError) as err:
        ffmpeg.run(["sh", "-c", f"sleep 60 & echo $! > {marker}; wait"], timeout_s=0.5)
    assert time.monotonic() - started < 10
    assert "timed out" in str(err.value)
    child = int(marker.read_text())
    time.sleep(0.1)
    assert not os.path.exists(f"/proc/{child}") or open(f"/proc/{child}/stat").read().split()[2] == "Z"


def test_tool_failure_carries_the_stderr_tail(tmp_path):
    with pytest.raises(ToolError) as err:
        ffmpeg.ffprobe(str(tmp_path / "missing.mp4"), timeout_s=30)
    assert "No such file or directory" in err.value.stderr_tail
    assert err.value.returncode == 1


def test_missing_tool_is_named():
    with pytest.raises(ToolError, match="not installed"):
        ffmpeg.run(["ffmpeg-that-does-not-exist"], timeout_s=5)


def test_argument_lists_are_pure():
    assert ffmpeg.ffprobe_args("-i.mp4")[-2:] == ["--", "-i.mp4"]  # a name is never an option
    args = clip_args(__import__("pathlib").Path("/x/out.mp4"), ClipSpec(codec="libx265", bitrate="8M", audio=False))
    assert args[0] == "ffmpeg" and "/x/out.mp4" in args
    assert args[args.index("-vcodec") + 1] == "libx265" and args[args.index("-b:v") + 1] == "8M"
    assert "-acodec" not in args


# ----- offload ---------------------------------------------------------------------------------

def test_offload_digests_match_independent_vectors(tmp_path):
    src = tmp_path / "abc.bin"
    src.write_bytes(b"abc")
    res = offload(OffloadRequest(str(src), str(tmp_path / "staged.part"), 64 * 1024, media=False))
    # FIPS 180-2 "abc"; SM3 is computed after the dock from the stored copy: GB/T 32905-2016
    # appendix A example 1, through both implementations.
    assert res.sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert (tmp_path / "staged.part").read_bytes() == b"abc"
    sm3_abc = "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
    assert file_digests(tmp_path / "staged.part", sm3=True)["sm3"] == sm3_abc
    fallback = _CryptographySm3()
    fallback.update(memoryview(b"abc"))
    assert fallback.hexdigest() == sm3_abc


def test_offload_never_writes_over_an_existing_staging_file(tmp_path):
    src = tmp_path / "a.bin"
    src.write_bytes(b"x" * 10)
    staged = tmp_path / "staged.part"
    staged.write_bytes(b"other")
    with pytest.raises(StoreError):
        offload(OffloadRequest(str(src), str(staged), 65536))
    assert staged.read_bytes() == b"other"


@pytest.mark.parametrize("content, message", [
    ('name = "Bad Name"\n', "key 'name'"),
    ('name = "x"\nfiles = 3\n', "key 'files'"),
    ('name = "x"\n[[names]]\npattern = "(unclosed"\n', "key 'names.0.pattern'"),
    ('name = "x"\nsplit_tolerance_s = -1\n', "key 'split_tolerance_s'"),
    ('name = "x"\ncolour = 1\n', "key 'colour'"),
    ('name = "x\n', "invalid TOML"),
])
def test_malformed_device_profile_is_named(tmp_path, content, message):
    from ingestd.device_profiles import load_profile_file
    from ingestd.errors import UserError

    path = tmp_path / "cam.toml"
    path.write_text(content)
    with pytest.raises(UserError) as err:
        load_profile_file(path)
    assert message in str(err.value) and str(path) in str(err.value)
