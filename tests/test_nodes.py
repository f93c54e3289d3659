"""Each dock is a node with a chain of its own: docks sharing PostgreSQL never wait on each
other's audit head, every chain is checked with the key its dock registered, a database's
single chain of old becomes its first node's history, and a name or key that would fork a
chain is refused."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from sqlalchemy import select, text, update

from ingestd import audit
from ingestd.app import App
from ingestd.db import migrate
from ingestd.db.engine import Database
from ingestd.db.models import AuditEvent, AuditHead, AuditNode
from ingestd.signing import Signer
from tests.conftest import make_dock, pg_database


def _note(app, what: str) -> None:
    with app.changes.begin("someone") as ch:
        ch.record("test.noted", "test", what)


@pytest.mark.postgres
def test_two_docks_keep_two_chains_and_each_checks_both(tmp_path):
    with pg_database() as url:
        a = make_dock(tmp_path / "a", INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME="dock-a")
        b = make_dock(tmp_path / "b", INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME="dock-b")
        app_b = b.app()
        for i in range(3):
            _note(app_b, str(i))
        app_b.close()
        for dock in (a, b):
            out = dock.cli_json("audit", "verify")
            assert out["ok"], out
            assert {c["node"]: c["ok"] for c in out["chains"]} == {"dock-a": True, "dock-b": True}
        with a.app().db.engine.begin() as conn:
            conn.execute(update(AuditEvent).where(AuditEvent.node == "dock-b", AuditEvent.node_seq == 2)
                         .values(actor="forger"))
        out = a.cli_json("audit", "verify", check=1)
        assert [(f["node"], "edited" in f["message"]) for f in out["findings"]] == [("dock-b", True)]
        assert {c["node"]: c["ok"] for c in out["chains"]} == {"dock-a": True, "dock-b": False}


@pytest.mark.postgres
def test_a_dock_commits_while_another_holds_its_own_head(tmp_path):
    """Before nodes, every writer of every dock took one head row: B would wait for A."""
    with pg_database() as url:
        a = make_dock(tmp_path / "a", INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME="dock-a").app()
        b = make_dock(tmp_path / "b", INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME="dock-b").app()
        done = threading.Event()
        with a.changes.begin("someone") as ch:
            ch.record("test.held_open", "test", "a")
            worker = threading.Thread(target=lambda: (_note(b, "while a is open"), done.set()))
            worker.start()
            worker.join(timeout=60)
            assert done.is_set(), "dock-b waited on dock-a's transaction"
        same_dock = threading.Thread(target=_note, args=(a, "after a"))
        with a.changes.begin("someone") as ch:  # the same dock's writers still take turns
            ch.record("test.held_open", "test", "a2")
            same_dock.start()
            same_dock.join(timeout=1)
            assert same_dock.is_alive()
        same_dock.join(timeout=60)
        with a.db.reading() as s:
            assert s.execute(select(AuditHead.node, AuditHead.seq).order_by(AuditHead.node)).all()[1] == ("dock-b", 2)
        a.close()
        b.close()


@pytest.mark.postgres
def test_a_name_or_key_that_would_fork_a_chain_is_refused(tmp_path):
    with pg_database() as url:
        make_dock(tmp_path / "a", INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME="dock-a")
        with pytest.raises(Exception) as refused:
            make_dock(tmp_path / "twin", INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME="dock-a")
        assert "writes with another signing key" in str(refused.value)
        renamed = make_dock(tmp_path / "b", INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME="dock-b")
        moved = dict(renamed.env, INGESTD_DOCK_NAME="dock-b2")
        renamed.env = moved
        out = renamed.cli("db", "upgrade", check=2)
        assert out.stderr.count("\n") == 1
        assert "already writes the audit chain of node 'dock-b'" in out.stderr


def _old_chain(db: Database, signer: Signer, dock: str, actions: list[str]) -> None:
    """Entries as a single-chain database held them (revision 0013): one head row, id 1."""
    from datetime import datetime, timezone

    at = datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    prev = audit.GENESIS
    with db.engine.begin() as conn:
        for seq, action in enumerate(actions, 1):
            detail = audit.canonical_json({"n": seq})
            digest = audit._entry_hash(prev, seq, at, dock, "admin", action, "test", str(seq), detail)
            conn.execute(text("insert into audit_events (seq, at, dock, actor, action, subject_type, subject_id, "
                              "detail, prev_hash, hash, signature) values (:seq, :at, :dock, 'admin', :action, "
                              "'test', :sid, :detail, :prev, :hash, :sig)"),
                         {"seq": seq, "at": at, "dock": dock, "action": action, "sid": str(seq), "detail": detail,
                          "prev": prev, "hash": digest, "sig": signer.sign(bytes.fromhex(digest))})
            prev = digest
        conn.execute(text("update audit_head set seq = :s, hash = :h, signature = :sig where id = 1"),
                     {"s": len(actions), "h": prev,
                      "sig": signer.sign(audit._single_chain_head_message(len(actions), prev))})


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_single_chain_of_old_becomes_the_first_nodes_history(tmp_path, backend):
    def upgrade_to(db: Database, revision: str) -> None:
        cfg = migrate.alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    def check(url: str) -> None:
        dock = make_dock(tmp_path / "dock", INGESTD_DOCK_NAME="old-dock")  # its data dir and key
        db = Database.open(url, "test")
        upgrade_to(db, "0013")
        _old_chain(db, Signer.load(dock.app().data.signing_key), "old-dock",
                   ["user.added", "dock.started", "recording.ingested"])
        migrate.upgrade(db)
        with db.engine.connect() as conn:
            assert conn.execute(text("select node, public_key from audit_nodes")).all() == [("old-dock", None)]
        db.dispose()
        stranger = make_dock(tmp_path / "stranger", INGESTD_DOCK_NAME="old-dock")
        stranger.env["INGESTD_DATABASE_URL"] = url
        out = stranger.cli("audit", "verify", "--json", check=1)  # reading needs no key, and finds none
        assert "has not registered its key" in out.stdout
        refused = stranger.cli("db", "upgrade", check=2)
        assert "was not signed with this dock's key" in refused.stderr
        app = App.open(dock.settings.model_copy(update={"database_url": url}))
        _note(app, "after the upgrade")
        app.close()
        dock.env["INGESTD_DATABASE_URL"] = url
        out = dock.cli_json("audit", "verify")
        assert out["ok"], out
        assert [(c["node"], c["entries"], c["ok"]) for c in out["chains"]] == [("old-dock", 5, True)]
        with Database.open(url, "test").reading() as s:
            actions = list(s.execute(select(AuditEvent.action).order_by(AuditEvent.node_seq)).scalars())
            assert actions == ["user.added", "dock.started", "recording.ingested", "audit.node_registered",
                               "test.noted"]
            assert s.get(AuditNode, "old-dock").public_key is not None

    if backend == "sqlite":
        check(f"sqlite:///{tmp_path / 'old.db'}")
    else:
        with pg_database() as url:
            check(url)


ROSTER = ("日期,警号,姓名,执法证号,执法队,班次开始,班次结束,任务类型,返回单位时间,执法记录仪编号\n"
          "2026-11-20,012345,张三,L-001,一队,08:00,18:00,常规,,CAM-77\n"
          "2026-11-20,054321,李四,L-002,二队,08:00,18:00,常规,,CAM-88\n")


def _camera_dump(root, name: str, tone: int):
    from ingestd.media.synthetic import ClipSpec, make_clip

    cam = root / name
    for i, hhmmss in enumerate(["083000", "083100", "083400", "090000"]):
        make_clip(cam / "DCIM" / f"20261120_{hhmmss}.mp4",
                  ClipSpec(seconds=2 + i % 2, width=320, height=240, tone_hz=tone + 50 * i))
    return cam


@pytest.mark.postgres
def test_three_docks_fed_the_same_and_other_dumps_at_once(tmp_path):
    """A and B get one camera's dump at the same moment, C another camera's: every recording
    once, every after-dock job done at the dock whose store holds the bytes, no interruption
    twice, every dock's chain valid, the report counting each recording once."""
    import hashlib
    import subprocess
    import sys

    from ingestd.db.models import DockSession, Gap, Job, Recording, RecordingCompliance
    from ingestd.digests import file_digests
    from ingestd.jobs.kinds import AFTER_DOCK

    cam77, cam88 = _camera_dump(tmp_path, "CAM-77", 300), _camera_dump(tmp_path, "CAM-88", 700)
    with pg_database() as url:
        docks = {n: make_dock(tmp_path / n, INGESTD_DATABASE_URL=url, INGESTD_DOCK_NAME=n, INGESTD_INGEST__WORKERS="1")
                 for n in ("dock-a", "dock-b", "dock-c")}
        (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
        docks["dock-a"].cli_json("roster", "import", "--by", "admin", str(tmp_path / "roster.csv"))
        feeds = {"dock-a": cam77, "dock-b": cam77, "dock-c": cam88}
        procs = {n: subprocess.Popen([sys.executable, "-m", "ingestd", "ingest", str(feeds[n]), "--device",
                                      feeds[n].name, "--json"], env=docks[n].env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) for n in docks}
        for n, p in procs.items():
            out, err = p.communicate(timeout=600)
            assert p.returncode == 0, (n, err)
        for n in docks:  # what no session waited for (derivatives, replicas) at each dock
            docks[n].cli_json("jobs", "work", "--until-idle", "--derivatives")

        digests = {hashlib.sha256(p.read_bytes()).hexdigest(): p for cam in (cam77, cam88) for p in cam.rglob("*.mp4")}
        app = docks["dock-a"].app()
        with app.db.reading() as s:
            homes = dict(s.execute(select(Recording.id, DockSession.dock)
                                   .join(DockSession, DockSession.id == Recording.dock_session_id)).all())
            sm3 = dict(s.execute(select(Recording.id, Recording.sm3)).all())
            comp = dict(s.execute(select(RecordingCompliance.recording_id, RecordingCompliance.upload_status)).all())
            gaps = s.execute(select(Gap.before_recording_id, Gap.after_recording_id, Gap.kind)).all()
            undone = s.execute(select(Job.kind, Job.status, Job.error).where(Job.status != "done")).all()
            after_dock = s.execute(select(Job.kind, Job.worker).where(Job.kind.in_([k.value for k in AFTER_DOCK]),
                                                                     Job.kind != "recompute")).all()
        app.close()
        assert set(homes) == set(digests), "every recording exactly once"
        assert {homes[d] for d in homes if digests[d].is_relative_to(cam88)} == {"dock-c"}
        assert {homes[d] for d in homes if digests[d].is_relative_to(cam77)} <= {"dock-a", "dock-b"}
        assert undone == []
        assert all(sm3[d] == file_digests(p, sm3=True)["sm3"] for d, p in digests.items())
        assert set(comp) == set(digests) and set(comp.values()) <= {"on_time", "late"}
        assert len(gaps) == len(set(gaps)) >= 4, "each interruption once"
        assert len(after_dock) >= 3 * 2
        for n, dock in docks.items():
            out = dock.cli_json("audit", "verify")
            assert out["ok"] and [c["node"] for c in out["chains"]] == sorted(docks), (n, out)
        # The three recompute the same days at once, again and again (a roster change seen
        # everywhere): each deletes and writes the same compliance rows and the rollup.
        from ingestd.compliance.recompute import recompute

        apps = [d.app() for d in docks.values()]
        errors: list[BaseException] = []

        def again_and_again(app) -> None:
            try:
                for _ in range(6):
                    recompute(app)
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=again_and_again, args=(app,)) for app in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=600)
        for app in apps:
            app.close()
        assert errors == []
        # An export is made at the dock that asked, from its own store.
        from ingestd.errors import UserError
        from ingestd.evidence.export_requests import ask_export, export_state

        far = next(d for d, p in digests.items() if p.is_relative_to(cam88))
        app_a, app_c = docks["dock-a"].app(), docks["dock-c"].app()
        try:
            with pytest.raises(UserError, match=r"not in this dock's store: .* \(at dock-c\)"):
                ask_export(app_a, "admin", [far], None)
            token = ask_export(app_c, "admin", [far], None)
        finally:
            app_a.close()
        assert docks["dock-a"].cli_json("jobs", "work", "--until-idle")["jobs"] == 0  # not dock-a's to do
        docks["dock-c"].cli_json("jobs", "work", "--until-idle")
        state = export_state(app_c, token)
        app_c.close()
        assert state.status == "done" and state.volumes, state
        report = tmp_path / "r.json"
        docks["dock-c"].cli("report", "--from", "2026-11-20", "--to", "2026-11-20", "--format", "json",
                            "--out", str(report))
        import json

        assert json.loads(report.read_text())["unit"]["recordings"] == len(digests)


def test_a_dock_recomputes_its_own_cameras_figures_only(tmp_path):
    """A dock settles its camera's recordings and shifts; another camera's, on the same days,
    are left to their own docks (and to the leader's sweep, for what time changes)."""
    from ingestd.db.models import Job

    dock = make_dock(tmp_path)
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="utf-8")
    dock.cli_json("roster", "import", "--by", "admin", str(tmp_path / "roster.csv"))
    for name, tone in (("CAM-77", 300), ("CAM-88", 700)):
        dock.cli_json("ingest", str(_camera_dump(tmp_path, name, tone)), "--device", name)
    with dock.app().db.reading() as s:
        outputs = [j.output for j in s.execute(select(Job).where(Job.kind == "compliance")
                                                .order_by(Job.id)).scalars()]
    assert [(o["recordings"], o["shifts"]) for o in outputs] == [(4, 1), (4, 1)]
    recs = {r["device"]: r for r in dock.cli_json("recordings", "list")}
    assert {r["officer"] for r in recs.values()} == {"012345", "054321"}
