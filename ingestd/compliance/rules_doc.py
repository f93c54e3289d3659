"""docs/rules.md: every policy profile's rules, each saying whose words its value is — the
regulation's (with the article that fixes it) or the unit's own setting (本单位设定, with the
article, if any, that asks for the rule without fixing the value) — and the words of every
article cited. Generated from policies/*.toml (`ingestd rules --out docs/rules.md`; the test
suite checks the committed page is current)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ingestd.compliance.policy import Policy


class Whose(StrEnum):
    REGULATION = "条文规定"  # the article's own words fix the value
    UNIT = "本单位设定"  # the unit chose it; an article may ask for the rule, not this value


WHOSE_EN = {Whose.REGULATION: "the regulation's", Whose.UNIT: "the unit's setting"}


@dataclass(frozen=True)
class RuleRow:
    rule: str
    value: str
    whose: Whose
    article: str | None  # the article behind the rule; None: no article of this regulation states it


def _row(rule: str, value: str, article: str | None, fixed: bool = True) -> RuleRow:
    return RuleRow(rule, value, Whose.REGULATION if article and fixed else Whose.UNIT, article)


def rows(p: Policy) -> list[RuleRow]:
    up, ex, ir, art = p.upload, p.upload.exception, p.interruptions, p.articles.get
    deadline = (f"{up.hours} h after the recording ends" if up.basis == "hours"
                else f"{up.working_days} working days from the day after the recording day, ending 24:00")
    trips = "、".join(ex.name(a) for a in ex.assignments)
    archive = (f"{p.archive.days_after_case_end} calendar days after the enforcement act ends (a last day that is "
               "a rest day moves to the next working day, 民法典 第203条)" if p.archive.days_after_case_end
               else "set by the unit")
    rt = p.retention
    period = {"regulation": f"{rt.years} years", "law": "as the law fixes it (档案法 and the rules it names)",
              "unit": "set by the unit"}[rt.fixed_by]
    if rt.years is None:
        period += "; none configured, so nothing becomes due automatically"
    start = {"archive": "the day the case was archived (归档, `ingestd case archive`; the archive deadline until "
                        "then)", "case_end": "the end of the case", "made": "when the recording was made"}[rt.counts_from]
    applies = "recordings in a case file" if rt.applies_to == "case" else "every recording"
    disc = {"none": "not required", "hours_after_end": f"within {p.evidence.disc_hours} h of the recording's end",
            "at_storage": "when the recording is stored (by its upload deadline)"}[p.evidence.disc]
    approvers = " or ".join({"team_head": "the head of the recording's team", "admin": "an admin"}[a]
                         for a in p.access.approvers)
    out = [
        _row("Upload deadline", deadline, up.article),
        _row(f"Return exception ({trips})", f"{ex.hours_after_return} h after returning to the unit, only where "
             f"{ex.condition}: a team head rules a trip whose recordings could have been stored in time, and the "
             "normal deadline then applies", ex.article),
        _row("The trip the exception covers", "from the assignment's start to the return; consecutive roster rows of "
             "one officer on the same assignment are one trip, ended by the return on any of them; pending while no "
             "return is entered", ex.article, fixed=False),
        _row("Case file archived (归档)", archive, p.archive.article, fixed=p.archive.days_after_case_end is not None),
        _row("Retention (保存期限): period", f"{period}; for {applies}", rt.article, fixed=rt.fixed_by != "unit"),
        _row("Retention (保存期限): counted from", start, rt.start_article),
        _row("长期保存 categories", "、".join(p.long_term.name(c) for c in p.long_term.categories) or "none",
             p.long_term.article),
    ]
    if p.long_term.on_medium:
        out.append(_row("长期保存 on a disc or removable medium", "a finding while a recording in a category is on no "
                        "disc image", p.long_term.article))
    out += [
        _row("Continuous recording (全程不间断)", f"for {ir.scope}" if ir.scope else "for every activity recorded",
             ir.article, fixed=ir.article is not None),
        _row("Interruptions: a stated reason and an explanation", "every pause inside an activity is open until it has "
             "a reason and a voice or written explanation", ir.reason_article),
        _row("One activity: pauses shorter than", f"{ir.session_window_minutes} min", None),
    ]
    if ir.report_article:
        out.append(_row("Interruption that could not be resumed: 立即报告", f"the officer reports it at once, at the "
                        f"scene, to the {ir.report_to}; the dock learns of an interruption only when the camera is "
                        "docked, and its alert says when it happened and when it was found", ir.report_article))
    out += [
        _row("Team head alerted of an interruption", "when the dock finds it" if ir.report_at_once
             else "after it has stayed unexplained for the configured hours", None),
        _row("Damaged or unstorable file", "reported at once; closed by a written explanation (书面说明); every "
             "damaged file on every camera is its own incident", art("damaged_file")),
        _row("Recording made off duty", "flagged for review", art("off_duty"), fixed=False),
        _row("证明对象 required for", "every stored recording" if p.evidence.proves_required == "all"
             else "recordings used as evidence (in a case)", art("evidence_metadata"),
             fixed=p.evidence.proves_required == "all"),
        _row("Evidence on disc (刻盘入卷 / 光碟)", disc, art("evidence_disc"), fixed=p.evidence.disc != "none"),
    ]
    if p.evidence.location_article:
        out.append(_row("A written storage location instead of a disc or U盘", "a case's storage location as its "
                        "case file states it (`ingestd case location`) counts as the disc", p.evidence.location_article))
    out += [
        _row("录音内容 note in the 文字说明", "included where entered", art("recording_content_note")),
        _row("Camera still holding stored recordings (不得自行保管)", "a finding when a recording an earlier dock of "
             f"the same camera stored is still on it, made more than {p.self_keeping.max_hours} h before the dock "
             "(the regulation gives no grace period)", art("self_keeping"), fixed=False),
        _row("Device checks (battery, storage, clock, faults)", "per camera at every dock", art("device_check"),
             fixed=False),
        _row("Originals never cut, edited or deleted", "write-once store, fixity checks", art("integrity")),
        _row("Viewing or copying beyond one's own permission (调阅)", f"approved by {approvers}", p.access.article),
    ]
    if art("access") and art("access") != p.access.article:
        out.append(_row("调阅 supervision", "every viewing is audited; requests and approvals are listed for review",
                        art("access"), fixed=False))
    out.append(_row("A copy leaving the unit (对外提供)", f"an export for another purpose than the case file "
                    f"(`export --purpose provide`) needs an approved request for every recording, whoever asks, "
                    f"approved by {approvers}", art("provide"), fixed=False))
    out.append(_row("专人负责 (the custodian of the recordings)", "a user or a role named in the unit's "
                    "configuration (`[compliance] custodian`), shown on the report", art("custodian"), fixed=False))
    return out


def render(policies: dict[str, Policy]) -> str:
    out = ["# The rules ingestd enforces, per policy profile", "",
           "Generated from `policies/*.toml` by `ingestd rules --out docs/rules.md`; the test suite checks that",
           "this page is current. Each rule says whose words its value is: the regulation's "
           f"({Whose.REGULATION}, with the", "article that fixes it), or the unit's own setting "
           f"({Whose.UNIT}), with the article — if the unit's", "regulation has one — that asks for the rule "
           "without fixing the value. Only the unit's own regulation is", "ever cited.", ""]
    for p in sorted(policies.values(), key=lambda p: p.seed or p.name):
        out += [f"## `{p.name}` — {p.agency}" + (f" (seed {p.seed})" if p.seed else ""), "",
                "| rule | value | whose | article |", "|---|---|---|---|"]
        out += [f"| {r.rule} | {r.value} | {r.whose} ({WHOSE_EN[r.whose]}) | {r.article or '—'} |" for r in rows(p)]
        out += ["", "Articles cited:", ""]
        out += [f"- **{a}**: {p.quotes.get(a, '（原文未录入 policies 文件）')}" for a in p.cited()]
        out.append("")
    return "\n".join(out)
