"""Where one AAC frame ends. A raw AAC frame in an MP4 carries no length of its own (the
`moov` that would list it is what is missing), so the decoder measures it: decoding the
first k bytes yields a frame exactly when k reaches the frame's length (the decoder
needs its END element), so a binary search over k finds it in about eleven decodes."""

from __future__ import annotations

import av

# ISO/IEC 14496-3 4.5.3.2: at most 6144 bits per channel in one raw data block.
MAX_BYTES_PER_CHANNEL = 768


class AacFramer:
    def __init__(self, extradata: bytes, channels: int):
        self._ctx = av.CodecContext.create("aac", "r")
        self._ctx.extradata = extradata
        self.max_frame = MAX_BYTES_PER_CHANNEL * max(1, channels) + 8

    def _decodes(self, data: bytes | memoryview, pos: int, k: int) -> bool:
        try:
            return len(self._ctx.decode(av.Packet(bytes(data[pos:pos + k])))) >= 1
        except (av.error.FFmpegError, ValueError):
            return False

    def frame_length(self, data: bytes | memoryview, pos: int, end: int) -> int | None:
        """The length of the AAC frame at `pos`, or None when no frame decodes there."""
        hi = min(self.max_frame, end - pos)
        if hi < 2 or not self._decodes(data, pos, hi):
            return None
        lo = 1
        while lo < hi:
            mid = (lo + hi) // 2
            if self._decodes(data, pos, mid):
                hi = mid
            else:
                lo = mid + 1
        return lo
