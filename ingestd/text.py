"""Text from cameras, files and people, made safe to print: a newline in a file name must
not forge a second line of output or log, and a bidi control (U+202E) must not turn a
name around on the screen. Control (Cc), format (Cf) and unpaired surrogate (Cs)
characters are shown as escapes; everything else, Chinese included, as it is."""

from __future__ import annotations

import unicodedata

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}


def printable(text: str) -> str:
    if text.isprintable() and "\\" not in text:
        return text  # the common case, without a walk over every character
    out = []
    for c in text:
        if c in _NAMED:
            out.append(_NAMED[c])
        elif unicodedata.category(c) in ("Cc", "Cf", "Cs"):
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return "".join(out)
