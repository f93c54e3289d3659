"""Cameras (执法记录仪) as the unit sees them: each with its newest dock session's state,
progress, speed, storage and clock, its owner and its open incidents. One list for
`ingestd devices list --json` and the console's devices page."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, select

from ingestd.app import App
from ingestd.db.models import Device, DockSession, Incident, Officer
from ingestd.db.states import DockStatus


class CameraState(StrEnum):
    """A camera at the dock, by its newest dock session: the dock screen, the cameras page and
    `devices list` say the same."""

    NEVER_DOCKED = "never_docked"
    COPYING = "copying"
    RELEASED = "released"  # 可以拔出
    INTERRUPTED = "interrupted"


def camera_state(status: DockStatus | str | None) -> CameraState:
    if status is None:
        return CameraState.NEVER_DOCKED
    if status == DockStatus.RUNNING:
        return CameraState.COPYING
    return CameraState.INTERRUPTED if status == DockStatus.INTERRUPTED else CameraState.RELEASED


def state_text(device: dict) -> str:
    """A listed camera's state in words for the command line: `copying 3/5 files`, `released`."""
    if device["state"] == CameraState.COPYING:
        files = device.get("files") or {}
        return f"copying {files.get('seen', 0)}/{files.get('total') if files.get('total') is not None else '?'} files"
    return device["state"].replace("_", " ")


def list_devices(app: App) -> list[dict]:
    tz = app.settings.tz

    def iso(value: datetime | None) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    with app.db.reading() as s:
        devices = s.execute(select(Device).order_by(Device.serial)).scalars().all()
        last = (select(DockSession.device_id, func.max(DockSession.started_at).label("started"))
                .where(DockSession.device_id.is_not(None)).group_by(DockSession.device_id).subquery())
        newest = {ds.device_id: ds for ds in s.execute(
            select(DockSession).join(last, (last.c.device_id == DockSession.device_id)
                                     & (last.c.started == DockSession.started_at))).scalars()}
        incidents = dict(s.execute(select(DockSession.device_id, func.count(Incident.id))
                                   .join(Incident, Incident.dock_session_id == DockSession.id)
                                   .where(Incident.status == "open").group_by(DockSession.device_id)).all())
        officers = {b: (n, t) for b, n, t in s.execute(select(Officer.badge, Officer.name, Officer.team))}
    now = app.clock.now()
    data = []
    for d in devices:
        ds = newest.get(d.id)
        elapsed = ((ds.finished_at or now) - ds.started_at).total_seconds() if ds else None
        data.append({
            "serial": d.serial, "profile": d.profile, "owner": d.owner_badge,
            "owner_name": officers.get(d.owner_badge, (None, None))[0],
            "owner_team": officers.get(d.owner_badge, (None, None))[1], "first_seen": iso(d.first_seen),
            # A camera an admin registered before its first dock has not been seen at one yet; its
            # days without a dock count from its registration.
            "last_seen": iso(d.last_seen) if ds else None, "state": camera_state(ds.status if ds else None).value,
            "days_since_dock": (now - d.last_seen).days if d.last_seen else None,
            "dock_session": ds.id if ds else None, "port": ds.port if ds else None,
            "released_at": iso(ds.released_at) if ds else None,
            "files": {"total": ds.files_total, "seen": ds.files_seen, "ingested": ds.files_ingested,
                      "damaged": ds.files_damaged, "failed": ds.files_failed} if ds else None,
            "mb_per_s": round(ds.bytes_ingested / 1e6 / elapsed, 1) if ds and elapsed else None,
            "storage_fill": round(ds.storage_fill, 3) if ds and ds.storage_fill is not None else None,
            "clock_offset_s": ds.clock_offset_s if ds else None, "open_incidents": incidents.get(d.id, 0),
        })
    return data
