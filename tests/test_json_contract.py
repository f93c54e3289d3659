"""The command line's `--json` output is a contract for the unit's scripts: the shape of every
command's answer (its keys, and the type each holds) is kept in tests/contracts/cli_json.json,
so a change to it is a visible diff in review, never a surprise in a script. The commands run
on one dock with a bit of everything: a roster, a camera with an interruption and a cut-off
clip, people of every role, a case, a hold, an access request.

After an intended change: INGESTD_ACCEPT_CONTRACT=1 pytest tests/test_json_contract.py writes
the new shapes, and the diff goes into the commit."""

from __future__ import annotations

import json
import os
from pathlib import Path

from typer.testing import CliRunner

from ingestd.cli import app as cli_app
from ingestd.camera_admission import record_refusal
from ingestd.db.states import UsbRefusalReason
from ingestd.sources.usb import BlockDevice
from tests.conftest import copy_clip, make_dock
from tests.test_doctor import fake_tool

CONTRACT = Path(__file__).parent / "contracts" / "cli_json.json"
ROSTER = ("日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"
          "2026-11-20,012345,张三,L-001,一队,08:00,18:00,常规,,CAM-J\n"
          "2026-11-20,054321,李四,L-002,二队,08:00,18:00,常规,,CAM-K\n"
          "2026-11-21,012345,张三,L-001,一队,08:00,18:00,异地执法,2026-11-21 20:00,CAM-J\n")
# Commands whose answer needs what this dock has not: a bucket (replica sync, restore), a deletion
# that is due (retention's request and decisions), an alert channel (alerts test, compliance remind), a failed job
# (media and jobs retry), or a data directory not yet made (init, db upgrade). Their own tests
# run them; this contract does not hold them yet.
NOT_HERE = {"store restore", "store recall", "replica sync", "retention request", "retention approve", "retention refuse",
            "alerts test", "compliance remind", "media retry", "jobs retry", "db upgrade", "init"}


def shape(value):
    """The type structure of a JSON value: objects by key, lists by the union of their items."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        merged = None
        for item in value:
            merged = _merge(merged, shape(item))
        return [merged] if merged is not None else []
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "null" if value is None else "string"


def _merge(a, b):
    if a is None or a == b:
        return b
    if isinstance(a, dict) and isinstance(b, dict):
        return {k: _merge(a.get(k), b.get(k)) if k in a and k in b else (a.get(k) or b.get(k))
                for k in sorted(set(a) | set(b))}
    if isinstance(a, list) and isinstance(b, list):
        return [_merge(a[0] if a else None, b[0] if b else None)] if (a or b) else []
    kinds = set(str(a).split("|")) | set(str(b).split("|")) if isinstance(a, str) and isinstance(b, str) else None
    return "|".join(sorted(kinds)) if kinds else f"{a}|{b}"


def test_every_json_answer_keeps_its_shape(tmp_path, clips):
    dock = make_dock(tmp_path)
    runner = CliRunner()
    answers: dict[str, object] = {}

    def run(name: str, *args: str, stdin: str | None = None):
        got = runner.invoke(cli_app, [*args, "--json"], env=dock.env, input=stdin, catch_exceptions=False)
        assert got.exit_code == 0, (name, got.output)
        answers[name] = shape(json.loads(got.stdout))
        return json.loads(got.stdout)

    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    cam = tmp_path / "CAM-J"
    copy_clip(clips["h264"], cam / "20261120_083000.mp4")
    copy_clip(clips["h264_b"], cam / "20261120_084000.mp4")
    (cam / "20261120_085000.mp4").write_bytes(clips["h264_c"].read_bytes()[:3000])  # cut off: damaged

    for badge, role, team in (("L1", "legal", None), ("H1", "team_head", "一队"), ("H2", "team_head", "二队"),
                              ("054321", "officer", "二队"), ("D1", "auditor", None)):
        args = ["users", "add", badge, "--name", f"{role}-{badge}", "--role", role, "--by", "admin"]
        run("users add", *args, *(["--team", team] if team else []))
    run("users passwd", "users", "passwd", "L1", "--by", "L1", stdin="a long pass phrase 1\n")
    run("users pin", "users", "pin", "054321", "--by", "054321", stdin="4826\n")
    run("roster import", "roster", "import", str(tmp_path / "roster.csv"), "--by", "admin")
    ingested = run("ingest", "ingest", str(cam), "--device", "CAM-J")
    rec = next(f["recording_id"] for f in ingested["files"] if f["status"] == "ingested")
    run("jobs work", "jobs", "work", "--until-idle", "--derivatives")
    run("devices owner", "devices", "owner", "CAM-J", "012345", "--by", "admin")
    run("media request", "media", "request", rec, "--by", "admin")
    run("media work", "media", "work")
    gaps = run("gaps list", "gaps", "list")
    if gaps:
        run("gaps explain", "gaps", "explain", str(gaps[0]["id"]), "--reason", "low_battery", "--note", "电量耗尽",
            "--by", "H1")
    incidents = run("incidents list", "incidents", "list")
    run("incidents explain", "incidents", "explain", str(incidents[0]["id"]), "--note", "记录仪跌落后文件截断",
        "--by", "H1")
    run("evidence set", "evidence", "set", rec, "--proves", "现场检查经过", "--case", "一队案-1", "--by", "L1")
    run("evidence show", "evidence", "show", rec)
    run("case open", "case", "open", "一队案-2", "--title", "占道", "--team", "一队", "--by", "L1")
    run("case add", "case", "add", "一队案-2", rec, "--by", "L1")
    run("case end", "case", "end", "一队案-2", "--on", "2026-11-21", "--by", "L1")
    run("compliance trip", "compliance", "trip", "012345", "2026-11-21", "--could-not-store", "--reason", "山区无网络",
        "--by", "H1")
    run("compliance return", "compliance", "return", "012345", "2026-11-21", "--at", "2026-11-21 19:30", "--by", "H1")
    run("compliance excuse", "compliance", "excuse", "054321", "2026-11-20", "--reason", "记录仪送修", "--by", "H2")
    run("case archive", "case", "archive", "一队案-2", "--on", "2026-11-25", "--by", "L1")
    run("case location", "case", "location", "一队案-2", "--text", "执法信息系统 /2026/一队案-2", "--by", "L1")
    run("case show", "case", "show", "一队案-2")
    run("case list", "case", "list")
    hold = run("hold place", "hold", "place", rec, "--reason", "复议", "--by", "L1")
    run("hold list", "hold", "list")
    run("hold release", "hold", "release", str(hold["id"]), "--by", "L1")
    ask = run("access request", "access", "request", rec, "--action", "view", "--purpose", "复核", "--by", "054321")
    run("access approve", "access", "approve", str(ask["id"]), "--hours", "2", "--by", "H1")
    ask = run("access request", "access", "request", rec, "--action", "export", "--purpose", "复议", "--by", "054321")
    run("access deny", "access", "deny", str(ask["id"]), "--by", "H1")
    run("access list", "access", "list")
    run("export", "export", rec, "--out", str(tmp_path / "out"), "--by", "L1")
    run("devices register", "devices", "register", "DSJ0001A8", "--profile", "dahua-dsj", "--owner", "012345",
        "--by", "admin")
    app = dock.app()
    try:  # a U盘 plugged into the dock
        record_refusal(app, BlockDevice("/dev/sdc1", "0781", "5567", "4C530001", "KINGSTON", "vfat", "usb-0:3"), None,
                       UsbRefusalReason.NOT_A_CAMERA)
    finally:
        app.close()
    run("devices refused", "devices", "refused")
    # The self-check, on a machine whose clock time sync keeps (timedatectl answers so).
    synced = fake_tool(tmp_path / "bin", "timedatectl", "NTP=yes\nNTPSynchronized=yes\n")
    (dock.settings.data_dir / "inbox").mkdir(exist_ok=True)
    got = runner.invoke(cli_app, ["doctor", "--json"], env={**dock.env, "PATH": f"{synced}:{os.environ['PATH']}"},
                        catch_exceptions=False)
    assert got.exit_code == 0, got.output
    answers["doctor"] = shape(json.loads(got.stdout))
    for name, args in (("recordings list", ["recordings", "list"]), ("recordings show", ["recordings", "show", rec]),
                       ("verify", ["verify"]), ("audit verify", ["audit", "verify"]), ("db check", ["db", "check"]),
                       ("db backup", ["db", "backup"]),
                       # One person's entries: their number and order follow the commands above, where
                       # the last 50 of everyone's follow how the job workers' claims fell.
                       ("audit list", ["audit", "list", "--person", "L1", "--limit", "50"]),
                       ("store rebuild-index", ["store", "rebuild-index"]),
                       ("calendar show", ["calendar", "show", "2026"]),
                       ("compliance recompute", ["compliance", "recompute"]),
                       ("compliance shifts", ["compliance", "shifts", "--from", "2026-11-20", "--to", "2026-11-20"]),
                       ("deadline", ["deadline", "--end", "2026-11-20T18:00"]),
                       ("report", ["report", "--from", "2026-11-01", "--to", "2026-11-30", "--format", "json",
                                   "--out", str(tmp_path / "report.json")]),
                       ("devices list", ["devices", "list"]), ("media status", ["media", "status"]),
                       ("jobs status", ["jobs", "status"]), ("alerts list", ["alerts", "list"]),
                       ("alerts sweep", ["alerts", "sweep"]), ("users list", ["users", "list"]),
                       ("retention plan", ["retention", "plan"]), ("replica status", ["replica", "status"]),
                       ("store status", ["store", "status"]), ("store evict", ["store", "evict"]),
                       ("users disable", ["users", "disable", "D1", "--by", "admin"])):
        run(name, *args)

    listed = _json_commands()
    assert listed - set(answers) == NOT_HERE, sorted(listed - set(answers) - NOT_HERE)
    if os.environ.get("INGESTD_ACCEPT_CONTRACT") == "1":
        CONTRACT.parent.mkdir(exist_ok=True)
        CONTRACT.write_text(json.dumps(answers, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    kept = json.loads(CONTRACT.read_text(encoding="utf-8"))
    changed = sorted(k for k in set(kept) | set(answers) if kept.get(k) != answers.get(k))
    assert not changed, (f"the --json answer of {', '.join(changed)} changed shape; if meant, accept it with "
                         f"INGESTD_ACCEPT_CONTRACT=1 and commit the diff of {CONTRACT.name}")


def _json_commands() -> set[str]:
    import typer

    def walk(command, path):
        subs = getattr(command, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, [*path, name])
        elif any(p.name == "as_json" for p in command.params):
            yield " ".join(path)

    return set(walk(typer.main.get_command(cli_app), []))
