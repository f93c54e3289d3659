"""Commands for alerts: what was raised and delivered, a sweep now, a test message."""

from __future__ import annotations

from typing import Optional

import typer
from sqlalchemy import select

from ingestd.cli_support import JsonOpt, emit, iso, opened_app, settings_of
from ingestd.errors import UserError

alerts_app = typer.Typer(no_args_is_help=True, help="Reminders and alerts, and their delivery.")


@alerts_app.command("list")
def alerts_list(ctx: typer.Context, limit: int = typer.Option(50, "--limit", min=1),
                as_json: bool = JsonOpt) -> None:
    """The newest alerts with each channel's delivery state."""
    from ingestd.db.models import Alert, AlertDelivery

    settings = settings_of(ctx)
    with opened_app(ctx) as app:
        with app.db.reading() as s:
            alerts = s.execute(select(Alert).order_by(Alert.id.desc()).limit(limit)).scalars().all()
            deliveries = s.execute(select(AlertDelivery).where(
                AlertDelivery.alert_id.in_([a.id for a in alerts]))).scalars().all()
            rows = [{"id": a.id, "key": a.key, "code": a.code, "severity": a.severity, "subject": a.subject,
                     "message": a.message, "message_zh": a.detail.get("message_zh"), "recipients": a.recipients,
                     "raised_at": iso(a.raised_at, settings),
                     "deliveries": [{"channel": d.channel, "status": d.status, "attempts": d.attempts,
                                     "sent_at": iso(d.sent_at, settings), "last_error": d.last_error,
                                     "next_attempt_at": iso(d.next_attempt_at, settings)}
                                    for d in deliveries if d.alert_id == a.id]} for a in alerts]
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
        names = [c.name for c in app.settings.alerts.channels]
        if channel not in names:
            raise UserError(f"no alert channel {channel!r} (configured: {', '.join(names) or 'none'})")
        send_test(app, channel, to)
    emit({"channel": channel, "sent": True}, as_json, f"test message sent on {channel}")
