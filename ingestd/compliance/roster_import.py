"""Write a checked roster: officers upserted, the file's period replaced for its teams, and
a recompute of compliance and 制作人 over the period asked for, in one audited transaction."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from ingestd.app import App
from ingestd.compliance.roster import Roster
from ingestd.db.models import Officer, RecordingCompliance, RosterImport, Shift
from ingestd.jobs.queue import enqueue, recompute_spec

OPEN_TRIP_DAYS = 45  # how far past the period a trip with no return yet is looked at


def write_roster(app: App, roster: Roster, actor: str) -> dict:
    """The roster's officers and shifts in one transaction, replacing the period's shifts of its
    teams, with the recompute they make necessary asked for (`recompute_group` in the result)."""
    start, end = roster.period
    teams = roster.teams
    now = app.clock.now()
    with app.changes.begin(actor) as ch:
        s = ch.session
        for row in {r.badge: r for r in roster.rows}.values():
            officer = s.get(Officer, row.badge)
            if officer is None:
                s.add(Officer(badge=row.badge, name=row.name, cert_no=row.cert_no, team=row.team, updated_at=now))
            else:
                officer.name, officer.updated_at = row.name, now
                officer.cert_no = row.cert_no or officer.cert_no
                officer.team = row.team or officer.team
        s.flush()
        team_match = [Shift.team.in_([t for t in teams if t is not None])]
        if None in teams:
            team_match.append(Shift.team.is_(None))
        replaced_ids = s.execute(select(Shift.id).where(Shift.day.between(start, end), or_(*team_match))).scalars().all()
        if replaced_ids:
            s.execute(update(RecordingCompliance).where(RecordingCompliance.shift_id.in_(replaced_ids))
                      .values(shift_id=None))
            s.execute(delete(Shift).where(Shift.id.in_(replaced_ids)))
        record = RosterImport(file_name=roster.file_name, sha256=roster.sha256, period_start=start, period_end=end,
                              teams=[t for t in teams], rows=len(roster.rows), imported_at=now, imported_by=actor)
        s.add(record)
        s.flush()
        s.add_all(Shift(import_id=record.id, day=r.day, badge=r.badge, team=r.team, shift_start=r.start,
                        shift_end=r.end, assignment=r.assignment, returned_at=r.returned_at, camera=r.camera,
                        status="pending") for r in roster.rows)
        ch.record("roster.imported", "roster_import", str(record.id), file=roster.file_name, sha256=roster.sha256,
                  period=[start.isoformat(), end.isoformat()], teams=teams, shifts=len(roster.rows),
                  replaced=len(replaced_ids))
        import_id = record.id
        # Deadlines reach past the period's end (working days, returns), recordings made the
        # day before the period may now fall in an overnight shift, and a trip's recordings
        # (连续工作/异地执法/偏远地区) run to its return — or, with none entered yet, onwards.
        trips = [r for r in roster.rows if r.assignment in app.policy.upload.exception.assignments]
        last = max([end] + [r.returned_at.astimezone(app.settings.tz).date() for r in trips if r.returned_at])
        if any(r.returned_at is None for r in trips):
            last = max(last, end + timedelta(days=OPEN_TRIP_DAYS))
        # A trip rostered one row a day may have begun in an earlier file: its return, entered
        # here, moves the deadlines of those rows too.
        first_rows = {r.badge: r for r in sorted(roster.rows, key=lambda r: r.start, reverse=True)}.values()
        first = start - timedelta(days=OPEN_TRIP_DAYS if any(r in trips for r in first_rows) else 0)
        spec = recompute_spec({"from": (first - timedelta(days=1)).isoformat(),
                               "to": (last + timedelta(days=1)).isoformat()})
        enqueue(ch, [spec], now)
    return {"import": import_id, "file": roster.file_name, "period": [start.isoformat(), end.isoformat()],
            "teams": teams, "shifts": len(roster.rows), "replaced": len(replaced_ids), "recompute_group": spec.group}
