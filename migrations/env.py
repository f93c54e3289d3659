"""Alembic environment: runs on the connection ingestd hands over (see ingestd/db/migrate.py),
or on `sqlalchemy.url` when Alembic is run by hand."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from ingestd.db.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {}, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.begin() as conn:
        _migrate(conn)


def _migrate(connection) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


run()
