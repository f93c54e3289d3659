"""The timeline's look into the audio of a stored original, through the one tool wrapper:
where sound starts in the first minute (ffmpeg silencedetect over the voice band), the
hint for 语音说明. (Packet timestamps come from the probe job, ingestd.media.facts.)"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingestd.media import ffmpeg

VOICE_WINDOW_S = 60.0
SILENCE_DB = -35
MIN_SILENCE_S = 0.5


def voice_args(path: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-v", "info", "-t", str(VOICE_WINDOW_S), "-i", path,
            "-vn", "-af", f"highpass=f=200,lowpass=f=3400,silencedetect=noise={SILENCE_DB}dB:d={MIN_SILENCE_S}",
            "-f", "null", "-"]


@dataclass(frozen=True)
class VoiceHint:
    sound: bool | None  # None: no audio track to look at
    at_s: float | None
    method: str = f"silencedetect {SILENCE_DB}dB over 200-3400 Hz, first {VOICE_WINDOW_S:.0f} s"

    def as_dict(self) -> dict:
        return {"sound": self.sound, "at_s": self.at_s, "method": self.method, "hint_only": True}


def voice_hint(path: str, has_audio: bool, duration_s: float | None, timeout_s: float) -> VoiceHint:
    if not has_audio:
        return VoiceHint(None, None)
    window = min(VOICE_WINDOW_S, duration_s) if duration_s else VOICE_WINDOW_S
    return parse_silence(ffmpeg.run(voice_args(path), timeout_s).stderr, window)


def parse_silence(stderr: str, window_s: float) -> VoiceHint:
    """The first moment that is not silence, from silencedetect's log lines. A silence
    that "ends" at the end of the window is the input ending, not sound starting."""
    starts = [float(m) for m in re.findall(r"silence_start: (-?[\d.]+)", stderr)]
    ends = [float(m) for m in re.findall(r"silence_end: (-?[\d.]+)", stderr)]
    if not starts or starts[0] > 0.05:
        return VoiceHint(True, 0.0)  # sound from the first moment
    if ends and ends[0] < window_s - MIN_SILENCE_S:
        return VoiceHint(True, round(ends[0], 2))
    return VoiceHint(False, None)  # silent to the end of the window
