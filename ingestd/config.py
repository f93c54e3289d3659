"""Configuration: one TOML file, validated, every key defaulted, `INGESTD_*` overrides.

Precedence, highest first: environment (`INGESTD_DATA_DIR`, `INGESTD_INGEST__WORKERS`, …),
the TOML file, the defaults below. The file is `--config`, else `$INGESTD_CONFIG`, else
`<data_dir>/ingestd.toml` when it exists.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tomllib
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingestd.errors import ConfigError

DEFAULT_DATA_DIR = Path("var")
CONFIG_NAME = "ingestd.toml"


class IngestSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: int = Field(0, ge=0, le=64, description="offload threads shared by all docks; 0 = two per core")
    reserve_mb: int = Field(1024, ge=0, description="docks are refused while the store's or the database's "
                                                   "filesystem has less free space than this")
    chunk_kib: int = Field(1024, ge=64, le=65536, description="read/write unit of the streaming copy")
    default_profile: str = "generic"


class JobsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    workers: int = Field(0, ge=0, le=64, description="after-dock job threads (SM3, probes, timeline, "
                                                    "compliance, 制作人); 0 = one per core")


class ComplianceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sweep_minutes: int = Field(5, ge=1, le=24 * 60, description="how often pending shifts are re-judged")
    custodian: str | None = Field(None, max_length=64,
                                  description="专人负责: the badge of the user, or the role (legal, admin), who "
                                              "archives, keeps and manages the recordings; shown on the report")


class DaemonSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inbox_enabled: bool = Field(True, description="watch the inbox folders (off on a dock appliance, where only "
                                                  "the unit's cameras are taken, over USB)")
    inbox: list[Path] = Field(default_factory=list, description="folders watched for recordings; "
                                                               "default <data_dir>/inbox")
    quiet_s: float = Field(5.0, gt=0, le=3600, description="a file unchanged this long is complete")
    rescan_s: float = Field(60.0, gt=0, le=86400, description="the inbox is walked this often for what its "
                                                             "watches cannot see (paths deeper than PATH_MAX, "
                                                             "a full event queue)")
    max_docks: int = Field(8, ge=1, le=64, description="cameras offloaded at once")


class UsbSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="watch udev for docked cameras (on a dock appliance)")
    mounter: str = Field("udisks", pattern="^(udisks|systemd-mount)$")
    registered_only: bool = Field(True, description="take a camera only when its serial is registered in the unit "
                                                    "(anything no device profile knows is never mounted)")


class MetricsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9839, ge=1, le=65535)


class MediaSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    proxy_policy: str = Field("all", pattern="^(all|important_and_evidence|on_demand)$")
    workers: int = Field(0, ge=0, le=16, description="media workers; 0 = one per core but one, at least one")
    timeout_factor: float = Field(1.0, gt=0, description="an ffmpeg run may take this many times the clip length")


class WebSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="`ingestd run` serves the web console")
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    certfile: Path | None = Field(None, description="HTTPS: the certificate chain (PEM); else plain HTTP, for "
                                                    "127.0.0.1 or behind a reverse proxy")
    keyfile: Path | None = None
    language: Literal["zh-CN", "en"] = "zh-CN"
    session_idle_minutes: int = Field(30, ge=1, le=24 * 60)
    session_absolute_hours: int = Field(12, ge=1, le=24 * 7)
    login_failures_per_account: int = Field(5, ge=1, description="failed log-ins in the window before 429")
    login_failures_per_address: int = Field(20, ge=1)
    login_window_minutes: int = Field(15, ge=1)
    login_known_address_delay_s: int = Field(30, ge=0, le=3600, description="an account tried from elsewhere: "
                                              "its owner's known address waits this long after a failure")
    secure_cookies: bool = Field(False, description="the cookies carry Secure: the console is reached over "
                                                    "HTTPS (served here with certfile, or by a reverse proxy)")
    trusted_proxies: list[str] = Field(default_factory=list,
                                       description="reverse proxies whose X-Forwarded-For/-Proto are believed")
    # The dock's own screen: answered the dock screen without a log-in (a kiosk that never
    # expires), and the only place a badge + PIN log-in is taken. `pin_addresses` is its older name.
    kiosk_addresses: list[str] = Field(default_factory=lambda: ["127.0.0.1", "::1"],
                                       validation_alias=AliasChoices("kiosk_addresses", "pin_addresses"),
                                       description="the dock screen's own addresses: the kiosk view without a "
                                                   "log-in, and badge + PIN log-ins")
    kiosk_idle_s: int = Field(60, ge=15, le=3600, description="an officer's badge + PIN session at the dock "
                                                                "screen ends after this long untouched (the "
                                                                "server's copy after 5 times it, at least 10 min)")


class ScheduledReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    every: Literal["daily", "weekly", "monthly"] = Field(description="covers the previous day, week (Mon–Sun) "
                                                                     "or month")
    at: str = Field("07:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="local time it is written")
    formats: list[Literal["html", "pdf", "xlsx", "csv", "json"]] = ["html", "xlsx"]
    folder: Path | None = Field(None, description="default <data_dir>/reports")
    team: str | None = None
    email_to: list[str] = Field(default_factory=list, description="sent with the files attached, through [smtp]")


class ReportSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["zh", "zh-en"] = Field("zh", description="labels in Chinese, or Chinese with English")
    not_docked_days: int = Field(7, ge=1, le=365, description="a camera not docked this long is a device finding")
    schedules: list[ScheduledReport] = Field(default_factory=list)


class SmtpSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str | None = Field(None, description="unset: no e-mail is sent")
    port: int = Field(25, ge=1, le=65535)
    security: Literal["none", "starttls", "ssl"] = "none"
    username: str | None = None
    password: str | None = None
    sender: str = "ingestd@localhost"
    timeout_s: float = Field(20.0, gt=0)


def outbound_url(value: str) -> str:
    """An alert's address: HTTPS, or plain HTTP only to this machine (a local relay). Anything
    else (file:, ftp:, gopher:, HTTP across the network) would send the unit's alerts, and the
    webhook's signature, where nobody can vouch for them."""
    parts = urlsplit(value.strip())
    if parts.scheme == "https" and parts.hostname:
        return value.strip()
    if parts.scheme == "http" and parts.hostname and _loopback(parts.hostname):
        return value.strip()
    raise ValueError("an alert address must be https://…, or http:// to this machine (127.0.0.1, ::1, localhost)")


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class WebhookChannel(BaseModel):
    """A JSON POST, signed: X-Ingestd-Signature = hex HMAC-SHA256 over "<timestamp>.<body>"."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["webhook"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return outbound_url(value)
    secret: str | None = None
    timeout_s: float = Field(10.0, gt=0)


class RobotChannel(BaseModel):
    """A DingTalk (钉钉) or WeCom (企业微信) group robot: its webhook address; for DingTalk the
    加签 secret if the robot uses one. Recipients with a mobile number are @-mentioned."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["dingtalk", "wecom"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    url: str

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return outbound_url(value)
    secret: str | None = None
    keyword: str | None = Field(None, description="a robot with a keyword rule only posts messages holding it")
    timeout_s: float = Field(10.0, gt=0)


class EmailChannel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["email"]
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    to: list[str] = Field(default_factory=list, description="always sent to these, besides the recipients' own "
                                                            "addresses")


Channel = Annotated[WebhookChannel | RobotChannel | EmailChannel, Field(discriminator="kind")]


class ReplicaSettings(BaseModel):
    """The write-once second copy of every original: an S3 bucket with Object Lock. The keys
    come from `credentials_file` (two lines, `access_key_id = …` and `secret_access_key = …`)
    or from the environment (INGESTD_REPLICA__ACCESS_KEY_ID, INGESTD_REPLICA__SECRET_ACCESS_KEY);
    they are never logged or printed."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    endpoint: str | None = Field(None, description="the S3 endpoint, e.g. https://rgw.example:7480")
    bucket: str = "ingestd-evidence"
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: SecretStr | None = None
    credentials_file: Path | None = None
    max_lag_hours: float = Field(24.0, gt=0, description="a recording not replicated this long is a finding")
    min_retention_days: int = Field(365, ge=1, description="Object Lock for anything whose retention has no date "
                                                           "yet (依法, a case still open): extended before it runs out")
    long_term_years: int = Field(100, ge=1, le=100, description="长期保存: the longest retention the bucket allows")
    bandwidth_mb_s: float = Field(0.0, ge=0, description="upload limit per worker in MB/s; 0 = none")
    multipart_mb: int = Field(16, ge=5, le=1024, description="files larger than this go in parts of this size "
                                                             "(a cut upload continues from its last whole part)")
    timeout_s: float = Field(60.0, gt=0, description="one request's connect/read time limit")
    reverify_days: int = Field(30, ge=1, le=3650, description="an original leaves the dock's disk only if its "
                                                              "bucket copy was read back and matched this recently")
    readback_every_minutes: int = Field(60, ge=0, le=24 * 60, description="how often the daemon reads back a "
                                                                          "sample of the bucket's copies; 0 = never")
    readback_sample: int = Field(5, ge=1, le=10_000, description="recordings read back in full each time, "
                                                                 "the longest unproven first")


class StoreSettings(BaseModel):
    """The dock's disk as a window onto the bucket: what may leave it, and when to warn that
    it fills (ingestd.replica.evict, ingestd.forecast)."""

    model_config = ConfigDict(extra="forbid")

    keep_local_days: int = Field(90, ge=0, description="an original stays on the dock's disk at least this long "
                                                       "after its dock (played, explained, exported from here); "
                                                       "0: it may leave as soon as the bucket has proven it")
    free_target_pct: float = Field(30.0, gt=0, le=100, description="older originals the bucket has proven leave "
                                                                   "the disk while less than this share of it is free")
    evict_every_minutes: int = Field(60, ge=0, le=24 * 60, description="how often the daemon evicts; 0 = never")
    warn_days: int = Field(30, ge=1, le=3650, description="alert when the disk reaches its reserve within this "
                                                          "many days at the last 30 days' intake")
    evict_open_retention: bool = Field(False, description="let originals whose retention has no end date yet (依法, "
                                                          "an open case, no period set) leave, the bucket's lock kept "
                                                          "ahead by the sweep")


class FixitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sample_every_minutes: int = Field(10, ge=0, le=24 * 60, description="how often the daemon re-hashes a "
                                                                        "random sample of originals; 0 = never")
    sample_size: int = Field(20, ge=1, le=100_000, description="originals re-hashed each time")


class AlertSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    sweep_minutes: int = Field(1, ge=1, le=60, description="how often events are looked for and deliveries retried")
    remind_before_minutes: int = Field(120, ge=1, le=7 * 24 * 60, description="remind this long before a "
                                                                              "shift's upload deadline")
    open_gap_hours: float = Field(24.0, gt=0, description="an interruption unexplained this long is alerted")
    max_attempts: int = Field(8, ge=1, le=100)
    backoff_s: float = Field(30.0, gt=0, description="first retry after this; doubled each time, at most an hour")
    channels: list[Channel] = Field(default_factory=list)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="INGESTD_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )
    _config_path: Path | None = PrivateAttr(default=None)  # the file the settings came from, to blame

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite at <data_dir>/ingestd.db"
    )
    database_wait_s: float = Field(120.0, ge=0, le=3600, description="how long a dock or a job waits for a "
                                                                    "database that went away before it gives up")
    timezone: str = "Asia/Shanghai"
    dock_name: str = Field(default_factory=socket.gethostname)
    log_format: str = Field("kv", pattern="^(kv|json)$")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    profiles_dir: Path | None = Field(None, description="extra device profiles beside the shipped ones")
    policy: str = Field("guanxian-liulin", description="the agency policy profile in force (policies/*.toml)")
    policies_dir: Path | None = Field(None, description="extra policy profiles beside the shipped ones")
    calendar_file: Path | None = Field(None, description="working-day overrides; default <data_dir>/calendar.toml")
    ingest: IngestSettings = IngestSettings()
    jobs: JobsSettings = JobsSettings()
    compliance: ComplianceSettings = ComplianceSettings()
    daemon: DaemonSettings = DaemonSettings()
    usb: UsbSettings = UsbSettings()
    metrics: MetricsSettings = MetricsSettings()
    media: MediaSettings = MediaSettings()
    web: WebSettings = WebSettings()
    report: ReportSettings = ReportSettings()
    smtp: SmtpSettings = SmtpSettings()
    alerts: AlertSettings = AlertSettings()
    fixity: FixitySettings = FixitySettings()
    store: StoreSettings = StoreSettings()
    replica: ReplicaSettings = ReplicaSettings()

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def source_of(self, key: str) -> str:
        return source_of(key, self._config_path)

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'ingestd.db').resolve()}"

    @property
    def calendar_path(self) -> Path:
        return self.calendar_file or self.data_dir / "calendar.toml"

    @property
    def media_workers(self) -> int:
        return self.media.workers or max(1, (os.cpu_count() or 1) - 1)

    @property
    def offload_workers(self) -> int:
        # Threads that mostly wait on the camera and the disk: two per core keep both busy.
        return self.ingest.workers or 2 * (os.cpu_count() or 1)

    @property
    def jobs_workers(self) -> int:
        return self.jobs.workers or (os.cpu_count() or 1)


def config_path(explicit: Path | None) -> Path | None:
    """The config file in force, or None when running on defaults alone."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigError(f"config file not found: {explicit}")
        return explicit
    env = os.environ.get("INGESTD_CONFIG")
    if env:
        if not Path(env).is_file():
            raise ConfigError(f"config file not found: {env} (from INGESTD_CONFIG)")
        return Path(env)
    candidate = Path(os.environ.get("INGESTD_DATA_DIR", DEFAULT_DATA_DIR)) / CONFIG_NAME
    return candidate if candidate.is_file() else None


def env_name(key: str) -> str:
    """The environment variable that sets a (dotted) setting."""
    return "INGESTD_" + key.replace(".", "__").upper()


def source_of(key: str, path: Path | None) -> str:
    """Where a setting's value came from, to blame the right thing in an error."""
    var = env_name(key)
    if var in os.environ:
        return f"from {var}"
    return f"in {path}" if path else "(default)"


def load_settings(explicit: Path | None = None) -> Settings:
    path = config_path(explicit)
    if path is not None:
        try:
            tomllib.loads(path.read_bytes().decode("utf-8"))  # syntax errors with their line, before pydantic
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
                              f"save it as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read the config file: {exc.strerror}") from None

    class _FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=path)

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
            if path is not None:
                sources += (TomlConfigSettingsSource(settings_cls),)
            return sources

    try:
        loaded = _FileSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {key!r} {source_of(key, path)}: {first['msg']}") from None
    settings = Settings.model_validate(loaded.model_dump())
    if settings.data_dir.exists() and not settings.data_dir.is_dir():
        raise ConfigError(f"data directory {settings.data_dir} ({source_of('data_dir', path)}) is a file, not a folder")
    settings._config_path = path
    return settings


DEFAULT_CONFIG_TEXT = """\
# ingestd configuration. Every key is optional; the values shown are the defaults.
# Any key can be overridden from the environment: INGESTD_<KEY>, nested keys joined
# with a double underscore, e.g. INGESTD_INGEST__WORKERS=2.

# Where the database, the originals store, staging and keys live.
# data_dir = "var"

# SQLAlchemy URL. Default: SQLite (WAL) at <data_dir>/ingestd.db. Several docks sharing
# one database use PostgreSQL, e.g. "postgresql+psycopg://ingestd@db.local/ingestd".
# database_url = ""
# How long a dock or a job waits, retrying, for a database that went away for a moment.
# database_wait_s = 120

# The unit's timezone: camera file names carry local time, deadlines end at local 24:00.
# timezone = "Asia/Shanghai"

# This dock's name in dock sessions and the audit log (default: host name).
# dock_name = "dock-01"

# Log lines: "kv" (key=value) or "json"; one event per line either way.
# log_format = "kv"
# log_level = "INFO"

# A folder of extra device profiles (*.toml) beside the shipped ones.
# profiles_dir = "/etc/ingestd/device_profiles"

# The agency rules in force: hengyang-forestry, panjin-natural-resources, guanxian-liulin,
# changsha-county, zhengxiang-hrss, or the name of your own file in policies_dir.
# policy = "guanxian-liulin"
# policies_dir = "/etc/ingestd/policies"

# Working-day overrides for years the shipped calendar does not know yet (each year's
# holidays are announced the December before). Default: <data_dir>/calendar.toml
# calendar_file = "/etc/ingestd/calendar.toml"

[ingest]
# Offload threads shared by every camera docked at once (copy, SHA-256, fsync, re-read,
# structural check). 0 means two per core.
# workers = 0
# Size of one read/write of the streaming copy, in KiB.
# chunk_kib = 1024
# The device profile used when none is named and none is recognised.
# default_profile = "generic"
# Free space (MiB) kept on the store's and the database's filesystems: below it a dock is
# refused with a clear message and an alert, rather than failing half way.
# reserve_mb = 1024

[jobs]
# Threads working the after-dock jobs (SM3, full probe, timeline, compliance, 制作人) at idle
# CPU and I/O priority, so that a dock in flight always wins. 0 means one per core.
# workers = 0

[compliance]
# How often the daemon re-judges shifts, so that "pending" turns "overdue" when a deadline passes.
# sweep_minutes = 5
# 专人负责 (000 第34条, 001 第7条, 002 第18条, 003 第39条, 004 第31条): who archives, keeps and
# manages the recordings — a user's badge, or a role (legal, admin). Shown on the report.
# custodian = "legal"

[daemon]
# Folders watched for recordings (a share docks copy to). Each top-level folder in an
# inbox is one camera, named by its serial. Default: <data_dir>/inbox. The package turns
# the inbox off: an appliance takes only the unit's cameras, over USB.
# inbox_enabled = true
# inbox = ["/srv/ingestd/inbox"]
# A file unchanged for this many seconds (or closed after writing) is complete.
# quiet_s = 5.0
# The inbox is also walked this often, for files its watches cannot see (a path deeper
# than the system resolves in one call, events lost to a full queue).
# rescan_s = 60.0
# Cameras offloaded at once.
# max_docks = 8

[usb]
# Watch udev for docked cameras and mount them read-only (nosuid, nodev, noexec) through
# udisks2 (a polkit rule lets the ingestd user) or systemd-mount. Off outside a dock.
# enabled = false
# mounter = "udisks"
# Only the unit's cameras: a USB device no device profile knows (a U盘, a card reader) is never
# mounted; a camera is taken only when its serial is registered (on the cameras page, with
# `ingestd devices register`, or by its first dock through the inbox). Each refusal is shown on
# the dock screen and alerted to the admins.
# registered_only = true

[metrics]
# Prometheus text endpoint (http://host:port/metrics) for the bureau's monitoring.
# enabled = true
# host = "127.0.0.1"
# port = 9839

[media]
# Which recordings get a playable proxy, HLS segments and thumbnails at once:
# "all" (at idle priority, so the dock always wins), "important_and_evidence", or
# "on_demand" (made when someone asks for one).
# proxy_policy = "all"
# workers = 0          # 0: one per core but one (at least one)
# timeout_factor = 1.0 # an ffmpeg run may take this many times the clip's length

[store]
# With [replica] on, the dock's disk is a window: an original older than keep_local_days
# whose bucket copy was read back and matched within [replica] reverify_days, locked there
# for its whole retention (or held there where it is held), leaves the disk, oldest first,
# while less than free_target_pct of the disk is free (`ingestd store status`, `store evict`,
# `store recall`). Without a replica nothing leaves. An alert goes to the admins when the
# disk reaches its reserve within warn_days at the last 30 days' intake (urgent at 7).
# keep_local_days = 90
# free_target_pct = 30
# An original whose retention has no end date yet (依法, an open case, a unit that set no
# period) stays on the disk unless this is true: then the bucket's lock, kept ahead by the
# replica sweep, is what keeps it.
# evict_open_retention = false
# evict_every_minutes = 60
# warn_days = 30

[fixity]
# The daemon re-hashes a random sample of originals this often (a mismatch is alerted to
# the admins at once); `ingestd verify` checks them all. 0 turns the sampling off.
# sample_every_minutes = 10
# sample_size = 20

[web]
# The console, served by `ingestd run` (or alone by `ingestd web`). On the office LAN give
# the dock's address, and a certificate for HTTPS, or keep 127.0.0.1 behind a reverse proxy.
# enabled = true
# host = "127.0.0.1"
# port = 8080
# certfile = "/etc/ingestd/tls/console.crt"
# keyfile = "/etc/ingestd/tls/console.key"
# language = "zh-CN"          # or "en"
# session_idle_minutes = 30
# session_absolute_hours = 12
# login_failures_per_account = 5   # within login_window_minutes, then 429
# login_failures_per_address = 20
# login_window_minutes = 15
# login_known_address_delay_s = 30  # an account under attack: its owner's usual address waits this long
# kiosk_addresses = ["127.0.0.1", "::1"]   # the dock screen: no log-in there; badge + PIN only there
# kiosk_idle_s = 60                        # an officer untouched this long at the dock screen is signed out
#                                          # (and the PIN session forgotten by the server after 5× it, 10 min at least)
# Behind a TLS reverse proxy: the cookies carry Secure, and only these proxies' X-Forwarded-For
# and X-Forwarded-Proto are believed (nobody else's; the log-in throttle counts by address).
# secure_cookies = false
# trusted_proxies = []        # e.g. ["127.0.0.1"] for nginx on the dock itself

[report]
# Labels in Chinese ("zh"), or Chinese with English beside them ("zh-en").
# language = "zh"
# A camera not docked for this many days is listed as a device finding.
# not_docked_days = 7
# Reports written on a schedule into a folder, and e-mailed if [smtp] is set:
# [[report.schedules]]
# every = "monthly"          # daily | weekly | monthly: the previous day, week or month
# at = "07:30"
# formats = ["html", "xlsx", "pdf"]
# folder = "/srv/ingestd/reports"
# email_to = ["fazhike@example.gov.cn"]

[smtp]
# The unit's mail server, for alert and report e-mail. No host: no e-mail.
# host = "mail.example.gov.cn"
# port = 25
# security = "none"          # none | starttls | ssl
# username = ""
# password = ""
# sender = "ingestd@example.gov.cn"

[alerts]
# Reminders before upload deadlines, escalation when they pass, and alerts on damaged
# files, unexplained interruptions, device faults and store failures. Every alert is
# logged; each channel below also gets it, once, retried with backoff until delivered.
# enabled = true
# remind_before_minutes = 120
# open_gap_hours = 24
# max_attempts = 8
# backoff_s = 30
# [[alerts.channels]]
# kind = "webhook"           # JSON POST with X-Ingestd-Signature (HMAC-SHA256)
# name = "ops"
# url = "https://ops.example.gov.cn/hooks/ingestd"
# secret = "change-me"
# [[alerts.channels]]
# kind = "dingtalk"          # 钉钉群机器人 (加签 secret optional); or "wecom" for 企业微信
# name = "duty-group"
# url = "https://oapi.dingtalk.com/robot/send?access_token=..."
# secret = "SEC..."
# [[alerts.channels]]
# kind = "email"
# name = "mail"
# to = ["duty@example.gov.cn"]

[replica]                      # the write-once second copy: S3 with Object Lock (`ingestd replica status`)
enabled = false
# endpoint = "https://rgw.example.gov.cn:7480"
# bucket = "ingestd-evidence"  # made with Object Lock if missing; one without Object Lock is refused
# region = "us-east-1"
# credentials_file = "/etc/ingestd/replica.keys"   # access_key_id = … / secret_access_key = …
# max_lag_hours = 24           # not proven in the bucket this long after the dock: an alert to the admins
# min_retention_days = 365     # lock for what has no retention date yet (依法, an open case)
# long_term_years = 100        # 长期保存: the longest the bucket allows
# bandwidth_mb_s = 0           # per replica worker; 0 = no limit
# multipart_mb = 16            # larger files go in parts of this size; a cut upload continues
# reverify_days = 30           # a copy read back and matched this recently may stand alone
# readback_every_minutes = 60  # the daemon reads back (full SHA-256) a sample of the bucket's copies
# readback_sample = 5          # … this many recordings each time, the longest unproven first
"""
