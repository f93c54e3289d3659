"""Recovering what a camera wrote into a recording it never finished: the `mdat` holds the
audio and video samples, the `moov` that indexes them never came (power lost, camera
knocked). The way `untrunc` does it: a healthy recording of the same camera is the
reference for codec parameters and track layout; the damaged `mdat` is walked sample by
sample (length-prefixed NAL units for the video, AAC frames measured by the decoder for
the audio), and what was found is muxed into a new MP4, each sample copied bit for bit.

The result is a derivative: the original is never written to. It runs in a process of its
own (`python -m ingestd.media.recovery`), time- and memory-limited, so a hostile file
costs one job and never the dock."""

# The recovery process's exit statuses besides 0 (each with one line on stderr).
EXIT_FAILED = 3
EXIT_REFERENCE_UNUSABLE = 4  # the reference cannot guide a recovery
