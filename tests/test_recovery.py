"""Recovering what a camera wrote into a recording it never finished (the recovery issue):
camera-like clips (H.264 and H.265 with AAC, interleaved in chunks, `moov` at the end, two
bitrates) are cut at 30 places each and recovered with a healthy clip of the same settings
as the reference. The decoded pictures and audio frames of the recovered file are compared
with the original's over the prefix that survived the cut."""

from __future__ import annotations

import hashlib
import json
import random
import resource
import subprocess
import sys
from pathlib import Path

import av
import pytest

from ingestd.errors import IngestdError
from ingestd.media.recovery.mdat import find_mdat
from ingestd.media.recovery.run import recover
from ingestd.media.recovery.walk import Stop
from ingestd.media.synthetic import ClipSpec, make_clip
from tests.hostile import mutate

# (codec, bitrate, seconds, width, height): 1–3 minutes as a camera writes them. `make test`
# cuts two small ones at 30 places each; `make soak` the four larger ones too.
CLIPS = {
    "h264-400k": ("libx264", "400k", 60, 320, 240),
    "hevc-1M": ("libx265", "1M", 60, 320, 240),
    "h264-3M": ("libx264", "3M", 90, 640, 360),
    "h264-800k": ("libx264", "800k", 120, 640, 360),
    "hevc-500k": ("libx265", "500k", 60, 640, 360),
    "hevc-2M": ("libx265", "2M", 180, 640, 360),
}
SOAK = ("h264-3M", "h264-800k", "hevc-500k", "hevc-2M")
CUTS = 30
FPS = 25


def _spec(name: str, seconds: float | None, seed: int) -> ClipSpec:
    codec, bitrate, length, width, height = CLIPS[name]
    return ClipSpec(seconds=seconds or length, width=width, height=height, fps=FPS, codec=codec, bitrate=bitrate,
                    audio_rate=48000, audio_channels=2, noise_seed=seed, chunk_s=0.5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """(original, reference) of a clip kind, made once per module."""
    root = tmp_path_factory.mktemp("recovery")
    made: dict[str, tuple[Path, Path]] = {}

    def get(name: str) -> tuple[Path, Path]:
        if name not in made:
            made[name] = (make_clip(root / f"{name}.mp4", _spec(name, None, seed=7)),
                          make_clip(root / f"{name}-ref.mp4", _spec(name, 8, seed=11)))
        return made[name]
    return get


def _hashes(path: Path, kind: str) -> list[str]:
    with av.open(str(path)) as container:
        for stream in container.streams:
            stream.thread_type = "AUTO"
        return [hashlib.sha1(b"".join(bytes(p) for p in frame.planes)).hexdigest()
                for frame in container.decode(**{kind: 0})]


def _packets(path: Path) -> list[tuple[int, int, str]]:
    with av.open(str(path)) as container:
        return [(p.pos, p.size, p.stream.type) for p in container.demux() if p.size]


def _cut_points(data: bytes, packets: list[tuple[int, int, str]]) -> list[int]:
    """Right after the mdat header, inside video samples, inside audio samples, near the end,
    and evenly between."""
    start, end = find_mdat(data, len(data))
    video = [p for p in packets if p[2] == "video"]
    audio = [p for p in packets if p[2] == "audio"]
    rng = random.Random(5)
    points = [start, start + 3]
    points += [pos + rng.randrange(1, size) for pos, size, _ in rng.sample(video, 8) if size > 1]
    points += [pos + rng.randrange(1, size) for pos, size, _ in rng.sample(audio, 8) if size > 1]
    last_pos, last_size, _ = max(packets)
    points += [last_pos + last_size - 1, last_pos + 1, end - 4096]
    while len(points) < CUTS:
        points.append(start + (end - start) * len(points) // CUTS)
    return sorted(points)[:CUTS]


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.soak] if n in SOAK else []) for n in CLIPS])
def test_the_frames_that_survive_a_cut_come_back_bit_identical(clip, tmp_path, name):
    original, reference = clip(name)
    data = original.read_bytes()
    packets = _packets(original)
    video_all, audio_all = _hashes(original, "video"), _hashes(original, "audio")
    worst_video = worst_audio = 1.0
    for n, cut in enumerate(_cut_points(data, packets)):
        damaged = tmp_path / f"cut{n}.mp4"
        damaged.write_bytes(data[:cut])
        out = tmp_path / f"rec{n}.mp4"
        result = recover(str(damaged), str(reference), str(out))
        in_video = sum(1 for pos, size, kind in packets if kind == "video" and pos + size <= cut)
        in_audio = sum(1 for pos, size, kind in packets if kind == "audio" and pos + size <= cut)
        if in_video == 0:
            assert not result.anything and not out.exists(), (name, cut)
            continue
        assert result.stop in (Stop.CUT_SAMPLE, Stop.END_OF_DATA), (name, cut, result)
        video = _hashes(out, "video")
        assert not set(video) - set(video_all), f"{name} cut at {cut}: a picture the camera never recorded"
        if in_video >= FPS:  # past the first second
            share = len(set(video) & set(video_all[:in_video + 4])) / in_video
            worst_video = min(worst_video, share)
            assert share >= 0.95, (name, cut, share)
            assert abs(result.video_s - len(video) / FPS) < 0.05
        if in_audio > 50:
            audio = _hashes(out, "audio")
            # The encoder's first frame is priming the original's edit list hides.
            share = len(set(audio) & set(audio_all)) / (in_audio - 1)
            worst_audio = min(worst_audio, share)
            assert share >= 0.95, (name, cut, share)
    print(f"{name}: worst video share {worst_video:.3f}, worst audio share {worst_audio:.3f}")


def test_a_recovered_file_plays_with_its_times(clip, tmp_path):
    original, reference = clip("hevc-1M")
    data = original.read_bytes()
    damaged = tmp_path / "cut.mp4"
    damaged.write_bytes(data[: len(data) * 2 // 3])
    result = recover(str(damaged), str(reference), str(tmp_path / "rec.mp4"))
    with av.open(str(tmp_path / "rec.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "hevc"
        assert container.streams.audio[0].codec_context.name == "aac"
        seconds = container.duration / av.time_base
    assert abs(seconds - result.span_s) < 0.2
    assert 30 < result.video_s < 42  # two thirds of 60 s, less the audio's share of the bytes


def test_nothing_recoverable_is_said_so(clip, tmp_path):
    _original, reference = clip("h264-400k")
    for name, content in {"empty": b"", "no_mdat": b"\x00\x00\x00\x18ftypisom" + b"\x00" * 16,
                          "noise": random.Random(1).randbytes(200_000)}.items():
        path = tmp_path / f"{name}.mp4"
        path.write_bytes(content)
        result = recover(str(path), str(reference), str(tmp_path / f"{name}-out.mp4"))
        assert not result.anything and not (tmp_path / f"{name}-out.mp4").exists(), name


def _fuzz_inputs(clip, count: int) -> list[bytes]:
    """Mutations of cut camera files: the hostile-media corpus's, and the walk's own kinds
    (bytes flipped, stretches zeroed, duplicated, spliced from elsewhere, cut anywhere)."""
    rng = random.Random(27)
    bases = [clip(n)[0].read_bytes()[:600_000] for n in ("h264-400k", "hevc-1M")]
    out = []
    while len(out) < count:
        data = bytearray(rng.choice(bases))
        how = rng.randrange(6)
        if how == 0:
            mutated, _ = mutate(rng, bytes(data), "mp4", rng.choice(("bit_flips", "truncate", "huge_box",
                                                                      "zero_box", "garbage_tail")))
            out.append(mutated)
            continue
        for _ in range(rng.randrange(1, 20)):
            at = rng.randrange(len(data))
            span = rng.randrange(1, 5000)
            if how == 1:
                data[at] ^= 1 << rng.randrange(8)
            elif how == 2:
                data[at:at + span] = bytes(min(span, len(data) - at))
            elif how == 3:
                data[at:at] = data[rng.randrange(len(data)):][:span]
            elif how == 4:
                data[at:at + 4] = rng.randbytes(4)
            else:
                del data[at:at + span]
        out.append(bytes(data[:rng.randrange(len(data) // 2, len(data) + 1)]))
    return out


def test_the_recoverer_survives_hostile_files(clip, tmp_path):
    """500 mutated files in this process: each ends in a result or a named error, within its
    time limit."""
    reference = clip("h264-400k")[1]
    inputs = _fuzz_inputs(clip, 500)
    recovered = 0
    for n, content in enumerate(inputs):
        path = tmp_path / "f.mp4"
        path.write_bytes(content)
        try:
            result = recover(str(path), str(reference), str(tmp_path / "f-out.mp4"), limit_s=20)
        except IngestdError:
            continue
        recovered += result.anything
        (tmp_path / "f-out.mp4").unlink(missing_ok=True)
    assert recovered > 100  # most mutations leave much to recover


def test_the_recovery_process_is_bounded(clip, tmp_path):
    """The process the job runs: one JSON line, or exit 3 with a one-line error; its memory held
    under its limit, on hostile files too."""
    reference = clip("hevc-1M")[1]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    for n, content in enumerate(_fuzz_inputs(clip, 12)):
        path = tmp_path / f"p{n}.mp4"
        path.write_bytes(content)
        done = subprocess.run([sys.executable, "-m", "ingestd.media.recovery", str(path), str(reference),
                               str(tmp_path / f"p{n}-out.mp4"), "--limit", "30", "--memory", "1024"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode in (0, 3, 4), done.stderr
        if done.returncode == 0:
            assert "video_frames" in json.loads(done.stdout)
        else:
            assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert peak_mb < 1024 or before / 1024 >= 1024
