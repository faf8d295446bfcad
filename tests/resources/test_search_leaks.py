"""The search's helper functions and tables hand out only ids the caller could read anyway.

``private.resource_matches`` does the indexed full-text match outside row-level security
(see its revision for why) and so applies the resources select policy's condition itself;
``private.resource_terms`` copies the columns that policy reads and has a policy of the same
condition. For every actor of ``tests.conftest.World`` the ids either gives are exactly the
matching rows the actor reads from ``public.resources`` under RLS. ``private.category_subtree``
runs as the caller, so another organization's category has no subtree.

The resources are written inside each probe's transaction (org A's by its org admin, org
B's by B's, everything by service for the service probe) and rolled back with it; their
one shared word is new to the database, so no other test's resource matches.
"""

import random
import string
import uuid
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import SERVICE, apply_identity
from schoolbase.errors import sqlstate
from schoolbase.pagination import PageParams
from schoolbase.resources import search
from tests.access import ACTORS, INSUFFICIENT_PRIVILEGE
from tests.conftest import World, rolled_back

# key -> (organization, author, state, class or None for organization-wide)
RESOURCES = {
    "approved": ("A", "t1", "approved", None),
    "approved-c1": ("A", "t1", "approved", "c1"),
    "approved-c2": ("A", "t2", "approved", "c2"),
    "approved-c3": ("A", "t2", "approved", "c3"),
    "draft": ("A", "t1", "draft", None),
    "pending": ("A", "t2", "pending_review", "c1"),
    "rejected": ("A", "t1", "rejected", None),
    "archived": ("A", "t1", "archived", None),
    "oa-draft": ("A", "oa", "draft", None),
    "s1-draft": ("A", "s1", "draft", None),
    "s1-archived": ("A", "s1", "archived", None),
    "B-approved": ("B", "tB", "approved", None),
    "B-approved-cB": ("B", "tB", "approved", "cB"),
    "B-draft": ("B", "tB", "draft", None),
    # Authored by a person of org A, who is X in org B: being the author shows them nothing there.
    "B-pending-by-t1": ("B", "t1", "pending_review", None),
}
# What ACCESS.md gives S (s1, in c1) and P (p1, s1's parent): approved resources of their
# organization that are organization-wide or of s1's class, and S also their own unarchived ones.
EXPECTED = {
    "s1": {"approved", "approved-c1", "s1-draft"},
    "p1": {"approved", "approved-c1"},
    "sB": {"B-approved", "B-approved-cB"},
}

MATCHES = text("select id from private.resource_matches(websearch_to_tsquery('english', :word))")
TERMS = text(
    "select distinct resource_id from private.resource_terms"
    " where lexeme = any (tsvector_to_array(to_tsvector('english', :word)))"
)
READABLE = text("select id from public.resources where search @@ websearch_to_tsquery('english', :word)")


def new_word() -> str:
    return "".join(random.choices(string.ascii_lowercase, k=14))


async def write_resources(session, world: World, org: str, word: str, ids: dict[str, uuid.UUID]) -> None:
    for key, (resource_org, author, state, cls) in RESOURCES.items():
        if resource_org != org:
            continue
        await session.execute(
            text(
                "insert into public.resources (id, organization_id, title, type, body, state, author_id, class_id)"
                " values (:id, :org, :title, 'worksheet', 'Practice', cast(:state as public.resource_state),"
                " :author, :class)"
            ),
            {
                "id": ids[key],
                "org": world.orgs[org],
                "title": f"{word} {key}",
                "state": state,
                "author": world.users[author],
                "class": world.classes[cls] if cls else None,
            },
        )


@asynccontextmanager
async def seeded(db, world: World, actor: str, word: str, ids: dict[str, uuid.UUID]):
    """A rolled-back transaction holding RESOURCES, continued as ``actor``."""
    if actor == "service":
        async with rolled_back(db, SERVICE) as session:
            for org in ("A", "B"):
                await write_resources(session, world, org, word, ids)
            yield session
        return
    async with rolled_back(db, world.identity("oa")) as session:
        await write_resources(session, world, "A", word, ids)
        await apply_identity(session, world.identity("oaB"))
        await write_resources(session, world, "B", word, ids)
        await apply_identity(session, world.identity(actor))
        yield session


@pytest.mark.parametrize("source", [MATCHES, TERMS], ids=["resource_matches", "resource_terms"])
@pytest.mark.parametrize("actor", ACTORS)
async def test_resource_matches_returns_only_what_the_caller_may_read(db, world, actor, source):
    word = new_word()
    ids = {key: uuid.uuid4() for key in RESOURCES}
    key_of = {v: k for k, v in ids.items()}
    async with seeded(db, world, actor, word, ids) as session:
        try:
            matched = {key_of[i] for i in await session.scalars(source, {"word": word})}
        except DBAPIError as exc:
            assert actor == "anon" and sqlstate(exc) == INSUFFICIENT_PRIVILEGE
            return
        readable = {key_of[i] for i in await session.scalars(READABLE, {"word": word})}
    assert actor != "anon", "anon may read neither"
    assert matched == readable
    if actor in EXPECTED:
        assert matched == EXPECTED[actor]
    if actor in ("sa", "service"):
        assert matched == set(RESOURCES)
    # Nobody but the super admin, an org admin of A and the server sees another person's unapproved work of A.
    unapproved_of_others = {
        key
        for key, (org, author, state, _) in RESOURCES.items()
        if org == "A" and state != "approved" and author != actor
    }
    if actor not in ("sa", "oa", "service"):
        assert not matched & unapproved_of_others, matched & unapproved_of_others


@pytest.mark.parametrize("plan", ["walk", "ranked_matches"])
async def test_a_students_search_shows_only_readable_resources_through_the_service(db, world, plan):
    """The search statements the API runs, as s1: the walk over the terms index and the ranking
    of every match, each joined back to resources."""
    word = new_word()
    ids = {key: uuid.uuid4() for key in RESOURCES}
    key_of = {v: k for k, v in ids.items()}
    async with seeded(db, world, "s1", word, ids) as session:
        found = search.query(word)
        lexemes = await session.scalar(select(func.array(search.query_lexemes(word).scalar_subquery())))
        if plan == "walk":
            chosen = search.walk(found, lexemes, [world.orgs["A"], world.orgs["B"]], None)
        else:
            chosen = search.ranked_matches(found, lexemes)
        shown = {key_of[row[0].id] for row in (await session.execute(chosen.stmt)).all()}
        through_the_page = await search.page(session, found, PageParams(limit=50))
    assert shown == EXPECTED["s1"]
    assert {key_of[hit.id] for hit in through_the_page.items} == EXPECTED["s1"]


@pytest.mark.parametrize("actor", ["oa", "t1", "s1", "p1", "tB", "oaB", "sB"])
async def test_another_organizations_category_has_no_subtree(db, world, actor):
    parent, child = uuid.uuid4(), uuid.uuid4()
    async with rolled_back(db, world.identity("oa")) as session:
        await session.execute(
            text(
                "insert into public.resource_categories (id, organization_id, parent_id, name)"
                " values (:parent, :org, null, :pname), (:child, :org, :parent, :cname)"
            ),
            {"parent": parent, "child": child, "org": world.orgs["A"], "pname": f"p {parent}", "cname": f"c {child}"},
        )
        await apply_identity(session, world.identity(actor))
        subtree = set(await session.scalars(text("select private.category_subtree(:id)"), {"id": parent}))
    assert subtree == ({parent, child} if actor in ("oa", "t1", "s1", "p1") else set())


@pytest.mark.parametrize(
    "write",
    [
        "insert into private.resource_terms (organization_id, lexeme, rank, resource_id, state)"
        " select organization_id, 'forged', 1, resource_id, state from private.resource_terms limit 1",
        "update private.resource_terms set rank = 1",
        "delete from private.resource_terms",
    ],
    ids=["insert", "update", "delete"],
)
@pytest.mark.parametrize("actor", ACTORS)
async def test_nobody_writes_the_search_terms_but_their_trigger(db, world, actor, write):
    async with rolled_back(db, world.identity(actor)) as session:
        with pytest.raises(DBAPIError) as refused:
            await session.execute(text(write))
    assert sqlstate(refused.value) == INSUFFICIENT_PRIVILEGE
