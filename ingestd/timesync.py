"""Whether the system clock is kept by time sync: `timedatectl show`, which reports the
kernel's synchronised flag whichever of systemd-timesyncd or chrony keeps it. Every upload
time a dock stamps and every camera clock correction stands on this clock (002 第16条's
24-hour deadline is counted from it), so `ingestd doctor` asks."""

from __future__ import annotations

from dataclasses import dataclass

from ingestd.errors import ToolError
from ingestd.toolrun import run

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class TimeSync:
    known: bool  # False: timedatectl could not say (no systemd, not installed)
    synchronised: bool = False
    ntp_enabled: bool = False
    why_unknown: str | None = None


def parse_show(text: str) -> TimeSync:
    """`timedatectl show`'s `Key=value` lines."""
    values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    if "NTPSynchronized" not in values:
        return TimeSync(False, why_unknown="timedatectl did not report NTPSynchronized")
    return TimeSync(True, values["NTPSynchronized"] == "yes", values.get("NTP") == "yes")


def read_time_sync() -> TimeSync:
    try:
        out = run(["timedatectl", "show"], TIMEOUT_S)
    except ToolError as exc:
        return TimeSync(False, why_unknown=str(exc))
    return parse_show(out.stdout.decode("utf-8", "replace"))
