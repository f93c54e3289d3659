"""Walking a damaged `mdat`: at each place, a video access unit (checked NAL by NAL), else an
AAC frame (measured by the decoder), else bytes that are neither — skipped up to the next
place a video keyframe begins, because a picture decoded after a lost one would show what
the camera never recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from ingestd.media.recovery.aac import AacFramer
from ingestd.media.recovery.nal import parse
from ingestd.media.recovery.reference import Reference


class Track(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"


class Stop(StrEnum):
    END_OF_DATA = "end_of_data"  # the data ends at a sample boundary
    CUT_SAMPLE = "cut_sample"  # the file ends inside a sample: the moment the camera stopped
    UNREADABLE_TAIL = "unreadable_tail"  # nothing recognisable after the last sample found


@dataclass(frozen=True)
class Sample:
    track: Track
    offset: int
    size: int
    keyframe: bool = False
    after_skip: bool = False  # the first sample past skipped bytes (its time is estimated)


@dataclass
class Walked:
    samples: list[Sample] = field(default_factory=list)
    skipped: list[tuple[int, int]] = field(default_factory=list)  # (offset, bytes) not taken
    stop: Stop = Stop.END_OF_DATA
    cut_bytes: int = 0  # the sample the file ends inside: written, never finished

    @property
    def skipped_bytes(self) -> int:
        return sum(n for _, n in self.skipped)


@dataclass(frozen=True)
class _Unit:
    size: int
    keyframe: bool
    cut: bool = False


class Walker:
    def __init__(self, data, ref: Reference, deadline_check=None):
        self.data, self.ref = data, ref
        self.framer = AacFramer(ref.audio_extradata, ref.audio_channels) if ref.audio_extradata else None
        self._tick = deadline_check or (lambda: None)

    def walk(self, start: int, end: int) -> Walked:
        out = Walked()
        pos, need_key, after_skip = start, True, False
        while pos < end:
            self._tick()
            unit = self._video_unit(pos, end)
            if unit is not None and unit.cut:
                out.stop, out.cut_bytes = Stop.CUT_SAMPLE, end - pos
                return out
            if unit is not None:
                if need_key and not unit.keyframe:
                    # Pictures before the first keyframe (at the start, or past a skip) refer to
                    # pictures that were lost: not taken.
                    _skip(out, pos, unit.size)
                else:
                    out.samples.append(Sample(Track.VIDEO, pos, unit.size, unit.keyframe, after_skip))
                    need_key = after_skip = False
                pos += unit.size
                continue
            length = self.framer.frame_length(self.data, pos, end) if self.framer else None
            if length is not None:
                out.samples.append(Sample(Track.AUDIO, pos, length, after_skip=after_skip))
                after_skip = False
                pos += length
                continue
            found = self._next_keyframe(pos + 1, end)
            if found is None:
                # Less than one audio frame left: the camera stopped inside it.
                if self.framer is not None and end - pos < self.framer.max_frame:
                    out.stop, out.cut_bytes = Stop.CUT_SAMPLE, end - pos
                else:
                    _skip(out, pos, end - pos)
                    out.stop = Stop.UNREADABLE_TAIL
                return out
            _skip(out, pos, found - pos)
            pos, need_key, after_skip = found, True, True
        return out

    def _video_unit(self, pos: int, end: int) -> _Unit | None:
        """The access unit (one MP4 video sample) beginning at `pos`, or None."""
        ref, q, picture, key = self.ref, pos, False, False
        while q < end:
            nal = parse(ref.codec, self.data, q, end, ref.length_size, ref.max_nal)
            if nal is None:
                break
            if q == pos and not nal.opens_unit:
                return None  # a sample begins with a parameter set, AUD, SEI or a picture's first slice
            if q > pos and picture and nal.opens_unit:
                break
            if not nal.whole:
                # The file ends inside this NAL unit: the camera stopped here — unless the bytes
                # are the audio that follows (an AAC frame can look like a long NAL's start).
                if self._audio_at(q, end):
                    break
                return _Unit(end - pos, key, cut=True)
            picture, key = picture or nal.vcl, key or nal.keyframe
            q += ref.length_size + nal.size
        return _Unit(q - pos, key) if picture else None

    def _audio_at(self, pos: int, end: int) -> bool:
        """Audio, not a cut NAL unit: a frame decodes here, and after it the data ends, or
        another frame or a video access unit begins (one frame alone is too easily found)."""
        if self.framer is None:
            return False
        length = self.framer.frame_length(self.data, pos, end)
        if length is None:
            return False
        after = pos + length
        return (after == end or self.framer.frame_length(self.data, after, end) is not None
                or self._video_unit(after, end) is not None)

    def _next_keyframe(self, pos: int, end: int) -> int | None:
        """The next place where the whole access unit of a keyframe begins."""
        zero = b"\x00"
        while pos < end:
            self._tick()
            if self.ref.length_size == 4:
                # Every NAL length this walk believes is below 2**24: its first byte is zero.
                pos = self.data.find(zero, pos, end)
                if pos < 0:
                    return None
            unit = self._video_unit(pos, end)
            if unit is not None and unit.keyframe and not unit.cut:
                return pos
            pos += 1
        return None


def _skip(out: Walked, pos: int, size: int) -> None:
    """Bytes not taken; next to the stretch before, one stretch."""
    if out.skipped and sum(out.skipped[-1]) == pos:
        out.skipped[-1] = (out.skipped[-1][0], out.skipped[-1][1] + size)
    else:
        out.skipped.append((pos, size))
