"""docs/rules.md: every policy profile's values, each with the article behind it and that
article's words, generated from policies/*.toml (`ingestd rules --out docs/rules.md`; the
test suite checks the committed page is current)."""

from __future__ import annotations

from ingestd.compliance.policy import ASSIGNMENT_ZH, UNIT_OWN, Policy

SETTING = "设定 (setting)"


def _rows(p: Policy) -> list[tuple[str, str, str]]:
    up, ex = p.upload, p.upload.exception
    deadline = (f"{up.hours} h after the recording ends" if up.basis == "hours"
                else f"{up.working_days} working days from the day after the recording day, ending 24:00")
    trips = "、".join(ASSIGNMENT_ZH[a] for a in ex.assignments)
    archive = (f"{p.archive.days_after_case_end} calendar days after the enforcement act ends (a last day that is "
               "a rest day moves to the next working day, 民法典 第203条)" if p.archive.days_after_case_end
               else "the unit's own rules")
    retention = (f"{p.retention.years} years, counted from "
                 f"{ {'archive': '归档 (the archive deadline)', 'case_end': 'the end of the case', 'made': 'when the recording was made'}[p.retention.counts_from]}"
                 f"; {'recordings in a case file only' if p.retention.applies_to == 'case' else 'every recording'}"
                 if p.retention.years else "per law: nothing becomes due automatically")
    disc = {"none": "not required", "hours_after_end": f"within {p.evidence.disc_hours} h of the recording's end",
            "at_storage": "when the recording is stored (by its upload deadline)"}[p.evidence.disc]
    cite = p.cite
    return [
        ("Upload deadline", deadline, up.article),
        (f"Return exception ({trips})", f"{ex.hours_after_return} h after returning to the unit, counted over the "
         "whole trip (assignment start to return); pending while no return is entered", ex.article),
        ("Case file archived (归档)", archive, p.archive.article),
        ("Retention (保存期限)", retention, p.retention.article),
        ("长期保存 categories", "、".join(p.long_term.categories) or "none", p.long_term.article or UNIT_OWN),
        ("Continuous recording (全程不间断) and the stated reason of an interruption", "every pause inside an activity "
         "is open until it has a reason and a voice or written explanation", cite("interruption")),
        ("One activity: pauses shorter than", f"{p.interruptions.session_window_minutes} min", SETTING),
        ("Interruptions reported to the team head", "when found (立即)" if p.interruptions.report_at_once
         else "after staying unexplained for the configured hours", cite("interruption")
         if p.interruptions.report_at_once else SETTING),
        ("Damaged or unstorable file", "reported at once; closed by a written explanation (书面说明)",
         cite("damaged_file")),
        ("Recording made off duty", "flagged for review", cite("off_duty")),
        ("证明对象 required for", "every stored recording" if p.evidence.proves_required == "all"
         else "recordings used as evidence (in a case)", cite("evidence_metadata")),
        ("Evidence on disc (刻盘入卷 / 光碟)", disc, cite("evidence_disc") if p.evidence.disc != "none" else SETTING),
        ("录音内容 note in the 文字说明", "included where entered", cite("recording_content_note")),
        ("Camera still holding stored recordings (不得自行保管)", "a finding when a recording an earlier dock of "
         "the same camera stored is still on it, made more than "
         f"{p.self_keeping.max_hours} h before the dock ({SETTING}: the regulation gives no grace period)",
         cite("self_keeping")),
        ("Device checks (battery, storage, clock, faults)", "per camera at every dock", cite("device_check")),
        ("Originals never cut, edited or deleted", "write-once store, fixity checks", cite("integrity")),
        ("Viewing beyond one's own permission (调阅)", "needs an approval", cite("access")),
    ]


def render(policies: dict[str, Policy]) -> str:
    out = ["# The rules ingestd enforces, per policy profile", "",
           "Generated from `policies/*.toml` by `ingestd rules --out docs/rules.md`; the test suite checks that",
           "this page is current. Each value is shown with the article of that unit's own regulation behind it;",
           f"a rule its regulation does not state is marked {UNIT_OWN} (the unit's own rule), and a value that",
           f"is a number the unit chose, not one its regulation gives, is marked {SETTING}.", ""]
    for p in sorted(policies.values(), key=lambda p: p.seed or p.name):
        out += [f"## `{p.name}` — {p.agency}" + (f" (seed {p.seed})" if p.seed else ""), "",
                "| rule | value | article |", "|---|---|---|"]
        out += [f"| {rule} | {value} | {article or UNIT_OWN} |" for rule, value, article in _rows(p)]
        out += ["", "Articles cited:", ""]
        out += [f"- **{a}**: {p.quotes.get(a, '（原文未录入 policies 文件）')}" for a in p.cited()]
        out.append("")
    return "\n".join(out)
