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

import typer

from ingestd.errors import AccessDenied
from ingestd.localtime import parse_date, parse_time  # noqa: F401 - the commands' readers of what people type

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




