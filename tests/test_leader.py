"""One leader for the unit's sweeps among docks sharing PostgreSQL (a session advisory lock):
exactly one of three leads, a dock that lets go hands over, and a leader killed with
SIGKILL is replaced as soon as the server has ended its session. SQLite's one dock leads."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from ingestd.db.engine import Database
from ingestd.leader import Leadership
from tests.conftest import pg_database
from tests.test_daemon import wait_for


def test_one_of_three_docks_leads_and_another_takes_over_when_it_goes():
    with pg_database() as url:
        docks = [Leadership(Database.open(url, "test"), f"dock-{i}") for i in range(3)]
        try:
            assert [d.is_leader() for d in docks] == [True, False, False]
            assert [d.is_leader() for d in docks] == [True, False, False]  # asking again changes nothing
            docks[0].close()
            assert sorted(d.is_leader() for d in docks[1:]) == [False, True]
        finally:
            for d in docks:
                d.close()
                d.db.dispose()


def test_a_leader_killed_outright_is_replaced():
    with pg_database() as url:
        holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from ingestd.db.engine import Database
            from ingestd.leader import Leadership
            lead = Leadership(Database.open({url!r}, "test"), "doomed")
            print(lead.is_leader(), flush=True)
            time.sleep(600)
        """)], stdout=subprocess.PIPE, text=True)
        other = Leadership(Database.open(url, "test"), "survivor")
        try:
            assert holder.stdout.readline().strip() == "True"
            assert not other.is_leader()
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)
            wait_for(other.is_leader, timeout=30, step=0.2)  # the server notices the closed socket
        finally:
            holder.kill()
            other.close()
            other.db.dispose()


def test_the_one_sqlite_dock_leads(tmp_path):
    db = Database.open(f"sqlite:///{tmp_path / 'x.db'}", "test")
    assert Leadership(db, "only").is_leader()
    db.dispose()
