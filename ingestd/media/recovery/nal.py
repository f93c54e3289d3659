"""NAL units of H.264 and H.265 as an MP4 sample carries them (length-prefixed): whether the
bytes at a place can be one, and whether one begins a new access unit (a new sample).
Pure functions over bytes; the checks are strict on purpose, because audio bytes between
video chunks must not be taken for video."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class VideoCodec(StrEnum):
    H264 = "h264"
    HEVC = "hevc"


@dataclass(frozen=True)
class Nal:
    type: int
    size: int  # payload bytes, without the length prefix
    vcl: bool  # a slice of a picture
    # Begins the next access unit when the current one already holds a picture (H.264
    # 7.4.1.2.3, H.265 7.4.2.4.4): a parameter set, AUD or prefix SEI, or a picture's first
    # slice; suffix SEI, end of sequence and filler stay with the picture before them.
    opens_unit: bool
    keyframe: bool  # IDR (H.264) or IRAP (H.265): decodable without earlier pictures
    whole: bool = True  # False: the file ends inside it (the camera stopped writing here)


# H.264 (ITU-T H.264 table 7-1): what a camera's stream holds. nal_ref_idc must be 0 for
# SEI, AUD, end of sequence/stream and filler, and non-zero for IDR and parameter sets.
_H264_TYPES = {1, 5, 6, 7, 8, 9, 10, 11, 12}
_H264_REF_ZERO = {6, 9, 10, 11, 12}
_H264_REF_NONZERO = {5, 7, 8}
_H264_AU_OPENERS = {6, 7, 8, 9}
# H.265 (table 7-1): VCL 0–9 and 16–21, non-VCL 32–40.
_HEVC_TYPES = set(range(0, 10)) | set(range(16, 22)) | set(range(32, 41))
_HEVC_AU_OPENERS = {32, 33, 34, 35, 39}
_HEVC_TEMPORAL_ZERO = set(range(16, 24)) | {32, 33}  # IRAP pictures and VPS/SPS have TemporalId 0


class _Bits:
    """Exp-Golomb reading over the first bytes of a slice header (emulation prevention removed)."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def bit(self) -> int:
        byte = self.pos >> 3
        if byte >= len(self.data):
            raise IndexError
        value = (self.data[byte] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bit() == 0:
            zeros += 1
            if zeros > 20:
                raise ValueError("Exp-Golomb code too long")
        value = 0
        for _ in range(zeros):
            value = (value << 1) | self.bit()
        return (1 << zeros) - 1 + value


def _unescaped(data: bytes) -> bytes:
    return data.replace(b"\x00\x00\x03", b"\x00\x00")


def parse(codec: VideoCodec, data: bytes | memoryview, pos: int, end: int, length_size: int,
          max_size: int) -> Nal | None:
    """The NAL unit whose length prefix is at `pos` (`whole` False when it runs past `end`),
    or None when the bytes cannot be one."""
    if pos + length_size + 2 > end:
        return None
    size = int.from_bytes(data[pos:pos + length_size], "big")
    body = pos + length_size
    if size < 2 or size > max_size:
        return None
    head = bytes(data[body:min(body + size, body + 24, end)])
    nal = _h264(head, size) if codec is VideoCodec.H264 else _hevc(head, size)
    if nal is not None and body + size > end:
        return Nal(nal.type, size, nal.vcl, nal.opens_unit, nal.keyframe, whole=False)
    return nal


def _h264(head: bytes, size: int) -> Nal | None:
    h = head[0]
    forbidden, ref_idc, kind = h >> 7, (h >> 5) & 3, h & 31
    if forbidden or kind not in _H264_TYPES:
        return None
    if (kind in _H264_REF_ZERO and ref_idc) or (kind in _H264_REF_NONZERO and not ref_idc):
        return None
    if kind not in (1, 5):
        return Nal(kind, size, False, kind in _H264_AU_OPENERS, False)
    try:
        bits = _Bits(_unescaped(head[1:]))
        first_mb, slice_type, pps_id = bits.ue(), bits.ue(), bits.ue()
    except (IndexError, ValueError):
        return None
    if slice_type > 9 or pps_id > 255 or (kind == 5 and slice_type % 5 not in (2, 4)):
        return None  # an IDR picture is made of I (or SI) slices only
    return Nal(kind, size, True, first_mb == 0, kind == 5)


def _hevc(head: bytes, size: int) -> Nal | None:
    h0, h1 = head[0], head[1]
    forbidden, kind = h0 >> 7, (h0 >> 1) & 63
    layer, temporal_plus1 = ((h0 & 1) << 5) | (h1 >> 3), h1 & 7
    if forbidden or layer or not temporal_plus1 or kind not in _HEVC_TYPES:
        return None
    if kind in _HEVC_TEMPORAL_ZERO and temporal_plus1 != 1:
        return None
    if kind >= 32:
        return Nal(kind, size, False, kind in _HEVC_AU_OPENERS, False)
    try:
        bits = _Bits(_unescaped(head[2:]))
        first_slice = bits.bit()
        if 16 <= kind <= 23:
            bits.bit()  # no_output_of_prior_pics_flag
        pps_id = bits.ue()
    except (IndexError, ValueError):
        return None
    if pps_id > 63:
        return None
    return Nal(kind, size, True, first_slice == 1, 16 <= kind <= 21)


def length_size_of(codec: VideoCodec, extradata: bytes) -> int:
    """The NAL length prefix's size, from the avcC / hvcC record."""
    if codec is VideoCodec.H264 and len(extradata) > 4 and extradata[0] == 1:
        return (extradata[4] & 3) + 1
    if codec is VideoCodec.HEVC and len(extradata) > 21 and extradata[0] == 1:
        return (extradata[21] & 3) + 1
    raise ValueError(f"{codec} extradata is not an MP4 configuration record")
