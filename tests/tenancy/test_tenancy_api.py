"""The tenancy API end to end, as each role: organizations, members, classes,
enrollments, guardianships, deletes, cursor pagination and error documents.

Every test builds its own organization and people through the API (the super admin of
the shared world creates the organization, everything else follows from there), so
tests never change what the shared world or each other see."""

import base64
import json
import uuid
from dataclasses import dataclass, field

import httpx
import pytest

from tests.conftest import PASSWORD, assert_problem, emailed_token, login, signed_in


def ok(response: httpx.Response, status: int = 200) -> dict | list:
    assert response.status_code == status, response.text
    return response.json() if status != 204 else None


def tag() -> str:
    return uuid.uuid4().hex[:8]


@dataclass
class School:
    """A fresh organization: oa (org admin), t and t2 (teachers), s and s2 (students),
    p (parent of s), and classes c (t teaches s) and c2 (t2 teaches s2)."""

    org: uuid.UUID
    slug: str
    domain: str
    users: dict[str, uuid.UUID] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    classes: dict[str, uuid.UUID] = field(default_factory=dict)
    memberships: dict[str, uuid.UUID] = field(default_factory=dict)
    enrollments: dict[str, uuid.UUID] = field(default_factory=dict)
    guardianship: uuid.UUID | None = None

    def as_(self, who: str) -> dict[str, str]:
        return self.headers[who]


SCHOOL_PEOPLE = {"t": "teacher", "t2": "teacher", "s": "student", "s2": "student", "p": "parent"}


async def post_member(client, school, email: str, roles: list[str], who: str = "oa", **fields):
    """``who`` adds ``email`` to ``school`` with ``roles`` (``fields``: display_name, password...): the response."""
    body = {"email": email, "roles": roles, **fields}
    return await client.post(f"/organizations/{school.org}/members", json=body, headers=school.as_(who))


async def add_person(client, org: uuid.UUID, headers, email: str, roles: list[str], name: str = "Someone") -> list:
    """A managed account of the organization (``email`` in its own domain): members at once."""
    response = await client.post(
        f"/organizations/{org}/members", json={"email": email, "display_name": name, "roles": roles}, headers=headers
    )
    added = ok(response, 201)
    assert added["outcome"] == "added" and added["invitation"] is None
    return added["memberships"]


async def new_school(client, world, settings, db) -> School:
    """A school owning the domain ``<tag>.example.org``, whose people are its managed accounts."""
    sa = await login(client, world.emails["sa"])
    t = tag()
    org = ok(await client.post("/organizations", json={"name": f"School {t}", "slug": f"school-{t}"}, headers=sa), 201)
    school = School(org=uuid.UUID(org["id"]), slug=org["slug"], domain=f"{t}.example.org")
    ok(await client.post(f"/organizations/{school.org}/domains", json={"domain": school.domain}, headers=sa), 201)
    people = {"oa": "org_admin", **SCHOOL_PEOPLE}
    for who, role in people.items():
        email = f"{who}@{school.domain}"
        # The super admin adds the org admin; the org admin adds everyone else.
        by = sa if who == "oa" else school.headers["oa"]
        (membership,) = await add_person(client, school.org, by, email, [role], f"Person {who}")
        school.users[who], school.emails[who] = uuid.UUID(membership["user_id"]), email
        school.memberships[who] = uuid.UUID(membership["id"])
        school.headers[who] = await signed_in(db, settings, school.users[who])
    oa = school.as_("oa")
    for name, teacher, student in (("c", "t", "s"), ("c2", "t2", "s2")):
        cls = ok(
            await client.post(f"/organizations/{school.org}/classes", json={"name": f"Class {name}"}, headers=oa), 201
        )
        school.classes[name] = uuid.UUID(cls["id"])
        for who, role in ((teacher, "teacher"), (student, "student")):
            enrollment = ok(
                await client.post(
                    f"/classes/{cls['id']}/enrollments",
                    json={"user_id": str(school.users[who]), "role": role},
                    headers=oa,
                ),
                201,
            )
            school.enrollments[f"{name}:{who}"] = uuid.UUID(enrollment["id"])
    guardianship = ok(
        await client.post(
            f"/organizations/{school.org}/guardianships",
            json={"parent_id": str(school.users["p"]), "student_id": str(school.users["s"])},
            headers=oa,
        ),
        201,
    )
    school.guardianship = uuid.UUID(guardianship["id"])
    return school


@pytest.fixture
async def school(client, world, settings, db) -> School:
    return await new_school(client, world, settings, db)


@pytest.fixture(scope="module")
async def shared_school(app, world, settings, db) -> School:
    """One school for the tests that only read or are refused, and so change nothing."""
    transport = httpx.ASGITransport(app=app, client=("10.252.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        return await new_school(http, world, settings, db)


@pytest.fixture
async def sa(client, world) -> dict[str, str]:
    return await login(client, world.emails["sa"])


@pytest.fixture
async def outsider(client, world) -> dict[str, str]:
    """X: the org admin of the shared world's other organization."""
    return await login(client, world.emails["oaB"])


async def walk(client, path: str, headers, limit: int = 200) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = ok(await client.get(path, params=params, headers=headers))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


# Organizations


async def test_super_admin_creates_an_organization(client, sa):
    t = tag()
    body = {
        "name": f"District {t}",
        "slug": f"district-{t}",
        "time_zone": "Europe/Berlin",
        "settings": {"grades": "A-F"},
    }
    created = ok(await client.post("/organizations", json=body, headers=sa), 201)
    assert {k: created[k] for k in body} == body
    uuid.UUID(created["id"])
    assert created["created_at"]
    fetched = ok(await client.get(f"/organizations/{created['id']}", headers=sa))
    assert fetched == created

    defaults = ok(
        await client.post("/organizations", json={"name": "Defaults", "slug": f"defaults-{t}"}, headers=sa), 201
    )
    assert defaults["time_zone"] == "UTC" and defaults["settings"] == {}


@pytest.mark.parametrize("who", ["oa", "t1", "s1", "p1"])
async def test_only_a_super_admin_creates_organizations(client, world, who):
    headers = await login(client, world.emails[who])
    t = tag()
    response = await client.post("/organizations", json={"name": f"Rogue {t}", "slug": f"rogue-{t}"}, headers=headers)
    assert_problem(response, 403, "forbidden")
    sa = await login(client, world.emails["sa"])
    slugs = {o["slug"] for o in await walk(client, "/organizations", sa)}
    assert f"rogue-{t}" not in slugs


async def test_anonymous_cannot_create_an_organization(client):
    response = await client.post("/organizations", json={"name": "Anon", "slug": f"anon-{tag()}"})
    assert_problem(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "Bad", "slug": "Has Spaces"},
        {"name": "Bad", "slug": "UPPER"},
        {"name": "Bad", "slug": "-leading-dash"},
        {"name": "Bad", "slug": "trailing-dash-"},
        {"name": "Bad", "slug": "x" * 64},
        {"name": "Bad", "slug": ""},
        {"name": "Bad"},
        {"slug": "no-name"},
        {"name": "", "slug": "empty-name"},
        {"name": "Bad zone", "slug": "bad-zone", "time_zone": "Mars/Olympus_Mons"},
        {"name": "Bad zone", "slug": "bad-zone", "time_zone": ""},
        {"name": "Bad settings", "slug": "bad-settings", "settings": ["not", "an", "object"]},
    ],
    ids=lambda b: ",".join(f"{k}={str(v)[:12]}" for k, v in b.items()),
)
async def test_invalid_organization_is_422(client, sa, body):
    assert_problem(await client.post("/organizations", json=body, headers=sa), 422, "validation")


async def test_duplicate_slug_is_409(client, sa):
    slug = f"dup-{tag()}"
    ok(await client.post("/organizations", json={"name": "First", "slug": slug}, headers=sa), 201)
    body = assert_problem(
        await client.post("/organizations", json={"name": "Second", "slug": slug}, headers=sa), 409, "conflict"
    )
    assert body.get("constraint") == "organizations_slug_key"


async def test_org_admin_updates_own_organization_others_may_not(client, school, outsider, sa):
    path = f"/organizations/{school.org}"
    updated = ok(
        await client.patch(path, json={"name": "Renamed", "time_zone": "Asia/Tokyo"}, headers=school.as_("oa"))
    )
    assert updated["name"] == "Renamed" and updated["time_zone"] == "Asia/Tokyo"
    assert updated["slug"] == school.slug

    # Members who are not org admins see the organization but may not change it.
    for who in ("t", "s", "p"):
        assert_problem(await client.patch(path, json={"name": f"By {who}"}, headers=school.as_(who)), 403, "forbidden")
    # Someone from another organization does not even see it.
    assert_problem(await client.patch(path, json={"name": "By X"}, headers=outsider), 404, "not-found")
    assert_problem(await client.get(path, headers=outsider), 404, "not-found")

    assert ok(await client.get(path, headers=school.as_("t")))["name"] == "Renamed"
    assert ok(await client.patch(path, json={"name": "By SA"}, headers=sa))["name"] == "By SA"


@pytest.mark.parametrize(
    "body",
    [
        {"time_zone": "Nowhere/Special"},
        {"name": ""},
        {"name": None},
        {"time_zone": None},
        {"settings": None},
        {"settings": 3},
    ],
    ids=str,
)
async def test_invalid_organization_update_is_422(client, shared_school, body):
    response = await client.patch(f"/organizations/{shared_school.org}", json=body, headers=shared_school.as_("oa"))
    assert_problem(response, 422)
    assert ok(await client.get(f"/organizations/{shared_school.org}", headers=shared_school.as_("oa")))[
        "name"
    ].startswith("School ")


async def test_empty_update_changes_nothing(client, shared_school):
    before = ok(await client.get(f"/organizations/{shared_school.org}", headers=shared_school.as_("t")))
    assert (
        ok(await client.patch(f"/organizations/{shared_school.org}", json={}, headers=shared_school.as_("oa")))
        == before
    )


async def test_organization_list_shows_only_my_organizations(client, shared_school, outsider):
    mine = await walk(client, "/organizations", shared_school.as_("t"))
    assert [o["id"] for o in mine] == [str(shared_school.org)]
    assert str(shared_school.org) not in {o["id"] for o in await walk(client, "/organizations", outsider)}


async def test_deleting_an_organization(client, school, sa, outsider):
    path = f"/organizations/{school.org}"
    assert_problem(await client.delete(path, headers=school.as_("oa")), 403, "forbidden")
    assert_problem(await client.delete(path, headers=outsider), 404, "not-found")
    assert (await client.delete(path, headers=sa)).status_code == 204
    assert_problem(await client.get(path, headers=sa), 404, "not-found")
    assert_problem(await client.delete(path, headers=sa), 404, "not-found")
    # Its classes, memberships and the accounts it managed went with it.
    assert_problem(await client.get(f"/classes/{school.classes['c']}", headers=sa), 404, "not-found")
    assert_problem(await client.get(f"/users/{school.users['t']}", headers=sa), 404, "not-found")
    assert_problem(await client.get("/me", headers=school.as_("t")), 401, "unauthorized")


# Me


async def test_me_lists_organizations_and_roles(client, world, settings, db, school):
    me = ok(await client.get("/me", headers=school.as_("oa")))
    assert me["user"]["email"] == school.emails["oa"]
    assert me["user"]["is_super_admin"] is False
    assert me["user"]["managed_by_organization_id"] == str(school.org)
    assert me["organizations"] == [
        {
            "id": str(school.org),
            "name": f"School {school.slug.removeprefix('school-')}",
            "slug": school.slug,
            "time_zone": "UTC",
            "roles": ["org_admin"],
        }
    ]

    # One person, two roles here and, once they accept the invitation, one in a second organization.
    added = ok(await post_member(client, school, school.emails["t"], ["parent"]), 201)
    assert added["outcome"] == "added"
    other = await new_school(client, world, settings, db)
    invited = ok(await post_member(client, other, school.emails["t"], ["student"]), 202)
    orgs = {o["id"]: o["roles"] for o in ok(await client.get("/me", headers=school.as_("t")))["organizations"]}
    assert orgs == {str(school.org): ["parent", "teacher"]}
    token = await emailed_token(db, settings, invited["invitation"]["id"])
    ok(await client.post("/auth/invitations/accept", json={"token": token}, headers=school.as_("t")))
    orgs = {o["id"]: o["roles"] for o in ok(await client.get("/me", headers=school.as_("t")))["organizations"]}
    assert orgs == {str(school.org): ["parent", "teacher"], str(other.org): ["student"]}

    sa_me = ok(await client.get("/me", headers=await login(client, world.emails["sa"])))
    assert sa_me["user"]["is_super_admin"] is True and sa_me["organizations"] == []


async def test_me_can_change_own_display_name_but_not_become_super_admin(client, school):
    changed = ok(await client.patch("/me", json={"display_name": "New Name"}, headers=school.as_("s")))
    assert changed["display_name"] == "New Name"
    assert_problem(await client.patch("/me", json={"is_super_admin": True}, headers=school.as_("s")), 403, "forbidden")
    assert_problem(await client.patch("/me", json={"disabled": True}, headers=school.as_("oa")), 403, "forbidden")
    assert ok(await client.get("/me", headers=school.as_("s")))["user"]["is_super_admin"] is False


# Members


async def test_new_member_with_a_password_changes_it_at_first_sign_in(client, school):
    email = f"new-{tag()}@{school.domain}"
    fields = {"display_name": "New Teacher", "password": "a fine password"}
    added = ok(await post_member(client, school, email, ["teacher", "parent"], **fields), 201)
    memberships = added["memberships"]
    assert sorted(m["role"] for m in memberships) == ["parent", "teacher"]
    assert {m["organization_id"] for m in memberships} == {str(school.org)}
    assert len({m["user_id"] for m in memberships}) == 1

    pair = ok(await client.post("/auth/token", data={"username": email, "password": "a fine password"}))
    assert pair["password_change_required"] is True
    first = {"Authorization": f"Bearer {pair['access_token']}"}
    assert_problem(await client.get("/me", headers=first), 403, "password-change-required")
    changed = ok(
        await client.post(
            "/auth/password",
            json={"current_password": "a fine password", "new_password": "my very own password"},
            headers=first,
        )
    )
    assert changed["password_change_required"] is False
    me = ok(await client.get("/me", headers={"Authorization": f"Bearer {changed['access_token']}"}))
    assert me["user"]["id"] == memberships[0]["user_id"]
    assert me["user"]["display_name"] == "New Teacher"
    assert [o["id"] for o in me["organizations"]] == [str(school.org)]


async def test_new_member_without_a_password_cannot_sign_in(client, school):
    email = f"nopass-{tag()}@{school.domain}"
    ok(await post_member(client, school, email, ["student"], display_name="No Password"), 201)
    response = await client.post("/auth/token", data={"username": email, "password": PASSWORD})
    assert_problem(response, 401, "unauthorized")


async def test_existing_person_elsewhere_is_invited_and_joins_on_accepting(client, world, settings, db, school):
    other = await new_school(client, world, settings, db)
    # The other school's teacher is invited here as a parent; the email's case does not matter.
    email = other.emails["t"].upper()
    invited = ok(await post_member(client, school, email, ["parent"]), 202)
    assert invited["outcome"] == "invited" and invited["memberships"] == []
    # The address as typed (an address's domain is case-insensitive and kept in lower case).
    assert invited["invitation"]["email"].lower() == email.lower()
    assert invited["invitation"]["state"] == "pending"
    # Nothing of the person is visible before they accept.
    members = await walk(client, f"/organizations/{school.org}/members", school.as_("oa"))
    assert str(other.users["t"]) not in {m["user_id"] for m in members}
    assert_problem(await client.get(f"/users/{other.users['t']}", headers=school.as_("oa")), 404, "not-found")

    token = await emailed_token(db, settings, invited["invitation"]["id"])
    accepted = ok(await client.post("/auth/invitations/accept", json={"token": token}, headers=other.as_("t")))
    assert accepted["tokens"] is None
    assert [(m["organization_id"], m["role"]) for m in accepted["memberships"]] == [(str(school.org), "parent")]
    orgs = {o["id"]: o["roles"] for o in ok(await client.get("/me", headers=other.as_("t")))["organizations"]}
    assert orgs == {str(other.org): ["teacher"], str(school.org): ["parent"]}
    # The link is spent.
    assert_problem(
        await client.post("/auth/invitations/accept", json={"token": token}, headers=other.as_("t")),
        400,
        "invalid-token",
    )


async def test_a_password_only_for_own_domains_whoever_the_address_is(client, world, school):
    for email in (world.emails["t1"], f"nobody-{tag()}@example.org"):
        response = await post_member(client, school, email, ["parent"], password="trying to take over")
        assert_problem(response, 422, "validation")
    # Nothing changed: no password, no invitation.
    takeover = await client.post(
        "/auth/token", data={"username": world.emails["t1"], "password": "trying to take over"}
    )
    assert_problem(takeover, 401, "unauthorized")
    assert await walk(client, f"/organizations/{school.org}/invitations", school.as_("oa")) == []


async def test_new_person_without_a_display_name_is_422(client, school):
    email = f"noname-{tag()}@{school.domain}"
    assert_problem(await post_member(client, school, email, ["student"]), 422, "validation")
    members = await walk(client, f"/organizations/{school.org}/members", school.as_("oa"))
    assert email not in {m["email"] for m in members}


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "display_name": "X", "roles": ["student"]},
        {"email": "ok@example.org", "display_name": "X", "roles": []},
        {"email": "ok@example.org", "display_name": "X", "roles": ["janitor"]},
        {"email": "ok@example.org", "display_name": "X", "roles": ["student"], "password": "short"},
        {"email": "ok@example.org", "display_name": "", "roles": ["student"]},
        {"display_name": "X", "roles": ["student"]},
        {"email": "ok@example.org", "username": "ok", "display_name": "X", "roles": ["student"]},
        {"username": "young-one", "roles": ["student"]},
        {"username": "Not Valid", "display_name": "X", "roles": ["student"]},
    ],
    ids=lambda b: ",".join(f"{k}={str(v)[:10]}" for k, v in b.items()),
)
async def test_invalid_member_is_422(client, shared_school, body):
    assert_problem(
        await client.post(f"/organizations/{shared_school.org}/members", json=body, headers=shared_school.as_("oa")),
        422,
    )


async def test_only_org_admins_add_members(client, school, outsider):
    body = {
        "email": f"sneaky-{tag()}@example.org",
        "display_name": "Sneaky",
        "roles": ["org_admin"],
        "password": PASSWORD,
    }
    for who in ("t", "s", "p"):
        assert_problem(
            await client.post(f"/organizations/{school.org}/members", json=body, headers=school.as_(who)),
            403,
            "forbidden",
        )
    # X does not see the organization at all.
    assert_problem(
        await client.post(f"/organizations/{school.org}/members", json=body, headers=outsider), 404, "not-found"
    )
    response = await client.post("/auth/token", data={"username": body["email"], "password": PASSWORD})
    assert_problem(response, 401)


async def test_member_list_org_admin_sees_all_others_see_staff(client, shared_school, outsider):
    path = f"/organizations/{shared_school.org}/members"
    everyone = await walk(client, path, shared_school.as_("oa"))
    assert sorted((m["email"], m["role"]) for m in everyone) == sorted(
        [(shared_school.emails["oa"], "org_admin")] + [(shared_school.emails[w], r) for w, r in SCHOOL_PEOPLE.items()]
    )
    staff = {m["user_id"] for m in everyone if m["role"] in ("org_admin", "teacher")}

    for who in ("t", "s", "p"):
        rows = await walk(client, path, shared_school.as_(who))
        seen_staff = {m["user_id"] for m in rows if m["role"] in ("org_admin", "teacher")}
        others = [m for m in rows if m["role"] not in ("org_admin", "teacher")]
        assert seen_staff == staff, who
        # Besides the staff, only one's own membership rows.
        assert {m["user_id"] for m in others} <= {str(shared_school.users[who])}, who

    student_rows = {m["user_id"]: m for m in await walk(client, path, shared_school.as_("s"))}
    assert set(student_rows) == staff | {str(shared_school.users["s"])}
    # The student reads the profile of their own teacher, not of the other staff.
    assert student_rows[str(shared_school.users["t"])]["email"] == shared_school.emails["t"]
    assert student_rows[str(shared_school.users["t2"])]["email"] is None
    assert student_rows[str(shared_school.users["oa"])]["email"] is None

    assert await walk(client, path, outsider) == []


async def test_memberships_added_and_removed_by_org_admin(client, school):
    oa, path = school.as_("oa"), f"/organizations/{school.org}/memberships"
    created = ok(await client.post(path, json={"user_id": str(school.users["s2"]), "role": "parent"}, headers=oa), 201)
    assert created["role"] == "parent" and created["user_id"] == str(school.users["s2"])
    assert_problem(
        await client.post(path, json={"user_id": str(school.users["s2"]), "role": "parent"}, headers=oa),
        409,
        "conflict",
    )
    assert_problem(
        await client.post(path, json={"user_id": str(uuid.uuid4()), "role": "parent"}, headers=oa), 404, "not-found"
    )
    assert_problem(
        await client.post(path, json={"user_id": str(school.users["s"]), "role": "org_admin"}, headers=school.as_("t")),
        403,
        "forbidden",
    )

    one = f"{path}/{created['id']}"
    assert_problem(await client.delete(one, headers=school.as_("t")), 404, "not-found")
    assert (await client.delete(one, headers=oa)).status_code == 204
    assert_problem(await client.delete(one, headers=oa), 404, "not-found")
    # Removing the student membership also ends the enrollments that rest on it.
    assert (await client.delete(f"{path}/{school.memberships['s']}", headers=oa)).status_code == 204
    enrolled = {e["user_id"] for e in await walk(client, f"/classes/{school.classes['c']}/enrollments", oa)}
    assert str(school.users["s"]) not in enrolled


# Classes


async def test_classes_by_role(client, school, outsider):
    oa = school.as_("oa")
    created = ok(
        await client.post(
            f"/organizations/{school.org}/classes",
            json={"name": "Biology", "subject": "Science", "grade_level": "9", "term": "2026"},
            headers=oa,
        ),
        201,
    )
    assert created["organization_id"] == str(school.org)
    assert (created["name"], created["subject"], created["grade_level"], created["term"]) == (
        "Biology",
        "Science",
        "9",
        "2026",
    )

    for who in ("t", "s", "p"):
        response = await client.post(
            f"/organizations/{school.org}/classes", json={"name": f"By {who}"}, headers=school.as_(who)
        )
        assert_problem(response, 403, "forbidden")
    assert_problem(
        await client.post(f"/organizations/{school.org}/classes", json={"name": "By X"}, headers=outsider),
        403,
        "forbidden",
    )

    own, other = f"/classes/{school.classes['c']}", f"/classes/{school.classes['c2']}"
    assert ok(await client.patch(own, json={"term": "Spring"}, headers=school.as_("t")))["term"] == "Spring"
    # Another teacher's class is invisible to t: 404, not 403.
    assert_problem(await client.patch(other, json={"term": "Hijacked"}, headers=school.as_("t")), 404, "not-found")
    # The enrolled student and the parent see the class but may not change it.
    assert_problem(await client.patch(own, json={"name": "Renamed by S"}, headers=school.as_("s")), 403, "forbidden")
    assert_problem(await client.patch(own, json={"name": "Renamed by P"}, headers=school.as_("p")), 403, "forbidden")
    assert_problem(await client.patch(own, json={"name": "Renamed by X"}, headers=outsider), 404, "not-found")
    assert_problem(await client.patch(own, json={"name": None}, headers=school.as_("t")), 422)
    assert ok(await client.patch(other, json={"name": "Renamed by OA"}, headers=oa))["name"] == "Renamed by OA"

    current = ok(await client.get(own, headers=school.as_("s")))
    assert (current["name"], current["term"]) == ("Class c", "Spring")
    assert ok(await client.get(other, headers=oa))["term"] is None

    visible = {
        who: {c["id"] for c in await walk(client, f"/organizations/{school.org}/classes", school.as_(who))}
        for who in ("oa", "t", "s", "p")
    }
    c, c2 = str(school.classes["c"]), str(school.classes["c2"])
    assert visible == {"oa": {c, c2, created["id"]}, "t": {c}, "s": {c}, "p": {c}}
    assert {x["id"] for x in await walk(client, "/classes", school.as_("t2"))} == {c2}


async def test_deleting_a_class(client, school):
    path = f"/classes/{school.classes['c']}"
    assert_problem(await client.delete(path, headers=school.as_("t")), 403, "forbidden")
    assert_problem(await client.delete(path, headers=school.as_("t2")), 404, "not-found")
    assert (await client.delete(path, headers=school.as_("oa"))).status_code == 204
    assert_problem(await client.get(path, headers=school.as_("oa")), 404, "not-found")
    assert_problem(await client.delete(path, headers=school.as_("oa")), 404, "not-found")
    assert_problem(await client.patch(path, json={"name": "Ghost"}, headers=school.as_("oa")), 404, "not-found")
    # Its enrollments went with it.
    assert await walk(client, f"{path}/enrollments", school.as_("oa")) == []
    assert str(school.classes["c"]) not in {c["id"] for c in await walk(client, "/classes", school.as_("s"))}


# Enrollments


async def enroll(client, school, class_key: str, user_id, role: str, who: str = "t"):
    """``who`` enrolls ``user_id`` as ``role`` in ``school``'s class ``class_key``: the response."""
    path = f"/classes/{school.classes[class_key]}/enrollments"
    return await client.post(path, json={"user_id": str(user_id), "role": role}, headers=school.as_(who))


async def test_enrollments_by_teacher(client, world, school):
    t, cls = school.as_("t"), school.classes["c"]
    path = f"/classes/{cls}/enrollments"
    created = ok(await enroll(client, school, "c", school.users["s2"], "student"), 201)
    assert (created["class_id"], created["user_id"], created["role"], created["organization_id"]) == (
        str(cls),
        str(school.users["s2"]),
        "student",
        str(school.org),
    )
    # s2 now sees the class.
    assert str(cls) in {c["id"] for c in await walk(client, "/classes", school.as_("s2"))}

    # A teacher manages student enrollments only.
    assert_problem(await enroll(client, school, "c", school.users["t2"], "teacher"), 403, "forbidden")
    # Enrolling as a student someone who is not a student here breaks the composite foreign key.
    assert_problem(await enroll(client, school, "c", school.users["p"], "student"), 422, "invalid-reference")
    # ...as does a student of another organization.
    assert_problem(await enroll(client, school, "c", world.users["sB"], "student"), 422, "invalid-reference")
    # Twice is a conflict.
    assert_problem(await enroll(client, school, "c", school.users["s2"], "student"), 409, "conflict")
    # Not in another teacher's class, which t cannot see.
    assert_problem(await enroll(client, school, "c2", school.users["s"], "student"), 404, "not-found")
    # Students and parents enroll nobody.
    assert_problem(await enroll(client, school, "c", school.users["s2"], "student", who="s"), 403)
    assert_problem(await enroll(client, school, "c", school.users["s"], "parent"), 422, "validation")

    # The org admin may enroll a teacher.
    ok(await enroll(client, school, "c", school.users["t2"], "teacher", who="oa"), 201)

    one = f"{path}/{created['id']}"
    # A co-teacher's enrollment is visible to t but not t's to remove.
    rows = {(e["user_id"], e["role"]): e["id"] for e in await walk(client, path, t)}
    co_teacher = f"{path}/{rows[(str(school.users['t2']), 'teacher')]}"
    assert_problem(await client.delete(co_teacher, headers=t), 403, "forbidden")
    assert_problem(await client.delete(one, headers=school.as_("s2")), 403, "forbidden")
    assert (await client.delete(one, headers=t)).status_code == 204
    assert_problem(await client.delete(one, headers=t), 404, "not-found")
    assert str(cls) not in {c["id"] for c in await walk(client, "/classes", school.as_("s2"))}


async def test_enrollment_lists_by_role(client, school):
    path = f"/classes/{school.classes['c']}/enrollments"
    everyone = {(e["user_id"], e["role"]) for e in await walk(client, path, school.as_("oa"))}
    teacher, student = (str(school.users["t"]), "teacher"), (str(school.users["s"]), "student")
    assert everyone == {teacher, student}
    assert {(e["user_id"], e["role"]) for e in await walk(client, path, school.as_("t"))} == everyone
    assert {(e["user_id"], e["role"]) for e in await walk(client, path, school.as_("s"))} == everyone
    assert {(e["user_id"], e["role"]) for e in await walk(client, path, school.as_("p"))} == {student}
    assert await walk(client, path, school.as_("t2")) == []
    assert await walk(client, path, school.as_("s2")) == []

    # A second student in the class: s sees own row and the teacher rows, not a classmate's.
    ok(await enroll(client, school, "c", school.users["s2"], "student"), 201)
    assert {(e["user_id"], e["role"]) for e in await walk(client, path, school.as_("s"))} == {teacher, student}


# Guardianships


async def test_guardianships_by_org_admin(client, school, outsider):
    oa, path = school.as_("oa"), f"/organizations/{school.org}/guardianships"
    body = {"parent_id": str(school.users["p"]), "student_id": str(school.users["s2"])}
    assert_problem(await client.post(path, json=body, headers=school.as_("t")), 403, "forbidden")
    assert_problem(await client.post(path, json=body, headers=school.as_("p")), 403, "forbidden")
    assert_problem(await client.post(path, json=body, headers=outsider), 403, "forbidden")
    created = ok(await client.post(path, json=body, headers=oa), 201)
    assert (created["parent_id"], created["student_id"], created["organization_id"]) == (
        body["parent_id"],
        body["student_id"],
        str(school.org),
    )
    assert_problem(await client.post(path, json=body, headers=oa), 409, "conflict")
    # The roles must match the memberships: a teacher is not a parent, a parent is not their own child.
    reversed_roles = {"parent_id": str(school.users["s"]), "student_id": str(school.users["p"])}
    assert_problem(await client.post(path, json=reversed_roles, headers=oa), 422, "invalid-reference")
    teacher_parent = {"parent_id": str(school.users["t"]), "student_id": str(school.users["s"])}
    assert_problem(await client.post(path, json=teacher_parent, headers=oa), 422, "invalid-reference")
    assert_problem(await client.post(path, json={"parent_id": body["parent_id"]}, headers=oa), 422, "validation")

    # The parent now sees the second child's class.
    assert str(school.classes["c2"]) in {c["id"] for c in await walk(client, "/classes", school.as_("p"))}

    listed = {
        who: {g["id"] for g in await walk(client, path, school.as_(who))} for who in ("oa", "p", "s", "s2", "t", "t2")
    }
    first, second = str(school.guardianship), created["id"]
    assert listed == {
        "oa": {first, second},
        "p": {first, second},
        "s": {first},
        "s2": {second},
        "t": {first},
        "t2": {second},
    }
    assert await walk(client, path, outsider) == []

    one = f"/guardianships/{created['id']}"
    assert_problem(await client.delete(one, headers=school.as_("t2")), 403, "forbidden")
    assert_problem(await client.delete(one, headers=school.as_("p")), 403, "forbidden")
    assert_problem(await client.delete(one, headers=outsider), 404, "not-found")
    assert (await client.delete(one, headers=oa)).status_code == 204
    assert_problem(await client.delete(one, headers=oa), 404, "not-found")
    assert str(school.classes["c2"]) not in {c["id"] for c in await walk(client, "/classes", school.as_("p"))}


# Cursor pagination


async def test_cursor_pagination_walks_every_item_once_in_order(client, sa):
    t = tag()
    org = ok(await client.post("/organizations", json={"name": f"Paging {t}", "slug": f"paging-{t}"}, headers=sa), 201)
    path = f"/organizations/{org['id']}/classes"
    created = [ok(await client.post(path, json={"name": f"Class {i}"}, headers=sa), 201)["id"] for i in range(6)]

    pages, cursor = [], None
    while True:
        page = ok(await client.get(path, params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=sa))
        pages.append([c["id"] for c in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 10, "pagination does not end"
    # Six items, two a page: three full pages, and the last one says there is no more.
    assert pages == [created[0:2], created[2:4], created[4:6]]

    # A cursor stays valid when rows are added: the new one comes at the end.
    first = ok(await client.get(path, params={"limit": 4}, headers=sa))
    later = ok(await client.post(path, json={"name": "Class later"}, headers=sa), 201)["id"]
    rest = ok(await client.get(path, params={"limit": 4, "cursor": first["next_cursor"]}, headers=sa))
    assert [c["id"] for c in first["items"] + rest["items"]] == created + [later]
    assert rest["next_cursor"] is None

    everything = ok(await client.get(path, params={"limit": 200}, headers=sa))
    assert [c["id"] for c in everything["items"]] == created + [later] and everything["next_cursor"] is None


async def test_member_list_pages(client, shared_school):
    path = f"/organizations/{shared_school.org}/members"
    one_by_one = await walk(client, path, shared_school.as_("oa"), limit=1)
    at_once = await walk(client, path, shared_school.as_("oa"))
    assert [m["id"] for m in one_by_one] == [m["id"] for m in at_once]
    assert len(at_once) == 1 + len(SCHOOL_PEOPLE)


def cursor_of(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        "!!!",
        "e30",  # {}
        cursor_of(["2026-01-01T00:00:00+00:00"]),
        cursor_of(["not a date", str(uuid.uuid4())]),
        cursor_of(["2026-01-01T00:00:00+00:00", "not-a-uuid"]),
        cursor_of(["2026-01-01T00:00:00+00:00", 12345]),
        cursor_of([12345, str(uuid.uuid4())]),
        cursor_of(["2026-01-01T00:00:00+00:00", None]),
        cursor_of({"created_at": "2026-01-01T00:00:00+00:00", "id": str(uuid.uuid4())}),
        cursor_of(42),
        base64.urlsafe_b64encode(b"\xff\xfe\x00").decode(),
    ],
)
async def test_invalid_cursor_is_400(client, shared_school, cursor):
    for path in (
        f"/organizations/{shared_school.org}/classes",
        f"/organizations/{shared_school.org}/members",
        "/classes",
    ):
        response = await client.get(path, params={"cursor": cursor}, headers=shared_school.as_("oa"))
        assert_problem(response, 400, "invalid-cursor")


@pytest.mark.parametrize("limit", ["0", "-1", "201", "1000", "two", ""])
async def test_out_of_range_limit_is_422(client, shared_school, limit):
    response = await client.get(
        f"/organizations/{shared_school.org}/classes", params={"limit": limit}, headers=shared_school.as_("oa")
    )
    assert_problem(response, 422, "validation")


async def test_limit_bounds_are_inclusive(client, shared_school):
    for limit in (1, 200):
        ok(
            await client.get(
                f"/organizations/{shared_school.org}/classes", params={"limit": limit}, headers=shared_school.as_("oa")
            )
        )


# Errors are problem documents


async def test_unknown_route_is_a_404_problem(client, world):
    headers = await login(client, world.emails["t1"])
    assert_problem(await client.get("/no-such-thing", headers=headers), 404, "not-found")
    assert_problem(await client.get("/no-such-thing"), 404, "not-found")
    assert_problem(await client.put("/me", json={}, headers=headers), 405, "method-not-allowed")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/classes/not-a-uuid"),
        ("PATCH", "/classes/123"),
        ("DELETE", "/classes/zzz"),
        ("GET", "/organizations/not-a-uuid"),
        ("GET", "/organizations/not-a-uuid/members"),
        ("DELETE", "/guardianships/1"),
        ("GET", "/users/me"),
        ("GET", "/classes/00000000-0000-0000-0000-00000000000g/enrollments"),
    ],
)
async def test_invalid_uuid_in_path_is_a_422_problem(client, world, method, path):
    headers = await login(client, world.emails["oa"])
    response = await client.request(method, path, json={} if method == "PATCH" else None, headers=headers)
    body = assert_problem(response, 422, "validation")
    assert any("uuid" in e["msg"].lower() or e["type"].startswith("uuid") for e in body["errors"]), body


async def test_unknown_ids_are_404_problems(client, world):
    headers = await login(client, world.emails["oa"])
    missing = uuid.uuid4()
    for method, path in [
        ("GET", f"/classes/{missing}"),
        ("PATCH", f"/classes/{missing}"),
        ("DELETE", f"/classes/{missing}"),
        ("GET", f"/organizations/{missing}"),
        ("PATCH", f"/organizations/{missing}"),
        ("GET", f"/users/{missing}"),
        ("DELETE", f"/guardianships/{missing}"),
        ("POST", f"/classes/{missing}/enrollments"),
        ("POST", f"/organizations/{missing}/members"),
    ]:
        body = None
        if path.endswith("/enrollments"):
            body = {"user_id": str(world.users["s1"]), "role": "student"}
        elif path.endswith("/members"):
            body = {"email": f"ghost-{tag()}@example.org", "display_name": "Ghost", "roles": ["student"]}
        elif method == "PATCH":
            body = {"name": "Ghost"}
        assert_problem(await client.request(method, path, json=body, headers=headers), 404, "not-found")


async def test_anonymous_is_refused_everywhere(client, world):
    org, cls = world.orgs["A"], world.classes["c1"]
    for method, path in [
        ("GET", "/organizations"),
        ("GET", f"/organizations/{org}"),
        ("GET", f"/organizations/{org}/members"),
        ("GET", f"/organizations/{org}/classes"),
        ("GET", "/classes"),
        ("GET", f"/classes/{cls}/enrollments"),
        ("DELETE", f"/classes/{cls}"),
        ("GET", f"/organizations/{org}/guardianships"),
    ]:
        assert_problem(await client.request(method, path), 401, "unauthorized")
