"""USB docking through the real pyudev code path, on devices emulated by umockdev."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from ingestd.device_profiles import load_profiles
from ingestd.sources import mount
from ingestd.sources.usb import BlockDevice, recognise

PROFILES = load_profiles()

SDB1 = """P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb/sdb1
N: sdb1
E: DEVNAME=/dev/sdb1
E: DEVTYPE=partition
E: SUBSYSTEM=block
E: ID_BUS=usb
E: ID_VENDOR_ID={vid}
E: ID_MODEL_ID={pid}
E: ID_SERIAL_SHORT={serial}
E: ID_FS_LABEL={label}
E: ID_FS_TYPE=vfat
E: ID_PATH=pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0

P: /devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.0/host7/target7:0:0/7:0:0:0/block/sdc/sdc1
N: sdc1
E: DEVNAME=/dev/sdc1
E: DEVTYPE=partition
E: SUBSYSTEM=block
E: ID_BUS=usb
E: ID_VENDOR_ID=0781
E: ID_MODEL_ID=5567
E: ID_FS_LABEL=KINGSTON
E: ID_FS_TYPE=vfat
"""

PROBE = """
import json, pyudev
from ingestd.device_profiles import load_profiles
from ingestd.sources.usb import UsbSource
seen = []
source = UsbSource(lambda: load_profiles().values(), lambda dev, rec: seen.append(
    {"node": dev.node, "serial": dev.serial, "port": dev.port, "profile": rec.profile.name if rec else None,
     "by": rec.by if rec else None, "problems": rec.problems if rec else None}))
for device in pyudev.Context().list_devices(subsystem="block"):
    source.handle(device)  # the same handler the netlink monitor calls
now = source.current("/dev/sdb1")
seen.append({"current": now.serial if now else None, "gone": source.current("/dev/sdz9")})
print(json.dumps(seen))
"""


def _under_umockdev(tmp_path, **fields) -> list[dict]:
    if shutil.which("umockdev-run") is None:
        pytest.skip("umockdev-run is not installed (make system-deps installs it)")
    spec = tmp_path / "dock.umockdev"
    spec.write_text(SDB1.format(**{"vid": "2207", "pid": "0010", "serial": "DSJ0001A8", "label": "DSJ", **fields}))
    proc = subprocess.run(["umockdev-run", "-d", str(spec), "--", sys.executable, "-c", PROBE],
                          capture_output=True, text=True, timeout=60)
    if proc.returncode != 0 and "LD_PRELOAD" in proc.stderr:
        pytest.skip(f"umockdev cannot preload here: {proc.stderr.strip()[-200:]}")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_docked_camera_is_recognised_through_pyudev(tmp_path):
    seen = _under_umockdev(tmp_path)
    assert seen == [{"node": "/dev/sdb1", "serial": "DSJ0001A8", "port": "pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0",
                     "profile": "dahua-dsj", "by": "usb_id", "problems": []},
                    # the USB stick is handed on as what no profile knows, for the daemon to refuse
                    {"node": "/dev/sdc1", "serial": None, "port": None, "profile": None, "by": None, "problems": None},
                    # the camera is still there as the same device; a node nothing holds is None
                    {"current": "DSJ0001A8", "gone": None}]


def test_contradicting_label_and_serial_are_flagged(tmp_path):
    seen, _stick, _current = _under_umockdev(tmp_path, label="NO NAME", serial="x")
    assert seen["profile"] == "dahua-dsj"
    assert len(seen["problems"]) == 2 and "volume label 'NO NAME'" in seen["problems"][0]


def test_recognition_table():
    def dev(usb=("2207", "0010"), label="DSJ", serial="DSJ0001A8"):
        return BlockDevice("/dev/sdz1", *usb, serial, label, "vfat", None)

    assert recognise(dev(), PROFILES.values()).profile.name == "dahua-dsj"
    by_label = recognise(dev(usb=("1234", "5678"), label="ZFJLY"), PROFILES.values())
    assert (by_label.profile.name, by_label.by) == ("device-badge", "volume_label")
    assert recognise(dev(usb=("1234", "5678"), label="KINGSTON"), PROFILES.values()) is None


def test_mount_arguments_are_read_only_nosuid_nodev_noexec(tmp_path):
    assert mount.udisks_mount_args("/dev/sdb1")[-2:] == ["-o", "ro,nosuid,nodev,noexec"]
    args = mount.systemd_mount_args("/dev/sdb1", tmp_path / "cam")
    assert "ro,nosuid,nodev,noexec" in args and args[-2:] == ["/dev/sdb1", str(tmp_path / "cam")]
    assert mount.parse_udisks_mount("Mounted /dev/sdb1 at /media/ingestd/DSJ.\n") == \
        __import__("pathlib").Path("/media/ingestd/DSJ")


class _PreparedVolume:
    """Stands in for udisks2, which cannot run in this sandbox (no system bus): hands back
    a folder prepared as the camera's volume, and records the unmount."""

    def __init__(self, root):
        self.root, self.unmounted = root, []

    def mount(self, node, name):
        return self.root

    def unmount(self, node, path):
        self.unmounted.append(node)


def test_usb_dock_reads_clock_storage_and_markers(tmp_path, clips):
    import os

    from sqlalchemy import select

    from ingestd.daemon import Daemon
    from ingestd.db.models import DockSession, Incident
    from ingestd.sources.usb import Recognition
    from tests.conftest import copy_clip, make_dock

    if os.geteuid() != 0:
        pytest.skip("a small tmpfs stands for the camera's nearly full card; mounting it needs root")
    dock = make_dock(tmp_path, INGESTD_INGEST__WORKERS="1")
    volume = tmp_path / "volume"
    volume.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(volume)], check=True)
    try:
        copy_clip(clips["h264"], volume / "2026-11-20/001/dav/08/08.30.00-08.30.02[R][0@0][0].mp4")
        (volume / "MISC").mkdir()
        (volume / "MISC" / "time.txt").write_text("2026-11-20 20:00:30\n")  # 30 s fast
        st = os.statvfs(volume)
        (volume / "filler").write_bytes(b"\0" * (st.f_bavail * st.f_frsize - 4 * 4096))  # the card is ~99% full
        app = dock.app()
        daemon = Daemon(app)
        daemon.mounter = _PreparedVolume(volume)
        dev = BlockDevice("/dev/sdb1", "2207", "0010", "x", "NO NAME", "vfat", "usb-0:2")
        daemon._dock_usb(dev, Recognition(PROFILES["dahua-dsj"], "usb_id", ["volume label 'NO NAME' is wrong"]))
    finally:
        subprocess.run(["umount", str(volume)], check=True)
    assert daemon.mounter.unmounted == ["/dev/sdb1"]  # released after the offload
    with app.db.reading() as s:
        released = s.execute(select(DockSession)).scalar_one()
    assert released.status == "released" and released.released_at is not None
    from ingestd.afterdock import follow_through

    follow_through(app)  # what the daemon's job workers do after the release
    with app.db.reading() as s:
        ds = s.execute(select(DockSession)).scalar_one()
        codes = sorted(s.execute(select(Incident.code)).scalars())
    assert ds.port == "usb-0:2" and ds.storage_fill > 0.98
    assert ds.clock_source == "camera" and ds.camera_clock_at is not None
    assert codes == ["device_mismatch", "storage_nearly_full"]
    recs = dock.cli_json("recordings", "list")
    [clip] = [r for r in recs if r["kind"] == "video"]
    assert clip["important"] is True and clip["device"] == "x"
    assert [r["path"] for r in recs if r["kind"] == "sidecar"] == ["MISC/time.txt"]  # the clock file is kept too
    gaps = dock.cli_json("gaps", "list")
    assert [(g["kind"], g["suggested_reason"]) for g in gaps] == [("at_storage_full", "storage_full")]


def test_devices_list_shows_state_and_progress(dock, clips, tmp_path):
    from tests.conftest import copy_clip

    copy_clip(clips["h264"], tmp_path / "cam" / "a.mp4")
    copy_clip(clips["h264_b"], tmp_path / "cam" / "b.mp4")
    dock.cli_json("ingest", str(tmp_path / "cam"), "--device", "CAM-L")
    [d] = dock.cli_json("devices", "list")
    assert d["serial"] == "CAM-L" and d["state"] == "released"
    assert d["files"] == {"total": 2, "seen": 2, "ingested": 2, "damaged": 0, "failed": 0}
    assert d["mb_per_s"] is not None and d["open_incidents"] == 0
    proc = dock.cli("devices", "owner", "--by", "admin", "CAM-L", "999999", check=2)
    assert "no officer with badge 999999" in proc.stderr
