"""Commands about cameras: the registry, each camera's state at the dock, its owner."""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from ingestd.cli_support import ByOpt, JsonOpt, emit, iso, opened_app, settings_of
from ingestd.db.models import Device, DockSession, Incident
from ingestd.text import printable

devices_app = typer.Typer(no_args_is_help=True, help="Cameras (执法记录仪) known to this unit.")


def _state(ds: DockSession | None) -> str:
    if ds is None:
        return "never docked"
    if ds.status == "running":
        return f"copying {ds.files_seen}/{ds.files_total if ds.files_total is not None else '?'} files"
    return {"finished": "released", "released": "released", "interrupted": "interrupted",
            "rebuilt": "released"}.get(ds.status, ds.status)


@devices_app.command("list")
def devices_list(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Every camera with its newest dock session: state, progress, speed, storage, clock."""
    settings = settings_of(ctx)
    with opened_app(ctx) as app:
        with app.db.reading() as s:
            devices = s.execute(select(Device).order_by(Device.serial)).scalars().all()
            newest = {}
            for ds in s.execute(select(DockSession).where(DockSession.device_id.is_not(None))
                                .order_by(DockSession.started_at)).scalars():
                newest[ds.device_id] = ds
            incidents = dict(s.execute(select(DockSession.device_id, func.count(Incident.id))
                                       .join(Incident, Incident.dock_session_id == DockSession.id)
                                       .where(Incident.status == "open").group_by(DockSession.device_id)).all())
        now = app.clock.now()
    data = []
    for d in devices:
        ds = newest.get(d.id)
        elapsed = ((ds.finished_at or now) - ds.started_at).total_seconds() if ds else None
        data.append({
            "serial": d.serial, "profile": d.profile, "owner": d.owner_badge, "first_seen": iso(d.first_seen, settings),
            "last_seen": iso(d.last_seen, settings), "state": _state(ds),
            "dock_session": ds.id if ds else None, "port": ds.port if ds else None,
            "released_at": iso(ds.released_at, settings) if ds else None,
            "files": {"total": ds.files_total, "seen": ds.files_seen, "ingested": ds.files_ingested,
                      "damaged": ds.files_damaged, "failed": ds.files_failed} if ds else None,
            "mb_per_s": round(ds.bytes_ingested / 1e6 / elapsed, 1) if ds and elapsed else None,
            "storage_fill": round(ds.storage_fill, 3) if ds and ds.storage_fill is not None else None,
            "clock_offset_s": ds.clock_offset_s if ds else None, "open_incidents": incidents.get(d.id, 0),
        })
    emit(data, as_json, "\n".join(
        f"{printable(d['serial']):16} {d['state']:24} {d['mb_per_s'] or '-':>8} MB/s  storage "
        f"{'-' if d['storage_fill'] is None else format(d['storage_fill'], '.0%'):>5}  clock "
        f"{'-' if d['clock_offset_s'] is None else format(d['clock_offset_s'], '+.0f') + ' s':>8}  "
        f"owner {d['owner'] or '-'}" for d in data))


@devices_app.command("owner")
def devices_owner(ctx: typer.Context, serial: str = typer.Argument(...), badge: str = typer.Argument(...),
                  by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Register the officer a camera is issued to (used when the roster does not say); the
    recordings it decides are computed again (officer, deadlines, 制作人)."""
    from ingestd.afterdock import set_owner

    with opened_app(ctx, by) as app:
        data = set_owner(app, serial, badge, by)
    emit(data, as_json, f"{serial} is issued to {badge}")
