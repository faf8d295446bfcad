"""The org admin's pages over HTTP, as the admin under row-level security: the overview's
counts, members (add a managed account or invite, roles, disable, password), invitations
(resend, revoke), domains, classes and enrollments, guardianships and the grading scale.
Other roles are refused, another organization's things are not found, and a refused form
comes back with the reason beside its field."""

import html
import re
import uuid

import pytest

from schoolbase.models import OrganizationDomain
from tests.conftest import PASSWORD, Builder, service_scalar
from tests.web.learning_support import section, text_of
from tests.web.support import as_person, submit

PAGES = [
    "/admin",
    "/admin/members",
    "/admin/invitations",
    "/admin/domains",
    "/admin/classes",
    "/admin/roster",
    "/admin/guardianships",
    "/admin/grading-scale",
]


async def own_domain(db, school) -> str:
    domain = f"d{uuid.uuid4().hex[:10]}.example.org"
    async with db.as_service() as session:
        session.add(OrganizationDomain(organization_id=school.org_id, domain=domain))
    return domain


async def admin(app, db, settings, school):
    return await as_person(app, db, settings, school.people["oa"])


def notice(response) -> str:
    said = response.text.split('class="notice" role="status">', 1)[1].split("</p>", 1)[0]
    return html.unescape(text_of(said))


async def test_the_overview_counts_and_links_every_page(app, db, settings, make_school):
    school = await make_school()
    async with await admin(app, db, settings, school) as http:
        home = await http.get("/", follow_redirects=True)
        page = await http.get("/admin")
    assert home.url.path == "/admin"  # an org admin's home
    assert page.status_code == 200
    text = text_of(page.text)
    assert 'href="/admin"' in page.text and ">School<" in page.text  # the nav link
    assert "5 people" in text and "Students : 2" in text and "Teachers : 1" in text and "Parents : 1" in text
    assert "1 class," in text and "0 waiting to be accepted" in text
    for path in PAGES[1:]:
        assert f'href="{path}"' in page.text


@pytest.mark.parametrize("who", ["t", "s", "p"])
async def test_other_roles_are_refused_every_page(app, db, settings, make_school, who):
    school = await make_school()
    async with await as_person(app, db, settings, school.people[who]) as http:
        for path in PAGES + [f"/admin/classes/{school.class_id}", f"/admin/members/{school.people['s']}"]:
            response = await http.get(path)
            assert response.status_code == 403, path
            assert "administrators" in response.text
        assert ">School<" not in (await http.get("/account/sessions")).text


async def test_members_are_listed_with_roles_and_filtered(app, db, settings, make_school):
    school = await make_school()
    async with await admin(app, db, settings, school) as http:
        everyone = await http.get("/admin/members")
        students = await http.get("/admin/members?role=student")
    text = text_of(section(everyone.text, "members-heading"))
    assert "Everyone (5)" in text and "oa " in text and "Administrator" in text and "Parent" in text
    text = text_of(section(students.text, "members-heading"))
    assert "Students (2)" in text and "s2 " in text and "Teacher" not in text


async def test_an_address_in_the_schools_domain_is_a_managed_account_at_once(app, db, settings, make_school):
    school = await make_school()
    domain = await own_domain(db, school)
    async with await admin(app, db, settings, school) as http:
        data = {"email": f"ada@{domain}", "display_name": "Ada Lovelace", "roles": ["teacher"], "password": PASSWORD}
        added = await submit(http, "/admin/members", "/admin/members", data, follow_redirects=True)
        assert added.status_code == 200, re.findall(r"field-error[^<]*<", added.text)
        assert "Ada Lovelace has an account managed by" in notice(added) and "(Teacher)" in notice(added)
        user_id = added.url.path.rsplit("/", 1)[1]
        assert "Set password" in added.text and "Disable account" in added.text
        # A username for a person without email.
        kid = {"username": f"kid{uuid.uuid4().hex[:6]}", "display_name": "Kid Without Mail", "roles": ["student"]}
        added = await submit(http, "/admin/members", "/admin/members", kid, follow_redirects=True)
        assert "Kid Without Mail has an account" in notice(added)
    assert await service_scalar(db, "select count(*) from public.memberships where user_id = :u", u=user_id) == 1


async def test_any_other_address_is_invited_alike_whether_or_not_it_has_an_account(app, db, settings, make_school):
    school = await make_school()
    other = await make_school()
    elsewhere = await service_scalar(db, "select email from public.users where id = :u", u=other.people["t"])
    async with await admin(app, db, settings, school) as http:
        said = []
        for address in (elsewhere, f"nobody-{uuid.uuid4().hex[:8]}@home.example.net"):
            data = {"email": address, "display_name": "Pat", "roles": ["parent"]}
            invited = await submit(http, "/admin/members", "/admin/members", data, follow_redirects=True)
            assert invited.url.path == "/admin/invitations"
            said.append(notice(invited).replace(address, "ADDRESS"))
            assert address in invited.text
        assert said[0] == said[1] and "An invitation was sent to ADDRESS (Parent)" in said[0]
        # No password for someone the school does not manage: said beside the password.
        data = {"email": f"x-{uuid.uuid4().hex[:6]}@home.example.net", "roles": ["parent"], "password": PASSWORD}
        refused = await submit(http, "/admin/members", "/admin/members", data)
    assert refused.status_code == 422
    assert re.search(r'id="error-password">Only accounts in your organization', refused.text)


async def test_a_new_person_form_shows_errors_beside_fields(app, db, settings, make_school):
    school = await make_school()
    async with await admin(app, db, settings, school) as http:
        refused = await submit(http, "/admin/members", "/admin/members", {"email": "not an address", "roles": []})
    assert refused.status_code == 422
    assert 'id="error-email"' in refused.text and 'id="error-roles"' in refused.text
    assert 'value="not an address"' in refused.text


async def test_roles_account_and_password_of_a_member(app, db, settings, make_school):
    school = await make_school()
    domain = await own_domain(db, school)
    async with await admin(app, db, settings, school) as http:
        data = {"email": f"bo@{domain}", "display_name": "Bo", "roles": ["teacher"]}
        added = await submit(http, "/admin/members", "/admin/members", data, follow_redirects=True)
        url = added.url.path
        user_id = url.rsplit("/", 1)[1]
        more = await submit(http, url, f"{url}/roles", {"role": "parent"}, follow_redirects=True)
        assert "Bo is now also Parent." in notice(more)
        membership = re.search(
            rf'{url}/roles/([0-9a-f-]+)/delete"[^<]*<input[^>]*>\s*<button[^>]*>Remove the role Parent', more.text
        )
        assert membership
        less = await submit(http, url, f"{url}/roles/{membership.group(1)}/delete", {}, follow_redirects=True)
        assert "Bo is no longer Parent." in notice(less)
        off = await submit(http, url, f"{url}/disable", {}, follow_redirects=True)
        assert "disabled" in notice(off) and "Enable account" in off.text
        assert await service_scalar(db, "select disabled_at is not null from public.users where id = :u", u=user_id)
        on = await submit(http, url, f"{url}/enable", {}, follow_redirects=True)
        assert "enabled again" in notice(on)
        short = await submit(http, url, f"{url}/password", {"password": "short"})
        assert short.status_code == 422 and 'id="error-password"' in short.text
        done = await submit(http, url, f"{url}/password", {"password": PASSWORD}, follow_redirects=True)
        assert "password is set" in notice(done)
        # Someone's own account: neither disabled nor given a password here.
        own = f"/admin/members/{school.people['t']}"
        page = await http.get(own)
        assert "only they set its password" in page.text and "Set password" not in page.text
        refused = await submit(http, own, f"{own}/disable", {})
        assert refused.status_code == 403


async def test_invitations_are_listed_resent_and_revoked(app, db, settings, make_school):
    school = await make_school()
    address = f"pat-{uuid.uuid4().hex[:8]}@home.example.net"
    async with await admin(app, db, settings, school) as http:
        await submit(http, "/admin/members", "/admin/members", {"email": address, "roles": ["parent"]})
        page = await http.get("/admin/invitations")
        assert address in page.text and "Pending" in page.text
        invitation_id = re.search(r"/admin/invitations/([0-9a-f-]+)/resend", page.text).group(1)
        too_soon = await submit(http, "/admin/invitations", f"/admin/invitations/{invitation_id}/resend", {})
        assert too_soon.status_code == 429 and "send it again in" in too_soon.text
        await service_scalar(
            db,
            "update public.invitations set sent_at = now() - interval '2 minutes' where id = :i returning 1",
            i=invitation_id,
        )
        resent = await submit(
            http, "/admin/invitations", f"/admin/invitations/{invitation_id}/resend", {}, follow_redirects=True
        )
        assert "sent again with a new link" in notice(resent)
        revoked = await submit(
            http, "/admin/invitations", f"/admin/invitations/{invitation_id}/revoke", {}, follow_redirects=True
        )
        assert "is revoked" in notice(revoked) and "Revoked" in revoked.text
        overview = await http.get("/admin")
        assert "0 waiting" in text_of(overview.text)


async def test_domains_are_listed_and_only_a_super_admin_changes_them(app, db, settings, make_school):
    school = await make_school()
    async with await admin(app, db, settings, school) as http:
        empty = await http.get("/admin/domains")
        domain = await own_domain(db, school)
        listed = await http.get("/admin/domains")
    assert "No email domains yet." in empty.text
    assert domain in listed.text and "Only the platform's administrators add or remove a domain" in listed.text
    assert "<form" not in listed.text.split("</nav>")[-1]  # nothing to change here


async def test_classes_are_created_edited_enrolled_and_deleted(app, db, settings, make_school):
    school = await make_school()
    async with await admin(app, db, settings, school) as http:
        listed = await http.get("/admin/classes")
        assert "AI class" in listed.text
        bad = await submit(http, "/admin/classes", "/admin/classes", {"name": "", "subject": "Math"})
        assert bad.status_code == 422 and 'id="error-name"' in bad.text and 'value="Math"' in bad.text
        made = await submit(
            http, "/admin/classes", "/admin/classes", {"name": "Algebra I", "term": "Fall"}, follow_redirects=True
        )
        assert "Class “Algebra I” created." in notice(made)
        url = made.url.path
        edited = await submit(http, url, url, {"name": "Algebra II", "subject": "Math"}, follow_redirects=True)
        assert "Class “Algebra II” saved." in notice(edited) and 'value="Math"' in edited.text
        assert "No one is in this class yet." in edited.text
        for who, role in (("t", "teacher"), ("s2", "student")):
            enrolled = await submit(
                http,
                url,
                f"{url}/enrollments",
                {"user_id": str(school.people[who]), "role": role},
                follow_redirects=True,
            )
            assert f"Added to the class as {role}." in notice(enrolled)
        roster = text_of(section(enrolled.text, "roster"))
        assert f"t {''}" in roster and "(teacher)" in roster and "(student)" in roster
        bogus = await submit(http, url, f"{url}/enrollments", {"user_id": "nope", "role": "student"})
        assert bogus.status_code == 422 and 'id="error-student-user_id"' in bogus.text
        enrollment = re.search(rf"{url}/enrollments/([0-9a-f-]+)/delete", enrolled.text).group(1)
        removed = await submit(http, url, f"{url}/enrollments/{enrollment}/delete", {}, follow_redirects=True)
        assert "is no longer in this class." in notice(removed)
        deleted = await submit(http, url, f"{url}/delete", {}, follow_redirects=True)
        assert "Class “Algebra II” deleted." in notice(deleted) and "Algebra II" not in text_of(
            deleted.text.split("</nav>")[-1]
        )


async def test_guardianships_are_linked_and_unlinked(app, db, settings, make_school):
    school = await make_school()
    async with await admin(app, db, settings, school) as http:
        page = await http.get("/admin/guardianships")
        assert "p " in text_of(page.text)
        data = {"parent_id": str(school.people["p"]), "student_id": str(school.people["s2"])}
        linked = await submit(http, "/admin/guardianships", "/admin/guardianships", data, follow_redirects=True)
        assert "now sees this child's" in notice(linked)
        assert linked.text.count("/delete") >= 2
        twice = await submit(http, "/admin/guardianships", "/admin/guardianships", data)
        assert twice.status_code == 409
        bad = await submit(http, "/admin/guardianships", "/admin/guardianships", {"parent_id": "x", "student_id": ""})
        assert bad.status_code == 422 and 'id="error-parent_id"' in bad.text and 'id="error-student_id"' in bad.text
        link = re.search(r"/admin/guardianships/([0-9a-f-]+)/delete", linked.text).group(1)
        gone = await submit(
            http, "/admin/guardianships", f"/admin/guardianships/{link}/delete", {}, follow_redirects=True
        )
        assert "no longer sees" in notice(gone)


async def test_the_grading_scale_is_edited_and_reset(app, db, settings, make_school):
    school = await make_school()
    async with await admin(app, db, settings, school) as http:
        page = await http.get("/admin/grading-scale")
        assert "default scale" in page.text and 'value="A"' in page.text and 'value="90"' in page.text
        rows = {"letter-0": "P", "min-0": "50", "letter-1": "F", "min-1": "0", "letter-2": "", "min-2": ""}
        saved = await submit(http, "/admin/grading-scale", "/admin/grading-scale", rows, follow_redirects=True)
        assert "grading scale is saved" in notice(saved) and 'value="P"' in saved.text and "of its own" in saved.text
        bad = await submit(
            http,
            "/admin/grading-scale",
            "/admin/grading-scale",
            {"letter-0": "P", "min-0": "150", "letter-1": "F", "min-1": "0"},
        )
        assert bad.status_code == 422 and 'id="error-min-0"' in bad.text
        no_zero = await submit(http, "/admin/grading-scale", "/admin/grading-scale", {"letter-0": "P", "min-0": "50"})
        assert no_zero.status_code == 422 and "must start at 0" in no_zero.text
        reset = await submit(http, "/admin/grading-scale", "/admin/grading-scale/default", {}, follow_redirects=True)
        assert "default scale" in notice(reset) and 'value="A"' in reset.text


async def test_another_organizations_things_are_not_found(app, db, settings, make_school):
    school = await make_school()
    other = await make_school()
    async with db.as_service() as session:
        build = Builder(session, uuid.uuid4().hex[:8])
        invitation = await service_scalar(
            db,
            "insert into public.invitations (organization_id, email, roles, expires_at) values "
            "(:o, :e, array['parent']::public.membership_role[], now() + interval '1 day') returning id",
            o=other.org_id,
            e=f"x-{uuid.uuid4().hex[:6]}@home.example.net",
        )
        guardianship = await build.guardian(other.org_id, other.people["p"], other.people["s2"])
    theirs_class = f"/admin/classes/{other.class_id}"
    theirs_member = f"/admin/members/{other.people['t']}"
    async with await admin(app, db, settings, school) as http:
        assert (await http.get(theirs_class)).status_code == 404
        assert (await http.get(theirs_member)).status_code == 404
        for action, data in [
            (f"{theirs_class}", {"name": "Mine now"}),
            (f"{theirs_class}/delete", {}),
            (f"{theirs_class}/enrollments", {"user_id": str(school.people["s"]), "role": "student"}),
            (f"{theirs_member}/disable", {}),
            (f"{theirs_member}/password", {"password": PASSWORD}),
            (f"{theirs_member}/roles", {"role": "parent"}),
            (f"/admin/invitations/{invitation}/resend", {}),
            (f"/admin/invitations/{invitation}/revoke", {}),
            (f"/admin/guardianships/{guardianship}/delete", {}),
        ]:
            response = await submit(http, "/admin", action, data)
            assert response.status_code == 404, action
    assert await service_scalar(db, "select revoked_at is null from public.invitations where id = :i", i=invitation)
