"""End to end through the running app and a real SMTP server: an org admin invites a
parent, the message arrives, the parent follows the link, chooses a password, and sees
their child."""

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from schoolbase.app import create_app
from schoolbase.auth.passwords import hash_password
from schoolbase.mail.service import link_in
from schoolbase.models import Class, Enrollment, Membership, MembershipRole, OrganizationDomain
from schoolbase.tenancy.people import create_person
from tests.conftest import PASSWORD
from tests.mail.conftest import make_org, unique


@pytest.fixture
async def mail_client(mail_settings, mail_urls, mail_db):
    """The whole app on the mail tests' database, its worker delivering to the SMTP server."""
    app = create_app(mail_settings, mail_urls)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("10.253.0.1", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            yield http


async def school_with_a_student(db) -> dict:
    org_id = await make_org(db)
    domain = f"{unique('maple')}.example.org"
    async with db.as_service() as session:
        session.add(OrganizationDomain(organization_id=org_id, domain=domain))
        await session.flush()
        admin = await create_person(session, f"admin@{domain}", "Morgan Admin", await hash_password(PASSWORD))
        child = await create_person(session, f"grace@{domain}", "Grace Hopper", "unused-hash")
        cls = Class(organization_id=org_id, name="Algebra I")
        session.add(cls)
        session.add_all(
            [
                Membership(organization_id=org_id, user_id=admin.id, role=MembershipRole.org_admin),
                Membership(organization_id=org_id, user_id=child.id, role=MembershipRole.student),
            ]
        )
        await session.flush()
        session.add(Enrollment(organization_id=org_id, class_id=cls.id, user_id=child.id, role=MembershipRole.student))
    return {"org": org_id, "admin": f"admin@{domain}", "child": child.id, "class": cls.id}


async def arrived(inbox, address: str, timeout: float = 20.0):
    for _ in range(int(timeout / 0.05)):
        if received := inbox.to(address):
            return received[-1].message
        await asyncio.sleep(0.05)
    raise AssertionError(f"nothing arrived for {address}")


async def bearer(client, **credentials) -> dict[str, str]:
    response = await client.post("/auth/token", json=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def test_an_invited_parent_joins_by_email_and_sees_their_child(mail_client, mail_db, mail_settings, inbox):
    school = await school_with_a_student(mail_db)
    admin = await bearer(mail_client, email=school["admin"], password=PASSWORD)
    parent_email = f"{unique('pat')}@home.example.net"

    invited = await mail_client.post(
        f"/organizations/{school['org']}/members",
        json={"email": parent_email, "display_name": "Pat Hopper", "roles": ["parent"]},
        headers=admin,
    )
    assert invited.status_code == 202, invited.text

    message = await arrived(inbox, parent_email)
    assert message["To"] == parent_email
    assert "invit" in message["Subject"].lower()
    text_part = message.get_body(preferencelist=("plain",)).get_content()
    html_part = message.get_body(preferencelist=("html",)).get_content()
    link = link_in(text_part, mail_settings)
    assert link and link in html_part.replace("&amp;", "&")
    token = parse_qs(urlsplit(link).query)["token"][0]

    # Before accepting, the parent is nobody in the school: no guardianship can name them.
    view = await mail_client.post("/auth/invitations/inspect", json={"token": token})
    assert view.status_code == 200, view.text
    assert view.json()["account_exists"] is False and view.json()["roles"] == ["parent"]

    accepted = await mail_client.post(
        "/auth/invitations/accept", json={"token": token, "password": "pat's own password"}
    )
    assert accepted.status_code == 200, accepted.text
    parent_id = accepted.json()["user_id"]
    guardianship = await mail_client.post(
        f"/organizations/{school['org']}/guardianships",
        json={"parent_id": parent_id, "student_id": str(school["child"])},
        headers=admin,
    )
    assert guardianship.status_code == 201, guardianship.text

    parent = await bearer(mail_client, email=parent_email, password="pat's own password")
    me = (await mail_client.get("/me", headers=parent)).json()
    assert me["user"]["display_name"] == "Pat Hopper"
    assert [o["roles"] for o in me["organizations"]] == [["parent"]]
    child = await mail_client.get(f"/users/{school['child']}", headers=parent)
    assert child.status_code == 200 and child.json()["display_name"] == "Grace Hopper"
    classes = (await mail_client.get("/classes", headers=parent)).json()["items"]
    assert [c["id"] for c in classes] == [str(school["class"])]
    # The link was single-use.
    again = await mail_client.post("/auth/invitations/accept", json={"token": token, "password": "x" * 12})
    assert again.status_code == 400
