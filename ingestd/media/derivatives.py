"""Making one derivative from a stored original: the proxy, HLS segments with their
signed manifest, or the thumbnails. Written beside the store (derivatives can always be
made again), into a temporary folder renamed into place when complete."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from ingestd.app import App
from ingestd.db.models import Recording
from ingestd.db.states import RecordingStatus
from ingestd.errors import ToolError
from ingestd.media import commands, manifest
from ingestd.media.ffmpeg import ffprobe
from ingestd.replica.original import original_file
from ingestd.signing import Signer
from ingestd.toolrun import run

TIMEOUT_FLOOR_S = 60.0
PROBE_TIMEOUT_S = 60.0


RECOVERED_FILE = "recovered/recovered.mp4"


def derivative_dir(app: App, recording_id: str) -> Path:
    return app.settings.data_dir / "derivatives" / recording_id[:2] / recording_id


def recovered_path(app: App, recording_id: str) -> Path:
    """What ingestd.media.recovered recovered from a damaged original."""
    return derivative_dir(app, recording_id) / RECOVERED_FILE


def source_of(app: App, rec: Recording) -> Path:
    """What the derivatives are made from: the original, or for a damaged one, its recovery
    (a damaged original gets no derivative job until its recovery found something)."""
    if rec.status == RecordingStatus.DAMAGED:
        path = recovered_path(app, rec.id)
        if not path.is_file():
            raise ToolError("ffmpeg", f"recording {rec.id[:12]} is damaged and nothing is recovered from it yet")
        return path
    return original_file(app, rec)


def _timeout(rec: Recording, factor: float) -> float:
    """Scaled to the clip: a proxy costs about a fifth of real time on two cores."""
    return max(TIMEOUT_FLOOR_S, (rec.duration_s or 600.0) * factor)


def make(app: App, rec: Recording, kind: str) -> tuple[dict, bool]:
    """Returns (output description, partial)."""
    original = source_of(app, rec)
    final = derivative_dir(app, rec.id) / kind
    work = final.with_name(f".{kind}.{uuid.uuid4().hex[:8]}")
    work.mkdir(parents=True)
    try:
        output, partial = _MAKERS[kind](app, rec, original, work)
        if final.exists():
            shutil.rmtree(final)
        work.rename(final)
        return output, partial
    finally:
        if work.exists():
            shutil.rmtree(work)


def _proxy(app: App, rec: Recording, original: Path, work: Path) -> tuple[dict, bool]:
    recovered = rec.status == RecordingStatus.DAMAGED
    has_audio = _recovered_streams(original)[1] if recovered else bool((rec.probe or {}).get("audio"))
    run(commands.proxy_args(original, work / "proxy.mp4", has_audio),
        _timeout(rec, app.settings.media.timeout_factor), nice=True)
    # Partial: made from what was recovered of a damaged original, not from the whole recording.
    return {"file": "proxy/proxy.mp4", **({"from": "recovered"} if recovered else {})}, recovered


def _recovered_streams(path: Path) -> tuple[str | None, bool]:
    """(video codec, has audio) of a recovered file: the damaged original's own facts say
    nothing of it (its probe found no index)."""
    streams = ffprobe(str(path), PROBE_TIMEOUT_S).get("streams") or []
    video = next((st.get("codec_name") for st in streams if st.get("codec_type") == "video"), None)
    return video, any(st.get("codec_type") == "audio" for st in streams)


def _hls(app: App, rec: Recording, original: Path, work: Path) -> tuple[dict, bool]:
    codec = ((rec.probe or {}).get("video") or {}).get("codec")
    if rec.status == RecordingStatus.DAMAGED:
        codec = _recovered_streams(original)[0]
    source = original
    if codec not in commands.COPYABLE:
        source = derivative_dir(app, rec.id) / "proxy" / "proxy.mp4"
        if not source.is_file():
            raise ToolError("ffmpeg", f"{codec} cannot be segmented by copy and there is no proxy yet")
    run(commands.hls_args(source, work), _timeout(rec, app.settings.media.timeout_factor), nice=True)
    signed = manifest.sign(manifest.build(work, rec.id, rec.object_id), Signer.load(app.data.signing_key))
    manifest.write(work, signed)
    made_from = "proxy" if source != original else ("recovered" if rec.status == RecordingStatus.DAMAGED
                                                     else "original")
    return {"playlist": "hls/index.m3u8", "manifest": "hls/manifest.json", "segments": len(signed["segments"]),
            "from": made_from}, False


def _thumbnails(app: App, rec: Recording, original: Path, work: Path) -> tuple[dict, bool]:
    duration = rec.duration_s or 1.0
    timeout = _timeout(rec, app.settings.media.timeout_factor)
    run(commands.poster_args(original, work / "poster.jpg", min(1.0, duration / 2)), timeout, nice=True)
    run(commands.contact_sheet_args(original, work / "contact.jpg", duration), timeout, nice=True)
    return {"poster": "thumbnails/poster.jpg", "contact_sheet": "thumbnails/contact.jpg"}, False


_MAKERS = {"proxy": _proxy, "hls": _hls, "thumbnails": _thumbnails}
