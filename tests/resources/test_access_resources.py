"""Every cell of the resource rows of "Resource portal and meetings" in ACCESS.md
(resource_categories, resources, resource_reviews), proved against the real database.

Same method as ``tests/tenancy/test_access_core.py`` (helpers in ``tests/access.py``):
each probe runs one statement as one actor through the server's own login role in a
transaction that is always rolled back; a probe counts as refused when PostgreSQL
answers 42501 or the statement touches no row. The tables below name, per row (reads)
or per statement (writes), exactly who may; every other actor is expected to be
refused, and service (which bypasses RLS) is added to every allowed set.

The rows are committed once per module by ``refs`` (as service) and deleted after it,
so the shared world is left as it was. In organization A:

* approved: ``org`` (org-wide, by t1), ``fresh`` (org-wide, by oa, never reviewed),
  ``c1`` (class c1, by t1), ``c2`` (class c2, by t2), ``c3`` (class c3 of t1 and t2, by t2);
* not approved: ``draft``, ``pending``, ``rejected``, ``archived`` (all by t1), ``draft-t2``;
* reviews ``org:s1``, ``org:t2`` (on ``org``) and ``c1:p1`` (on ``c1``);
* category ``A``.

In organization B: ``B`` (approved, by tB) with review ``B:sB``, ``B-draft`` (by tB), category ``B``.

Readings of ACCESS.md made here (where it is silent, deny):

* "T" of a class-scoped resource is a teacher of that class: a teacher creates (or, as
  author, moves) a resource only org-wide or into a class they teach.
* "the author" is a person of the resource's organization: an author from another
  organization (X) sees and changes nothing, like every X.
* An archived resource is not among the states ACCESS.md lets the author read, so only
  OA (who archives it, and may bring it back or delete it) and SA read it.
* A review is the reviewer's own: OA deletes others' reviews but does not write them,
  and SA does not either (as with the owner-only feedback of AI usage logs); nobody,
  SA included, reviews a resource that is not approved.
* A second review of the same resource by the same user is refused by the unique
  constraint (23505), which is not an access denial and is asserted on its own.
"""

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import SERVICE
from schoolbase.errors import sqlstate
from tests.access import (
    A_PEOPLE,
    B_PEOPLE,
    FOREIGN_KEY_VIOLATION,
    INSUFFICIENT_PRIVILEGE,
    NOW,
    UNIQUE_VIOLATION,
    Read,
    Refs,
    W,
    as_actor,
    assert_writes_cover,
    can_insert,
    can_update,
    members,
    outsiders_test,
    public_tables_like,
    read_test,
    write_test,
)
from tests.conftest import rolled_back

TABLES = ("resource_categories", "resources", "resource_reviews")

# key -> (org, state, class, author)
RESOURCES = {
    "org": ("A", "approved", None, "t1"),
    "fresh": ("A", "approved", None, "oa"),
    "c1": ("A", "approved", "c1", "t1"),
    "c2": ("A", "approved", "c2", "t2"),
    "c3": ("A", "approved", "c3", "t2"),
    "draft": ("A", "draft", None, "t1"),
    "pending": ("A", "pending_review", None, "t1"),
    "rejected": ("A", "rejected", None, "t1"),
    "archived": ("A", "archived", None, "t1"),
    "draft-t2": ("A", "draft", None, "t2"),
    "B": ("B", "approved", None, "tB"),
    "B-draft": ("B", "draft", None, "tB"),
}
# key -> (resource, reviewer); the key is "resource:reviewer".
REVIEWS = {"org:s1": ("org", "s1"), "org:t2": ("org", "t2"), "c1:p1": ("c1", "p1"), "B:sB": ("B", "sB")}
CATEGORIES = ("A", "B")


@pytest.fixture(scope="module")
async def refs(db, world) -> AsyncIterator[Refs]:
    """The module's rows, committed as service and deleted again at the end."""
    refs = Refs(world)
    rows = refs.rows
    rows.update(category={}, resource={}, review={})
    tag = uuid.uuid4().hex[:8]
    try:
        async with db.as_service() as session:
            for key in CATEGORIES:
                rows["category"][key] = await session.scalar(
                    text(
                        "insert into public.resource_categories (organization_id, name) values (:org, :name) returning id"
                    ),
                    {"org": world.orgs[key], "name": f"Probe category {key} {tag}"},
                )
            for key, (org, state, cls, author) in RESOURCES.items():
                rows["resource"][key] = await session.scalar(
                    text(
                        "insert into public.resources (organization_id, title, type, url, class_id, state, author_id)"
                        " values (:org, :title, 'link', 'https://example.org/r', :cls, :state, :author) returning id"
                    ),
                    {
                        "org": world.orgs[org],
                        "title": f"Probe {key} {tag}",
                        "cls": world.classes.get(cls),
                        "state": state,
                        "author": world.users[author],
                    },
                )
            for key, (resource, reviewer) in REVIEWS.items():
                org = RESOURCES[resource][0]
                rows["review"][key] = await session.scalar(
                    text(
                        "insert into public.resource_reviews (organization_id, resource_id, user_id, rating)"
                        " values (:org, :resource, :user, 4) returning id"
                    ),
                    {"org": world.orgs[org], "resource": rows["resource"][resource], "user": world.users[reviewer]},
                )
        yield refs
    finally:
        async with db.as_service() as session:
            # Reviews go with their resources; resources before the categories they might name.
            await session.execute(
                text("delete from public.resources where id = any(:ids)"), {"ids": list(rows["resource"].values())}
            )
            await session.execute(
                text("delete from public.resource_categories where id = any(:ids)"),
                {"ids": list(rows["category"].values())},
            )
            for kind, table in (
                ("review", "resource_reviews"),
                ("resource", "resources"),
                ("category", "resource_categories"),
            ):
                left = await session.scalar(
                    text(f"select count(*) from public.{table} where id = any(:ids)"),
                    {"ids": list(rows[kind].values())},
                )
                assert left == 0, (table, left)


def set_resource(key: str, **changes):
    """A setup step: change a seeded resource as service inside the probe's transaction."""
    assignments = ", ".join(f"{column} = :{column}" for column in changes)
    return (f"update public.resources set {assignments} where id = :id", {"id": f"@resource:{key}", **changes})


# ---------------------------------------------------------------------------
# Reads: one row each, and who may see it (service is added to every set).


def R(table, key, readers, *, setup=(), case=None) -> Read:
    """Who reads the seeded row ``key``; ``case`` names what ``setup`` changed first."""
    kind = {"resource_categories": "category", "resources": "resource", "resource_reviews": "review"}[table]
    row = f"{key}[{case}]" if case else key
    return Read(table, row, frozenset(readers), {"id": f"@{kind}:{key}"}, tuple(setup))


AUTHOR_AND_OA = {"sa", "oa", "t1"}  # draft, pending and rejected resources of t1
RESOURCE_READERS = {
    # approved and org-wide: M.
    "org": members(A_PEOPLE),
    "fresh": members(A_PEOPLE),
    # approved and class-scoped: that class's T, S and P; OA; the author.
    "c1": {"sa", "oa", "t1", "s1", "p1"},  # not t2, s2, p2: another class
    "c2": {"sa", "oa", "t2", "s2", "p2"},
    "c3": {"sa", "oa", "t1", "t2"},  # co-taught, no students
    # draft, pending or rejected: the author and OA.
    "draft": AUTHOR_AND_OA,
    "pending": AUTHOR_AND_OA,
    "rejected": AUTHOR_AND_OA,
    "draft-t2": {"sa", "oa", "t2"},
    # archived: not in ACCESS.md for the author; OA (see the module docstring).
    "archived": {"sa", "oa"},
    "B": members(B_PEOPLE),
    "B-draft": {"sa", "oaB", "tB"},
}

READS = [
    # resource_categories: M.
    R("resource_categories", "A", members(A_PEOPLE)),
    R("resource_categories", "B", members(B_PEOPLE)),
    *(R("resources", key, readers) for key, readers in RESOURCE_READERS.items()),
    # The author of an approved class-scoped resource reads it without teaching the class.
    R(
        "resources",
        "c1",
        {"sa", "oa", "t1", "s1", "p1", "t2"},
        setup=[set_resource("c1", author_id="@user:t2")],
        case="by-t2",
    ),
    # An author from another organization is X: a draft of org A "by" tB is the OA's alone.
    R("resources", "draft", {"sa", "oa"}, setup=[set_resource("draft", author_id="@user:tB")], case="by-tB"),
    R(
        "resources",
        "org",
        {"sa", "oa"},
        setup=[set_resource("org", author_id="@user:tB", state="pending_review")],
        case="pending-by-tB",
    ),
    # resource_reviews: whoever can read the resource.
    R("resource_reviews", "org:s1", RESOURCE_READERS["org"]),
    R("resource_reviews", "org:t2", RESOURCE_READERS["org"]),
    R("resource_reviews", "c1:p1", RESOURCE_READERS["c1"]),
    R("resource_reviews", "B:sB", RESOURCE_READERS["B"]),
    # ... also when the resource leaves the approved state (its author is t1).
    R(
        "resource_reviews",
        "org:s1",
        RESOURCE_READERS["pending"],
        setup=[set_resource("org", state="pending_review")],
        case="resource-pending",
    ),
    R(
        "resource_reviews",
        "org:t2",
        RESOURCE_READERS["archived"],
        setup=[set_resource("org", state="archived")],
        case="resource-archived",
    ),
    # ... or when it is scoped to a class (t1 still reads her own resource).
    R(
        "resource_reviews",
        "org:s1",
        RESOURCE_READERS["c2"] | {"t1"},
        setup=[set_resource("org", class_id="@class:c2")],
        case="resource-in-c2",
    ),
]


def test_read_table_covers_every_seeded_row():
    seeded = {(r.table, r.row) for r in READS if not r.setup}
    assert seeded == {
        *(("resource_categories", key) for key in CATEGORIES),
        *(("resources", key) for key in RESOURCES),
        *(("resource_reviews", key) for key in REVIEWS),
    }


test_read = read_test(READS)


# ---------------------------------------------------------------------------
# Writes: one statement each, and who may run it (service is added to every set).

TEACHERS_AND_OA = {"sa", "oa", "t1", "t2"}
OA = {"sa", "oa"}
NEW_RESOURCE = {
    "organization_id": "@org:A",
    "title": "Probe",
    "type": "link",
    "url": "https://example.org/p",
    "author_id": "@user:self",
}
# Columns only OA (and SA, and the server) set: review, AI and rating fields, and the author.
GUARDED = {
    "reviewer_id": "@user:oa",
    "review_note": "looks good",
    "reviewed_at": NOW,
    "ai_generated": True,
    "ai_usage_log_id": "@new",
    "rating_average": 4.5,
    "rating_count": 1,
}


def new_review(resource: str, org: str = "A", user: str = "@user:self") -> dict:
    return {"organization_id": f"@org:{org}", "resource_id": f"@resource:{resource}", "user_id": user, "rating": 5}


WRITES = [
    # resource_categories: OA.
    W("category-create", "insert", "resource_categories", OA, values={"organization_id": "@org:A", "name": "@unique"}),
    W(
        "category-create-in-B",
        "insert",
        "resource_categories",
        {"sa", "oaB"},
        values={"organization_id": "@org:B", "name": "@unique"},
    ),
    W(
        "category-create-child",
        "insert",
        "resource_categories",
        OA,
        values={"organization_id": "@org:A", "parent_id": "@category:A", "name": "@unique"},
    ),
    W(
        "category-A-rename",
        "update",
        "resource_categories",
        OA,
        where={"id": "@category:A"},
        values={"name": "@unique"},
    ),
    W(
        "category-B-rename",
        "update",
        "resource_categories",
        {"sa", "oaB"},
        where={"id": "@category:B"},
        values={"name": "@unique"},
    ),
    W(
        "category-A-move-to-B",
        "update",
        "resource_categories",
        {"sa"},
        where={"id": "@category:A"},
        values={"organization_id": "@org:B"},
    ),
    W("category-A-delete", "delete", "resource_categories", OA, where={"id": "@category:A"}),
    W("category-B-delete", "delete", "resource_categories", {"sa", "oaB"}, where={"id": "@category:B"}),
    # resources: T and OA create, a teacher only as author, as draft or pending, org-wide or in own class.
    W("resource-create-draft", "insert", "resources", TEACHERS_AND_OA, values={**NEW_RESOURCE, "state": "draft"}),
    W("resource-create-default-state", "insert", "resources", TEACHERS_AND_OA, values=NEW_RESOURCE),
    W(
        "resource-create-pending",
        "insert",
        "resources",
        TEACHERS_AND_OA,
        values={**NEW_RESOURCE, "state": "pending_review"},
    ),
    W("resource-create-approved", "insert", "resources", OA, values={**NEW_RESOURCE, "state": "approved"}),
    W("resource-create-rejected", "insert", "resources", OA, values={**NEW_RESOURCE, "state": "rejected"}),
    W("resource-create-archived", "insert", "resources", OA, values={**NEW_RESOURCE, "state": "archived"}),
    W(
        "resource-create-by-t1",
        "insert",
        "resources",
        {"sa", "oa", "t1"},
        values={**NEW_RESOURCE, "author_id": "@user:t1"},
    ),
    W(
        "resource-create-in-c1",
        "insert",
        "resources",
        {"sa", "oa", "t1"},
        values={**NEW_RESOURCE, "class_id": "@class:c1"},
    ),
    W(
        "resource-create-in-c2",
        "insert",
        "resources",
        {"sa", "oa", "t2"},
        values={**NEW_RESOURCE, "class_id": "@class:c2"},
    ),
    W(
        "resource-create-in-c3",
        "insert",
        "resources",
        TEACHERS_AND_OA,
        values={**NEW_RESOURCE, "class_id": "@class:c3"},
    ),
    W(
        "resource-create-in-category",
        "insert",
        "resources",
        TEACHERS_AND_OA,
        values={**NEW_RESOURCE, "category_id": "@category:A"},
    ),
    W(
        "resource-create-in-B",
        "insert",
        "resources",
        {"sa", "oaB", "tB"},
        values={**NEW_RESOURCE, "organization_id": "@org:B"},
    ),
    *(
        W(f"resource-create-with-{column}", "insert", "resources", OA, values={**NEW_RESOURCE, column: value})
        for column, value in GUARDED.items()
    ),
    # resources: the author changes own draft or pending one.
    W(
        "draft-edit",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:draft"},
        values={"title": "Edited", "description": "more"},
    ),
    W(
        "pending-edit",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:pending"},
        values={"title": "Edited"},
    ),
    W(
        "draft-submit",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:draft"},
        values={"state": "pending_review"},
    ),
    W(
        "pending-withdraw",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:pending"},
        values={"state": "draft"},
    ),
    W(
        "draft-into-c1",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:draft"},
        values={"class_id": "@class:c1"},
    ),
    W("draft-into-c2", "update", "resources", OA, where={"id": "@resource:draft"}, values={"class_id": "@class:c2"}),
    W(
        "draft-into-category",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:draft"},
        values={"category_id": "@category:A"},
    ),
    W(
        "draft-t2-edit",
        "update",
        "resources",
        {"sa", "oa", "t2"},
        where={"id": "@resource:draft-t2"},
        values={"title": "Edited"},
    ),
    W("approved-edit", "update", "resources", OA, where={"id": "@resource:org"}, values={"title": "Edited"}),
    W("approved-c1-edit", "update", "resources", OA, where={"id": "@resource:c1"}, values={"title": "Edited"}),
    W("approved-back-to-draft", "update", "resources", OA, where={"id": "@resource:org"}, values={"state": "draft"}),
    # A rejected one: the author revises it and submits it again (the review stays until the next decision).
    W(
        "rejected-edit",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:rejected"},
        values={"title": "Edited"},
    ),
    W(
        "rejected-resubmit",
        "update",
        "resources",
        AUTHOR_AND_OA,
        where={"id": "@resource:rejected"},
        values={"state": "pending_review"},
    ),
    W("rejected-to-draft", "update", "resources", OA, where={"id": "@resource:rejected"}, values={"state": "draft"}),
    W("archived-edit", "update", "resources", OA, where={"id": "@resource:archived"}, values={"title": "Edited"}),
    W("archived-restore", "update", "resources", OA, where={"id": "@resource:archived"}, values={"state": "approved"}),
    # resources: only OA approves, rejects or archives.
    W(
        "pending-approve",
        "update",
        "resources",
        OA,
        where={"id": "@resource:pending"},
        values={"state": "approved", "reviewer_id": "@user:self", "reviewed_at": NOW, "review_note": "fine"},
    ),
    W(
        "pending-approve-state-only",
        "update",
        "resources",
        OA,
        where={"id": "@resource:pending"},
        values={"state": "approved"},
    ),
    W("draft-approve", "update", "resources", OA, where={"id": "@resource:draft"}, values={"state": "approved"}),
    W("pending-reject", "update", "resources", OA, where={"id": "@resource:pending"}, values={"state": "rejected"}),
    W("draft-reject", "update", "resources", OA, where={"id": "@resource:draft"}, values={"state": "rejected"}),
    W("approved-archive", "update", "resources", OA, where={"id": "@resource:org"}, values={"state": "archived"}),
    W("draft-archive", "update", "resources", OA, where={"id": "@resource:draft"}, values={"state": "archived"}),
    # resources: the review, AI and rating fields and the author are OA's (the guard trigger).
    *(
        W(f"draft-set-{column}", "update", "resources", OA, where={"id": "@resource:draft"}, values={column: value})
        for column, value in {**GUARDED, "author_id": "@user:t2"}.items()
    ),
    W(
        "draft-move-to-B",
        "update",
        "resources",
        {"sa"},
        where={"id": "@resource:draft"},
        values={"organization_id": "@org:B"},
    ),
    W("B-edit", "update", "resources", {"sa", "oaB"}, where={"id": "@resource:B"}, values={"title": "Edited"}),
    W(
        "B-draft-edit",
        "update",
        "resources",
        {"sa", "oaB", "tB"},
        where={"id": "@resource:B-draft"},
        values={"title": "Edited"},
    ),
    # An author from another organization changes nothing of org A.
    W(
        "draft-by-tB-edit",
        "update",
        "resources",
        OA,
        where={"id": "@resource:draft"},
        values={"title": "Edited"},
        setup=[set_resource("draft", author_id="@user:tB")],
    ),
    # resources: delete OA.
    W("approved-delete", "delete", "resources", OA, where={"id": "@resource:org"}),
    W("draft-delete", "delete", "resources", OA, where={"id": "@resource:draft"}),
    W("archived-delete", "delete", "resources", OA, where={"id": "@resource:archived"}),
    W("B-delete", "delete", "resources", {"sa", "oaB"}, where={"id": "@resource:B"}),
    # resource_reviews: one own review per readable, approved resource.
    W("review-fresh", "insert", "resource_reviews", members(A_PEOPLE), values=new_review("fresh")),
    W("review-c2", "insert", "resource_reviews", RESOURCE_READERS["c2"], values=new_review("c2")),
    W("review-c3", "insert", "resource_reviews", RESOURCE_READERS["c3"], values=new_review("c3")),
    *(
        W(f"review-{key}", "insert", "resource_reviews", set(), values=new_review(key))
        for key in ("draft", "pending", "rejected", "archived", "draft-t2")
    ),
    W("review-fresh-as-t1", "insert", "resource_reviews", {"t1"}, values=new_review("fresh", user="@user:t1")),
    W(
        "review-B", "insert", "resource_reviews", members(B_PEOPLE), values=new_review("B", "B"), not_for={"sB"}
    ),  # sB has reviewed B (see test_a_second_review_is_a_unique_violation)
    # resource_reviews: the author changes or deletes own; OA deletes.
    W(
        "review-org:s1-change",
        "update",
        "resource_reviews",
        {"s1"},
        where={"id": "@review:org:s1"},
        values={"rating": 1, "comment": "changed my mind"},
    ),
    W(
        "review-org:t2-change",
        "update",
        "resource_reviews",
        {"t2"},
        where={"id": "@review:org:t2"},
        values={"rating": 1},
    ),
    W(
        "review-c1:p1-change",
        "update",
        "resource_reviews",
        {"p1"},
        where={"id": "@review:c1:p1"},
        values={"comment": "edited"},
    ),
    W("review-B:sB-change", "update", "resource_reviews", {"sB"}, where={"id": "@review:B:sB"}, values={"rating": 2}),
    W(
        "review-org:s1-give-to-s2",
        "update",
        "resource_reviews",
        set(),
        where={"id": "@review:org:s1"},
        values={"user_id": "@user:s2"},
    ),
    W("review-org:s1-delete", "delete", "resource_reviews", {"sa", "oa", "s1"}, where={"id": "@review:org:s1"}),
    W("review-c1:p1-delete", "delete", "resource_reviews", {"sa", "oa", "p1"}, where={"id": "@review:c1:p1"}),
    W("review-B:sB-delete", "delete", "resource_reviews", {"sa", "oaB", "sB"}, where={"id": "@review:B:sB"}),
]


def test_write_table_covers_every_table_and_operation():
    assert_writes_cover(WRITES, TABLES)


test_write = write_test(WRITES)


# ---------------------------------------------------------------------------
# Specific guarantees stated in words.


async def test_resource_tables_are_all_in_the_matrix(db):
    """A new resource_* table fails here until this file says who may read and write it."""
    assert await public_tables_like(db, "resource%") == set(TABLES)


@pytest.mark.parametrize(("reviewer", "resource"), [("s1", "org"), ("t2", "org"), ("p1", "c1"), ("sB", "B")])
async def test_a_second_review_is_a_unique_violation(db, refs, reviewer, resource):
    """Not an access denial: the policy lets the reviewer in, the unique constraint refuses."""
    org = RESOURCES[resource][0]
    with pytest.raises(DBAPIError) as caught:
        await can_insert(db, refs, reviewer, "resource_reviews", new_review(resource, org))
    assert sqlstate(caught.value) == UNIQUE_VIOLATION


@pytest.mark.parametrize(("reviewer", "resource"), [("s1", "org"), ("p1", "c1")])
async def test_a_review_after_deleting_ones_own_goes_in(db, refs, reviewer, resource):
    """The control for the test above: the same insert without the earlier review."""
    async with as_actor(db, refs, reviewer) as session:
        deleted = await session.execute(
            text("delete from public.resource_reviews where resource_id = :r and user_id = :u"),
            {"r": refs.rows["resource"][resource], "u": refs.world.users[reviewer]},
        )
        assert deleted.rowcount == 1
        inserted = await session.execute(
            text(
                "insert into public.resource_reviews (organization_id, resource_id, user_id, rating)"
                " values (:o, :r, :u, 2)"
            ),
            {"o": refs.world.orgs["A"], "r": refs.rows["resource"][resource], "u": refs.world.users[reviewer]},
        )
        assert inserted.rowcount == 1


@pytest.mark.parametrize(("actor", "resource"), [("t1", "draft"), ("t1", "pending"), ("t2", "draft-t2")])
@pytest.mark.parametrize("column", [*GUARDED, "author_id"])
async def test_author_setting_review_ai_or_rating_fields_is_refused_by_the_guard(db, refs, actor, resource, column):
    """The author's draft passes the update policy; the guard trigger is what refuses (42501)."""
    # author_id: hand the draft to the other teacher.
    value = GUARDED.get(column) or ("@user:t2" if actor == "t1" else "@user:t1")
    assignment = "now()" if value is NOW else ":v"
    async with as_actor(db, refs, actor) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(f"update public.resources set {column} = {assignment} where id = :id"),
                {"v": refs.resolve(actor, value), "id": refs.rows["resource"][resource]},
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert "set by org admins and the server" in str(caught.value.orig)


@pytest.mark.parametrize("actor", ["t1", "t2"])
@pytest.mark.parametrize("column", list(GUARDED))
async def test_teacher_creating_with_review_ai_or_rating_fields_is_refused_by_the_guard(db, refs, actor, column):
    value = GUARDED[column]
    assignment = "now()" if value is NOW else ":v"
    async with as_actor(db, refs, actor) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(
                    "insert into public.resources (organization_id, title, type, url, author_id, "
                    f"{column}) values (:org, 'Probe', 'link', 'https://example.org/p', :me, {assignment})"
                ),
                {"org": refs.world.orgs["A"], "me": refs.world.users[actor], "v": refs.resolve(actor, value)},
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert "set by org admins and the server" in str(caught.value.orig)


@pytest.mark.parametrize("actor", ["t1", "t2"])
async def test_a_teacher_may_not_create_an_approved_resource(db, refs, actor):
    """Refused by the insert policy (42501), not silently turned into a draft."""
    async with as_actor(db, refs, actor) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(
                    "insert into public.resources (organization_id, title, type, url, author_id, state)"
                    " values (:org, 'Probe', 'link', 'https://example.org/p', :me, 'approved')"
                ),
                {"org": refs.world.orgs["A"], "me": refs.world.users[actor]},
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert "row-level security" in str(caught.value.orig)


@pytest.mark.parametrize("state", ["approved", "rejected", "archived"])
async def test_the_author_setting_an_oa_state_is_refused(db, refs, state):
    """The author sees and may change the draft, but the new row fails the policy's check (42501); a
    rejected row passes it (the author revises rejected resources), and the guard trigger refuses it."""
    async with as_actor(db, refs, "t1") as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text("update public.resources set state = :s where id = :id"),
                {"s": state, "id": refs.rows["resource"]["draft"]},
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    expected = "only an org admin rejects" if state == "rejected" else "row-level security"
    assert expected in str(caught.value.orig)


async def test_oa_approval_is_stored(db, refs):
    async with as_actor(db, refs, "oa") as session:
        await session.execute(
            text(
                "update public.resources set state = 'approved', reviewer_id = :me, reviewed_at = now(),"
                " review_note = 'ok' where id = :id"
            ),
            {"me": refs.world.users["oa"], "id": refs.rows["resource"]["pending"]},
        )
        row = (
            await session.execute(
                text("select state, reviewer_id from public.resources where id = :id"),
                {"id": refs.rows["resource"]["pending"]},
            )
        ).one()
    assert tuple(row) == ("approved", refs.world.users["oa"])


@pytest.mark.parametrize("actor", ["s1", "oa", "service"])
async def test_a_review_cannot_point_into_another_organization(db, refs, actor):
    """The composite foreign key refuses a review of org B's resource filed under org A, even for service."""
    with pytest.raises(DBAPIError) as caught:
        await can_insert(
            db,
            refs,
            actor,
            "resource_reviews",
            new_review("B", "A"),
            setup=(
                # s1 and oa are also members of org B here, so the policy lets them in.
                (
                    "insert into public.memberships (organization_id, user_id, role) values (:org, :s1, 'student'),"
                    " (:org, :oa, 'org_admin')",
                    {"org": "@org:B", "s1": "@user:s1", "oa": "@user:oa"},
                ),
            ),
        )
    assert sqlstate(caught.value) == FOREIGN_KEY_VIOLATION


async def test_probes_leave_no_trace(db, refs):
    assert await can_update(db, refs, "t1", "resources", {"id": "@resource:draft"}, {"title": "probe-trace"})
    async with rolled_back(db, SERVICE) as session:
        assert (
            await session.scalar(
                text("select title from public.resources where id = :id"), {"id": refs.rows["resource"]["draft"]}
            )
            != "probe-trace"
        )


test_x_and_anon_see_nothing_of_org_a = outsiders_test(TABLES)
