"""Only the unit's cameras: which USB volumes a dock takes.

A 采集站 is a way into the evidence store and out of the office, so, as commercial docks do,
it mounts nothing but the unit's own cameras. A volume no device profile recognises (a U盘,
an SD card reader, a phone) is never mounted. A volume of a camera family the unit uses is
taken only when its serial is registered ([usb] registered_only, on by default): a camera
docks itself into the list on its first dock through the inbox, or an admin registers it on
the cameras page or with `ingestd devices register`, after which a camera still plugged in
is taken within 30 s. Every refusal is kept (by dock and device, counted), audited, shown
on the dock screen and alerted to the admins, once a device a day."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ingestd.alerts.dispatch import raise_events
from ingestd.alerts.events import AlertEvent
from ingestd.app import App
from ingestd.db.models import Device, Officer, UsbRefusal
from ingestd.db.states import Role, UsbRefusalReason
from ingestd.findings import Finding, refused
from ingestd.logs import event
from ingestd.sources.usb import BlockDevice, Recognition
from ingestd.text import printable
from ingestd.users import enabled_admins, require_user

log = logging.getLogger("ingestd.camera_admission")
SERIAL_MAX = 128
REGISTRARS = (Role.ADMIN,)  # who registers a camera of the unit: the 信息中心
RECHECK_EVERY = timedelta(seconds=30)  # a camera registered while plugged in is taken this soon


@dataclass(frozen=True)
class RefusedVolume:
    """A refusal as the dock screen, the cameras page and `devices refused` show it."""

    id: int
    dock: str
    reason: UsbRefusalReason
    serial: str | None
    usb_id: str | None
    label: str | None
    profile: str | None
    port: str | None
    first_at: datetime
    last_at: datetime
    times: int

    @property
    def what(self) -> str:
        return described(self.serial, self.usb_id, self.label)

    def as_dict(self) -> dict:
        return {"id": self.id, "dock": self.dock, "reason": self.reason.value, "serial": self.serial, "usb_id": self.usb_id,
                "label": self.label, "profile": self.profile, "port": self.port, "first_at": self.first_at.isoformat(),
                "last_at": self.last_at.isoformat(), "times": self.times}


def refusal_for(app: App, dev: BlockDevice, recognition: Recognition | None) -> UsbRefusalReason | None:
    """None: take it. Else why not; nothing is mounted before this is asked."""
    if recognition is None:
        return UsbRefusalReason.NOT_A_CAMERA
    if not app.settings.usb.registered_only:
        return None
    if dev.serial:
        with app.db.reading() as s:
            if s.execute(select(Device.id).where(Device.serial == dev.serial)).first() is not None:
                return None
    return UsbRefusalReason.NOT_REGISTERED


def record_refusal(app: App, dev: BlockDevice, recognition: Recognition | None, reason: UsbRefusalReason) -> None:
    """Kept, audited and alerted: the dock screen reads the row, the admins get one alert a
    device a day."""
    now, dock = app.clock.now(), app.settings.dock_name
    profile = recognition.profile.name if recognition else None
    label = (dev.label or "")[:64] or None
    facts = {"dock": dock, "serial": dev.serial, "usb_id": dev.usb_id, "label": label, "profile": profile,
             "port": dev.port}
    event(log, logging.WARNING, "usb.refused", reason=reason.value, **facts)
    with app.changes.begin("ingestd") as ch:
        known = ch.session.execute(select(UsbRefusal).where(
            UsbRefusal.dock == dock, UsbRefusal.reason == reason)).scalars()
        row = next((r for r in known if (r.serial, r.usb_id, r.label) == (dev.serial, dev.usb_id, label)), None)
        if row is None:
            row = UsbRefusal(dock=dock, reason=reason, serial=dev.serial, usb_id=dev.usb_id, label=label,
                             profile=profile, port=dev.port, first_at=now, last_at=now, times=1)
            ch.session.add(row)
        else:
            row.last_at, row.port, row.times = now, dev.port, row.times + 1
        ch.session.flush()
        ch.record("usb.refused", "dock", dock, reason=reason.value, refusal=row.id, **facts)
        admins = tuple(enabled_admins(ch.session))
    finding = refusal_finding(reason, dock, dev.serial, described(dev.serial, dev.usb_id, label), profile, app)
    day = now.astimezone(app.settings.tz).date()
    raise_events(app, [AlertEvent(f"usb:{reason.value}:{dock}:{dev.serial or dev.usb_id or label}:{day}",
                                  finding, dock, admins)])


def described(serial: str | None, usb_id: str | None, label: str | None) -> str:
    """A device in one line, from what it says of itself (escaped: a stick names itself)."""
    return printable(" ".join(x for x in (serial, usb_id, label and f"«{label}»") if x) or "unnamed")


def refusal_finding(reason: UsbRefusalReason, dock: str, serial: str | None, what: str, profile: str | None,
                    app: App) -> Finding:
    if reason is UsbRefusalReason.NOT_A_CAMERA:
        return Finding("usb_not_a_camera", {"dock": dock, "device": what})
    title = app.profiles[profile].title or profile if profile in app.profiles else profile
    return Finding("camera_unregistered", {"dock": dock, "device": serial or what, "family": title})


def refusals(app: App, since: datetime | None = None, dock: str | None = None,
             reason: UsbRefusalReason | None = None) -> list[RefusedVolume]:
    """Newest first: this dock's recent ones for the dock screen, every dock's for the admins."""
    q = select(UsbRefusal).order_by(UsbRefusal.last_at.desc())
    if since is not None:
        q = q.where(UsbRefusal.last_at >= since)
    if dock is not None:
        q = q.where(UsbRefusal.dock == dock)
    if reason is not None:
        q = q.where(UsbRefusal.reason == reason)
    with app.db.reading() as s:
        return [_volume(r) for r in s.execute(q.limit(200)).scalars()]


def awaiting_registration(app: App) -> list[RefusedVolume]:
    """Cameras of a known family refused for their serial, not registered since: the admin's
    list to register from."""
    with app.db.reading() as s:
        registered = set(s.execute(select(Device.serial)).scalars())
        rows = s.execute(select(UsbRefusal).where(UsbRefusal.reason == UsbRefusalReason.NOT_REGISTERED,
                                                  UsbRefusal.serial.is_not(None))
                         .order_by(UsbRefusal.last_at.desc())).scalars().all()
    seen: dict[str, RefusedVolume] = {}
    for r in rows:
        if r.serial not in registered and r.serial not in seen:
            seen[r.serial] = _volume(r)
    return list(seen.values())


def _volume(r: UsbRefusal) -> RefusedVolume:
    return RefusedVolume(r.id, r.dock, UsbRefusalReason(r.reason), r.serial, r.usb_id, r.label, r.profile, r.port, r.first_at,
                         r.last_at, r.times)


def register_camera(app: App, serial: str, profile: str, owner: str | None, actor: str) -> dict:
    """An admin registers a camera of the unit by its serial: from then on the docks take it."""
    serial = serial.strip()
    if not serial or len(serial) > SERIAL_MAX or not serial.isprintable():
        raise refused("camera_serial_bad", serial=printable(serial[:SERIAL_MAX]), limit=SERIAL_MAX)
    if profile not in app.profiles:
        raise refused("camera_profile_unknown", profile=printable(profile),
                      known=", ".join(sorted(app.profiles)))
    owner = (owner or "").strip() or None
    now = app.clock.now()
    with app.changes.begin(actor) as ch:
        require_user(ch.session, actor, REGISTRARS, "register cameras")
        ch.lock(f"device:{serial}")
        if ch.session.execute(select(Device.id).where(Device.serial == serial)).first() is not None:
            raise refused("camera_already_registered", serial=serial)
        if owner is not None and ch.session.get(Officer, owner) is None:
            raise refused("camera_owner_unknown", badge=printable(owner))
        ch.session.add(Device(serial=serial, profile=profile, owner_badge=owner, first_seen=now, last_seen=now))
        ch.record("device.registered", "device", serial, profile=profile, owner=owner)
    return {"serial": serial, "profile": profile, "owner": owner}

