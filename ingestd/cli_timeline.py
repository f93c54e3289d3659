"""Commands of the timeline: gaps list, gaps explain."""

from __future__ import annotations

from typing import Optional

import typer

from ingestd.cli_support import ByOpt, JsonOpt, emit, iso, opened_app, settings_of
from ingestd.timeline.reasons import REASONS

gaps_app = typer.Typer(no_args_is_help=True, help="Interruptions that need a reason (中断说明).")


@gaps_app.command("list")
def gaps_list(ctx: typer.Context, open_only: bool = typer.Option(False, "--open", help="Only open gaps."),
              device: Optional[str] = typer.Option(None, "--device", help="Camera serial."),
              officer: Optional[str] = typer.Option(None, "--officer", help="Officer badge."),
              as_json: bool = JsonOpt) -> None:
    """Gaps, oldest first."""
    from sqlalchemy import select
    from sqlalchemy.orm import aliased

    from ingestd.db.models import Device, Gap, RecordingCompliance

    settings = settings_of(ctx)
    comp = aliased(RecordingCompliance)
    with opened_app(ctx) as app:
        with app.db.reading() as s:
            q = (select(Gap, Device.serial, comp.officer_badge).outerjoin(Device, Gap.device_id == Device.id)
                 .outerjoin(comp, comp.recording_id == Gap.before_recording_id))
            if open_only:
                q = q.where(Gap.status == "open")
            else:
                q = q.where(Gap.status != "superseded")
            if device:
                q = q.where(Device.serial == device)
            if officer:
                q = q.where(comp.officer_badge == officer)
            rows = s.execute(q.order_by(Gap.start, Gap.id)).all()
    data = [{"id": g.id, "device": serial, "officer": badge, "start": iso(g.start, settings),
             "end": iso(g.end, settings), "seconds": round(g.seconds, 3), "kind": g.kind,
             "before": g.before_recording_id, "after": g.after_recording_id,
             "suggested_reason": g.suggested_reason, "reason": g.reason, "explanation": g.explanation,
             "voice_at_s": g.voice_at_s, "note": g.note, "explained_by": g.explained_by,
             "explained_at": iso(g.explained_at, settings), "voice_hint": g.voice_hint, "status": g.status}
            for g, serial, badge in rows]
    emit(data, as_json, "\n".join(
        f"{d['id']:>5}  {d['status']:9} {d['device'] or '-':12} {d['start']}  {d['seconds']:>8.1f} s  {d['kind']}"
        + (f"  suggested: {REASONS.get(d['suggested_reason'], '')}" if d["suggested_reason"] else "")
        for d in data))


@gaps_app.command("explain")
def gaps_explain(ctx: typer.Context, gap: int = typer.Argument(..., metavar="GAP"),
                 reason: str = typer.Option(..., "--reason", help=", ".join(f"{k} ({v})" for k, v in REASONS.items())),
                 voice_at: Optional[float] = typer.Option(None, "--voice-at", help="Second of the following clip where "
                                                                                   "the officer explained it."),
                 note: Optional[str] = typer.Option(None, "--note", help="The written explanation."),
                 by: str = ByOpt,
                 as_json: bool = JsonOpt) -> None:
    """Record why a gap happened: a reason and the second the officer said it, or a written note."""
    from ingestd.timeline.explain import explain_gap

    with opened_app(ctx, by) as app:
        result = explain_gap(app, gap, reason, voice_at, note, by)
    emit(result, as_json, f"gap {gap} explained: {REASONS[reason]} ({result['explanation']}), "
                          f"{result['object_id']} {result['object_version']}")
