"""Text from cameras, files and people, made safe to print: a newline in a file name must
not forge a second line of output or log, and a bidi control (U+202E) must not turn a
name around on the screen. Control (Cc), format (Cf) and unpaired surrogate (Cs)
characters are shown as escapes; everything else, Chinese included, as it is."""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def printable(text: str, keep_backslash: bool = False) -> str:
    """`keep_backslash`: the text is already escaped (JSON), only what is left is escaped."""
    if text.isprintable() and (keep_backslash or "\\" not in text):
        return text  # the common case, without a walk over every character
    out = []
    for c in text:
        if c == "\\" and keep_backslash:
            out.append(c)
        elif c in _NAMED:
            out.append(_NAMED[c])
        elif unicodedata.category(c) in ("Cc", "Cf", "Cs"):
            out.append(_escape(ord(c), keep_backslash))
        else:
            out.append(c)
    return "".join(out)


def _escape(code: int, json_text: bool) -> str:
    if code < 0x100 and not json_text:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    if not json_text:
        return f"\\U{code:08x}"
    code -= 0x10000  # JSON spells a character beyond the BMP as a surrogate pair
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def span_text(seconds: float | None) -> str:
    """A length of recording as people read it on a player: 4:12, 1:02:05."""
    whole = int(round(seconds or 0))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def size_text(size: int | None) -> str:
    """Bytes in the unit people read them in: 870 B, 12.4 KB, 3.1 MB, 1.2 GB."""
    value = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"
