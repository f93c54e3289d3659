"""systemd's notify protocol (Type=notify): READY, STATUS, WATCHDOG, STOPPING. A datagram
to $NOTIFY_SOCKET; a no-op when not run by systemd."""

from __future__ import annotations

import os
import socket


def notify(**fields: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # abstract namespace
    message = "\n".join(f"{k.upper()}={v}" for k, v in fields.items()).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.sendto(message, address)
    return True


def watchdog_interval_s() -> float | None:
    """Half the watchdog timeout systemd set, or None when there is no watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or (os.environ.get("WATCHDOG_PID") not in (None, str(os.getpid()))):
        return None
    return int(usec) / 2e6
