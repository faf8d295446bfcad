"""One mapping from database errors to problems (schoolbase.errors): by SQLSTATE, then class;
PostgreSQL's own text is never shown, our triggers' ``raise exception`` messages are; anything
left is a 500 showing only the request id."""

import uuid

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.errors import install_error_handlers, problem_from_db_error
from schoolbase.observability import RequestLogMiddleware
from tests.conftest import assert_problem, rolled_back


async def db_error(db, identity, statement: str) -> DBAPIError:
    """The error ``statement`` raises as ``identity`` (None: the owner)."""
    with pytest.raises(DBAPIError) as caught:
        if identity is None:
            async with db.as_service() as session:
                await session.execute(text(statement))
        else:
            async with rolled_back(db, identity) as session:
                await session.execute(text(statement))
    return caught.value


@pytest.mark.parametrize(
    ("statement", "status", "kind", "detail"),
    [
        ("select (10^9)::numeric(8, 2)", 422, "invalid-value", "A number is too large for a field"),
        ("select 'nope'::uuid", 422, "invalid-value", "A value has the wrong format for a field"),
        ("select 1 / 0", 422, "invalid-value", "A value is not valid for a field"),
        ('select \'{"a": "\\u0000"}\'::jsonb', 422, "invalid-value", "Text may not contain NUL (0x00) characters"),
        (
            "select '99999-01-01'::timestamptz + interval '300000 years'",
            422,
            "invalid-value",
            "A date or time is out of range for a field",
        ),
        (
            "insert into organizations (name, slug) values ('', 'x-' || gen_random_uuid())",
            422,
            "constraint-violation",
            "A value breaks a rule of organizations_name_check",
        ),
        (
            "insert into organizations (name, slug) values (null, 'x-' || gen_random_uuid())",
            422,
            "missing-value",
            "Name is required",
        ),
        ("select websearch_to_tsquery('english', repeat('-', 40) || 'x')", None, None, None),  # XX000: a fault
        (
            "do $$ begin perform repeat('[', 100000)::jsonb; end $$",
            422,
            "too-complex",
            "The request is too large or too complex to handle",
        ),
    ],
)
async def test_postgresql_errors_map_by_sqlstate_without_its_text(db, statement, status, kind, detail):
    exc = await db_error(db, None, statement)
    problem = problem_from_db_error(exc)
    if status is None:
        assert problem is None
        return
    assert (problem.status, problem.kind, problem.detail) == (status, kind, detail), exc.orig
    assert str(exc.orig.diag.message_primary) not in problem.detail


async def test_row_level_security_text_is_not_shown(db, world):
    exc = await db_error(
        db,
        world.identity("s1"),
        f"insert into classes (organization_id, name) values ('{world.orgs['A']}', 'Mine')",
    )
    assert "row-level security" in str(exc.orig)
    problem = problem_from_db_error(exc)
    assert (problem.status, problem.kind, problem.detail) == (
        403,
        "forbidden",
        "You are not allowed to make this change",
    )


async def test_our_own_raise_exception_messages_are_shown(db):
    # A category cycle is refused by our trigger with a message written for people.
    async with db.as_service() as session:
        org = (
            await session.execute(
                text("insert into organizations (name, slug) values ('Cycle school', :s) returning id"),
                {"s": f"cycle-{uuid.uuid4().hex[:8]}"},
            )
        ).scalar_one()
        ids = [
            (
                await session.execute(
                    text("insert into resource_categories (organization_id, name) values (:o, :n) returning id"),
                    {"o": org, "n": name},
                )
            ).scalar_one()
            for name in ("Top", "Below")
        ]
        await session.execute(
            text("update resource_categories set parent_id = :p where id = :c"), {"p": ids[0], "c": ids[1]}
        )
    exc = await db_error(db, None, f"update resource_categories set parent_id = '{ids[1]}' where id = '{ids[0]}'")
    problem = problem_from_db_error(exc)
    assert (problem.status, problem.kind) == (422, "constraint-violation")
    assert problem.detail == f"moving category {ids[0]} under {ids[1]} would make a cycle"
    assert problem.extra == {"constraint": "resource_categories_no_cycle"}
    async with db.as_service() as session:
        await session.execute(text("delete from organizations where id = :o"), {"o": org})


async def test_unique_violation_is_a_409_naming_the_constraint(db, world):
    async with db.as_service() as session:
        slug = (
            await session.execute(text("select slug from organizations where id = :o"), {"o": world.orgs["A"]})
        ).scalar_one()
    exc = await db_error(db, None, f"insert into organizations (name, slug) values ('Again', '{slug}')")
    problem = problem_from_db_error(exc)
    assert (problem.status, problem.kind) == (409, "conflict")
    assert problem.detail == "Something with the same organizations_slug_key already exists"
    assert "duplicate key" not in problem.detail
    assert problem.extra == {"constraint": "organizations_slug_key"}


async def test_a_real_fault_shows_only_the_request_id(db):
    app = FastAPI()
    install_error_handlers(app)
    app.add_middleware(RequestLogMiddleware)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @app.get("/db-fault")
    async def db_fault() -> None:
        async with db.as_service() as session:
            await session.execute(text("select websearch_to_tsquery('english', repeat('-', 40) || 'x')"))

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in ("/boom", "/db-fault"):
            response = await client.get(path, headers={"X-Request-ID": "req-123"})
            body = assert_problem(response, 500, "internal")
            assert response.headers["x-request-id"] == "req-123"
            assert body["detail"] == "The server could not complete the request; request id req-123"
            assert body["request_id"] == "req-123"
            assert "hunter2" not in response.text and "tsquery" not in response.text
