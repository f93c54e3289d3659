"""`ingestd doctor`: the dock looks at itself the way the 信息中心's admin would before
trusting it with a shift's evidence, and says what to do about each thing it finds.

It looks at the clock the deadlines stand on (time sync, steps while ingestd ran, the dock's
clock against the database server's or the cameras'), how many days the store's disk lasts
at the last 30 days' intake, the store and the database (reachable, pages whole, at this
version's schema), the udev and polkit rules a USB dock needs, the inbox, the replica when
one is configured, the dock screen when its package is installed, and who can read the
audit signing key. It changes nothing: `ingestd doctor`, /healthz and the dashboard show
the same findings, each with its stable code."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from ingestd.datadir import DataDir
from ingestd.errors import DatabaseDamagedError, IngestdError, ToolError, UserError
from ingestd.findings import Finding, Severity

if TYPE_CHECKING:
    from ingestd.app import App
    from ingestd.compliance.policy import Policy
    from ingestd.config import Settings

STEPS_WITHIN = timedelta(days=1)  # a clock step is worth a look for a day, then it is history


class CheckName(StrEnum):
    CLOCK = "clock"
    DISK = "disk"
    STORE = "store"
    DATABASE = "database"
    RULES = "rules"
    INBOX = "inbox"
    REPLICA = "replica"
    KIOSK = "kiosk"
    SIGNING_KEY = "signing_key"


class CheckState(StrEnum):
    OK = "ok"
    PROBLEM = "problem"
    SKIPPED = "skipped"  # not configured or not installed here, or what it needs is down


@dataclass(frozen=True)
class Check:
    name: CheckName
    state: CheckState
    said: str  # what was looked at and what it showed, one line
    findings: tuple[Finding, ...] = ()


@dataclass(frozen=True)
class SystemRule:
    file: str
    what: str
    what_zh: str
    places: tuple[str, ...]  # where an admin's copy and the package's copy go, in udev's/polkit's order


@dataclass(frozen=True)
class SystemPaths:
    """Where the package puts what a USB dock needs from the system; a test gives its own root."""

    root: Path = Path("/")
    rules: tuple[SystemRule, ...] = (
        SystemRule("70-ingestd-camera.rules", "udev rule that keeps desktop automounters off the cameras",
                   "防止桌面自动挂载记录仪的 udev 规则", ("etc/udev/rules.d", "usr/lib/udev/rules.d", "lib/udev/rules.d")),
        SystemRule("50-ingestd-udisks.rules", "polkit rule that lets ingestd mount cameras read-only",
                   "允许 ingestd 只读挂载记录仪的 polkit 规则", ("etc/polkit-1/rules.d", "usr/share/polkit-1/rules.d")),
    )
    kiosk_unit: str = "ingestd-kiosk.service"
    unit_places: tuple[str, ...] = ("etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system")

    def find(self, places: tuple[str, ...], name: str) -> Path | None:
        for place in places:
            path = self.root / place / name
            if path.exists():
                return path
        return None

    def unreadable(self, places: tuple[str, ...]) -> list[Path]:
        """Places this user cannot look into (polkit's rules folders are polkitd's alone)."""
        return [self.root / p for p in places if (self.root / p).is_dir() and not os.access(self.root / p, os.X_OK)]


@dataclass(frozen=True)
class Diagnosis:
    checks: tuple[Check, ...]
    findings: tuple[Finding, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(f for c in self.checks for f in c.findings))

    @property
    def ok(self) -> bool:
        return not any(f.kind.severity != Severity.INFO for f in self.findings)

    def as_dict(self, policy: Policy | None = None) -> dict:
        return {"ok": self.ok,
                "checks": [{"name": c.name.value, "state": c.state.value, "said": c.said,
                            "findings": [f.as_dict(policy) for f in c.findings]} for c in self.checks]}


def _ok(name: CheckName, said: str) -> Check:
    return Check(name, CheckState.OK, said)


def _problem(name: CheckName, said: str, *findings: Finding) -> Check:
    return Check(name, CheckState.PROBLEM, said, tuple(findings))


def _skipped(name: CheckName, said: str) -> Check:
    return Check(name, CheckState.SKIPPED, said)


def diagnose(settings: Settings, system: SystemPaths = SystemPaths(), app: App | None = None) -> Diagnosis:
    """Every check, in the order an admin would read them. `app`: an open one to use (the
    console's), else one is opened here when the database allows it and closed again."""
    data = DataDir(settings.data_dir)
    checks = [check_store(data), check_signing_key(data)]
    database, usable = check_database(settings)
    checks.append(database)
    opened = None
    if not usable:
        app = None  # what needs the database is skipped, and says so
    elif app is None:
        from ingestd.app import App

        app = opened = App.open(settings)
    try:
        checks += [check_clock(app), check_disk(app), check_replica(app)]
    finally:
        if opened is not None:
            opened.close()
    checks += [check_rules(settings, system), check_inbox(settings), check_kiosk(system)]
    return Diagnosis(tuple(checks))


def check_store(data: DataDir) -> Check:
    path = data.store
    if not (path / "0=ocfl_1.1").is_file():
        return _problem(CheckName.STORE, f"{path}: no OCFL storage root",
                        Finding("store_unusable", {
                            "path": str(path), "reason": "no OCFL storage root there; a new dock is set up with `ingestd init`",
                            "reason_zh": "没有 OCFL 存储根目录；新采集站用 `ingestd init` 设置"}))
    if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
        return _problem(CheckName.STORE, f"{path}: not writable",
                        Finding("store_unusable", {"path": str(path), "reason": "not writable by this user",
                                                   "reason_zh": "当前用户不可写"}))
    return _ok(CheckName.STORE, f"{path}: OCFL storage root, writable")


def check_signing_key(data: DataDir) -> Check:
    path = data.signing_key
    try:
        st, owner = path.stat(), data.root.stat().st_uid
    except OSError as exc:
        return _problem(CheckName.SIGNING_KEY, f"{path}: cannot be read",
                        Finding("signing_key_exposed", {"path": str(path), "reason": f"unreadable ({exc.strerror})",
                                                        "reason_zh": f"无法读取（{exc.strerror}）"}))
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        return _problem(CheckName.SIGNING_KEY, f"{path}: mode {mode:04o}",
                        Finding("signing_key_exposed", {"path": str(path), "reason": f"mode {mode:04o}, readable by others",
                                                        "reason_zh": f"权限为 {mode:04o}，其他用户可读"}))
    if st.st_uid != owner:
        return _problem(CheckName.SIGNING_KEY, f"{path}: owned by uid {st.st_uid}",
                        Finding("signing_key_exposed", {
                            "path": str(path), "reason": f"owned by uid {st.st_uid}, not the data directory's owner {owner}",
                            "reason_zh": f"属主为 uid {st.st_uid}，不是数据目录的属主 {owner}"}))
    return _ok(CheckName.SIGNING_KEY, f"{path}: mode {mode:04o}, the data directory's owner only")


def check_database(settings: Settings) -> tuple[Check, bool]:
    """The database's check, and whether the other checks can read it."""
    from ingestd.db import migrate
    from ingestd.db.engine import Database

    db = Database.open(settings.db_url, settings.source_of("database_url"))
    shown = db.shown_url
    try:
        try:
            db.check()
            db.quick_check()
        except DatabaseDamagedError as exc:
            return _problem(CheckName.DATABASE, f"{shown}: damaged",
                            Finding("database_damaged", {"database": shown, "reason": str(exc)})), False
        except IngestdError as exc:
            return _problem(CheckName.DATABASE, f"{shown}: unreachable",
                            Finding("database_unreachable", {"database": shown, "reason": str(exc)})), False
        schema, needs = migrate.current_revision(db), migrate.head_revision()
    finally:
        db.dispose()
    if schema != needs:
        return _problem(CheckName.DATABASE, f"{shown}: schema {schema or 'none'}",
                        Finding("schema_behind", {"database": shown, "schema": schema or "none", "needs": needs})), False
    pages = ", pages whole" if db.is_sqlite else ""
    return _ok(CheckName.DATABASE, f"{shown}: reachable{pages}, schema {schema}"), True


def check_clock(app: App | None) -> Check:
    from ingestd.timesync import read_time_sync

    sync = read_time_sync()
    findings: list[Finding] = []
    if not sync.known:
        findings.append(Finding("clock_sync_unknown", {"reason": sync.why_unknown}))
        said = "time sync unknown"
    elif not sync.synchronised:
        findings.append(Finding("clock_unsynchronised", {"ntp": "on" if sync.ntp_enabled else "off",
                                                         "ntp_zh": "已开启" if sync.ntp_enabled else "未开启"}))
        said = "not synchronised"
    else:
        said = "synchronised"
    if app is not None:
        from ingestd.dock_clock import off_finding, reading_of

        findings += recent_steps(app)
        reading = reading_of(app)
        off = off_finding(app, reading)
        if off is not None:
            findings.append(off)
        if reading is not None:
            said += f", {reading.offset_s:+.0f} s against the {reading.against}"
    return _problem(CheckName.CLOCK, said, *findings) if findings else _ok(CheckName.CLOCK, said)


def recent_steps(app: App) -> list[Finding]:
    """`clock_stepped` for each step the daemon recorded at this dock in the last day."""
    from sqlalchemy import select

    from ingestd.db.models import AuditEvent
    from ingestd.dock_clock import STEPPED_ACTION
    from ingestd.localtime import MINUTE, local_text

    since = app.clock.now() - STEPS_WITHIN
    with app.db.reading() as s:
        rows = s.execute(select(AuditEvent.at, AuditEvent.detail).where(
            AuditEvent.action == STEPPED_ACTION, AuditEvent.dock == app.settings.dock_name,
            AuditEvent.at >= since).order_by(AuditEvent.seq)).all()
    out = []
    for at, detail in rows:
        step_s = float(json.loads(detail or "{}").get("step_s", 0))
        step, step_zh = _step_texts(step_s)
        out.append(Finding("clock_stepped", {"dock": app.settings.dock_name, "step": step, "step_zh": step_zh,
                                             "step_s": step_s, "at": local_text(at, app.settings.tz, MINUTE)}))
    return out


def _step_texts(step_s: float) -> tuple[str, str]:
    """"3 d forward" / "拨快 3 天": a step is said by the way it went, not as fast or slow."""
    from ingestd.dock_clock import offset_texts

    en, zh = offset_texts(abs(step_s))  # "3 d fast", "快 3 天"
    amount_en, amount_zh = en.removesuffix(" fast"), zh.removeprefix("快 ")
    return (f"{amount_en} {'forward' if step_s > 0 else 'back'}", f"{'拨快' if step_s > 0 else '拨慢'} {amount_zh}")


def check_disk(app: App | None) -> Check:
    if app is None:
        return _skipped(CheckName.DISK, "needs the database")
    from ingestd.forecast import forecast

    f = forecast(app)
    free = f"{f.free_bytes / 1e9:.1f} GB free of {f.total_bytes / 1e9:.1f} GB"
    finding = f.finding(app.settings.store.warn_days)
    if finding is not None:
        return _problem(CheckName.DISK, f"{free}, full in {f.days_to_reserve:.0f} days", finding)
    lasts = ("steady: the window of originals fits" if f.steady else "no intake in 30 days"
             if f.days_to_reserve is None else f"{f.days_to_reserve:.0f} days at the last 30 days' intake")
    return _ok(CheckName.DISK, f"{free}, {lasts}")


def check_replica(app: App | None) -> Check:
    if app is None or not app.settings.replica.enabled:
        return _skipped(CheckName.REPLICA, "no replica configured" if app else "needs the database")
    from ingestd.replica.copy import bucket_problem

    bucket = app.settings.replica.bucket
    try:
        problem = bucket_problem(app)
    except UserError as exc:  # reachable, but it cannot keep evidence (no Object Lock)
        problem = str(exc)
    if problem:
        return _problem(CheckName.REPLICA, f"{bucket}: unreachable",
                        Finding("replica_unreachable", {"bucket": bucket, "reason": problem}))
    return _ok(CheckName.REPLICA, f"{bucket}: reachable, Object Lock on")


def check_rules(settings: Settings, system: SystemPaths) -> Check:
    if not settings.usb.enabled:
        return _skipped(CheckName.RULES, "USB docking is off")
    findings, unknown = [], []
    for rule in system.rules:
        try:
            found = system.find(rule.places, rule.file)
        except PermissionError:
            found = None
        if found is not None:
            continue
        if system.unreadable(rule.places):
            unknown.append(rule.file)  # not said missing: it may be in a place only root reads
            continue
        findings.append(Finding("system_rule_missing", {
            "path": str(system.root / rule.places[0] / rule.file), "what": rule.what, "what_zh": rule.what_zh,
            "state": "missing", "state_zh": "缺失"}))
    cannot = f"; {', '.join(unknown)} not readable by this user (run as root to check)" if unknown else ""
    if findings:
        return _problem(CheckName.RULES, f"{len(findings)} of {len(system.rules)} missing{cannot}", *findings)
    return _ok(CheckName.RULES, f"{len(system.rules) - len(unknown)} installed{cannot}")


def check_inbox(settings: Settings) -> Check:
    if not settings.daemon.inbox_enabled:
        return _skipped(CheckName.INBOX, "the inbox is off")
    findings = []
    inboxes = [Path(p) for p in settings.daemon.inbox] or [settings.data_dir / "inbox"]
    for inbox in inboxes:
        if not inbox.is_dir():
            findings.append(Finding("inbox_unusable", {"path": str(inbox), "reason": "does not exist",
                                                       "reason_zh": "不存在"}))
        elif not os.access(inbox, os.R_OK | os.W_OK | os.X_OK):
            findings.append(Finding("inbox_unusable", {"path": str(inbox), "reason": "is not writable by this user",
                                                       "reason_zh": "当前用户不可写"}))
    said = ", ".join(str(p) for p in inboxes)
    return _problem(CheckName.INBOX, said, *findings) if findings else _ok(CheckName.INBOX, f"{said}: writable")


def check_kiosk(system: SystemPaths) -> Check:
    if system.find(system.unit_places, system.kiosk_unit) is None:
        return _skipped(CheckName.KIOSK, f"{system.kiosk_unit} not installed")
    from ingestd.toolrun import run

    try:
        state = run(["systemctl", "show", "--property=ActiveState", "--value", system.kiosk_unit],
                    10.0).stdout.decode().strip() or "unknown"
    except ToolError as exc:
        state = f"unknown ({exc})"
    if state != "active":
        return _problem(CheckName.KIOSK, f"{system.kiosk_unit}: {state}",
                        Finding("kiosk_not_running", {"unit": system.kiosk_unit, "state": state}))
    return _ok(CheckName.KIOSK, f"{system.kiosk_unit}: active")
