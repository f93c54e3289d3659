"""The one wrapper for ffmpeg and ffprobe: argument lists built by pure functions
(tested without running anything), run through ingestd.toolrun, so a hung decoder is
killed at its time limit and never stalls the dock."""

from __future__ import annotations

import json

from ingestd.errors import ToolError
from ingestd.toolrun import ToolOutput, run

__all__ = ["ToolOutput", "run", "ffprobe", "ffprobe_args"]


def ffprobe_args(path: str) -> list[str]:
    return ["ffprobe", "-hide_banner", "-v", "error", "-print_format", "json",
            "-show_format", "-show_streams", "--", path]


def ffprobe(path: str, timeout_s: float) -> dict:
    output = run(ffprobe_args(path), timeout_s)
    try:
        return json.loads(output.stdout)
    except ValueError as exc:
        raise ToolError("ffprobe", f"unreadable JSON output: {exc}") from None
