"""What every command module shares: settings from the context, opening the app,
printing, and parsing times given on the command line.

The command modules import only this, typer and light modules at the top: what a command
needs (the database, the store, the web stack) is imported when it runs, so `ingestd --help`
and a listing do not pay for every other command's libraries (a test keeps it so)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from typing import TYPE_CHECKING, Iterator
from datetime import datetime
from zoneinfo import ZoneInfo

import typer

from ingestd.errors import AccessDenied, UserError
from ingestd.localtime import EARLIEST, LATEST, parse_date  # noqa: F401 - the commands' date reader

if TYPE_CHECKING:
    from ingestd.app import App
    from ingestd.config import Settings

JsonOpt = typer.Option(False, "--json", help="Machine-readable output.")
ByOpt = typer.Option(..., "--by", help="Who does it: the badge or user name of an enabled user.")


def settings_of(ctx: typer.Context) -> Settings:
    return ctx.obj["settings"]


def open_app(ctx: typer.Context) -> App:
    from ingestd.app import App

    return App.open(settings_of(ctx))


@contextmanager
def opened_app(ctx: typer.Context, by: str | None = None) -> Iterator[App]:
    """The app for one command, closed (staging released, connections returned) however it ends.
    `by`: the acting person from --by, who must be an enabled user (checked here, once)."""
    app = open_app(ctx)
    try:
        if by is not None:
            from ingestd.users import acting

            acting(app, by)
        yield app
    except AccessDenied as exc:  # the refused change was rolled back; the refusal is kept
        from ingestd.evidence.access import record_refusal

        record_refusal(app, exc.person, exc.decision, via="command line")
        raise
    finally:
        app.close()


def emit(data: object, as_json: bool, text: str | None = None) -> None:
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2, default=str))
    elif text is not None:
        print(text)


def iso(value: datetime | None, settings: Settings) -> str | None:
    return value.astimezone(settings.tz).isoformat() if value else None


def parse_time(value: str, option: str, tz: ZoneInfo) -> datetime:
    """ISO 8601; a time without an offset is the unit's local time."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"invalid time for {option}: {value!r} (use ISO 8601, e.g. 2026-09-30T18:00)") from None
    if not EARLIEST <= parsed.year <= LATEST:
        # Deadlines run days past a time; a year at the end of the calendar cannot have one.
        raise UserError(f"time for {option} out of range: {value!r} (years {EARLIEST}-{LATEST})")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=tz)


