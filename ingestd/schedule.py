"""Scheduled jobs that `ingestd run` hosts (APScheduler 3): the compliance sweep that turns
`pending` shifts `overdue` as their deadlines pass, the alerts sweep (reminders,
escalations, deliveries and their retries), and scheduled reports. Each job does one
step over the App it is given, so tests run it with an injected clock instead of waiting."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from ingestd import dock_clock
from ingestd.alerts.dispatch import raise_events
from ingestd.alerts.dispatch import sweep as alerts_sweep_step
from ingestd.alerts.events import store_filling
from ingestd.app import App
from ingestd.compliance.recompute import recompute_recent
from ingestd.compliance.report_schedule import write_scheduled
from ingestd.errors import NoSpaceError
from ingestd.fixity import verify_store
from ingestd.leader import Leadership
from ingestd.logs import event

log = logging.getLogger("ingestd.schedule")
ALERTS_JOB = "alerts"


def compliance_sweep(app: App) -> dict:
    result = recompute_recent(app).as_dict()
    event(log, logging.INFO, "compliance.sweep", shifts=result["shifts"], **{
        f"shifts_{k}": v for k, v in result["shift_status"].items()})
    return result


def settle_unreleased(app: App) -> int:
    """Dock sessions a full database disk kept from being marked: marked once it takes writes."""
    try:
        return app.settle_unreleased()
    except NoSpaceError as exc:
        event(log, logging.WARNING, "dock.still_unreleased", sessions=len(app.unreleased), error=str(exc))
        return 0


def fixity_sample(app: App) -> dict:
    """A random sample of originals re-hashed against the store and the index; a mismatch is
    an audited fixity finding, which the next alerts sweep (run now) sends to the admins."""
    report = verify_store(app, app.settings.fixity.sample_size)
    if report.failed:
        event(log, logging.ERROR, "fixity.mismatch", findings=[f.code for f in report.findings])
        if app.settings.alerts.enabled:
            alerts_sweep(app)
    return report.as_dict(app.policy)


def dock_clock_check(app: App) -> dict | None:
    reading = dock_clock.check(app)
    return None if reading is None else {"against": reading.against, "offset_s": reading.offset_s}


def alerts_sweep(app: App) -> dict:
    result = alerts_sweep_step(app)
    if any(result.values()):
        event(log, logging.INFO, "alerts.sweep", **result)
    return result


def replica_sweep(app: App) -> dict:
    """Copies asked for of what the bucket lacks or holds at an older version (a recording
    given 证明对象 or an explanation since its copy), for the replica workers to do."""
    from ingestd.afterdock import replicate_pending

    result = replicate_pending(app)
    if result["asked"]:
        event(log, logging.INFO, "replica.sweep", asked=result["asked"])
    return result


def store_forecast(app: App) -> int:
    """This dock's disk against its reserve: the alert when it fills within [store] warn_days
    (ingestd.forecast), raised here for this dock and delivered by the alerts sweep."""
    if not app.settings.alerts.enabled:
        return 0
    return raise_events(app, store_filling(app, app.clock.now()))


def evict_pass(app: App) -> dict:
    """This dock's originals the bucket has proven, moved off its disk while it is below its
    free target (ingestd.replica.evict); a crash's half-done moves settled first."""
    from ingestd.replica.evict import evict_due

    return evict_due(app).as_dict()


def readback_sample(app: App) -> dict:
    """A sample of the bucket's copies read back in full, the longest unproven first, so that
    "last proven" stays recent; a mismatch is a fixity finding, alerted at once."""
    from ingestd.replica.readback import read_back_sample

    proofs = read_back_sample(app, app.settings.replica.readback_sample)
    failed = [p.recording_id for p in proofs if not p.ok]
    if failed:
        event(log, logging.ERROR, "replica.readback_mismatch", recordings=failed)
        if app.settings.alerts.enabled:
            alerts_sweep(app)
    return {"read_back": len(proofs), "failed": len(failed)}


def leader_only(leadership: Leadership, step: Callable[[App], object]) -> Callable[[App], object]:
    """A unit-wide step, done by the leading process only (ingestd.leader): with many docks on
    one PostgreSQL, a sweep or a scheduled report happens once for the unit, not once a dock."""
    def run(app: App):
        if leadership.is_leader():
            return step(app)
        return None
    run.__name__ = getattr(step, "__name__", "step")
    return run


def build_scheduler(app: App, leadership: Leadership | None = None) -> BackgroundScheduler:
    """Jobs never overlap themselves and a missed run is done once, not many times over.
    What is this dock's own (its unreleased sessions, its store's fixity) runs on every dock;
    what is the unit's runs on the leader."""
    leadership = leadership or Leadership(app.db, app.settings.dock_name)
    scheduler = BackgroundScheduler(timezone=app.settings.tz,
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    scheduler.add_job(leader_only(leadership, compliance_sweep), "interval", args=[app], id="compliance-sweep",
                      minutes=app.settings.compliance.sweep_minutes)
    scheduler.add_job(settle_unreleased, "interval", args=[app], id="settle-unreleased", minutes=1)
    # This dock's own clock, at the start and every ten minutes after (ingestd.dock_clock).
    scheduler.add_job(dock_clock_check, "interval", args=[app], id="dock-clock", minutes=10,
                      next_run_time=datetime.now(app.settings.tz))
    scheduler.add_job(store_forecast, "interval", args=[app], id="store-forecast", minutes=60,
                      next_run_time=datetime.now(app.settings.tz))
    if app.settings.fixity.sample_every_minutes:
        scheduler.add_job(fixity_sample, "interval", args=[app], id="fixity-sample",
                          minutes=app.settings.fixity.sample_every_minutes)
    if app.settings.alerts.enabled:
        scheduler.add_job(leader_only(leadership, alerts_sweep), "interval", args=[app], id=ALERTS_JOB,
                          minutes=app.settings.alerts.sweep_minutes)
    if app.settings.replica.enabled:
        scheduler.add_job(leader_only(leadership, replica_sweep), "interval", args=[app], id="replica-sweep",
                          minutes=10)
        if app.settings.replica.readback_every_minutes:
            scheduler.add_job(leader_only(leadership, readback_sample), "interval", args=[app], id="replica-readback",
                              minutes=app.settings.replica.readback_every_minutes)
        if app.settings.store.evict_every_minutes:  # each dock its own disk
            scheduler.add_job(evict_pass, "interval", args=[app], id="evict",
                              minutes=app.settings.store.evict_every_minutes)
    for i, schedule in enumerate(app.settings.report.schedules):
        hour, minute = (int(p) for p in schedule.at.split(":"))
        trigger = {"daily": CronTrigger(hour=hour, minute=minute, timezone=app.settings.tz),
                   "weekly": CronTrigger(day_of_week="mon", hour=hour, minute=minute, timezone=app.settings.tz),
                   "monthly": CronTrigger(day=1, hour=hour, minute=minute, timezone=app.settings.tz)}[schedule.every]
        # A report written late is still wanted: a whole day of grace after a stop.
        scheduler.add_job(leader_only(leadership, lambda a, sch=schedule: write_scheduled(a, sch)), trigger,
                          args=[app], id=f"report-{i}",
                          misfire_grace_time=24 * 3600)
    return scheduler
