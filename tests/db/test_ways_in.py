"""The ways into the database that db/ owns (docs/architecture.md, "The ways into the database")."""

import pytest
from sqlalchemy import text, update
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import ANONYMOUS, user_identity
from schoolbase.models import User
from schoolbase.problems import Problem


async def test_a_service_lookup_reads_what_the_caller_cannot(db, world):
    student = user_identity(world.users["s1"])
    async with db.as_user(student) as session:
        visible = await session.scalar(text("select count(*) from public.memberships"))
    rows = await db.service_lookup(text("select count(*) from public.memberships"), {})
    assert rows[0][0] > visible


async def test_a_service_lookup_cannot_write(db, world):
    with pytest.raises(DBAPIError) as refused:
        await db.service_lookup(update(User).where(User.id == world.users["s1"]).values(display_name="x"), {})
    assert refused.value.orig.sqlstate == "25006"  # read_only_sql_transaction


async def test_as_user_refuses_a_disabled_account(db, world):
    person = world.users["s2"]
    async with db.as_service() as session:
        await session.execute(text("update public.users set disabled_at = now() where id = :id"), {"id": person})
    try:
        with pytest.raises(Problem) as refused:
            async with db.as_user(user_identity(person)):
                pass
        assert refused.value.status == 401
    finally:
        async with db.as_service() as session:
            await session.execute(text("update public.users set disabled_at = null where id = :id"), {"id": person})


async def test_as_user_as_anon_needs_no_account(db):
    async with db.as_user(ANONYMOUS) as session:
        assert await session.scalar(text("select current_user")) == "anon"
