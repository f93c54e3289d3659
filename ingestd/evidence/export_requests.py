"""Exports asked for in the console: a durable job (a restart finishes it, another dock's
process may take it) that writes the case file (BagIt bags and an ISO per volume) under the
data directory's exports folder, for the one who asked (or 法制科/信息中心/督察) to download.
The export itself is `export.export`, the same as `ingestd export`: every original's fixity
checked first, access checked for the one who asked (002 第19条), `export.written` audited.
"""

from __future__ import annotations

import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from ingestd.app import App
from ingestd.db.models import DockSession, Job, Recording
from ingestd.errors import UserError
from ingestd.evidence.access import Act, Person, acting_person, require
from ingestd.evidence.cases import case_recordings
from ingestd.evidence.disc import disc_capacity
from ingestd.evidence.export import export
from ingestd.jobs import queue
from ingestd.jobs.kinds import JobKind, JobStatus
from ingestd.lookup import find_recording


@dataclass(frozen=True)
class ExportState:
    token: str
    by: str
    case_no: str | None
    recordings: int
    status: JobStatus
    error: str | None
    volumes: list[dict]  # number, files, bytes, iso name and size, once written

    @property
    def finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)


def _require_here(app: App, session, ids: list[str]) -> None:
    """Docks sharing a database each keep their own store: an export is made from this one's."""
    rows = session.execute(select(Recording.id, Recording.object_id, DockSession.dock)
                           .join(DockSession, DockSession.id == Recording.dock_session_id)
                           .where(Recording.id.in_(ids))).all()
    away = [(rid, dock) for rid, object_id, dock in rows if not app.store.exists(object_id)]
    if away:
        named = ", ".join(f"{rid[:12]} (at {dock})" for rid, dock in away[:5]) + (" …" if len(away) > 5 else "")
        raise UserError(f"{len(away)} of these recordings are not in this dock's store: {named}; export them at "
                        f"that dock, or bring them here with `ingestd store restore --from-replica --recording ID`")


def ask_export(app: App, by: str, rec_ids: list[str], case_no: str | None, disc: str = "dvd") -> str:
    """Check now what can be checked at once (who asks, what, their access, the disc size), so
    that the person hears a refusal on the page rather than later from a failed job."""
    disc_capacity(disc)
    with app.changes.begin(by) as ch:
        person = acting_person(ch.session, by, "export recordings")
        ids = [find_recording(ch.session, r)[0].id for r in rec_ids]
        if case_no:
            ids += case_recordings(ch.session, case_no)
        ids = list(dict.fromkeys(ids))
        if not ids:
            raise UserError("nothing to export: give recordings, or a case that has some")
        require(ch.session, person, Act.EXPORT, ids, app.clock.now(), app.policy.cite("access"))
        _require_here(app, ch.session, ids)
        token = uuid.uuid4().hex
        # Written to this dock's exports folder and handed out by its console: done here.
        queue.enqueue(ch, [queue.JobSpec(JobKind.EXPORT, token, {"by": by, "recordings": ids, "case_no": case_no,
                                                                  "disc": disc, "dock": app.settings.dock_name})],
                      app.clock.now())
        ch.record("export.requested", "export_request", token, case_no=case_no, recordings=ids, disc=disc)
    return token


def export_job(app: App, job: queue.Claimed) -> queue.Done:
    out = app.data.exports / job.subject
    shutil.rmtree(out, ignore_errors=True)  # what an attempt killed half way left (never handed out)
    p = job.payload
    result = export(app, p["recordings"], out, p["by"], p.get("case_no"), iso=True, disc=p.get("disc", "dvd"),
                    for_download=True)
    volumes = [{"volume": v["volume"], "files": v["files"], "bytes": v["bytes"], "iso": Path(v["iso"]).name,
                "iso_bytes": v["iso_bytes"]} for v in result["volumes"]]
    return queue.Done(job.id, {"export": result["export"], "label": result["label"], "volumes": volumes})


def _state(job: Job) -> ExportState:
    p = job.payload or {}
    return ExportState(job.subject, p.get("by", ""), p.get("case_no"), len(p.get("recordings", [])),
                       JobStatus(job.status), job.error,
                       (job.output or {}).get("volumes", []) if job.status == JobStatus.DONE else [])


def export_state(app: App, token: str) -> ExportState | None:
    with app.db.reading() as s:
        job = s.execute(select(Job).where(Job.kind == JobKind.EXPORT.value, Job.subject == token)).scalar_one_or_none()
    return _state(job) if job is not None else None


def recent_exports(app: App, by: str | None, case_no: str | None = None, limit: int = 20) -> list[ExportState]:
    """The newest asked-for exports: one person's or everyone's (`by` None), of one case or all.
    Few enough (a person asks for them one at a time) to filter here rather than in JSON SQL."""
    with app.db.reading() as s:
        jobs = s.execute(select(Job).where(Job.kind == JobKind.EXPORT.value)
                         .order_by(Job.created_at.desc(), Job.id.desc()).limit(500)).scalars().all()
    states = [_state(j) for j in jobs]
    return [st for st in states if (by is None or st.by == by) and (case_no is None or st.case_no == case_no)][:limit]


def may_download(state: ExportState, person: Person) -> bool:
    """The one who asked, or (with the password) a unit-wide role (法制科, 信息中心, 督察)."""
    return state.by == person.badge or person.unit_wide


def download_path(app: App, state: ExportState, iso_name: str) -> Path:
    """The ISO of a finished export; the name must be one the export itself wrote (nothing the
    client sends is joined onto a folder). Who may have it is `may_download`'s to say."""
    names = {v["iso"] for v in state.volumes}
    if iso_name not in names:
        raise LookupError(iso_name)
    return app.data.exports / state.token / iso_name
