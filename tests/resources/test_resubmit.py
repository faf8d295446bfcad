"""A rejected resource is revised by its author and submitted again; the review note stays
(visible to the author) until the next decision replaces it."""

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import user_identity
from tests.conftest import rolled_back
from tests.resources.conftest import Portal


async def test_reject_revise_resubmit_approve(portal: Portal):
    created = await portal.resource("t", state="pending_review")
    url = f"/resources/{created['id']}"
    note = "Answers are missing."
    rejected = await portal.ok("POST", f"{url}/reject", "oa", json={"note": note})
    assert rejected["state"] == "rejected"

    # The author revises it: the note stays, and the resource stays rejected until resubmitted.
    revised = await portal.ok("PATCH", url, "t", json={"body": "1/2 + 1/4 = 3/4", "title": "Fractions, with answers"})
    assert (revised["state"], revised["review_note"], revised["title"]) == (
        "rejected",
        note,
        "Fractions, with answers",
    )
    resubmitted = await portal.ok("POST", f"{url}/submit", "t")
    assert (resubmitted["state"], resubmitted["review_note"]) == ("pending_review", note)
    assert resubmitted["reviewer_id"] == str(portal.school.people["oa"])
    assert (await portal.ok("GET", url, "t"))["review_note"] == note
    # Still invisible to students until approved; and only the author resubmits.
    await portal.problem("GET", url, "s", 404)
    await portal.problem("POST", f"{url}/submit", "t", 409, "invalid-state")

    approved = await portal.ok("POST", f"{url}/approve", "oa", json={"note": "Good now."})
    assert (approved["state"], approved["review_note"], approved["body"]) == (
        "approved",
        "Good now.",
        "1/2 + 1/4 = 3/4",
    )
    await portal.ok("GET", url, "s")
    # An approved resource is the admins' again.
    await portal.problem("PATCH", url, "t", 403, "forbidden", json={"title": "Sneaky"})


async def test_a_rejected_resource_can_be_resubmitted_as_it_is_and_rejected_again(portal: Portal):
    created = await portal.resource("t", state="pending_review")
    url = f"/resources/{created['id']}"
    await portal.ok("POST", f"{url}/reject", "oa", json={"note": "First"})
    await portal.problem("POST", f"{url}/submit", "oa", 403, "forbidden")  # only the author
    await portal.problem("POST", f"{url}/submit", "t2", 404)
    assert (await portal.ok("POST", f"{url}/submit", "t"))["state"] == "pending_review"
    again = await portal.ok("POST", f"{url}/reject", "oa", json={"note": "Second"})
    assert (again["state"], again["review_note"]) == ("rejected", "Second")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ("state = 'approved'", "revised and submitted for review again"),
        ("state = 'draft'", "revised and submitted for review again"),
        ("review_note = null", "set by org admins and the server"),
    ],
)
async def test_the_author_cannot_unreject_or_clear_the_note_directly(portal: Portal, db, values, message):
    """The database holds the rules too: an author's own write takes a rejected resource only
    back to review, and never touches the review."""
    created = await portal.resource("t", state="pending_review")
    await portal.ok("POST", f"/resources/{created['id']}/reject", "oa", json={"note": "No"})
    async with rolled_back(db, user_identity(portal.school.people["t"])) as session:
        with pytest.raises(DBAPIError) as refused:
            await session.execute(text(f"update public.resources set {values} where id = :id"), {"id": created["id"]})
    assert getattr(refused.value.orig, "sqlstate", None) == "42501"
    assert message in str(refused.value.orig)
