"""File names from a camera are data, never paths: they are made safe before they name
anything inside the store, and shown safely wherever they are printed."""

from __future__ import annotations

import os
import unicodedata

MAX_NAME_BYTES = 200  # well under 255 even after OCFL's own path prefixes
RESERVED = {"ingest.json"}
_FORBIDDEN = set('/\\:*?"<>|')


def display(raw: str) -> str:
    """A printable, storable form of a name the OS gave us (undecodable bytes as \\xNN)."""
    return os.fsencode(raw).decode("utf-8", "backslashreplace")


def safe_name(raw: str) -> str:
    """One path segment for the original inside its object: NFC, no separators, no
    control characters, no leading dots, at most MAX_NAME_BYTES of UTF-8, extension kept."""
    text = unicodedata.normalize("NFC", display(raw))
    text = "".join("_" if (c in _FORBIDDEN or unicodedata.category(c) in ("Cc", "Cf", "Cs")) else c
                   for c in text)
    text = text.strip().lstrip(".").strip()
    if not text or set(text) <= {"."}:
        text = "unnamed"
    stem, dot, ext = text.rpartition(".")
    if not dot or len(ext.encode()) > 16:
        stem, ext = text, ""
    suffix = f".{ext}" if ext else ""
    budget = MAX_NAME_BYTES - len(suffix.encode())
    encoded = stem.encode("utf-8")
    if len(encoded) > budget:
        stem = encoded[:budget].decode("utf-8", "ignore").rstrip() or "unnamed"
    name = stem + suffix
    if name.lower() in RESERVED:
        name = "_" + name
    return name


MAX_SERIAL = 128


def valid_serial(serial: str) -> str | None:
    """Why a camera serial cannot be used (it names the device in the index, in paths of
    the inbox and in every printed line), or None when it can."""
    if not serial or len(serial) > MAX_SERIAL:
        return f"must be 1 to {MAX_SERIAL} characters"
    if not serial.isprintable():
        return "has a control or format character"
    if "/" in serial or serial in (".", "..") or serial != serial.strip():
        return "may not contain '/', be '.' or '..', or start or end with a space"
    return None


def extension(raw: str) -> str:
    """Lower-case extension without the dot ('' if none)."""
    _, dot, ext = display(raw).rpartition(".")
    return ext.lower() if dot and "/" not in ext else ""
