"""Docked cameras from udev: a USB block device with a file system appears, it is
recognised by a device profile (USB vendor:product id, else volume label), and handed on
with what it was recognised as (or None: no profile knows it) for the daemon to admit or
refuse (ingestd.camera_admission) before anything mounts it. Volumes already plugged in when
the daemon starts are picked up by enumerating. A device whose ids match a profile but whose
label or serial contradicts it is still offloaded (evidence is never left behind) but flagged."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

import pyudev

from ingestd.device_profiles import DeviceProfile
from ingestd.logs import event

log = logging.getLogger("ingestd.sources.usb")


@dataclass(frozen=True)
class BlockDevice:
    node: str
    vendor_id: str | None
    model_id: str | None
    serial: str | None
    label: str | None
    fs_type: str | None
    port: str | None  # udev ID_PATH: which socket of the hub

    @property
    def usb_id(self) -> str | None:
        if self.vendor_id and self.model_id:
            return f"{self.vendor_id.lower()}:{self.model_id.lower()}"
        return None


@dataclass(frozen=True)
class Recognition:
    profile: DeviceProfile
    by: str  # usb_id | volume_label
    problems: list[str] = field(default_factory=list)


def from_udev(device: pyudev.Device) -> BlockDevice | None:
    """A USB volume with a file system on it, else None."""
    props = device.properties
    if props.get("SUBSYSTEM") != "block" or props.get("ID_BUS") != "usb" or not props.get("ID_FS_TYPE"):
        return None
    if props.get("DEVTYPE") not in ("partition", "disk"):
        return None
    return BlockDevice(node=device.device_node or props.get("DEVNAME", ""), vendor_id=props.get("ID_VENDOR_ID"),
                       model_id=props.get("ID_MODEL_ID"), serial=props.get("ID_SERIAL_SHORT"),
                       label=props.get("ID_FS_LABEL"), fs_type=props.get("ID_FS_TYPE"), port=props.get("ID_PATH"))


def recognise(dev: BlockDevice, profiles: Iterable[DeviceProfile]) -> Recognition | None:
    profiles = list(profiles)
    for profile in profiles:
        if dev.usb_id and dev.usb_id in profile.match.usb_ids:
            problems = []
            if profile.match.volume_labels and dev.label not in profile.match.volume_labels:
                problems.append(f"volume label {dev.label!r} is not one this camera family uses")
            pattern = profile.match.serial_pattern
            if pattern and not re.fullmatch(pattern, dev.serial or ""):
                problems.append(f"serial {dev.serial!r} does not look like this camera family's")
            return Recognition(profile, "usb_id", problems)
    for profile in profiles:
        if dev.label and dev.label in profile.match.volume_labels:
            return Recognition(profile, "volume_label")
    return None


Handler = Callable[[BlockDevice, "Recognition | None"], None]


class UsbSource:
    def __init__(self, profiles: Callable[[], Iterable[DeviceProfile]], on_camera: Handler,
                 context: pyudev.Context | None = None):
        self.profiles, self.on_camera = profiles, on_camera
        self.context = context or pyudev.Context()
        self._observer: pyudev.MonitorObserver | None = None

    def volumes(self) -> list[tuple[BlockDevice, Recognition | None]]:
        """Every USB volume plugged in right now, with what it was recognised as."""
        found = []
        for device in self.context.list_devices(subsystem="block"):
            dev = from_udev(device)
            if dev is not None:
                found.append((dev, self._recognise(dev)))
        return found

    def current(self, node: str) -> BlockDevice | None:
        """The volume at this node now, if any: a refused camera still plugged in when it is
        registered is the same device only if its serial still is."""
        for device in self.context.list_devices(subsystem="block"):
            dev = from_udev(device)
            if dev is not None and dev.node == node:
                return dev
        return None

    def start(self) -> None:
        for dev, recognition in self.volumes():
            self.on_camera(dev, recognition)
        monitor = pyudev.Monitor.from_netlink(self.context)
        monitor.filter_by("block")
        self._observer = pyudev.MonitorObserver(monitor, callback=self.handle, name="udev")
        self._observer.start()
        event(log, logging.INFO, "usb.watching")

    def handle(self, device: pyudev.Device) -> None:
        if device.action not in ("add", None):  # None: enumerated rather than announced
            return
        dev = from_udev(device)
        if dev is not None:
            self.on_camera(dev, self._recognise(dev))

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()

    def _recognise(self, dev: BlockDevice) -> Recognition | None:
        recognition = recognise(dev, self.profiles())
        if recognition is not None and recognition.problems:
            event(log, logging.ERROR, "usb.mismatch", node=dev.node, serial=dev.serial,
                  profile=recognition.profile.name, problems="; ".join(recognition.problems))
        return recognition
