"""Resources: who creates, reads and changes them, and the approval workflow
(draft → pending_review → approved / rejected, archive), with the reviewer recorded."""

import uuid

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import user_identity
from schoolbase.errors import sqlstate
from tests.conftest import rolled_back


async def test_teachers_and_org_admins_create_students_and_parents_do_not(portal):
    link = await portal.resource("t", title="Khan fractions", type="link", url="https://example.org/f", body=None)
    assert (link["state"], link["type"], link["url"], link["author_id"]) == (
        "draft",
        "link",
        "https://example.org/f",
        str(portal.school.people["t"]),
    )
    assert link["organization_id"] == str(portal.school.org_id) and link["file_url"] is None
    assert (link["rating_average"], link["rating_count"], link["ai_generated"]) == (None, 0, False)
    by_admin = await portal.resource("oa", state="pending_review")
    assert by_admin["state"] == "pending_review"
    for who in ("s", "p"):
        body = await portal.problem(
            "POST", "/resources", who, 403, "forbidden", json={"title": "x", "type": "link", "url": "https://e.org"}
        )
        assert "only teachers and organization admins create resources" in body["detail"]
    # Naming the organization explicitly does not help: RLS refuses.
    await portal.problem(
        "POST",
        "/resources",
        "s",
        403,
        "forbidden",
        json={"title": "x", "type": "link", "url": "https://e.org", "organization_id": str(portal.school.org_id)},
    )


async def test_create_validation(portal):
    for body, fragment in (
        ({"title": "x", "type": "link"}, "give a url or a body"),
        ({"title": "  ", "type": "link", "url": "https://e.org"}, "title"),
        ({"title": "x", "type": "podcast", "url": "https://e.org"}, "type"),
        ({"title": "x", "type": "link", "url": "ftp://e.org"}, "url"),
        ({"title": "x", "type": "link", "url": "https://e.org", "state": "approved"}, "state"),
        ({"title": "x", "type": "link", "url": "https://e.org", "tags": ["t"] * 51}, "tags"),
    ):
        problem = await portal.problem("POST", "/resources", "t", 422, "validation", json=body)
        assert fragment in problem["detail"], problem
    # A category or class of another organization is not a valid reference.
    problem = await portal.problem(
        "POST",
        "/resources",
        "t",
        422,
        json={"title": "x", "type": "link", "url": "https://e.org", "category_id": str(uuid.uuid4())},
    )
    assert problem["type"].endswith("invalid-reference")


async def test_drafts_are_visible_to_their_author_and_org_admins_only(portal, other):
    draft = await portal.resource("t")
    url = f"/resources/{draft['id']}"
    assert (await portal.ok("GET", url, "t"))["body"] == "1/2 + 1/4 = ?"
    await portal.ok("GET", url, "oa")
    for who in ("t2", "s", "s2", "p"):
        await portal.problem("GET", url, who, 404, "not-found")
    await other.problem("GET", url, "oa", 404)


async def test_author_changes_own_draft_and_pending_not_others_or_approved(portal):
    draft = await portal.resource("t")
    url = f"/resources/{draft['id']}"
    changed = await portal.ok("PATCH", url, "t", json={"title": "Fractions, part 1", "tags": ["fractions"]})
    assert (changed["title"], changed["tags"]) == ("Fractions, part 1", ["fractions"])
    assert changed["updated_at"] > draft["updated_at"]
    await portal.ok("POST", f"{url}/submit", "t")
    assert (await portal.ok("PATCH", url, "t", json={"subject": "Maths"}))["subject"] == "Maths"
    await portal.problem("PATCH", url, "t2", 404, json={"title": "Mine"})  # cannot even see it
    await portal.problem("PATCH", url, "t", 422, "validation", json={"title": None})
    await portal.ok("POST", f"{url}/approve", "oa")
    body = await portal.problem("PATCH", url, "t", 403, "forbidden", json={"title": "Sneaky"})
    assert "draft or pending review" in body["detail"]
    assert (await portal.ok("PATCH", url, "oa", json={"title": "Edited by admin"}))["title"] == "Edited by admin"
    await portal.problem("PATCH", url, "s", 403, json={"title": "Student"})  # sees it, may not change it


async def test_approval_workflow(portal):
    school = portal.school
    draft = await portal.resource("t")
    url = f"/resources/{draft['id']}"
    # Only the author submits, and only a draft.
    await portal.problem("POST", f"{url}/submit", "oa", 403, "forbidden")
    await portal.problem("POST", f"{url}/approve", "oa", 409, "invalid-state")
    pending = await portal.ok("POST", f"{url}/submit", "t")
    assert pending["state"] == "pending_review"
    body = await portal.problem("POST", f"{url}/submit", "t", 409, "invalid-state")
    assert "only a draft or a rejected resource can be submitted" in body["detail"]
    assert body["state"] == "pending_review"
    # Pending is still invisible to students.
    await portal.problem("GET", url, "s", 404)
    # Only org admins decide.
    body = await portal.problem("POST", f"{url}/approve", "t", 403, "forbidden")
    assert "only an organization admin" in body["detail"]
    await portal.problem("POST", f"{url}/approve", "t2", 404)
    await portal.problem("POST", f"{url}/reject", "oa", 422, "validation", json={})
    approved = await portal.ok("POST", f"{url}/approve", "oa", json={"note": "Clear and correct."})
    assert approved["state"] == "approved" and approved["review_note"] == "Clear and correct."
    assert approved["reviewer_id"] == str(school.people["oa"]) and approved["reviewed_at"]
    await portal.problem("POST", f"{url}/approve", "oa", 409, "invalid-state")
    await portal.problem("POST", f"{url}/reject", "oa", 409, "invalid-state", json={"note": "late"})
    for who in ("s", "s2", "p", "t2"):
        await portal.ok("GET", url, who)
    archived = await portal.ok("POST", f"{url}/archive", "oa", json={"note": "Outdated"})
    assert (archived["state"], archived["review_note"]) == ("archived", "Outdated")
    await portal.problem("GET", url, "s", 404)
    await portal.problem("POST", f"{url}/archive", "oa", 409, "invalid-state")
    await portal.problem("POST", f"{url}/reject", "oa", 409, "invalid-state", json={"note": "no"})
    restored = await portal.ok("POST", f"{url}/approve", "oa", json={"note": "Back in use"})
    assert restored["state"] == "approved"
    await portal.ok("GET", url, "s")


async def test_rejection_keeps_the_note_for_the_author(portal):
    created = await portal.resource("t", state="pending_review")
    url = f"/resources/{created['id']}"
    rejected = await portal.ok("POST", f"{url}/reject", "oa", json={"note": "Answers are missing."})
    assert (rejected["state"], rejected["review_note"]) == ("rejected", "Answers are missing.")
    mine = await portal.ok("GET", url, "t")
    assert mine["review_note"] == "Answers are missing."
    await portal.problem("GET", url, "s", 404)
    # The author may revise a rejected resource (tests/resources/test_resubmit.py); nobody else may.
    await portal.problem("PATCH", url, "t2", 404, json={"title": "Fixed"})


async def test_class_scoped_resources_reach_only_that_class(portal):
    scoped = await portal.approved("t", class_id=str(portal.school.class_id))
    url = f"/resources/{scoped['id']}"
    for who in ("t", "s", "p", "oa"):
        await portal.ok("GET", url, who)
    for who in ("s2", "t2"):
        await portal.problem("GET", url, who, 404)


async def test_delete_is_for_org_admins(portal, other):
    created = await portal.approved("t")
    url = f"/resources/{created['id']}"
    await portal.problem("DELETE", url, "t", 403, "forbidden")
    await portal.problem("DELETE", url, "s", 403)
    await other.problem("DELETE", url, "oa", 404)
    await portal.ok("DELETE", url, "oa", 204)
    await portal.problem("GET", url, "oa", 404)
    await portal.problem("DELETE", url, "oa", 404)


async def test_unknown_ids_and_bad_ids_are_problems(portal):
    await portal.problem("GET", f"/resources/{uuid.uuid4()}", "t", 404, "not-found")
    await portal.problem("GET", "/resources/not-a-uuid", "t", 422, "validation")
    await portal.problem("POST", f"/resources/{uuid.uuid4()}/approve", "oa", 404)
    anonymous = await portal.client.get("/resources")
    assert anonymous.status_code == 401


# The guard trigger (fixed in 20250922_164000): fields that belong to admins and the server.


async def _as_teacher(db, portal, sql: str, **params) -> str | None:
    async with rolled_back(db, user_identity(portal.school.people["t"])) as session:
        try:
            await session.execute(text(sql), params)
        except DBAPIError as exc:
            return sqlstate(exc)
    return None


async def test_an_author_cannot_move_a_draft_into_another_organization(db, portal, other):
    draft = await portal.resource("t")
    state = await _as_teacher(
        db,
        portal,
        "update public.resources set organization_id = :org where id = :id",
        org=other.school.org_id,
        id=draft["id"],
    )
    assert state == "42501"


@pytest.mark.parametrize("column, value", [("rating_average", "5"), ("rating_count", "3"), ("ai_generated", "true")])
async def test_an_author_cannot_preset_a_rating_or_the_ai_flag(db, portal, column, value):
    state = await _as_teacher(
        db,
        portal,
        "insert into public.resources (organization_id, title, type, body, author_id, " + column + ") "
        "values (:org, 'x', 'worksheet', 'b', :me, " + value + ")",
        org=portal.school.org_id,
        me=portal.school.people["t"],
    )
    assert state == "42501"
