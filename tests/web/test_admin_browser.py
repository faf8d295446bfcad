"""The org admin's pages in Chromium: no axe-core violations on any of them at desktop and
phone widths, and the flow issue 13 asks for: the admin invites a parent on the members page,
the invitation reaches a real SMTP server, the parent opens the emailed link, creates their
account, the admin links them to a student, and the parent sees their child."""

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from schoolbase.app import create_app
from schoolbase.db.urls import database_urls
from schoolbase.mail.service import link_in
from tests.conftest import migrated_database, open_database
from tests.mail.conftest import running_smtp, unique
from tests.mail.test_invitation_end_to_end import arrived, school_with_a_student
from tests.web.browser import VIEWPORTS, check_accessible, free_port, served
from tests.web.support import session_cookie


async def signed_in_context(chromium, base_url: str, db, settings, user_id, viewport="desktop"):
    context = await chromium.new_context(viewport=VIEWPORTS[viewport], base_url=base_url)
    cookie = await session_cookie(db, settings, user_id)
    await context.add_cookies([{"name": "sb_session", "value": cookie, "url": base_url}])
    return context


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_every_admin_page_is_accessible(chromium, live_server, db, settings, make_school, viewport):
    school = await make_school()
    context = await signed_in_context(chromium, live_server, db, settings, school.people["oa"], viewport)
    page = await context.new_page()
    await page.goto("/admin/members")
    # Invite someone, so the invitations page has a row with its buttons.
    await page.get_by_label("Email address").fill(f"{unique('pat')}@home.example.net")
    await page.get_by_label("Parent").check()
    await page.get_by_role("button", name="Add person").click()
    await page.wait_for_url("**/admin/invitations")
    for path in (
        "/admin",
        "/admin/members",
        "/admin/members?role=student",
        f"/admin/members/{school.people['t']}",
        "/admin/invitations",
        "/admin/domains",
        "/admin/classes",
        f"/admin/classes/{school.class_id}",
        "/admin/guardianships",
        "/admin/grading-scale",
    ):
        await page.goto(path)
        await check_accessible(page, f"{path} at {viewport}")
    # Forms refused, with their errors beside the fields.
    await page.goto("/admin/members")
    await page.get_by_label("Email address").fill("not an address")
    await page.get_by_role("button", name="Add person").click()
    await check_accessible(page, f"members form errors at {viewport}")
    await page.goto("/admin/grading-scale")
    await page.locator("#field-min-0").fill("150")
    await page.get_by_role("button", name="Save scale").click()
    await check_accessible(page, f"grading scale errors at {viewport}")
    await page.goto("/admin/classes")
    await page.get_by_role("button", name="Create class").click()
    await check_accessible(page, f"class form errors at {viewport}")
    await context.close()


@pytest.fixture
async def mailing_server(server_url, settings):
    """The app on a database of its own (no other app's mail worker takes its messages),
    delivering to an in-process SMTP server, its links pointing at where it is served."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    with running_smtp() as (inbox, smtp_port), migrated_database(server_url) as owner_url:
        mail_settings = settings.model_copy(
            update={"smtp_url": SecretStr(f"smtp://127.0.0.1:{smtp_port}"), "public_url": base_url}
        )
        urls = database_urls(owner_url, mail_settings)
        async with open_database(urls, max_overflow=5) as db:
            with served(create_app(mail_settings, urls), port) as served_url:
                yield served_url, inbox, db, mail_settings


async def test_an_admin_invites_a_parent_who_joins_by_email_and_sees_their_child(chromium, mailing_server):
    base_url, inbox, db, settings = mailing_server
    school = await school_with_a_student(db)
    async with db.as_service() as session:
        admin_id = await session.scalar(text("select id from public.users where email = :e"), {"e": school["admin"]})
    admin = await signed_in_context(chromium, base_url, db, settings, admin_id)
    admin_page = await admin.new_page()
    parent_email = f"{unique('pat')}@home.example.net"

    # The admin invites the parent on the members page.
    await admin_page.goto("/admin/members")
    await admin_page.get_by_label("Email address").fill(parent_email)
    await admin_page.get_by_label("Name", exact=True).fill("Pat Hopper")
    await admin_page.get_by_label("Parent").check()
    await admin_page.get_by_role("button", name="Add person").click()
    await admin_page.wait_for_url("**/admin/invitations")
    assert f"An invitation was sent to {parent_email}" in await admin_page.locator(".notice").inner_text()
    assert "Pending" in await admin_page.locator("table").inner_text()

    # The mail arrives; the parent opens its link and creates their account.
    message = await arrived(inbox, parent_email)
    link = link_in(message.get_body(preferencelist=("plain",)).get_content(), settings)
    assert link.startswith(base_url)
    parent = await chromium.new_context(viewport=VIEWPORTS["phone"], base_url=base_url)
    parent_page = await parent.new_page()
    await parent_page.goto(link)
    await check_accessible(parent_page, "the invitation page")
    assert await parent_page.get_by_label("Your name").input_value() == "Pat Hopper"
    await parent_page.get_by_label("Choose a password").fill("pat's own password")
    await parent_page.get_by_role("button", name="Create my account and join").click()
    await parent_page.wait_for_url("**/children")
    assert "Grace Hopper" not in await parent_page.locator("main").inner_text()

    # The admin links the parent to the student.
    await admin_page.goto("/admin/invitations")
    assert "Accepted" in await admin_page.locator("table").inner_text()
    await admin_page.goto("/admin/guardianships")
    await admin_page.get_by_label("Parent", exact=True).select_option(label=f"Pat Hopper ({parent_email})")
    await admin_page.get_by_label("Child", exact=True).select_option(
        label=f"Grace Hopper (grace@{school['admin'].split('@')[1]})"
    )
    await admin_page.get_by_role("button", name="Link parent and child").click()
    await admin_page.wait_for_load_state()
    assert "now sees this child" in await admin_page.locator(".notice").inner_text()

    # The parent sees their child.
    await parent_page.goto("/children")
    assert "Grace Hopper" in await parent_page.locator("h1").inner_text()
    assert "Algebra I" in await parent_page.locator("main").inner_text()
    await check_accessible(parent_page, "the parent's child page")
    await admin.close()
    await parent.close()
