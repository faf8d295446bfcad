"""Alembic environment: one transaction per revision, against the owner URL."""

from alembic import context
from sqlalchemy import create_engine, pool, text

from schoolbase.db.migrate import MIGRATION_LOCK_KEY, VERSION_SCHEMA, include_object
from schoolbase.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    # Two processes may upgrade the same database at once (two `serve`s on one
    # embedded data directory): a session-level advisory lock, held across the
    # per-revision transactions, makes the second wait and then find nothing to do.
    connection.execute(text("select pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    connection.commit()
    try:
        # The version table lives outside ``public`` so that every table there is a
        # row-level-secured domain table.
        connection.execute(text(f"create schema if not exists {VERSION_SCHEMA}"))
        connection.commit()
        context.configure(
            version_table_schema=VERSION_SCHEMA,
            connection=connection,
            target_metadata=target_metadata,
            transaction_per_migration=True,
            include_object=include_object,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    finally:
        if connection.in_transaction():
            connection.rollback()
        connection.execute(text("select pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported; run against a database")
run_migrations_online()
