"""The super admin's pages over HTTP: organizations (list, create, edit, delete) and their email
domains, validated by the API's schemas with the errors beside the fields; nobody else gets in."""

import uuid

from tests.conftest import Builder, service_scalar
from tests.web.support import as_person, form_token, submit


async def super_admin(db) -> uuid.UUID:
    """A super admin of the test's own, with no membership anywhere."""
    async with db.as_service() as session:
        user, _ = await Builder(session, uuid.uuid4().hex[:10]).person("root", None, [], "Root", super_admin=True)
    return user.id


async def _create(http, name: str, slug: str, time_zone: str = "Europe/Berlin"):
    return await submit(
        http,
        "/platform/organizations/new",
        "/platform/organizations",
        {"name": name, "slug": slug, "time_zone": time_zone},
    )


async def test_a_super_admin_lands_on_the_organizations_and_creates_one(app, db, settings):
    slug = f"maple-{uuid.uuid4().hex[:8]}"
    async with await as_person(app, db, settings, await super_admin(db)) as http:
        home = await http.get("/home")
        assert (home.status_code, home.headers["location"]) == (303, "/platform")
        listing = await http.get("/platform")
        assert listing.status_code == 200 and "<h1>Organizations</h1>" in listing.text
        assert 'href="/platform" aria-current="page">Organizations</a>' in listing.text
        created = await _create(http, "Maple Grove", slug)
        assert created.status_code == 303
        org_id = uuid.UUID(created.headers["location"].rsplit("/", 1)[1])
        page = await http.get(created.headers["location"])
        assert "<h1>Maple Grove</h1>" in page.text and "Organization “Maple Grove” created." in page.text
        assert "No email domains yet" in page.text
        zone = await service_scalar(db, "select time_zone from organizations where id = :id", id=org_id)
        assert zone == "Europe/Berlin"


async def test_creating_refuses_a_bad_or_taken_slug_beside_the_field(app, db, settings):
    slug = f"taken-{uuid.uuid4().hex[:8]}"
    async with await as_person(app, db, settings, await super_admin(db)) as http:
        assert (await _create(http, "First", slug)).status_code == 303
        bad = await _create(http, "Second", "Not A Slug!", "Mars/Olympus")
        assert bad.status_code == 422
        assert 'id="error-slug"' in bad.text and 'id="error-time_zone"' in bad.text
        assert "unknown time zone" in bad.text and 'value="Not A Slug!"' in bad.text
        taken = await _create(http, "Second", slug)
        assert taken.status_code == 409
        assert '<p class="field-error" id="error-slug">Another organization already uses this slug.' in taken.text
        empty = await _create(http, "", "")
        assert empty.status_code == 422 and 'id="error-name"' in empty.text and 'id="error-slug"' in empty.text


async def test_editing_an_organization(app, db, settings):
    slug = f"edit-{uuid.uuid4().hex[:8]}"
    async with await as_person(app, db, settings, await super_admin(db)) as http:
        url = (await _create(http, "Old name", slug)).headers["location"]
        saved = await submit(http, url, url, {"name": "New name", "time_zone": "Asia/Tokyo"})
        assert saved.status_code == 303
        page = await http.get(url)
        assert "<h1>New name</h1>" in page.text and "“New name” saved." in page.text
        refused = await submit(http, url, url, {"name": "", "time_zone": "Nowhere"})
        assert refused.status_code == 422
        assert 'id="error-name"' in refused.text and 'id="error-time_zone"' in refused.text
        assert "<h1>New name</h1>" in refused.text


async def test_adding_and_removing_domains(app, db, settings):
    tag = uuid.uuid4().hex[:8]
    async with await as_person(app, db, settings, await super_admin(db)) as http:
        url = (await _create(http, "Domains", f"domains-{tag}")).headers["location"]
        org_id = uuid.UUID(url.rsplit("/", 1)[1])
        added = await submit(http, url, f"{url}/domains", {"domain": f" School-{tag}.Example.org "})
        assert added.status_code == 303
        page = await http.get(url)
        assert f"school-{tag}.example.org" in page.text and f"Domain school-{tag}.example.org added." in page.text
        bad = await submit(http, url, f"{url}/domains", {"domain": "not a domain"})
        assert bad.status_code == 422 and 'id="error-domain"' in bad.text and 'value="not a domain"' in bad.text
        other = (await _create(http, "Other", f"other-{tag}")).headers["location"]
        taken = await submit(http, other, f"{other}/domains", {"domain": f"school-{tag}.example.org"})
        assert taken.status_code == 409 and "This domain already belongs to an organization." in taken.text
        domain_id = await service_scalar(db, "select id from organization_domains where organization_id = :o", o=org_id)
        removed = await submit(http, url, f"{url}/domains/{domain_id}/remove", {})
        assert removed.status_code == 303
        assert "No email domains yet" in (await http.get(url)).text
        gone = await submit(http, url, f"{url}/domains/{domain_id}/remove", {})
        assert gone.status_code == 404


async def test_deleting_needs_the_slug_typed(app, db, settings):
    slug = f"gone-{uuid.uuid4().hex[:8]}"
    async with await as_person(app, db, settings, await super_admin(db)) as http:
        url = (await _create(http, "Short lived", slug)).headers["location"]
        wrong = await submit(http, f"{url}/delete", f"{url}/delete", {"confirm_slug": "nope"})
        assert wrong.status_code == 422 and f"Type {slug} to confirm." in wrong.text
        deleted = await submit(http, f"{url}/delete", f"{url}/delete", {"confirm_slug": slug})
        assert (deleted.status_code, deleted.headers["location"]) == (303, "/platform")
        assert (await http.get(url)).status_code == 404


async def test_nobody_else_gets_in(app, db, settings, make_school):
    school = await make_school()
    paths = ["/platform", "/platform/organizations/new", f"/platform/organizations/{school.org_id}"]
    for who in ("oa", "t", "s", "p"):
        async with await as_person(app, db, settings, school.people[who]) as http:
            for path in paths:
                response = await http.get(path)
                assert response.status_code == 403, (who, path)
            assert "Organizations" not in (await http.get("/account/sessions")).text
            token = form_token((await http.get("/account/sessions")).text)
            posted = await http.post(
                "/platform/organizations", data={"csrf_token": token, "name": "X", "slug": f"x-{who}-{school.org_id}"}
            )
            assert posted.status_code == 403
            posted = await http.post(
                f"/platform/organizations/{school.org_id}/domains",
                data={"csrf_token": token, "domain": "x.example.org"},
            )
            assert posted.status_code == 403
    async with await as_person(app, db, settings, await super_admin(db)) as http:
        assert (await http.get(f"/platform/organizations/{uuid.uuid4()}")).status_code == 404
