"""Raising alerts once and delivering them until they arrive.

Raising: an event whose key is new becomes an alert row, logged at once (the journal is
the channel that always works), with one delivery row per configured channel; all in
one audited transaction holding the event's name (Change.lock), so two docks raising the
same event at the same moment insert it once. Delivering: due deliveries are claimed under
a short lease, skipping rows another dock is claiming (so no process sends them too), sent
outside any transaction, and the outcome recorded; a failure is retried after 30 s, 60 s,
120 s … (at most an hour) until `max_attempts`. A restart resumes from the rows: nothing is sent twice."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from ingestd.alerts.channels import DeliveryError, Message, send_alert_email, send_robot, send_webhook
from ingestd.alerts.events import AlertEvent, find_events
from ingestd.app import App
from ingestd.db.models import Alert, AlertDelivery, Officer, User
from ingestd.errors import UserError
from ingestd.findings import Finding
from ingestd.localtime import local_text
from ingestd.logs import event

log = logging.getLogger("ingestd.alerts")
CLAIM = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)
_LEVEL = {"error": logging.ERROR, "warning": logging.WARNING, "info": logging.INFO}


def sweep(app: App) -> dict:
    """Look for events, raise the new ones, deliver what is due. What the scheduler runs."""
    if not app.settings.alerts.enabled:
        return {"raised": 0, "sent": 0, "failed": 0}
    now = app.clock.now()
    raised = raise_events(app, find_events(app, now))
    sent, failed = deliver_due(app)
    return {"raised": raised, "sent": sent, "failed": failed}


def raise_events(app: App, events: list[AlertEvent], actor: str = "ingestd") -> int:
    """New events become alerts; `actor` is who raised them (the daemon, or a person's reminder)."""
    if not events:
        return 0
    keys = [e.key for e in events]
    with app.db.reading() as s:
        known = set(s.execute(select(Alert.key).where(Alert.key.in_(keys))).scalars())
    fresh = [e for e in {e.key: e for e in events}.values() if e.key not in known]
    if not fresh:
        return 0
    now = app.clock.now()
    raised = 0
    with app.changes.begin(actor) as ch:
        ch.lock(*(f"alert:{e.key}" for e in fresh))
        taken = set(ch.session.execute(select(Alert.key).where(Alert.key.in_([e.key for e in fresh]))).scalars())
        for e in fresh:
            if e.key in taken:  # another dock raised it between our look and our locks
                continue
            f = e.finding
            alert = Alert(key=e.key, code=f.code, severity=f.kind.severity.value, subject=e.subject[:128],
                          message=f.message, detail=f.as_dict(app.policy), recipients=list(dict.fromkeys(e.recipients)),
                          raised_at=now)
            ch.session.add(alert)
            ch.session.flush()
            for channel in app.settings.alerts.channels:
                ch.session.add(AlertDelivery(alert_id=alert.id, channel=channel.name, status="pending", attempts=0,
                                             next_attempt_at=now))
            ch.record("alert.raised", "alert", str(alert.id), key=e.key, code=f.code, recipients=alert.recipients,
                      channels=[c.name for c in app.settings.alerts.channels])
            event(log, _LEVEL[alert.severity], "alert", key=e.key, code=f.code, article=f.article(app.policy),
                  recipients=",".join(alert.recipients), message=f.message)
            raised += 1
    return raised


def deliver_due(app: App) -> tuple[int, int]:
    channels = {c.name: c for c in app.settings.alerts.channels}
    claimed = _claim(app, list(channels))
    sent = failed = 0
    for delivery_id, alert_id, name in claimed:
        msg = _message(app, alert_id)
        try:
            _send(app, channels[name], msg)
        except DeliveryError as exc:
            failed += 1
            _record(app, delivery_id, str(exc))
        else:
            sent += 1
            _record(app, delivery_id, None)
    return sent, failed


def _claim(app: App, names: list[str]) -> list[tuple[int, int, str]]:
    now = app.clock.now()
    with app.changes.begin("ingestd") as ch:
        rows = ch.session.execute(select(AlertDelivery).where(
            AlertDelivery.status.in_(("pending", "sending")), AlertDelivery.next_attempt_at <= now,
            AlertDelivery.channel.in_(names)).order_by(AlertDelivery.id).limit(200)
            .with_for_update(skip_locked=True)).scalars().all()  # what another dock is claiming is its
        for d in rows:
            d.status, d.next_attempt_at = "sending", now + CLAIM  # a dead sender's claim runs out
        if rows:
            ch.record("alert.claimed", "alert_deliveries", str(rows[0].id), count=len(rows))
        return [(d.id, d.alert_id, d.channel) for d in rows]


def _message(app: App, alert_id: int) -> Message:
    with app.db.reading() as s:
        alert = s.get(Alert, alert_id)
        users = {u.badge: u for u in s.execute(select(User).where(User.badge.in_(alert.recipients))).scalars()}
        names = dict(s.execute(select(Officer.badge, Officer.name).where(Officer.badge.in_(alert.recipients))).all())
    recipients = [_recipient(users[b]) if b in users else {"badge": b, "name": names.get(b), "email": None,
                                                           "mobile": None} for b in alert.recipients]
    detail = alert.detail
    return Message(alert.key, alert.code, alert.severity, detail["label_zh"], detail.get("article"), alert.message,
                   detail.get("message_zh", alert.message), alert.subject,
                   local_text(alert.raised_at, app.settings.tz),
                   app.settings.dock_name, detail, recipients)


def _recipient(user: User) -> dict:
    return {"badge": user.badge, "name": user.name, "email": user.email, "mobile": user.mobile}


def _send(app: App, channel, msg: Message) -> None:
    if channel.kind == "webhook":
        send_webhook(channel, msg)
    elif channel.kind in ("dingtalk", "wecom"):
        send_robot(channel, msg)
    else:
        send_alert_email(channel, app.settings.smtp, msg)


def _record(app: App, delivery_id: int, error: str | None) -> None:
    now = app.clock.now()
    cfg = app.settings.alerts
    with app.changes.begin("ingestd") as ch:
        d = ch.session.get(AlertDelivery, delivery_id)
        d.attempts += 1
        if error is None:
            d.status, d.sent_at, d.next_attempt_at, d.last_error = "sent", now, None, None
            ch.record("alert.delivered", "alert", str(d.alert_id), channel=d.channel, attempts=d.attempts)
            return
        d.last_error = error
        attempts = d.attempts
        if d.attempts >= cfg.max_attempts:
            d.status, d.next_attempt_at = "failed", None
        else:
            d.status = "pending"
            d.next_attempt_at = now + min(MAX_BACKOFF, timedelta(seconds=cfg.backoff_s * 2 ** (d.attempts - 1)))
        ch.record("alert.delivery_failed", "alert", str(d.alert_id), channel=d.channel, attempts=d.attempts,
                  error=error, gave_up=d.status == "failed")
    event(log, logging.WARNING, "alert.delivery_failed", delivery=delivery_id, error=error, attempts=attempts)



def list_alerts(app: App, limit: int = 50) -> list[dict]:
    """The newest alerts with each channel's delivery state."""
    tz = app.settings.tz

    def iso(value) -> str | None:
        return value.astimezone(tz).isoformat() if value else None

    with app.db.reading() as s:
        alerts = s.execute(select(Alert).order_by(Alert.id.desc()).limit(limit)).scalars().all()
        deliveries = s.execute(select(AlertDelivery).where(
            AlertDelivery.alert_id.in_([a.id for a in alerts]))).scalars().all()
        return [{"id": a.id, "key": a.key, "code": a.code, "severity": a.severity, "subject": a.subject,
                 "message": a.message, "message_zh": a.detail.get("message_zh"), "recipients": a.recipients,
                 "raised_at": iso(a.raised_at),
                 "deliveries": [{"channel": d.channel, "status": d.status, "attempts": d.attempts,
                                 "sent_at": iso(d.sent_at), "last_error": d.last_error,
                                 "next_attempt_at": iso(d.next_attempt_at)}
                                for d in deliveries if d.alert_id == a.id]} for a in alerts]


def send_test(app: App, channel_name: str, to: str | None, by: str) -> None:
    """A test message on one channel, sent now; a failure is the user's to fix (exit 2)."""
    names = [c.name for c in app.settings.alerts.channels]
    if channel_name not in names:
        raise UserError(f"no alert channel {channel_name!r} (configured: {', '.join(names) or 'none'})")
    channel = next(c for c in app.settings.alerts.channels if c.name == channel_name)
    f = Finding("alert_test", {"dock": app.settings.dock_name})
    recipients = []
    if to:
        with app.db.reading() as s:
            user = s.get(User, to)
        if user is None:
            raise UserError(f"unknown user {to!r}")
        recipients = [_recipient(user)]
    msg = Message(f"test:{app.clock.now().isoformat()}", f.code, "info", f.kind.label_zh, None, f.message,
                  f.message_zh, channel_name, local_text(app.clock.now(), app.settings.tz),
                  app.settings.dock_name, f.as_dict(app.policy), recipients)
    try:
        _send(app, channel, msg)
    except DeliveryError as exc:
        raise UserError(f"alert channel {channel_name}: {exc}") from None
    with app.changes.begin(by) as ch:
        ch.record("alert.test_sent", "alert_channel", channel_name, to=to)
