"""A cheap structural check of ISO-BMFF (MP4/MOV) files: the top-level boxes must tile
the file exactly and include `moov`. A camera that lost power mid-recording leaves
either no `moov` (it is written at the end) or a box that claims more bytes than the
file has; ffprobe alone does not notice the second case when `moov` comes first."""

from __future__ import annotations

import struct

CONTAINER_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"uuid", b"pdin",
                   b"meta", b"moof", b"mfra", b"styp", b"sidx", b"prft", b"emsg"}
MAX_BOXES = 100_000


def looks_like_mp4(head: bytes) -> bool:
    return len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free")


def structure_problem(path: str, size: int) -> str | None:
    """None if the box structure is whole, else a one-line reason."""
    seen = set()
    offset = 0
    with open(path, "rb") as fh:
        for _ in range(MAX_BOXES):
            if offset == size:
                break
            fh.seek(offset)
            header = fh.read(16)
            if len(header) < 8:
                return f"cut off inside a box header at byte {offset} of {size}"
            box_size, box_type = struct.unpack(">I4s", header[:8])
            if box_size == 1:
                if len(header) < 16:
                    return f"cut off inside a box header at byte {offset} of {size}"
                box_size = struct.unpack(">Q", header[8:16])[0]
            elif box_size == 0:
                box_size = size - offset  # "extends to end of file"
            if box_size < 8:
                return f"invalid box size {box_size} at byte {offset}"
            name = box_type.decode("latin-1")
            if offset + box_size > size:
                return f"'{name}' box is cut off: needs {offset + box_size} bytes, file has {size}"
            seen.add(box_type)
            offset += box_size
        else:
            return "too many top-level boxes"
    if b"moov" not in seen and b"moof" not in seen:
        return "no 'moov' box: the recording was not finalised (power loss or removed mid-recording)"
    return None
