"""What a mounted camera volume tells the dock besides its recordings: its own clock (in a
file named by the profile), how full its storage is, and whether the marker folders the
profile expects are there. All read-only, bounded reads; nothing is followed or run."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ingestd.device_profiles import DeviceProfile

CLOCK_FILE_MAX = 256


def read_camera_clock(root: Path, profile: DeviceProfile, tz: ZoneInfo) -> datetime | None:
    if profile.clock is None:
        return None
    path = root / profile.clock.file
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        text = os.read(fd, CLOCK_FILE_MAX).decode("utf-8", "replace").strip()
    finally:
        os.close(fd)
    try:
        return datetime.strptime(text, profile.clock.format).replace(tzinfo=tz)
    except ValueError:
        return None


def storage(root: Path) -> tuple[int, int]:
    """(total, free) bytes of the camera's volume."""
    st = os.statvfs(root)
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


def missing_markers(root: Path, profile: DeviceProfile) -> list[str]:
    return [m for m in profile.match.markers if not os.path.lexists(root / m)]
