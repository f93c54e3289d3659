"""Commands about cameras: the registry, each camera's state at the dock, its owner."""

from __future__ import annotations

import typer

from ingestd.cli_support import ByOpt, JsonOpt, emit, opened_app
from ingestd.text import printable

devices_app = typer.Typer(no_args_is_help=True, help="Cameras (执法记录仪) known to this unit.")


@devices_app.command("list")
def devices_list(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Every camera with its newest dock session: state, progress, speed, storage, clock."""
    from ingestd.devices import list_devices, state_text

    with opened_app(ctx) as app:
        data = list_devices(app)
    emit(data, as_json, "\n".join(
        f"{printable(d['serial']):16} {state_text(d):24} {d['mb_per_s'] or '-':>8} MB/s  storage "
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


@devices_app.command("register")
def devices_register(ctx: typer.Context, serial: str = typer.Argument(..., help="the camera's USB serial"),
                     profile: str = typer.Option(..., "--profile", help="its device profile (camera family)"),
                     owner: str = typer.Option("", "--owner", help="the badge of the officer it is issued to"),
                     by: str = ByOpt, as_json: bool = JsonOpt) -> None:
    """Register a camera of the unit by its serial, so that the docks take it when it is
    plugged in ([usb] registered_only); a camera already plugged in is taken within a minute."""
    from ingestd.camera_admission import register_camera

    with opened_app(ctx, by) as app:
        data = register_camera(app, serial, profile, owner, by)
    emit(data, as_json, f"{printable(data['serial'])} registered ({data['profile']})")


@devices_app.command("refused")
def devices_refused(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """USB devices the docks did not mount, newest first: not a camera of this unit, or a
    camera whose serial is not registered."""
    from ingestd.camera_admission import refusals

    with opened_app(ctx) as app:
        data = refusals(app)
        tz = app.settings.tz
    emit([r.as_dict() for r in data], as_json, "\n".join(
        f"{r.last_at.astimezone(tz):%Y-%m-%d %H:%M}  {r.reason.value:15} {r.what}  ×{r.times}" for r in data)
        or "no USB device was refused")
