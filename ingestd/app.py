"""Wiring: the long-lived parts every command and the daemon share, built from Settings."""

from __future__ import annotations

import os

from dataclasses import dataclass, field
from pathlib import Path

from ingestd.changes import Changes
from ingestd.clock import Clock, SystemClock
from ingestd.compliance.calendar import WorkCalendar
from ingestd.compliance.policy import Policy, get_policy, load_policies
from ingestd.config import DEFAULT_CONFIG_TEXT, CONFIG_NAME, Settings
from ingestd.datadir import DataDir
from ingestd.db import migrate
from ingestd.db.engine import Database, again_when_transient
from ingestd.device_profiles import DeviceProfile, load_profiles
from ingestd.errors import UserError
from ingestd.db.models import DockSession, Incident
from ingestd.findings import Finding
from ingestd.ingest.staging import Marker, StagingArea
from ingestd.jobs.queue import release_group
from ingestd.ingest.store import OcflStore
from ingestd.signing import Signer, Verifier, create_keypair


@dataclass
class App:
    settings: Settings
    data: DataDir
    db: Database
    store: OcflStore
    clock: Clock
    _staging: StagingArea
    _changes: Changes | None = None
    # Dock sessions this process could not mark (the database's disk was full), with their markers.
    unreleased: dict[str, Marker] = field(default_factory=dict)
    _profiles: dict[str, DeviceProfile] | None = None
    _policies: dict[str, Policy] | None = None
    _calendar: WorkCalendar | None = None
    # This process's clients of outside services, made on first use and kept as long as the app
    # (the replica's bucket): never shared with another App, whatever its id.
    clients: dict[str, object] = field(default_factory=dict)

    @classmethod
    def open(cls, settings: Settings, clock: Clock | None = None, *, require_init: bool = True) -> "App":
        data = DataDir(settings.data_dir)
        if require_init:
            data.require_initialised()
        staging = StagingArea(data.staging)
        db = Database.open(settings.db_url, settings.source_of("database_url"))
        db.check(settings.database_wait_s)
        if require_init:
            # Asked again if the server drops the connection just after the check (a restart, a cut).
            current = again_when_transient(lambda: migrate.current_revision(db), settings.database_wait_s,
                                           "db.revision")
            head = migrate.head_revision()
            if current != head:
                db.dispose()
                raise UserError(f"the database schema is at {current or 'none'} and this ingestd needs {head}: "
                                f"run `ingestd db upgrade`")
        app = cls(settings, data, db, OcflStore(data.store, staging), clock or SystemClock(), staging)
        app.store = OcflStore(data.store, app.open_staging)
        return app

    def open_staging(self) -> StagingArea:
        """This process's staging, opened by its first writer (a dock, the store adding a version,
        the job worker, the daemon at start). Opening sweeps what dead processes left: half-made
        store paths are pruned, half-added versions finished, and their dock sessions marked
        interrupted (their verified files are already committed). Once open it is returned as is."""
        if not self._staging.is_open:
            self._staging.open()
            for dead in self._staging.claim_stale():
                markers = self._staging.markers_in(dead)
                for marker in markers:
                    self.store.repair(marker)
                full = {m.value for m in markers if m.kind == "nospace"}
                docks = [m.value for m in markers if m.kind == "dock"]
                self._mark_interrupted([s for s in docks if s not in full])
                self._mark_interrupted([s for s in docks if s in full], disk_full=True)
                self._staging.remove(dead)  # only once every step it recorded is settled
        return self._staging

    def settle_unreleased(self) -> int:
        """Mark interrupted the dock sessions a full disk kept this process from marking, with a
        `disk_full` incident each (an alert follows), once the database takes writes again."""
        settled = 0
        for sid, marker in list(self.unreleased.items()):
            self._mark_interrupted([sid], disk_full=True)  # raises NoSpaceError while still full
            self.open_staging().done(marker)
            del self.unreleased[sid]
            settled += 1
        return settled

    def _mark_interrupted(self, session_ids: list[str], disk_full: bool = False) -> None:
        """A dead process's dock sessions: what they committed stays, and the jobs that
        follow a dock (timeline, compliance, 制作人), held until release, may run now."""
        if not session_ids:
            return
        with self.changes.begin("ingestd") as ch:
            for sid in session_ids:
                row = ch.session.get(DockSession, sid)
                if row is not None and row.status == "running":
                    row.status, row.finished_at = "interrupted", self.clock.now()
                    ch.record("dock.interrupted", "dock_session", sid,
                              reason="the database's disk was full" if disk_full else "its process died")
                    if disk_full:
                        finding = Finding("disk_full", {"where": self.db.where, "session": sid})
                        incident = Incident(code=finding.code, dock_session_id=sid, detail=finding.message,
                                            facts=finding.detail, opened_at=self.clock.now(), status="open")
                        ch.session.add(incident)
                        ch.session.flush()
                        ch.record("incident.opened", "incident", str(incident.id), code=finding.code, session=sid)
                release_group(ch, sid, self.clock.now())

    @property
    def changes(self) -> Changes:
        if self._changes is None:
            self._changes = Changes(self.db, Signer.load(self.data.signing_key), self.settings.dock_name, self.clock)
        return self._changes

    def verifier(self) -> Verifier:
        return Verifier.load(self.data.verify_key)

    @property
    def profiles(self) -> dict[str, DeviceProfile]:
        if self._profiles is None:
            self._profiles = load_profiles(self.settings.profiles_dir)
        return self._profiles

    def profile(self, name: str | None) -> DeviceProfile:
        name = name or self.settings.ingest.default_profile
        try:
            return self.profiles[name]
        except KeyError:
            known = ", ".join(sorted(self.profiles))
            raise UserError(f"unknown device profile {name!r} (known: {known})") from None

    @property
    def policies(self) -> dict[str, Policy]:
        if self._policies is None:
            self._policies = load_policies(self.settings.policies_dir)
        return self._policies

    @property
    def policy(self) -> Policy:
        return get_policy(self.policies, self.settings.policy)

    def check_rules(self) -> Policy:
        """Load the policy in force and the working-day calendar now, so that a broken file is
        refused before anything is copied or written rather than half way."""
        self.calendar
        return self.policy

    @property
    def calendar(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = WorkCalendar.load(self.settings.calendar_path)
        return self._calendar

    def reload(self) -> None:
        """Read device profiles, policies and the calendar again (SIGHUP). All or nothing:
        on a bad file this raises and the ones in force stay in force."""
        profiles = load_profiles(self.settings.profiles_dir)
        policies = load_policies(self.settings.policies_dir)
        get_policy(policies, self.settings.policy)
        calendar = WorkCalendar.load(self.settings.calendar_path)
        self._profiles, self._policies, self._calendar = profiles, policies, calendar

    def close(self) -> None:
        self._staging.close()
        self.db.dispose()


def initialise(settings: Settings, first_admin: bool = True) -> dict:
    """`ingestd init`: data dir, store, signing key, database at head, default config.
    Safe to run again: it never replaces a key, a store or a config that exists.
    `first_admin`: make `admin` with a one-time password to print (a headless install);
    without it the installer sets the first administrator on the dock's own screen."""
    data = DataDir(settings.data_dir)
    data.root.mkdir(parents=True, exist_ok=True)
    data.staging.mkdir(exist_ok=True)
    if settings.daemon.inbox_enabled and not settings.daemon.inbox:
        (data.root / "inbox").mkdir(exist_ok=True)  # the daemon would make it; `doctor` looks for it before
    OcflStore(data.store, StagingArea(data.staging)).initialise()
    create_keypair(data.signing_key, data.verify_key)
    # The config in force: the package's /etc/ingestd/ingestd.toml (INGESTD_CONFIG, a conffile
    # the package ships), else the data directory's, written once with every setting commented.
    config_file = Path(os.environ["INGESTD_CONFIG"]) if os.environ.get("INGESTD_CONFIG") else data.root / CONFIG_NAME
    wrote_config = False
    if not config_file.exists():
        config_file.write_text(DEFAULT_CONFIG_TEXT, encoding="utf-8")
        wrote_config = True
    db = Database.open(settings.db_url, settings.source_of("database_url"))
    try:
        db.check()
        backup = migrate.upgrade(db, data.backups)
        revision = migrate.current_revision(db)
    finally:
        db.dispose()
    from ingestd.users import FIRST_ADMIN, ensure_first_admin

    app = App.open(settings)
    try:
        app.changes.register()  # a second dock with this one's name or key is refused here, at once
        first_password = ensure_first_admin(app) if first_admin else None
    finally:
        app.close()
    return {"data_dir": str(Path(data.root).resolve()), "store": str(data.store.resolve()),
            "database": settings.db_url, "schema": revision, "backup": backup,
            "config": str(config_file.resolve()), "config_written": wrote_config,
            "first_admin": {"badge": FIRST_ADMIN, "password": first_password, "temporary": True}
            if first_password else None}
