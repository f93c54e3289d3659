"""From the samples found to a playable MP4: every video sample is decoded once (a sample
that does not decode is left out, with what depends on it up to the next keyframe), the
order the decoder shows the pictures in gives their presentation times (B-frames), and
the samples are muxed bit for bit with times from the reference's frame duration and the
AAC frame length."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import av

from ingestd.media.recovery.reference import Reference
from ingestd.media.recovery.walk import Sample, Track, Walked

AAC_FRAME_SAMPLES = 1024


@dataclass(frozen=True, kw_only=True)
class Muxed:
    video_frames: int
    audio_frames: int
    video_s: float
    audio_s: float
    span_s: float  # from the first sample to the last, skipped stretches included
    undecodable: int  # video samples found but left out: they did not decode


def _decodable(data, ref: Reference, video: list[Sample], tick) -> tuple[list[int], dict[int, int], int]:
    """Indices (into `video`) of the samples kept, each one's presentation index within its
    run (runs restart after a skip), and how many were left out. The packet's pts carries
    the sample's index through the decoder, which hands the pictures back in the order
    they are shown."""
    kept: list[int] = []
    shown: dict[int, int] = {}
    dropped = 0
    position = {id(s): i for i, s in enumerate(video)}
    for run in _runs(video):
        ctx, waiting_key, order, tried = _decoder(ref), False, [], []
        for sample in run:
            tick()
            i = position[id(sample)]
            if waiting_key and not sample.keyframe:
                dropped += 1
                continue
            if waiting_key:
                ctx, waiting_key = _decoder(ref), False
            try:
                order += [f.pts for f in ctx.decode(_packet(data, sample, pts=i))]
                tried.append(i)
            except (av.error.FFmpegError, ValueError):
                dropped += 1
                waiting_key = True
        try:
            order += [f.pts for f in ctx.decode(None)]
        except (av.error.FFmpegError, ValueError):
            pass  # the flush of a run cut short: what came out before stands
        came_out = set(order)
        # A sample the decoder never showed holds nothing that can be seen.
        dropped += sum(1 for i in tried if i not in came_out)
        run_kept = [i for i in tried if i in came_out]
        kept += run_kept
        keep = set(run_kept)
        for k, i in enumerate(p for p in order if p in keep):
            shown[i] = k
    return kept, shown, dropped


def _decoder(ref: Reference):
    ctx = av.CodecContext.create(ref.codec.value, "r")
    ctx.extradata = ref.extradata
    return ctx


def _packet(data, sample: Sample, pts: int | None = None) -> av.Packet:
    packet = av.Packet(bytes(data[sample.offset:sample.offset + sample.size]))
    if pts is not None:
        packet.pts = pts
    return packet


def write(data, walked: Walked, ref: Reference, out_path: str, tick=lambda: None) -> Muxed:
    video = [s for s in walked.samples if s.track is Track.VIDEO]
    kept, shown, dropped = _decodable(data, ref, video, tick)
    position = {id(s): i for i, s in enumerate(video)}
    kept_set = set(kept)
    frame_s = ref.frame_ticks * ref.time_base
    audio_s = Fraction(AAC_FRAME_SAMPLES, ref.audio_rate or 1)
    gaps = _gaps(walked, ref)
    with av.open(ref.path) as template, av.open(out_path, "w", format="mp4") as out:
        vstream = out.add_stream_from_template(template.streams.video[0])
        astream = None
        if ref.audio_extradata is not None and any(s.track is Track.AUDIO for s in walked.samples):
            astream = out.add_stream_from_template(next(a for a in template.streams.audio
                                                         if a.codec_context.name == "aac"))
        start = Fraction(0)
        n_video = n_audio = 0
        video_span = audio_span = Fraction(0)
        for run_no, run in enumerate(_runs(walked.samples)):
            tick()
            if run_no:
                start += gaps.get(run[0].offset, Fraction(0))
            mine = [position[id(s)] for s in run if s.track is Track.VIDEO and position[id(s)] in kept_set]
            delay = max([j - shown[i] for j, i in enumerate(mine)] + [0])
            j = m = 0
            for sample in run:
                if sample.track is Track.VIDEO:
                    i = position[id(sample)]
                    if i not in kept_set:
                        continue
                    packet = _packet(data, sample)
                    packet.time_base = ref.time_base
                    packet.dts = round((start + j * frame_s) / ref.time_base)
                    packet.pts = round((start + (shown[i] + delay) * frame_s) / ref.time_base)
                    packet.duration = ref.frame_ticks
                    packet.is_keyframe = sample.keyframe
                    packet.stream = vstream
                    j += 1
                elif astream is not None:
                    packet = _packet(data, sample)
                    packet.time_base = Fraction(1, ref.audio_rate)
                    packet.pts = packet.dts = round((start + m * audio_s) * ref.audio_rate)
                    packet.duration = AAC_FRAME_SAMPLES
                    packet.stream = astream
                    m += 1
                else:
                    continue
                out.mux(packet)
            n_video, n_audio = n_video + j, n_audio + m
            video_span, audio_span = video_span + j * frame_s, audio_span + m * audio_s
            start += max(j * frame_s, m * audio_s)
    return Muxed(video_frames=n_video, audio_frames=n_audio, video_s=float(video_span), audio_s=float(audio_span),
                 span_s=float(start), undecodable=dropped)


def _runs(samples: list[Sample]) -> list[list[Sample]]:
    """The samples between skips: each run's times follow on from the one before."""
    runs: list[list[Sample]] = []
    for sample in samples:
        if not runs or sample.after_skip:
            runs.append([])
        runs[-1].append(sample)
    return runs


def _gaps(walked: Walked, ref: Reference) -> dict[int, Fraction]:
    """For the first sample after each skip: how long the skipped bytes lasted, at the
    reference's byte rate (unknown: nothing added)."""
    out: dict[int, Fraction] = {}
    for offset, size in walked.skipped:
        if ref.byte_rate > 0:
            out[offset + size] = Fraction(size) / Fraction(ref.byte_rate)
    return out
