"""Where the samples are: the `mdat` box of a damaged MP4. A camera that lost power may have
left its size unwritten (0, or the 8 of an empty box) or larger than the file; then the
samples run to the end of the file."""

from __future__ import annotations

import struct

TOP_LEVEL = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin", b"meta", b"moof",
             b"mfra", b"styp", b"sidx"}
MAX_BOXES = 1000


def find_mdat(data, size: int) -> tuple[int, int] | None:
    """(first byte, end) of the largest `mdat` payload, or None when the file has none."""
    best, offset = None, 0
    for _ in range(MAX_BOXES):
        if offset + 8 > size:
            break
        box_size, kind = struct.unpack(">I4s", data[offset:offset + 8])
        header = 8
        if box_size == 1 and offset + 16 <= size:
            box_size, header = struct.unpack(">Q", data[offset + 8:offset + 16])[0], 16
        if kind not in TOP_LEVEL:
            break
        declared_end = offset + box_size
        if kind == b"mdat":
            end = declared_end if box_size >= header + 8 and _box_at(data, declared_end, size) else size
            if best is None or end - (offset + header) > best[1] - best[0]:
                best = (offset + header, end)
            if end == size:
                break
        if box_size < header or declared_end >= size:
            break
        offset = declared_end
    return best


def _box_at(data, offset: int, size: int) -> bool:
    """Whether a known box (or the file's end) follows: a size that points anywhere else was
    never written by the camera."""
    if offset == size:
        return True
    return offset + 8 <= size and bytes(data[offset + 4:offset + 8]) in TOP_LEVEL
