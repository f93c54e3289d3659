"""The database schema (SQLAlchemy 2.0). Alembic migrations in migrations/ create it;
tests check that the two agree."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from ingestd.db.states import (Assignment, CaseStatus, ClockFlag, ClockSource, Credential, DeletionStatus,
                               DeliveryStatus, DeviceSource, DockStatus, EvictionState, Explanation, ExportPurpose,
                               FileStatus, GapKind, GapStatus, Grant, IncidentStatus, OfficerSource, RecordingKind,
                               RecordingStatus, RecoveryStatus, RequestStatus, Role, ShiftStatus, TimeSource,
                               UploadStatus, UsbRefusalReason, state)
from ingestd.db.types import UTCDateTime

# Portable, predictable constraint names so that migrations work the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def storage_fill(total_bytes: int | None, free_bytes: int | None) -> float | None:
    """How full a camera's storage was at dock (0..1), when it was measured."""
    if not total_bytes or free_bytes is None:
        return None
    return 1 - free_bytes / total_bytes


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(128), unique=True)
    model: Mapped[str | None] = mapped_column(String(128))
    profile: Mapped[str | None] = mapped_column(String(64))
    owner_badge: Mapped[str | None] = mapped_column(String(64))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)


class DockSession(Base):
    __tablename__ = "dock_sessions"
    __table_args__ = (Index("ix_dock_sessions_device_started", "device_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dock: Mapped[str] = mapped_column(String(128))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    source_path: Mapped[str] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[DockStatus] = mapped_column(state(DockStatus))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # every file committed: the camera may go
    # 不得自行保管: recordings the camera still held that the store already had, and the oldest's time.
    camera_kept_files: Mapped[int | None] = mapped_column(Integer)
    camera_kept_oldest: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_source: Mapped[DeviceSource | None] = mapped_column(state(DeviceSource))
    files_seen: Mapped[int] = mapped_column(Integer, default=0)
    files_ingested: Mapped[int] = mapped_column(Integer, default=0)
    files_duplicate: Mapped[int] = mapped_column(Integer, default=0)
    files_damaged: Mapped[int] = mapped_column(Integer, default=0)
    files_skipped: Mapped[int] = mapped_column(Integer, default=0)
    files_failed: Mapped[int] = mapped_column(Integer, default=0)
    bytes_ingested: Mapped[int] = mapped_column(BigInteger, default=0)
    # The camera's clock against the host's synced clock, when it could be read or bounded.
    camera_clock_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # camera time read at dock
    host_clock_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # host time of that reading
    clock_offset_s: Mapped[float | None] = mapped_column(Float)  # camera minus host
    clock_source: Mapped[ClockSource | None] = mapped_column(state(ClockSource))
    port: Mapped[str | None] = mapped_column(String(255))  # the hub socket (udev ID_PATH)
    files_total: Mapped[int | None] = mapped_column(Integer)  # files found on the camera, for progress
    bytes_total: Mapped[int | None] = mapped_column(BigInteger)  # their bytes, for progress and time left
    bytes_seen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")  # of those, dealt with
    storage_total_bytes: Mapped[int | None] = mapped_column(BigInteger)  # the camera's storage at dock
    storage_free_bytes: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def storage_fill(self) -> float | None:
        return storage_fill(self.storage_total_bytes, self.storage_free_bytes)

    device: Mapped[Device | None] = relationship()


class Recording(Base):
    """One original, identified by the SHA-256 of its bytes: the same bytes are the same
    recording whichever dock, name or camera they come from."""

    __tablename__ = "recordings"
    __table_args__ = (Index("ix_recordings_device_start", "device_id", "start"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256, hex
    sm3: Mapped[str | None] = mapped_column(String(64))  # computed after the dock (an SM3 job)
    size: Mapped[int] = mapped_column(BigInteger)
    object_id: Mapped[str] = mapped_column(String(96), unique=True)
    content_name: Mapped[str] = mapped_column(Text)  # file name inside the OCFL object
    original_name: Mapped[str] = mapped_column(Text)
    source_path: Mapped[str] = mapped_column(Text)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    dock_session_id: Mapped[str] = mapped_column(ForeignKey("dock_sessions.id"))
    badge: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[RecordingKind] = mapped_column(state(RecordingKind), server_default=RecordingKind.VIDEO.value)
    important: Mapped[bool] = mapped_column(Boolean, default=False)
    start: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    time_source: Mapped[TimeSource] = mapped_column(state(TimeSource))
    # Camera times corrected by the dock session's clock offset; the raw values above are kept.
    start_corrected: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_corrected: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clock_flag: Mapped[ClockFlag | None] = mapped_column(state(ClockFlag))
    seq: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[RecordingStatus] = mapped_column(state(RecordingStatus))
    damage_reason: Mapped[str | None] = mapped_column(Text)
    name_conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    probe: Mapped[dict] = mapped_column(JSON)
    ingested_at: Mapped[datetime] = mapped_column(UTCDateTime)

    device: Mapped[Device | None] = relationship()


# When a recording was made (制作时间): the camera's time corrected where the timeline measured
# its clock, else the camera's own. The console lists, pages and filters recordings by it, as
# the report counts them, so each is read off an index in order (for all recordings, and for
# one camera's).
RECORDING_MADE = func.coalesce(Recording.start_corrected, Recording.start, type_=UTCDateTime)
Index("ix_recordings_made", RECORDING_MADE)
Index("ix_recordings_device_made", Recording.device_id, RECORDING_MADE)


class SourceFile(Base):
    """Every file seen on a camera and what became of it. This is what makes a re-dock
    resume: a file already taken from this device, path, size and mtime is not read again."""

    __tablename__ = "source_files"
    # By camera, never by path text: a path can outgrow what PostgreSQL indexes (migration 0023).
    __table_args__ = (Index("ix_source_files_delivered", "device_key", "recording_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    dock_session_id: Mapped[str] = mapped_column(ForeignKey("dock_sessions.id"), index=True)
    device_key: Mapped[str] = mapped_column(String(255))
    rel_path: Mapped[str] = mapped_column(Text)  # for people: undecodable bytes shown as \xNN
    rel_path_raw: Mapped[bytes | None] = mapped_column(LargeBinary)  # the name's bytes: what is compared
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime_ns: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[FileStatus] = mapped_column(state(FileStatus))
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), index=True)
    code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Recovery(Base):
    """What was recovered from a damaged recording (ingestd.media.recovered): a derivative
    beside the proxies, never the original, with how it was made (its 制作方法)."""

    __tablename__ = "recoveries"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"), primary_key=True)
    status: Mapped[RecoveryStatus] = mapped_column(state(RecoveryStatus, 24))
    reference_id: Mapped[str | None] = mapped_column(String(64))  # the healthy recording it followed
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the recovered file
    size: Mapped[int | None] = mapped_column(BigInteger)
    span_s: Mapped[float | None] = mapped_column(Float)  # how long the recovered recording runs
    facts: Mapped[dict | None] = mapped_column(JSON)  # frames, samples, bytes used and skipped, where it stopped
    reason: Mapped[str | None] = mapped_column(Text)  # why nothing was, or could not yet be, recovered
    made_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Incident(Base):
    """Something that needs a person: a damaged file must be reported and explained in
    writing (002 第16条)."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), index=True)
    dock_session_id: Mapped[str | None] = mapped_column(ForeignKey("dock_sessions.id"))
    detail: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict | None] = mapped_column(JSON)  # the finding's detail, to word it again in any language
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[IncidentStatus] = mapped_column(state(IncidentStatus))
    explanation: Mapped[str | None] = mapped_column(Text)
    explained_by: Mapped[str | None] = mapped_column(String(64))
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only, hash-chained, signed. `detail` is kept as the exact canonical JSON
    text that was hashed, so verification does not depend on a JSON round trip. Each node
    (dock) has a chain of its own (`node`, `node_seq`), so docks never wait on each other;
    `seq` orders the whole unit's trail and is what people cite."""

    __tablename__ = "audit_events"
    __table_args__ = (UniqueConstraint("node", "node_seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    node: Mapped[str] = mapped_column(String(128))
    node_seq: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    dock: Mapped[str] = mapped_column(String(128))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(128), index=True)
    detail: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class AuditNode(Base):
    """A dock that writes a chain of its own, with the public half of its Ed25519 key, so that
    anyone with the database can check every chain. One key is one node: a dock renamed with
    its old key is refused rather than starting a second chain."""

    __tablename__ = "audit_nodes"

    node: Mapped[str] = mapped_column(String(128), primary_key=True)
    # Empty only for the chain a single-chain database had before nodes: its dock fills it in
    # when it proves, with its key, that it signed that chain's head.
    public_key: Mapped[str | None] = mapped_column(Text, unique=True)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditHead(Base):
    """A node's last entry and hash, signed. Locking it first in every auditing transaction
    serialises the node's own writers (never another node's), and it lets verification
    notice entries cut off the end of a chain."""

    __tablename__ = "audit_heads"

    node: Mapped[str] = mapped_column(ForeignKey("audit_nodes.node"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))


class Officer(Base):
    __tablename__ = "officers"

    badge: Mapped[str] = mapped_column(String(32), primary_key=True)  # 警号
    name: Mapped[str] = mapped_column(String(64))  # 姓名
    cert_no: Mapped[str | None] = mapped_column(String(64))  # 执法证号
    team: Mapped[str | None] = mapped_column(String(64))  # 执法队
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RosterImport(Base):
    __tablename__ = "roster_imports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_name: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(String(64))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    teams: Mapped[list] = mapped_column(JSON)
    rows: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(64))


class TripRuling(Base):
    """A team head's ruling on an officer's trip (by a day of it): whether its recordings could
    have been stored in time, so that the return exception, which applies only where they
    确实 could not, does not. Kept apart from the shifts so a roster re-import keeps it."""

    __tablename__ = "trip_rulings"

    badge: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    could_store: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    ruled_by: Mapped[str] = mapped_column(String(64))
    ruled_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TripReturn(Base):
    """返回单位时间 of a trip the roster gave none, entered by the team head (by the trip's
    last day): the return exception's 24 h count from it. Kept apart from the shifts so a
    roster re-import keeps it, and it wins over the roster's, being what happened."""

    __tablename__ = "trip_returns"

    badge: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    entered_by: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ShiftExcuse(Base):
    """A team head's reason why a shift's camera was not docked by its deadline (ill, the
    camera in repair, …): the shift counts as excused rather than overdue, and the report
    lists it with the reason and who gave it. Kept by officer and day across re-imports."""

    __tablename__ = "shift_excuses"

    badge: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    excused_by: Mapped[str] = mapped_column(String(64))
    excused_at: Mapped[datetime] = mapped_column(UTCDateTime)


class UsbRefusal(Base):
    """A USB volume this dock did not mount (ingestd.camera_admission), one row per dock and
    device, counted each time it comes back."""

    __tablename__ = "usb_refusals"
    __table_args__ = (Index("ix_usb_refusals_dock_last", "dock", "last_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    dock: Mapped[str] = mapped_column(String(128))
    reason: Mapped[UsbRefusalReason] = mapped_column(state(UsbRefusalReason))
    serial: Mapped[str | None] = mapped_column(String(128))
    usb_id: Mapped[str | None] = mapped_column(String(9))
    label: Mapped[str | None] = mapped_column(String(64))
    profile: Mapped[str | None] = mapped_column(String(64))  # the camera family it was recognised as
    port: Mapped[str | None] = mapped_column(String(255))
    first_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime)
    times: Mapped[int] = mapped_column(Integer)


class Shift(Base):
    """One rostered shift (排班) and the expectation it creates: the camera assigned must
    dock with the shift's recordings before the upload deadline."""

    __tablename__ = "shifts"
    __table_args__ = (Index("ix_shifts_camera_start", "camera", "shift_start"),
                      Index("ix_shifts_badge_start", "badge", "shift_start"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("roster_imports.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    badge: Mapped[str] = mapped_column(ForeignKey("officers.badge"))
    team: Mapped[str | None] = mapped_column(String(64))
    shift_start: Mapped[datetime] = mapped_column(UTCDateTime)
    shift_end: Mapped[datetime] = mapped_column(UTCDateTime)
    assignment: Mapped[Assignment] = mapped_column(state(Assignment))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    camera: Mapped[str | None] = mapped_column(String(128))  # 执法记录仪编号 = device serial
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_rule: Mapped[str | None] = mapped_column(String(32))
    article: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[ShiftStatus] = mapped_column(state(ShiftStatus))
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RecordingCompliance(Base):
    """Derived: who a recording belongs to, its deadline and upload status. Recomputed
    whenever the roster, the recordings or the time change; never edited by hand."""

    __tablename__ = "recording_compliance"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"), primary_key=True)
    officer_badge: Mapped[str | None] = mapped_column(String(32), index=True)
    officer_source: Mapped[OfficerSource] = mapped_column(state(OfficerSource))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    shift_id: Mapped[int | None] = mapped_column(ForeignKey("shifts.id"))
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deadline_rule: Mapped[str | None] = mapped_column(String(32))
    article: Mapped[str | None] = mapped_column(String(32))
    upload_status: Mapped[UploadStatus] = mapped_column(state(UploadStatus), index=True)
    late_by_s: Mapped[float | None] = mapped_column(Float)
    off_duty: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str | None] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Copied from the recording so that the report reads one table: when it was made
    # (corrected camera time), how long, whether damaged, when it was uploaded.
    made_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duration_s: Mapped[float | None] = mapped_column(Float)
    damaged: Mapped[bool] = mapped_column(Boolean, default=False)
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    # Late values for medians come straight off the first index; off-duty items off the second;
    # one officer's recordings (the console's officer filter) off the last.
    __table_args__ = (Index("ix_recording_compliance_status_made", "upload_status", "made_at", "team",
                            "officer_badge", "late_by_s", "recording_id"),
                      Index("ix_recording_compliance_off_duty_made", "off_duty", "made_at"),
                      Index("ix_recording_compliance_made", "made_at"),
                      Index("ix_recording_compliance_officer_made", "officer_badge", "made_at"))


class ComplianceDaily(Base):
    """Derived rollup of recording_compliance per day made, day uploaded, team and officer
    (empty string: none known), rebuilt by recompute for the days it touches. The report
    sums these rows instead of scanning every recording of the year."""

    __tablename__ = "compliance_daily"

    made_day: Mapped[date] = mapped_column(Date, primary_key=True)
    upload_day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    team: Mapped[str] = mapped_column(String(64), primary_key=True)
    officer_badge: Mapped[str] = mapped_column(String(32), primary_key=True)
    recordings: Mapped[int] = mapped_column(Integer)
    seconds: Mapped[float] = mapped_column(Float)
    on_time: Mapped[int] = mapped_column(Integer)
    late: Mapped[int] = mapped_column(Integer)
    undetermined: Mapped[int] = mapped_column(Integer)
    off_duty: Mapped[int] = mapped_column(Integer)
    damaged: Mapped[int] = mapped_column(Integer)
    late_buckets: Mapped[list] = mapped_column(JSON)  # counts per report.LATE_BUCKETS
    late_max_s: Mapped[float | None] = mapped_column(Float)
    # Recordings not deleted with no 证明对象 entered (000 第31条); None: a row from before it
    # was counted, until the next recompute of its day.
    no_proves: Mapped[int | None] = mapped_column(Integer)


class Gap(Base):
    """A pause in recording inside one activity: open until it has a reason and a voice
    or written explanation (002 第14条, 003 第20条, 004 第15条). `key` identifies the same
    gap across re-evaluations, so a re-dock never duplicates or loses an explained gap."""

    __tablename__ = "gaps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"), index=True)
    before_recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"), index=True)
    after_recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"))
    start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    seconds: Mapped[float] = mapped_column(Float)
    kind: Mapped[GapKind] = mapped_column(state(GapKind, 24))
    suggested_reason: Mapped[str | None] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(24))
    explanation: Mapped[Explanation | None] = mapped_column(state(Explanation, 8))
    voice_at_s: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    explained_by: Mapped[str | None] = mapped_column(String(64))
    explained_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[GapStatus] = mapped_column(state(GapStatus), index=True)
    voice_hint: Mapped[dict | None] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Job(Base):
    """Durable after-dock work and derivatives (ingestd.jobs): enqueued in the transaction
    that makes it necessary, claimed with a lease, retried with backoff, idempotent. `key`
    (kind:subject) makes a job unique: asking again for one that is still to do changes
    nothing; asking while it runs marks it to run once more (`rerun`)."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_priority", "status", "priority", "created_at"),
                      Index("ix_jobs_group_stage", "group_key", "stage"),
                      Index("ix_jobs_kind_subject", "kind", "subject"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(24))  # ingestd.jobs.kinds.JobKind
    subject: Mapped[str] = mapped_column(String(128))  # a recording id, a dock session id, a scope
    payload: Mapped[dict | None] = mapped_column(JSON)
    group_key: Mapped[str | None] = mapped_column(String(64))  # the dock session whose order it keeps
    stage: Mapped[int] = mapped_column(Integer, default=0)
    priority: Mapped[int] = mapped_column(Integer)  # lower first
    status: Mapped[str] = mapped_column(String(16))  # ingestd.jobs.kinds.JobStatus
    attempts: Mapped[int] = mapped_column(Integer)
    max_attempts: Mapped[int] = mapped_column(Integer)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)  # backoff after a failure
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str | None] = mapped_column(String(128))  # host:pid:start of the holder
    rerun: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    output: Mapped[dict | None] = mapped_column(JSON)
    partial: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RulesInForce(Base):
    """The fingerprint of the policy profile and working-day calendar the figures were last
    computed under: when either changes, every deadline is computed again."""

    __tablename__ = "rules_in_force"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)  # "deadlines"
    fingerprint: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON)
    noted_at: Mapped[datetime] = mapped_column(UTCDateTime)


class User(Base):
    """A person who acts on the store: officers, team heads (队长), the 法制科 reviewers and
    the unit's admins. Roles decide who may approve access, deletions and legal holds."""

    __tablename__ = "users"

    badge: Mapped[str] = mapped_column(String(32), primary_key=True)  # 警号 or a user name
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(state(Role))
    team: Mapped[str | None] = mapped_column(String(64), index=True)
    email: Mapped[str | None] = mapped_column(String(255))
    mobile: Mapped[str | None] = mapped_column(String(32))  # for @-mentions in DingTalk robots
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The web console: Argon2id hashes only. A temporary password must be changed at the first
    # log-in; the PIN signs an officer in on the dock's own screen.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    password_temporary: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    pin_hash: Mapped[str | None] = mapped_column(String(255))


class WebSession(Base):
    """A log-in: the cookie holds a random token, the database only its SHA-256, so a copy of
    the database signs nobody in. Revoked by log-out, a password change or disabling the user."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    badge: Mapped[str] = mapped_column(ForeignKey("users.badge"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)  # the absolute limit
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    address: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[Credential] = mapped_column(state(Credential), default=Credential.PASSWORD)


class LoginAttempt(Base):
    """Every log-in tried, for throttling per account and per address across processes."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_badge_at", "badge", "at"),
                      Index("ix_login_attempts_address_at", "address", "at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    badge: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    ok: Mapped[bool] = mapped_column(Boolean)


class FileViewing(Base):
    """When a session's viewing of one kind of a recording's files (proxy, HLS, poster, contact
    sheet) was last audited: a player's many Range requests are one audit entry per viewing."""

    __tablename__ = "file_viewings"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    recording_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    audited_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Case(Base):
    """An enforcement case (案件). Its end date starts the archive deadline (归档期限)."""

    __tablename__ = "cases"

    case_no: Mapped[str] = mapped_column(String(64), primary_key=True)  # 案号
    title: Mapped[str | None] = mapped_column(Text)
    team: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[CaseStatus] = mapped_column(state(CaseStatus))
    ended_on: Mapped[date | None] = mapped_column(Date)  # the enforcement act ended (执法行为结束)
    opened_by: Mapped[str] = mapped_column(String(64))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    archived_on: Mapped[date | None] = mapped_column(Date)  # 归档: retention counts from it
    archived_by: Mapped[str | None] = mapped_column(String(64))
    # 以书面文字形式载明其存储位置 (000 第32条, 004 第29条): where the case file says its recordings are
    storage_location: Mapped[str | None] = mapped_column(Text)


class Evidence(Base):
    """The evidence metadata of one recording (附记): 制作方法 (method), 制作时间 (made_at),
    制作人 (maker) are derived at ingest from the device, the corrected timeline and the
    roster; 证明对象 (proves), the case and a long-term category are entered by a person,
    and each such entry is also written into the OCFL object as a new version."""

    __tablename__ = "evidence"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"), primary_key=True)
    method: Mapped[str] = mapped_column(Text)
    made_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    made_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    maker: Mapped[str | None] = mapped_column(Text)
    maker_badge: Mapped[str | None] = mapped_column(String(32))
    proves: Mapped[str | None] = mapped_column(Text)
    case_no: Mapped[str | None] = mapped_column(ForeignKey("cases.case_no"), index=True)
    long_term: Mapped[str | None] = mapped_column(String(64))  # 长期保存 category (001 第17条)
    entered_by: Mapped[str | None] = mapped_column(String(64))
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    object_version: Mapped[str | None] = mapped_column(String(16))  # OCFL version holding evidence.json
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    content_note: Mapped[str | None] = mapped_column(Text)  # 录音内容 for the 文字说明 (000 第32条, 004 第29条)


class LegalHold(Base):
    """While a hold is in force nothing it covers is deleted, whatever retention says."""

    __tablename__ = "legal_holds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str | None] = mapped_column(ForeignKey("recordings.id"), index=True)
    case_no: Mapped[str | None] = mapped_column(ForeignKey("cases.case_no"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessRequest(Base):
    """调阅 beyond one's own team needs a head's approval (002 第19条); an approval is
    time-limited."""

    __tablename__ = "access_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    requester: Mapped[str] = mapped_column(String(32), index=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"), index=True)
    action: Mapped[Grant] = mapped_column(state(Grant))
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[RequestStatus] = mapped_column(state(RequestStatus))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Export(Base):
    """One export (BagIt bag, optionally disc images): who, what, where."""

    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_no: Mapped[str | None] = mapped_column(ForeignKey("cases.case_no"), index=True)
    recording_ids: Mapped[list] = mapped_column(JSON)
    out_dir: Mapped[str] = mapped_column(Text)
    volumes: Mapped[list] = mapped_column(JSON)  # [{"bag": ..., "iso": ..., "files": n, "bytes": n}]
    purpose: Mapped[ExportPurpose | None] = mapped_column(state(ExportPurpose))  # None: from before, the case file
    by: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ExportItem(Base):
    """One recording in one export: whether it went onto a disc image, and the 证明对象 its
    文字说明 stated then. A disc counts for 刻盘入卷 only while that is the 证明对象 now."""

    __tablename__ = "export_items"
    __table_args__ = (Index("ix_export_items_recording", "recording_id", "disc"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    export_id: Mapped[int] = mapped_column(ForeignKey("exports.id"), index=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"))
    disc: Mapped[bool] = mapped_column(Boolean)
    proves: Mapped[str | None] = mapped_column(Text)


class Deletion(Base):
    """A retention deletion: requested, then approved by an admin, then carried out as a
    new OCFL version that records it. The recording's row stays, marked deleted."""

    __tablename__ = "deletions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(32))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[DeletionStatus] = mapped_column(state(DeletionStatus))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    object_version: Mapped[str | None] = mapped_column(String(16))


class Alert(Base):
    """One event that people must hear about, identified by `key` so that it is raised once,
    however often a sweep sees it and across restarts."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    code: Mapped[str] = mapped_column(String(40))  # a findings-catalogue code
    severity: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(128))
    message: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict] = mapped_column(JSON)
    recipients: Mapped[list] = mapped_column(JSON)  # badges the alert is addressed to
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AlertDelivery(Base):
    """One alert on one channel: retried with backoff until sent or out of attempts."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (UniqueConstraint("alert_id", "channel"),
                      Index("ix_alert_deliveries_status_next", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id"))
    channel: Mapped[str] = mapped_column(String(64))  # the channel's configured name
    status: Mapped[DeliveryStatus] = mapped_column(state(DeliveryStatus))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Replica(Base):
    """The recording's OCFL object as last copied to the replica bucket and read back whole
    (ingestd.replica): which version, how much, and until when Object Lock keeps it."""

    __tablename__ = "replicas"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", name="fk_replicas_recording"),
                                              primary_key=True)
    head: Mapped[str] = mapped_column(String(16))  # the object's head version in the bucket, e.g. v3
    files: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    replicated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Last read back in full (every file's bytes, SHA-256) and matched, and at which version:
    # an original leaves the disk only on a recent proof (ingestd.replica.readback).
    proven_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    proven_head: Mapped[str | None] = mapped_column(String(16))


class Eviction(Base):
    """An original that left the dock's disk for the bucket alone (ingestd.replica.evict):
    what left (its head version, files, bytes), from which dock, and when."""

    __tablename__ = "evictions"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", name="fk_evictions_recording"),
                                              primary_key=True)
    state: Mapped[EvictionState] = mapped_column(state(EvictionState, 16), index=True)
    head: Mapped[str] = mapped_column(String(16))
    files: Mapped[int] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(BigInteger)
    dock: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class ReplicaVersion(Base):
    """The version of one key in the bucket that the dock wrote, locked and read back whole
    (the bucket keeps versions: a newer one over it is not the dock's)."""

    __tablename__ = "replica_versions"

    recording_id: Mapped[str] = mapped_column(ForeignKey("recordings.id", name="fk_replica_versions_recording"),
                                              primary_key=True)
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    version_id: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
