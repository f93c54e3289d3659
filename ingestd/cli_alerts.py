"""Commands for alerts: what was raised and delivered, a sweep now, a test message."""

from __future__ import annotations

from typing import Optional

import typer

from ingestd.cli_support import JsonOpt, emit, opened_app

alerts_app = typer.Typer(no_args_is_help=True, help="Reminders and alerts, and their delivery.")


@alerts_app.command("list")
def alerts_list(ctx: typer.Context, limit: int = typer.Option(50, "--limit", min=1),
                as_json: bool = JsonOpt) -> None:
    """The newest alerts with each channel's delivery state."""
    from ingestd.alerts.dispatch import list_alerts

    with opened_app(ctx) as app:
        rows = list_alerts(app, limit)
    emit(rows, as_json, "\n".join(
        f"{r['raised_at']}  {r['code']:20} {r['subject']:20} "
        + " ".join(f"{d['channel']}:{d['status']}" for d in r["deliveries"]) for r in rows) or "(none)")


@alerts_app.command("sweep")
def alerts_sweep(ctx: typer.Context, as_json: bool = JsonOpt) -> None:
    """Look for events, raise new alerts and deliver what is due, now (the daemon does this every minute)."""
    from ingestd.alerts.dispatch import sweep

    with opened_app(ctx) as app:
        result = sweep(app)
    emit(result, as_json, f"raised {result['raised']}, sent {result['sent']}, failed {result['failed']}")


@alerts_app.command("test")
def alerts_test(ctx: typer.Context, channel: str = typer.Argument(..., help="A configured channel's name."),
                to: Optional[str] = typer.Option(None, "--to", help="Badge of a user to address (for @ and e-mail)."),
                as_json: bool = JsonOpt) -> None:
    """Send a test message on one channel now, to check that it arrives (not stored as an alert)."""
    from ingestd.alerts.dispatch import send_test

    with opened_app(ctx) as app:
        send_test(app, channel, to, "ingestd")
    emit({"channel": channel, "sent": True}, as_json, f"test message sent on {channel}")
