"""Reviews: one per person per readable, approved resource; the rating average and count on the
resource are kept by a trigger through insert, update and delete."""

import uuid

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import user_identity
from schoolbase.errors import sqlstate
from tests.conftest import rolled_back


async def rating(portal, resource_id, who="oa") -> tuple:
    row = await portal.ok("GET", f"/resources/{resource_id}", who)
    return row["rating_average"], row["rating_count"]


async def test_rating_follows_insert_update_and_delete(portal):
    resource = await portal.approved("t")
    rid = resource["id"]
    url = f"/resources/{rid}/reviews"
    assert await rating(portal, rid) == (None, 0)
    mine = await portal.ok("POST", url, "s", 201, json={"rating": 5, "comment": "Loved it"})
    assert (mine["rating"], mine["comment"], mine["user_id"]) == (5, "Loved it", str(portal.school.people["s"]))
    assert await rating(portal, rid) == (5.0, 1)
    await portal.ok("POST", url, "s2", 201, json={"rating": 2})
    await portal.ok("POST", url, "p", 201, json={"rating": 4})
    assert await rating(portal, rid) == (3.67, 3)  # 11 / 3, rounded to two places
    changed = await portal.ok("PUT", url, "s2", json={"rating": 3, "comment": "Better on a second look"})
    assert (changed["rating"], changed["comment"]) == (3, "Better on a second look")
    assert await rating(portal, rid) == (4.0, 3)
    await portal.ok("DELETE", url, "s", 204)
    assert await rating(portal, rid) == (3.5, 2)
    # An org admin moderates another person's review by id.
    reviews = await portal.ok("GET", url, "t")
    by_parent = next(r for r in reviews["items"] if r["user_id"] == str(portal.school.people["p"]))
    await portal.problem("DELETE", f"{url}/{by_parent['id']}", "t", 403, "forbidden")
    await portal.ok("DELETE", f"{url}/{by_parent['id']}", "oa", 204)
    assert await rating(portal, rid) == (3.0, 1)
    await portal.ok("DELETE", url, "s2", 204)
    assert await rating(portal, rid) == (None, 0)


async def test_one_review_per_person(portal):
    resource = await portal.approved("t")
    url = f"/resources/{resource['id']}/reviews"
    await portal.ok("POST", url, "s", 201, json={"rating": 4})
    body = await portal.problem("POST", url, "s", 409, "review-exists", json={"rating": 1})
    assert "PUT" in body["detail"]
    assert await rating(portal, resource["id"]) == (4.0, 1)


async def test_only_approved_resources_the_reviewer_can_read(portal, other):
    pending = await portal.resource("t", state="pending_review")
    url = f"/resources/{pending['id']}/reviews"
    # Visible to the org admin and the author, but not approved: refused.
    for who in ("oa", "t"):
        body = await portal.problem("POST", url, who, 403, "forbidden", json={"rating": 5})
        assert "only approved resources can be reviewed; this one is pending_review" in body["detail"]
    # Invisible: not found.
    for who in ("s", "t2"):
        await portal.problem("POST", url, who, 404, "not-found", json={"rating": 5})
    await other.problem("POST", url, "oa", 404, json={"rating": 5})
    scoped = await portal.approved("t", class_id=str(portal.school.class_id))
    await portal.problem("POST", f"/resources/{scoped['id']}/reviews", "s2", 404, json={"rating": 5})
    await portal.ok("POST", f"/resources/{scoped['id']}/reviews", "s", 201, json={"rating": 5})


async def test_rls_itself_refuses_a_review_of_an_unapproved_resource(portal, db):
    """The service checks first for a clear message; the policy is what actually holds."""
    pending = await portal.resource("t", state="pending_review")
    async with rolled_back(db, user_identity(portal.school.people["oa"])) as session:
        try:
            await session.execute(
                text(
                    "insert into public.resource_reviews (organization_id, resource_id, user_id, rating) "
                    "values (:org, :r, :me, 5)"
                ),
                {"org": portal.school.org_id, "r": pending["id"], "me": portal.school.people["oa"]},
            )
        except DBAPIError as exc:
            assert sqlstate(exc) == "42501"
        else:
            raise AssertionError("a review of a pending resource was accepted")


async def test_reviews_of_an_archived_resource_are_frozen(portal):
    resource = await portal.approved("t")
    url = f"/resources/{resource['id']}/reviews"
    await portal.ok("POST", url, "t2", 201, json={"rating": 3})
    await portal.ok("POST", f"/resources/{resource['id']}/archive", "oa")
    await portal.problem("PUT", url, "t2", 404, json={"rating": 5})  # t2 no longer sees the resource
    await portal.problem("PUT", url, "oa", 403, "forbidden", json={"rating": 5})
    assert (await portal.ok("GET", url, "oa"))["items"][0]["rating"] == 3


async def test_my_review_must_exist_to_change_or_withdraw(portal):
    resource = await portal.approved("t")
    url = f"/resources/{resource['id']}/reviews"
    body = await portal.problem("PUT", url, "s", 404, "not-found", json={"rating": 2})
    assert body["detail"] == "you have not reviewed this resource"
    await portal.problem("DELETE", url, "s", 404, "not-found")
    await portal.problem("DELETE", f"/resources/{uuid.uuid4()}/reviews", "s", 404)
    await portal.ok("POST", url, "s", 201, json={"rating": 2})
    await portal.problem("PUT", url, "s", 422, "validation", json={"rating": None})
    unchanged = await portal.ok("PUT", url, "s", json={})
    assert unchanged["rating"] == 2


async def test_review_validation_and_listing(portal, other):
    resource = await portal.approved("t")
    url = f"/resources/{resource['id']}/reviews"
    for rating_value in (0, 6, "five"):
        await portal.problem("POST", url, "s", 422, "validation", json={"rating": rating_value})
    await portal.problem("POST", url, "s", 422, "validation", json={"rating": 3, "comment": "x" * 5001})
    for who, stars in (("s", 5), ("s2", 4), ("p", 3)):
        await portal.ok("POST", url, who, 201, json={"rating": stars})
    first = await portal.ok("GET", url, "s", params={"limit": 2})
    second = await portal.ok("GET", url, "s", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [r["rating"] for r in first["items"] + second["items"]] == [3, 4, 5]  # newest first
    assert second["next_cursor"] is None
    await other.problem("GET", url, "oa", 404, "not-found")
    await portal.problem("GET", url, "s", 400, "invalid-cursor", params={"cursor": "garbage"})
