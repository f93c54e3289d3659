"""Scheduled jobs that `ingestd run` hosts (APScheduler 3): the compliance sweep that turns
`pending` shifts `overdue` as their deadlines pass. Each job does one step over the App
it is given, so tests run it with an injected clock instead of waiting."""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from ingestd.app import App
from ingestd.compliance.recompute import recompute_recent
from ingestd.logs import event

log = logging.getLogger("ingestd.jobs")


def compliance_sweep(app: App) -> dict:
    result = recompute_recent(app).as_dict()
    event(log, logging.INFO, "compliance.sweep", shifts=result["shifts"], **{
        f"shifts_{k}": v for k, v in result["shift_status"].items()})
    return result


def build_scheduler(app: App) -> BackgroundScheduler:
    """Jobs never overlap themselves and a missed run is done once, not many times over."""
    scheduler = BackgroundScheduler(timezone=app.settings.tz,
                                    job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300})
    scheduler.add_job(compliance_sweep, "interval", args=[app], id="compliance-sweep",
                      minutes=app.settings.compliance.sweep_minutes)
    return scheduler
