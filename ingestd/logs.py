"""Structured logging: one event per line, `key=value` or JSON, to stderr.

Under systemd stderr goes to the journal, which stamps its own time, so the timestamp
is left out there (JOURNAL_STREAM is set by systemd for exactly this purpose).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from datetime import datetime, timezone

from ingestd.text import printable

_FIELDS = "ingestd_fields"


def event(logger: logging.Logger, level: int, name: str, exc: BaseException | None = None,
          **fields: object) -> None:
    """Log one event: a dotted name plus typed fields, never a prose sentence (with the
    traceback as one more field when `exc` is given)."""
    logger.log(level, name, extra={_FIELDS: fields}, exc_info=exc)


def _kv_value(value: object) -> str:
    text = printable(str(value))  # a newline or U+202E in a file name must not forge or flip a line
    if text == "" or any(c in text for c in ' "='):
        return json.dumps(text, ensure_ascii=False)
    return text


def _json_line(data: dict) -> str:
    # JSON escapes control characters itself; format characters (bidi) are escaped as \uXXXX
    # too, which JSON reads back as the same text.
    return printable(json.dumps(data, ensure_ascii=False, default=str), keep_backslash=True)


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool, with_time: bool):
        super().__init__()
        self.as_json = as_json
        self.with_time = with_time

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {}
        if self.with_time:
            data["ts"] = datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds")
        data["level"] = record.levelname.lower()
        data["logger"] = record.name
        data["event"] = record.getMessage()
        data.update(getattr(record, _FIELDS, {}) or {})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        if self.as_json:
            return _json_line(data)
        return " ".join(f"{k}={_kv_value(v)}" for k, v in data.items())


def configure(fmt: str = "kv", level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(as_json=fmt == "json", with_time="JOURNAL_STREAM" not in os.environ))
    root = logging.getLogger("ingestd")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
