"""Prometheus text endpoint for a bureau's existing monitoring. Counts come from the
database at scrape time, so they are right across processes, restarts and several docks
sharing one database; the store's free space and the docks in flight come from here."""

from __future__ import annotations

import os
from typing import Callable, Iterator

from prometheus_client import start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from ingestd.app import App
from ingestd.db.models import Device, DockSession, Gap, Incident, Recording, SourceFile
from ingestd.forecast import recent_forecast


class IngestdCollector(Collector):
    def __init__(self, app: App, inflight: Callable[[], int]):
        self.app, self.inflight = app, inflight

    def collect(self) -> Iterator:
        with self.app.db.reading() as s:
            outcomes = dict(s.execute(select(SourceFile.outcome, func.count()).group_by(SourceFile.outcome)).all())
            ingested_bytes = s.execute(select(func.coalesce(func.sum(Recording.size), 0))).scalar()
            damaged = s.execute(select(func.count()).where(Recording.status == "damaged")).scalar()
            open_incidents = dict(s.execute(select(Incident.code, func.count()).where(Incident.status == "open")
                                            .group_by(Incident.code)).all())
            open_gaps = s.execute(select(func.count()).where(Gap.status == "open")).scalar()
            docks = s.execute(select(Device.serial, DockSession.status, DockSession.files_seen, DockSession.files_total)
                              .join(DockSession, DockSession.device_id == Device.id)
                              .where(DockSession.status == "running")).all()
        files = CounterMetricFamily("ingestd_files", "Files seen on cameras, by outcome", labels=["outcome"])
        for outcome in ("ingested", "duplicate", "damaged", "skipped", "failed"):
            files.add_metric([outcome], outcomes.get(outcome, 0))
        yield files
        yield CounterMetricFamily("ingestd_ingested_bytes", "Bytes of originals in the store", value=ingested_bytes)
        yield GaugeMetricFamily("ingestd_damaged_recordings", "Recordings stored damaged", value=damaged)
        incidents = GaugeMetricFamily("ingestd_open_incidents", "Open incidents by code", labels=["code"])
        for code, n in sorted(open_incidents.items()):
            incidents.add_metric([code], n)
        yield incidents
        yield GaugeMetricFamily("ingestd_open_gaps", "Interruptions awaiting an explanation", value=open_gaps)
        yield GaugeMetricFamily("ingestd_docks_in_flight", "Dock sessions this daemon is running",
                                value=self.inflight())
        progress = GaugeMetricFamily("ingestd_dock_files_seen", "Files handled so far by each running dock",
                                     labels=["device"])
        for serial, _status, seen, _total in docks:
            progress.add_metric([serial], seen)
        yield progress
        st = os.statvfs(self.app.data.store)
        yield GaugeMetricFamily("ingestd_store_free_bytes", "Free space on the store's file system",
                                value=st.f_bavail * st.f_frsize)
        f = recent_forecast(self.app)
        # NaN where there is no date to give (the window fits, or nothing was docked in 30 days).
        yield GaugeMetricFamily("ingestd_store_days_to_reserve", "Days until the store's disk reaches its reserve "
                                "at the last 30 days' intake", value=float("nan") if f.days_to_reserve is None
                                else f.days_to_reserve)
        yield GaugeMetricFamily("ingestd_store_intake_bytes_per_day", "Originals docked a day, last 30 days",
                                value=f.per_day_bytes)
        where = GaugeMetricFamily("ingestd_originals_bytes", "Bytes of this dock's originals by where they are",
                                  labels=["where"])
        where.add_metric(["disk"], f.local_bytes)
        where.add_metric(["bucket_only"], f.bucket_bytes)
        yield where


def serve(app: App, inflight: Callable[[], int]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(IngestdCollector(app, inflight))
    start_http_server(app.settings.metrics.port, addr=app.settings.metrics.host, registry=registry)
    return registry
