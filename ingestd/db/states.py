"""Every set of states and kinds a database column holds: one StrEnum per set, the one place
its values are written down. The models store them through `state(...)` (a VARCHAR that
accepts only the set's values, and reads back as the enum); on PostgreSQL a CHECK constraint
holds them too (migration 0018). A StrEnum member equals its string, so rows compare as
before; code that writes a state names the member."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Enum


class DockStatus(StrEnum):
    RUNNING = "running"
    RELEASED = "released"  # every file committed: the camera may go
    INTERRUPTED = "interrupted"  # the process gave the dock up (a crash, a stop, a fault)
    FINISHED = "finished"  # older releases' word for released
    REBUILT = "rebuilt"  # made again by `store rebuild-index` from the store's records


class DeviceSource(StrEnum):
    """How the dock knew which camera it was."""

    GIVEN = "given"  # --device
    USB = "usb"  # the device's USB serial
    FILE_NAMES = "file_names"
    FOLDER_NAME = "folder_name"


class ClockSource(StrEnum):
    CAMERA = "camera"  # the camera's own clock read at the dock
    NEWEST_FILE = "newest_file"
    NONE = "none"


class RecordingKind(StrEnum):
    VIDEO = "video"
    AUDIO = "audio"
    PHOTO = "photo"
    SIDECAR = "sidecar"


class TimeSource(StrEnum):
    FILENAME = "filename"
    CONTAINER = "container"
    MTIME = "mtime"
    NONE = "none"  # no time in the name, the container or the file: the recording's time is unknown


class ClockFlag(StrEnum):
    CLOCK_RESET = "clock_reset"
    BACKWARDS = "backwards"


class RecordingStatus(StrEnum):
    OK = "ok"
    DAMAGED = "damaged"  # kept byte for byte; an incident needing its 书面说明 (002 第16条)
    DELETED = "deleted"  # deleted under retention, with its record kept
    # The structural check itself failed (a bug or a crash of the checker, not of the file): the
    # recording is stored and checked again after the dock, and never called damaged for it.
    UNCHECKED = "unchecked"


class RecoveryStatus(StrEnum):
    """What recovering a damaged recording came to (recoveries.status)."""

    RECOVERED = "recovered"  # a playable derivative holds what the camera wrote
    WAITING_REFERENCE = "waiting_reference"  # no healthy recording of its camera yet: the next dock
    NOTHING_RECOVERABLE = "nothing_recoverable"  # the bytes hold no picture that can be shown
    FAILED = "failed"  # the recovery itself failed (time or memory limit): for someone to look at


class EvictionState(StrEnum):
    """Where an original that left the dock's disk stands (evictions.state); a recording with
    no eviction row lives on the disk."""

    LEAVING = "leaving"  # leaving the disk: its object is being moved out (a crash is settled)
    IN_BUCKET = "in_bucket"  # only the bucket holds it: played, exported and recalled from there
    RETURNING = "returning"  # being brought back to the disk (`ingestd store recall`)


class FileStatus(StrEnum):
    """What became of one file on the camera (source_files.outcome, FileOutcome.status)."""

    INGESTED = "ingested"
    DUPLICATE = "duplicate"
    DAMAGED = "damaged"
    SKIPPED = "skipped"
    FAILED = "failed"


class IncidentStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Assignment(StrEnum):
    """任务类型 of a roster row."""

    REGULAR = "regular"
    CONTINUOUS = "continuous"  # 连续执法
    OFFSITE = "offsite"  # 异地执法
    REMOTE = "remote"  # 偏远地区


class ShiftStatus(StrEnum):
    PENDING = "pending"
    MET = "met"
    LATE = "late"
    OVERDUE = "overdue"
    NO_RECORDING = "no_recording"
    UNDETERMINED = "undetermined"
    # Overdue, and its team head gave the reason (ShiftExcuse): still not uploaded, no longer escalated.
    EXCUSED = "excused"


class OfficerSource(StrEnum):
    ROSTER = "roster"
    DEVICE_OWNER = "device_owner"
    FILE_NAME = "file_name"
    NONE = "none"


class UploadStatus(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    UNDETERMINED = "undetermined"


class GapKind(StrEnum):
    BETWEEN_CLIPS = "between_clips"
    INSIDE_FILE = "inside_file"
    AT_DAMAGED_FILE = "at_damaged_file"
    AT_STORAGE_FULL = "at_storage_full"  # the camera's storage filled: recording stopped


class Explanation(StrEnum):
    VOICE = "voice"
    WRITTEN = "written"


class GapStatus(StrEnum):
    OPEN = "open"
    EXPLAINED = "explained"
    SUPERSEDED = "superseded"


class Role(StrEnum):
    OFFICER = "officer"  # 执法人员: own recordings and interruptions
    TEAM_HEAD = "team_head"  # 执法队负责人: the team's items, approvals for the team
    LEGAL = "legal"  # 法制科: unit-wide read, evidence, cases, exports
    ADMIN = "admin"  # 信息中心: devices, users, roster, settings
    AUDITOR = "auditor"  # 督察: read-only everywhere, the audit trail included


class Credential(StrEnum):
    PASSWORD = "password"  # the console's password, or the command line's --by
    PIN = "pin"  # badge + PIN at the dock's own screen


class CaseStatus(StrEnum):
    OPEN = "open"
    ENDED = "ended"  # the enforcement act ended (执法行为结束): the archive deadline runs


class Grant(StrEnum):
    """What an access request asks for (002 第19条)."""

    VIEW = "view"
    EXPORT = "export"
    # 对外提供: a copy leaving the unit, not for the case file (002 第17条 未经批准不得擅自对外提供,
    # 001 第26条): approved for everyone, the recording's own officer too
    PROVIDE = "provide"


class ExportPurpose(StrEnum):
    """Why a copy leaves the store (002 第17条, 001 第26条)."""

    CASE_FILE = "case_file"  # 入卷: for the case file
    PROVIDE = "provide"  # 对外提供: outside the unit, only with an approval


class RequestStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    DENIED = "denied"


class DeletionStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    REFUSED = "refused"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a sender; a dead sender's claim runs out
    SENT = "sent"
    FAILED = "failed"


def state(enum: type[StrEnum], length: int = 16) -> Enum:
    """A column of one of these sets: stored as its value in a VARCHAR(length), anything else
    refused on the way in, read back as the enum member."""
    return Enum(enum, native_enum=False, length=length, validate_strings=True, create_constraint=False,
                values_callable=lambda members: [m.value for m in members])


class UsbRefusalReason(StrEnum):
    """Why a USB volume plugged into a dock was not mounted."""

    NOT_A_CAMERA = "not_a_camera"  # no device profile knows it: a U盘, an SD card reader, a phone
    NOT_REGISTERED = "not_registered"  # a camera family the unit uses, but a serial no admin registered


# Each column that holds a state, for the migration's CHECK constraints and its test.
COLUMNS: dict[tuple[str, str], type[StrEnum]] = {
    ("dock_sessions", "status"): DockStatus,
    ("dock_sessions", "device_source"): DeviceSource,
    ("dock_sessions", "clock_source"): ClockSource,
    ("recordings", "kind"): RecordingKind,
    ("recordings", "time_source"): TimeSource,
    ("recordings", "clock_flag"): ClockFlag,
    ("recordings", "status"): RecordingStatus,
    ("source_files", "outcome"): FileStatus,
    ("incidents", "status"): IncidentStatus,
    ("shifts", "assignment"): Assignment,
    ("shifts", "status"): ShiftStatus,
    ("recording_compliance", "officer_source"): OfficerSource,
    ("recording_compliance", "upload_status"): UploadStatus,
    ("gaps", "kind"): GapKind,
    ("gaps", "explanation"): Explanation,
    ("gaps", "status"): GapStatus,
    ("users", "role"): Role,
    ("web_sessions", "kind"): Credential,
    ("cases", "status"): CaseStatus,
    ("access_requests", "action"): Grant,
    ("access_requests", "status"): RequestStatus,
    ("exports", "purpose"): ExportPurpose,
    ("deletions", "status"): DeletionStatus,
    ("alert_deliveries", "status"): DeliveryStatus,
    ("recoveries", "status"): RecoveryStatus,
    ("evictions", "state"): EvictionState,
    ("usb_refusals", "reason"): UsbRefusalReason,
}
