"""Commands about incidents: what is open, and the written explanation (书面说明) each needs."""

from __future__ import annotations

import typer

from ingestd.cli_support import ByOpt, JsonOpt, emit, opened_app
from ingestd.text import printable

incidents_app = typer.Typer(no_args_is_help=True, help="Incidents (damaged files, device faults) and their 书面说明.")


@incidents_app.command("list")
def incidents_list(ctx: typer.Context, only_open: bool = typer.Option(False, "--open", help="Only those still open."),
                   as_json: bool = JsonOpt) -> None:
    """Incidents with their status, file or camera, and explanation."""
    from ingestd.evidence.incidents import list_incidents

    with opened_app(ctx) as app:
        data = list_incidents(app, only_open)
    emit(data, as_json, "\n".join(
        f"{d['id']:5}  {d['status']:6}  {d['code']:20}  {printable(d['file'] or d['device'] or '-')}  "
        f"{d['opened_at']}  ({d['article'] or '-'})" for d in data))


@incidents_app.command("explain")
def incidents_explain(ctx: typer.Context, incident: int = typer.Argument(..., metavar="ID"),
                      note: str = typer.Option(..., "--note", help="The written explanation (书面说明)."),
                      by: str = ByOpt,
                      as_json: bool = JsonOpt) -> None:
    """Record the written explanation of an incident; it is then closed."""
    from ingestd.evidence.incidents import explain_incident

    with opened_app(ctx, by) as app:
        data = explain_incident(app, incident, note, by)
    emit(data, as_json, f"incident {incident} explained and closed"
                        + (f" (object version {data['object_version']})" if data["object_version"] else ""))
