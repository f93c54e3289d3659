"""States are enums, held by the database: the models refuse a value no set has (SQLite and
PostgreSQL), PostgreSQL's CHECK constraints refuse it from any statement, and the migration's
frozen values are the sets' own."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, StatementError

from ingestd.db.models import User
from ingestd.db.states import COLUMNS, Role
from tests.conftest import make_dock, pg_database

VERSIONS = Path(__file__).parent.parent / "migrations" / "versions"


def _frozen() -> dict[tuple[str, str], tuple[str, ...]]:
    """The sets as the migrations hold them: revision 0018's, then each later revision's changes."""
    frozen: dict[tuple[str, str], tuple[str, ...]] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        if path.name[:4].isdigit() and int(path.name[:4]) >= 18:
            spec = importlib.util.spec_from_file_location(f"m{path.name[:4]}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            frozen.update(getattr(module, "STATES", {}))
    return frozen


def test_the_migration_holds_every_set_as_the_code_has_it():
    frozen = _frozen()
    assert {key: tuple(m.value for m in enum) for key, enum in COLUMNS.items()} == frozen


def test_a_value_outside_its_set_is_refused_and_a_member_reads_back_as_one(tmp_path):
    app = make_dock(tmp_path).app()
    try:
        from ingestd.users import add_user

        add_user(app, "O1", "张三", "officer", "一中队", None, None, "admin")
        with app.db.reading() as s:
            assert s.get(User, "O1").role is Role.OFFICER
        with pytest.raises(StatementError, match="superuser"):
            with app.changes.begin("admin") as ch:
                ch.session.get(User, "O1").role = "superuser"
                ch.record("user.updated", "user", "O1")
    finally:
        app.close()


@pytest.mark.postgres
def test_postgresql_refuses_a_stray_state_from_any_statement(tmp_path):
    with pg_database() as url:
        make_dock(tmp_path, INGESTD_DATABASE_URL=url)
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                checks = set(conn.execute(text("select conname from pg_constraint where contype = 'c'")).scalars())
                assert {f"ck_{t}_{c}" for t, c in COLUMNS} <= checks
                with pytest.raises(IntegrityError, match="ck_users_role"):
                    conn.execute(text("insert into users (badge, name, role, created_at, disabled, "
                                      "password_temporary) values ('X', 'x', 'superuser', now(), false, false)"))
        finally:
            engine.dispose()
