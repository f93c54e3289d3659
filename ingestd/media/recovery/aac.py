"""Where one AAC frame ends. A raw AAC frame in an MP4 carries no length of its own (the
`moov` that would list it is what is missing), so the decoder measures it: decoding the
first k bytes yields a frame exactly when k reaches the frame's length (the decoder
needs its END element), so a binary search over k finds it in about eleven decodes."""

from __future__ import annotations

import av

# ISO/IEC 14496-3 4.5.3.2: at most 6144 bits per channel in one raw data block.
MAX_BYTES_PER_CHANNEL = 768


# The element a raw data block opens with (ISO/IEC 14496-3 table 4.85): one channel's
# SCE, a pair's CPE, or a FIL (encoders pad the first frames so). Video bytes (a NAL
# length's zero first byte reads as an SCE) are turned away for a stereo track before the
# decoder is asked.
_FIL = 6
_FIRST_ELEMENT = {1: {0, _FIL}, 2: {1, _FIL}}


class AacFramer:
    def __init__(self, extradata: bytes, channels: int):
        self._ctx = av.CodecContext.create("aac", "r")
        self._ctx.extradata = extradata
        self.max_frame = MAX_BYTES_PER_CHANNEL * max(1, channels) + 8
        self._first = _FIRST_ELEMENT.get(channels)

    def _decodes(self, data: bytes | memoryview, pos: int, k: int) -> bool:
        try:
            return len(self._ctx.decode(av.Packet(bytes(data[pos:pos + k])))) >= 1
        except (av.error.FFmpegError, ValueError):
            return False

    def frame_length(self, data: bytes | memoryview, pos: int, end: int) -> int | None:
        """The length of the AAC frame at `pos`, or None when no frame decodes there."""
        hi = min(self.max_frame, end - pos)
        if hi < 2 or (self._first is not None and data[pos] >> 5 not in self._first) or not self._decodes(data, pos, hi):
            return None
        lo = 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._decodes(data, pos, mid):
                hi = mid
            else:
                lo = mid + 1
        return lo
