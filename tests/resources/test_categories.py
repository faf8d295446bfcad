"""Resource categories: a per-organization hierarchy that cannot get a cycle (the database
refuses it), a subtree in one query, and deletes refused while something is still inside."""

import asyncio
import contextlib

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import apply_identity, user_identity
from schoolbase.errors import sqlstate
from tests.conftest import rolled_back, wait_for_lock


async def test_org_admin_builds_the_tree_members_read_it(portal, other):
    school = portal.school
    science = await portal.category("Science")
    biology = await portal.category("Biology", science["id"])
    assert biology["parent_id"] == science["id"] and biology["organization_id"] == str(school.org_id)
    url = f"/organizations/{school.org_id}/resource-categories"
    for who in ("t", "s", "p"):
        page = await portal.ok("GET", url, who)
        assert [c["name"] for c in page["items"]] == ["Biology", "Science"]
    top = await portal.ok("GET", url, "s", params={"top_level": "true"})
    assert [c["name"] for c in top["items"]] == ["Science"]
    children = await portal.ok("GET", url, "s", params={"parent_id": science["id"]})
    assert [c["name"] for c in children["items"]] == ["Biology"]
    await portal.ok("GET", f"/resource-categories/{biology['id']}", "p")
    # Only org admins write; another organization sees nothing.
    await portal.problem("POST", url, "t", 403, "forbidden", json={"name": "Mine"})
    await portal.problem("POST", url, "s", 403, json={"name": "Mine"})
    await other.problem("POST", url, "oa", 403, json={"name": "Theirs"})
    await other.problem("GET", f"/resource-categories/{biology['id']}", "oa", 404, "not-found")
    assert (await other.ok("GET", url, "oa"))["items"] == []


async def test_names_are_unique_per_level_and_pages_follow_the_name(portal):
    science = await portal.category("Science")
    await portal.category("Lab", science["id"])
    await portal.category("Lab")  # same name, other level
    body = await portal.problem(
        "POST",
        f"/organizations/{portal.school.org_id}/resource-categories",
        "oa",
        409,
        "conflict",
        json={"name": "Lab", "parent_id": science["id"]},
    )
    assert "'Lab' already exists" in body["detail"]
    url = f"/organizations/{portal.school.org_id}/resource-categories"
    first = await portal.ok("GET", url, "t", params={"limit": 2})
    second = await portal.ok("GET", url, "t", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [c["name"] for c in first["items"] + second["items"]] == ["Lab", "Lab", "Science"]
    assert second["next_cursor"] is None


async def test_rename_and_move(portal, other):
    a = await portal.category("Maths")
    b = await portal.category("Algebra")
    moved = await portal.ok("PATCH", f"/resource-categories/{b['id']}", "oa", json={"parent_id": a["id"]})
    assert moved["parent_id"] == a["id"]
    renamed = await portal.ok("PATCH", f"/resource-categories/{b['id']}", "oa", json={"name": "Linear algebra"})
    assert renamed["name"] == "Linear algebra" and renamed["parent_id"] == a["id"]
    assert renamed["updated_at"] >= moved["updated_at"]
    top = await portal.ok("PATCH", f"/resource-categories/{b['id']}", "oa", json={"parent_id": None})
    assert top["parent_id"] is None
    # A parent must exist in the same organization.
    theirs = await other.category("Elsewhere")
    body = await portal.problem(
        "PATCH", f"/resource-categories/{b['id']}", "oa", 422, "invalid-reference", json={"parent_id": theirs["id"]}
    )
    assert "does not exist in this organization" in body["detail"]
    await portal.problem("PATCH", f"/resource-categories/{b['id']}", "oa", 422, "validation", json={"name": None})
    await portal.problem("PATCH", f"/resource-categories/{b['id']}", "t", 403, json={"name": "Mine"})
    await other.problem("PATCH", f"/resource-categories/{b['id']}", "oa", 404, json={"name": "Theirs"})


async def test_a_move_into_the_own_subtree_is_refused(portal):
    root = await portal.category("Root")
    child = await portal.category("Child", root["id"])
    grandchild = await portal.category("Grandchild", child["id"])
    for target, detail in (
        (root, "cannot move category 'Root' into itself"),
        (child, "cannot move category 'Root' under 'Child': 'Child' is inside 'Root'"),
        (grandchild, "cannot move category 'Root' under 'Grandchild': 'Grandchild' is inside 'Root'"),
    ):
        body = await portal.problem(
            "PATCH", f"/resource-categories/{root['id']}", "oa", 422, "category-cycle", json={"parent_id": target["id"]}
        )
        assert detail in body["detail"], body
    # Nothing moved.
    tree = await portal.ok("GET", f"/resource-categories/{root['id']}/subtree", "oa")
    assert [(c["name"], c["depth"]) for c in tree] == [("Root", 0), ("Child", 1), ("Grandchild", 2)]


async def test_two_moves_that_would_close_a_cycle_the_second_is_refused_by_the_database(portal):
    x = await portal.category("X")
    y = await portal.category("Y")
    await portal.ok("PATCH", f"/resource-categories/{x['id']}", "oa", json={"parent_id": y["id"]})
    body = await portal.problem(
        "PATCH", f"/resource-categories/{y['id']}", "oa", 422, "category-cycle", json={"parent_id": x["id"]}
    )
    assert body["constraint"] == "resource_categories_no_cycle"
    assert "cannot move category 'Y' under 'X': 'X' is inside 'Y'" in body["detail"]


async def test_the_trigger_refuses_a_cycle_without_the_api(portal, db):
    """The rule is the database's: the service's friendly message is only a translation."""
    a = await portal.category("A")
    b = await portal.category("B", a["id"])
    c = await portal.category("C", b["id"])
    async with rolled_back(db, user_identity(portal.school.people["oa"])) as session:
        try:
            await session.execute(
                text("update public.resource_categories set parent_id = :c where id = :a"), {"a": a["id"], "c": c["id"]}
            )
        except DBAPIError as exc:
            assert sqlstate(exc) == "23514"
            assert exc.orig.diag.constraint_name == "resource_categories_no_cycle"
        else:
            raise AssertionError("a cycle was accepted")


@contextlib.contextmanager
def statements(app):
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    engine = app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_subtree_is_one_query_in_tree_order(portal, app, other):
    science = await portal.category("Science")
    physics = await portal.category("Physics", science["id"])
    await portal.category("Biology", science["id"])
    await portal.category("Optics", physics["id"])
    await portal.category("Atoms", physics["id"])
    await portal.category("History")
    with statements(app) as seen:
        tree = await portal.ok("GET", f"/resource-categories/{science['id']}/subtree", "s")
    assert [(c["name"], c["depth"]) for c in tree] == [
        ("Science", 0),
        ("Biology", 1),
        ("Physics", 1),
        ("Atoms", 2),
        ("Optics", 2),
    ]
    touching = [s for s in seen if "resource_categories" in s or "category_subtree" in s]
    assert len(touching) == 1, seen
    assert "private.category_subtree" in touching[0]
    leaf = await portal.ok("GET", f"/resource-categories/{physics['id']}/subtree", "t")
    assert [c["name"] for c in leaf] == ["Physics", "Atoms", "Optics"]
    await other.problem("GET", f"/resource-categories/{science['id']}/subtree", "oa", 404, "not-found")


async def test_delete_is_refused_while_children_or_resources_remain(portal):
    parent = await portal.category("Parent")
    child = await portal.category("Child", parent["id"])
    body = await portal.problem("DELETE", f"/resource-categories/{parent['id']}", "oa", 409, "category-in-use")
    assert "'Parent' still has 1 subcategories and 0 resources" in body["detail"]
    resource = await portal.resource("t", category_id=child["id"])
    body = await portal.problem("DELETE", f"/resource-categories/{child['id']}", "oa", 409, "category-in-use")
    assert (body["subcategories"], body["resources"]) == (0, 1)
    await portal.problem("DELETE", f"/resource-categories/{child['id']}", "t", 403, "forbidden")
    await portal.ok("DELETE", f"/resources/{resource['id']}", "oa", 204)
    await portal.ok("DELETE", f"/resource-categories/{child['id']}", "oa", 204)
    await portal.ok("DELETE", f"/resource-categories/{parent['id']}", "oa", 204)
    await portal.problem("DELETE", f"/resource-categories/{parent['id']}", "oa", 404, "not-found")


async def test_concurrent_moves_cannot_build_a_cycle_between_them(portal, db):
    """Each move alone is fine; together they would close a loop. The trigger serialises moves per
    organization, so the second sees the first once it commits, and is refused."""
    x = await portal.category("X")
    y = await portal.category("Y")
    identity = user_identity(portal.school.people["oa"])
    move = text("update public.resource_categories set parent_id = :parent where id = :id")

    async with db.sessions() as first, db.sessions() as second:
        await first.begin()
        await apply_identity(first, identity)
        await first.execute(move, {"parent": y["id"], "id": x["id"]})
        await second.begin()
        await apply_identity(second, identity)
        pid = await second.scalar(text("select pg_backend_pid()"))
        blocked = asyncio.create_task(second.execute(move, {"parent": x["id"], "id": y["id"]}))
        await wait_for_lock(db, pid)  # waiting for the first move's lock
        assert not blocked.done()
        await first.commit()
        with pytest.raises(DBAPIError) as refused:
            await blocked
        assert sqlstate(refused.value) == "23514"
        await second.rollback()
    tree = await portal.ok("GET", f"/resource-categories/{y['id']}/subtree", "oa")
    assert [c["name"] for c in tree] == ["Y", "X"]
