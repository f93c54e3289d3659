"""Device profiles: how a camera family names its files and which files to take.

Profiles are data (`device_profiles/*.toml`), validated on load; a malformed one is
rejected naming its file and the key (or line, for TOML syntax).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingestd.resources import resource_dir
from ingestd.toml_model import load_toml_model


class FileKinds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    video: list[str] = ["mp4", "mov", "avi", "mkv", "ts", "mts", "m4v", "3gp", "dav"]
    audio: list[str] = ["wav", "mp3", "aac", "m4a", "amr", "opus"]
    photo: list[str] = ["jpg", "jpeg", "png", "heic"]
    # Camera logs and the like: kept in the store beside the recordings, as the camera wrote
    # them, but not recordings themselves (no probe, no deadline, no timeline).
    sidecar: list[str] = []

    def kind_of(self, ext: str) -> str | None:
        for kind in ("video", "audio", "photo", "sidecar"):
            if ext in getattr(self, kind):
                return kind
        return None


class NamePattern(BaseModel):
    """A regex searched in the path relative to the camera root, with named groups
    `start`, `end`, `date`, `device`, `badge`, `seq`, `important`."""

    model_config = ConfigDict(extra="forbid")

    pattern: str
    start_format: str | None = None
    end_format: str | None = None
    date_format: str | None = None

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"invalid regex: {exc}") from exc
        return value


class Match(BaseModel):
    """How a docked device is recognised as this camera family."""

    model_config = ConfigDict(extra="forbid")

    usb_ids: list[str] = []  # "vvvv:pppp", lower-case hex
    volume_labels: list[str] = []
    markers: list[str] = []  # paths that exist on the camera's volume, e.g. "DCIM" or "MISC/version.txt"
    serial_pattern: str | None = None  # a serial this family would never report is not trusted silently

    @field_validator("usb_ids")
    @classmethod
    def _ids(cls, value: list[str]) -> list[str]:
        for item in value:
            if not re.fullmatch(r"[0-9a-f]{4}:[0-9a-f]{4}", item):
                raise ValueError(f"{item!r} is not vvvv:pppp in lower-case hex")
        return value


class CameraClock(BaseModel):
    """Where the camera writes its own time when docked, so the dock can read it."""

    model_config = ConfigDict(extra="forbid")

    file: str
    format: str = "%Y-%m-%d %H:%M:%S"


class NameFacts(BaseModel):
    start: datetime | None = None
    end: datetime | None = None
    device: str | None = None
    badge: str | None = None
    seq: str | None = None
    important: bool = False


class DeviceProfile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str = ""  # the name people read in the console (the unit's words); `name` where empty
    description: str = ""
    files: FileKinds = FileKinds()
    names: list[NamePattern] = []
    match: Match = Match()
    clock: CameraClock | None = None
    media_roots: list[str] = []  # folders on the volume holding recordings; empty: the whole volume
    # A clip starting within this many seconds of the previous one's end is the camera
    # splitting a long recording, not an interruption.
    split_tolerance_s: float = Field(2.0, ge=0, le=60)
    wipe_after_verify: bool = False

    @field_validator("wipe_after_verify")
    @classmethod
    def _never_wipe(cls, value: bool) -> bool:
        if value:
            # Cameras are mounted read-only, nosuid, nodev, noexec: nothing on them can be
            # deleted, and a setting that silently did nothing would mislead the admin.
            raise ValueError("wiping cameras is not supported: they are mounted read-only")
        return value

    def parse_name(self, rel_path: str, tz: ZoneInfo) -> NameFacts | None:
        """Facts from the first pattern that matches the relative path, else None."""
        for pat in self.names:
            m = re.search(pat.pattern, rel_path)
            if not m:
                continue
            groups = {k: v for k, v in m.groupdict().items() if v is not None}
            try:
                return _facts(groups, pat, tz)
            except ValueError:
                continue  # digits that are not a real time: try the next pattern
        return None


def _facts(groups: dict[str, str], pat: NamePattern, tz: ZoneInfo) -> NameFacts:
    date = datetime.strptime(groups["date"], pat.date_format or "%Y-%m-%d").date() if "date" in groups else None

    def when(key: str, fmt: str | None) -> datetime | None:
        if key not in groups or not fmt:
            return None
        parsed = datetime.strptime(groups[key], fmt)
        if date is not None:
            parsed = datetime.combine(date, parsed.time())
        return parsed.replace(tzinfo=tz)

    start, end = when("start", pat.start_format), when("end", pat.end_format)
    if start and end and end < start:
        end += timedelta(days=1)  # a clip that runs past midnight
    return NameFacts(start=start, end=end, device=groups.get("device"), badge=groups.get("badge"),
                     seq=groups.get("seq"), important=bool(groups.get("important")))


def load_profile_file(path: Path) -> DeviceProfile:
    return load_toml_model(path, DeviceProfile, "device profile")


def load_profiles(extra_dir: Path | None = None) -> dict[str, DeviceProfile]:
    profiles: dict[str, DeviceProfile] = {}
    dirs = [resource_dir("device_profiles")] + ([extra_dir] if extra_dir else [])
    for directory in dirs:
        for path in sorted(directory.glob("*.toml")):
            profile = load_profile_file(path)
            profiles[profile.name] = profile
    return profiles
