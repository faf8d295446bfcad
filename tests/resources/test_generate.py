"""POST /resources/generate through the real gateway and the real anthropic SDK against the local
upstream: the resource is stored pending review with the AI flag and the usage log id; limits,
budget and denials are the gateway's; nothing is billed for a request that would be refused."""

import uuid

from sqlalchemy import func, update

from schoolbase.models import User
from tests.ai.support import logs
from tests.conftest import assert_problem
from tests.resources.conftest import Portal


def request(**extra) -> dict:
    return {"topic": "Photosynthesis", "grade_level": "7", "kind": "quiz", "length": 5, "subject": "Biology", **extra}


async def generate(portal, who: str = "t", **extra):
    return await portal.call("POST", "/resources/generate", who, json=request(**extra))


async def test_a_teacher_generates_a_quiz_pending_review_with_the_ai_flag(portal, db):
    school = portal.school
    response = await generate(portal, "t", length=8, class_id=str(school.class_id))
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["type"], created["state"], created["ai_generated"]) == ("quiz", "pending_review", True)
    assert (created["author_id"], created["organization_id"]) == (str(school.people["t"]), str(school.org_id))
    assert created["title"] == "Quiz: Photosynthesis"
    assert (created["subject"], created["grade_levels"], created["class_id"]) == (
        "Biology",
        ["7"],
        str(school.class_id),
    )
    assert created["reviewer_id"] is None and created["rating_count"] == 0
    # The upstream echoes the prompt: topic, grade and the number of items reached the model.
    assert created["body"].startswith("[local upstream]")
    assert "quiz in Biology for grade 7 on the topic: Photosynthesis" in created["body"]
    assert "8 multiple-choice questions" in created["body"]
    (log,) = await logs(db, school.org_id)
    assert str(log["id"]) == created["ai_usage_log_id"]
    assert (str(log["feature"]), str(log["status"]), log["user_id"]) == (
        "resource_generation",
        "succeeded",
        school.people["t"],
    )


async def test_students_never_see_it_before_an_org_admin_approves(portal):
    created = (await generate(portal, "t", kind="worksheet", title="Leaves worksheet")).json()
    assert created["type"] == "worksheet" and created["title"] == "Leaves worksheet"
    url = f"/resources/{created['id']}"
    for who in ("s", "s2", "p", "t2"):
        await portal.problem("GET", url, who, 404)
        assert all(item["id"] != created["id"] for item in (await portal.search(who, q="leaves"))["items"])
    await portal.problem("GET", f"{url}/reviews", "s", 404)
    # Only an org admin decides, not the teacher who asked for it.
    await portal.problem("POST", f"{url}/approve", "t", 403, "forbidden")
    approved = await portal.ok("POST", f"{url}/approve", "oa", json={"note": "Checked the answer key."})
    assert (approved["state"], approved["ai_generated"]) == ("approved", True)
    assert (await portal.ok("GET", url, "s"))["ai_generated"] is True
    assert [item["id"] for item in (await portal.search("s", q="leaves"))["items"]] == [created["id"]]


async def test_an_org_admin_may_generate_and_reject(portal):
    created = (await generate(portal, "oa", length=1)).json()
    assert created["ai_generated"] is True and created["state"] == "pending_review"
    rejected = await portal.ok("POST", f"/resources/{created['id']}/reject", "oa", json={"note": "Too easy"})
    assert rejected["state"] == "rejected"


async def test_students_and_parents_are_refused_before_anything_is_billed(portal, db):
    for who in ("s", "p"):
        body = assert_problem(await generate(portal, who), 403, "forbidden")
        assert "only teachers and organization admins" in body["detail"]
    assert await logs(db, portal.school.org_id) == []


async def test_a_student_allowed_the_feature_still_cannot_create_resources(make_school, client, db):
    """Even where an organization lets students use resource generation, RLS refuses the resource
    (the dry run) before the gateway is asked."""
    school = await make_school(resource_generation_roles=["student", "teacher", "org_admin"])
    portal = Portal(client, school)
    body = assert_problem(await generate(portal, "s", organization_id=str(school.org_id)), 403, "forbidden")
    assert body["detail"] == "You are not allowed to make this change"  # not PostgreSQL's policy text
    assert await logs(db, school.org_id) == []


async def test_invalid_references_are_refused_before_anything_is_billed(portal, other, db):
    theirs = await other.category("Theirs")
    assert_problem(await generate(portal, "t", category_id=theirs["id"]), 422, "invalid-reference")
    assert_problem(await generate(portal, "t", class_id=str(uuid.uuid4())), 403)  # not a class t teaches
    assert await logs(db, portal.school.org_id) == []


async def test_the_gateways_denials_propagate(make_school, client, db):
    disabled = Portal(client, await make_school(resource_generation_enabled=False))
    assert_problem(await generate(disabled, "t"), 403, "ai-feature-disabled")
    broke = Portal(client, await make_school(monthly_budget_usd=0))
    assert_problem(await generate(broke, "t"), 402, "ai-budget-exhausted")
    limited = Portal(client, await make_school(rate_limit_per_minute=1))
    assert (await generate(limited, "t")).status_code == 201
    response = await generate(limited, "t")
    assert_problem(response, 429, "ai-rate-limited")
    assert int(response.headers["retry-after"]) > 0
    for portal, statuses in (
        (disabled, ["feature_disabled"]),
        (broke, ["over_budget"]),
        (limited, ["succeeded", "rate_limited"]),
    ):
        rows = await logs(db, portal.school.org_id)
        assert [str(r["status"]) for r in rows] == statuses
        assert {str(r["feature"]) for r in rows} == {"resource_generation"}
        assert len((await portal.search("oa"))["items"]) == (1 if portal is limited else 0)


async def test_an_upstream_failure_stores_nothing(portal, db):
    assert_problem(await generate(portal, "t", topic="Volcanoes [[status:500]]"), 502, "ai-provider-error")
    assert_problem(await generate(portal, "t", topic="Volcanoes [[status:529]]"), 503, "ai-provider-busy")
    assert (await portal.search("oa"))["items"] == []
    assert [str(r["status"]) for r in await logs(db, portal.school.org_id)] == ["failed", "failed"]


async def test_generate_validation(portal, db):
    for body in (
        request(length=0),
        request(length=51),
        request(kind="essay"),
        request(topic=" "),
        request(grade_level=""),
    ):
        assert_problem(await portal.call("POST", "/resources/generate", "t", json=body), 422, "validation")
    assert_problem(await generate(portal, "t", model="no-such-model"), 422, "unknown-model")
    assert await logs(db, portal.school.org_id) == []


async def test_a_disabled_account_is_refused(portal, db):
    async with db.as_service() as session:
        await session.execute(update(User).where(User.id == portal.school.people["t"]).values(disabled_at=func.now()))
    assert_problem(await generate(portal, "t"), 401, "unauthorized")
    assert await logs(db, portal.school.org_id) == []
