"""One exception hierarchy for the whole project.

`UserError` is for bad input a person can fix: the CLI prints its one-line message and
exits 2. Everything else derives from `IngestdError` and is an internal failure that
must never be swallowed.
"""

from __future__ import annotations


class IngestdError(Exception):
    """Base of every error ingestd raises on purpose."""


class UserError(IngestdError):
    """Bad input: a path that does not exist, an unknown profile, a malformed file.

    The message is one line naming the problem and the thing, shown without traceback.
    """


class Refused(UserError):
    """A request the rules refuse, worded by a finding of the catalogue (ingestd.findings): the
    command line prints its English line, the console its message in the console's language,
    and a form shown again keeps what the person chose."""

    def __init__(self, finding: object):
        super().__init__(finding.message)  # type: ignore[attr-defined]
        self.finding = finding


class NotInitialisedError(UserError):
    """The data directory has not been set up with `ingestd init`."""


class FileProblemsError(Refused):
    """A file a person gave (a roster) has problems row by row: the finding names the first
    and counts the rest; `problems` lists each (findings too), for a page that shows them all
    in its language."""

    def __init__(self, finding: object, problems: list):
        super().__init__(finding)
        self.problems = problems


class AccessDenied(UserError):
    """A person may not do an act to a recording or a case (ingestd.evidence.access.may): the
    one line names the person, the act and the thing; `person` and `decision` say it to a face
    that words it in its own language and keeps the refusal in the audit log."""

    def __init__(self, message: str, person: object, decision: object):
        super().__init__(message)
        self.person, self.decision = person, decision


class ConfigError(UserError):
    """The configuration file or an environment override is invalid."""


class StoreError(IngestdError):
    """The originals store is in a state it must never be in (internal)."""


class ObjectExistsError(StoreError):
    """An object with this id is already in the store (another dock got there first)."""


class SourceReadError(IngestdError):
    """Reading a file off the camera failed (unplugged, I/O error, vanished)."""


class VerifyMismatchError(IngestdError):
    """The staged copy, re-read from disk, does not have the digest the source had."""


class NeedsPersonError(IngestdError):
    """A job that would fail the same way however often it ran: failed for good at once, for
    someone to look at and retry (`ingestd jobs retry`), rather than retried after back-offs."""


class CheckFailedError(NeedsPersonError):
    """The structural check of a stored file failed again (the checker's failure, not the file's)."""


class ToolError(IngestdError):
    """An external tool (ffmpeg, ffprobe, mediainfo) failed; carries its stderr tail."""

    def __init__(self, tool: str, message: str, stderr_tail: str = "", returncode: int | None = None):
        super().__init__(f"{tool}: {message}" + (f": {stderr_tail}" if stderr_tail else ""))
        self.tool = tool
        self.stderr_tail = stderr_tail
        self.returncode = returncode


class ToolTimeoutError(ToolError):
    """An external tool ran past its time limit and was killed."""


class ReplicaError(IngestdError):
    """The replica bucket refused or could not be reached; `code` is the server's error code."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class DatabaseDamagedError(IngestdError):
    """The SQLite database file is not a database or its pages are damaged: said in one line
    (exit 3) with the way back, never as a traceback from the middle of a command."""


class NoSpaceError(IngestdError):
    """A disk ingestd writes to (the store's, the database's) is full or below its reserve:
    nothing half done is kept, and docks are refused until space is freed."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.where = where


class AuditError(IngestdError):
    """The audit log could not be appended to or its key is unusable (internal)."""
