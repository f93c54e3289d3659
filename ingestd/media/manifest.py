"""The segment manifest: every HLS segment of a recording with its time range and SHA-256,
bound to the original's digest and signed with the dock's key (as the audit log is), so
an excerpt a reviewer cites can be proven to come from a given original."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from ingestd.audit import canonical_json
from ingestd.ingest.store import file_sha256
from ingestd.signing import Signer, Verifier


def parse_playlist(text: str) -> list[tuple[str, float]]:
    """(segment file, duration) pairs from an HLS playlist."""
    out, duration = [], None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:"):].split(",")[0])
        elif line and not line.startswith("#") and duration is not None:
            out.append((line, duration))
            duration = None
    return out


def build(hls_dir: Path, recording_id: str, object_id: str) -> dict:
    segments, t = [], 0.0
    for name, duration in parse_playlist((hls_dir / "index.m3u8").read_text()):
        segments.append({"file": name, "start_s": round(t, 3), "end_s": round(t + duration, 3),
                         "sha256": file_sha256(hls_dir / name)})
        t += duration
    return {"format": "ingestd-segments/1", "recording_id": recording_id, "original_sha256": recording_id,
            "object_id": object_id, "init": {"file": "init.mp4", "sha256": file_sha256(hls_dir / "init.mp4")},
            "playlist_sha256": file_sha256(hls_dir / "index.m3u8"), "segments": segments}


def sign(manifest: dict, signer: Signer) -> dict:
    body = canonical_json(manifest)
    return {**manifest, "signature": {"alg": "Ed25519", "sha256": hashlib.sha256(body.encode()).hexdigest(),
                                      "value": signer.sign(body.encode())}}


def verify(signed: dict, verifier: Verifier, hls_dir: Path | None = None) -> list[str]:
    """Problems found (empty: the manifest is authentic and, given the folder, every file matches)."""
    manifest = {k: v for k, v in signed.items() if k != "signature"}
    problems = []
    if not verifier.valid(canonical_json(manifest).encode(), signed.get("signature", {}).get("value", "")):
        problems.append("the manifest's signature does not verify")
    if hls_dir is not None:
        for entry in [manifest["init"], *manifest["segments"]]:
            path = hls_dir / entry["file"]
            if not path.is_file() or file_sha256(path) != entry["sha256"]:
                problems.append(f"{entry['file']} does not match the manifest")
    return problems


def write(hls_dir: Path, signed: dict) -> None:
    (hls_dir / "manifest.json").write_text(json.dumps(signed, indent=2, ensure_ascii=False) + "\n")
