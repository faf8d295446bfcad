"""Everyone's pages over HTTP: sign-in with the API's throttling, the cookie session on the same
identity path (renewed while the session lasts, refused once it ends), CSRF on every form, safe
redirects, password change and reset, invitations, sessions and the organization switcher."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from schoolbase.auth.tokens import issue_access_token
from schoolbase.web.cookies import ORGANIZATION_COOKIE, SESSION_COOKIE
from tests.conftest import PASSWORD, emailed_token, new_person, service_scalar
from tests.web.support import HTML, as_person, browser_client, form_token, submit


async def sign_in(http, login: str, password: str = PASSWORD, next_url: str = ""):
    return await submit(http, "/sign-in", "/sign-in", {"login": login, "password": password, "next": next_url})


async def test_the_start_page_sends_a_stranger_to_sign_in(app):
    async with browser_client(app) as http:
        response = await http.get("/")
        assert (response.status_code, response.headers["location"]) == (303, "/sign-in")
        page = await http.get("/sign-in")
        assert page.status_code == 200 and "<h1>Sign in</h1>" in page.text


async def test_a_page_needs_a_sign_in_and_comes_back_after_it(app, db):
    user_id, email = await new_person(db, "web-next")
    async with browser_client(app) as http:
        response = await http.get("/account/sessions?x=1")
        assert response.status_code == 303
        assert response.headers["location"] == "/sign-in?next=/account/sessions?x=1"
        signed = await sign_in(http, email, next_url="/account/sessions")
        assert (signed.status_code, signed.headers["location"]) == (303, "/account/sessions")
        cookie = signed.cookies[SESSION_COOKIE]
        assert cookie and "httponly" in signed.headers["set-cookie"].lower()
        assert "samesite=lax" in signed.headers["set-cookie"].lower()
        assert "page tests" not in (await http.get("/account/sessions")).text  # its own session, by this client


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:x"])
async def test_sign_in_never_sends_anyone_to_another_site(app, db, target):
    _, email = await new_person(db, "web-open-redirect")
    async with browser_client(app) as http:
        response = await sign_in(http, email, next_url=target)
        assert (response.status_code, response.headers["location"]) == (303, "/home")


async def test_a_wrong_password_is_said_on_the_form_and_throttled_like_the_api(app, db, settings):
    _, email = await new_person(db, "web-wrong")
    async with browser_client(app) as http:
        wrong = await sign_in(http, email, "not-the-password")
        assert wrong.status_code == 401
        assert "That sign-in name or password is not right." in wrong.text
        assert SESSION_COOKIE not in wrong.cookies
        for _ in range(settings.login_max_failures_per_account_address):
            await sign_in(http, email, "not-the-password")
        throttled = await sign_in(http, email)
        assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.text
        assert int(throttled.headers["retry-after"]) > 0


async def test_a_malformed_login_is_a_form_error(app):
    async with browser_client(app) as http:
        response = await sign_in(http, "not an address")
        assert response.status_code == 422 and "Enter your email address" in response.text


async def test_every_form_needs_its_token(app, db, settings):
    user_id, email = await new_person(db, "web-csrf")
    async with browser_client(app) as http:
        assert (await http.post("/sign-in", data={"login": email, "password": PASSWORD})).status_code == 403
        await http.get("/sign-in")
        forged = await http.post("/sign-in", data={"login": email, "password": PASSWORD, "csrf_token": "x" * 40})
        assert forged.status_code == 403 and "reload the page" in forged.text
    async with await as_person(app, db, settings, user_id) as http:
        await http.get("/account/sessions")
        assert (await http.post("/sign-out", data={})).status_code == 403
        assert (await http.get("/account/sessions")).status_code == 200  # still signed in


async def test_sign_out_ends_the_session_everywhere(app, db, settings, client):
    user_id, _ = await new_person(db, "web-out")
    async with await as_person(app, db, settings, user_id) as http:
        cookie = http.cookies[SESSION_COOKIE]
        out = await submit(http, "/account/sessions", "/sign-out", {})
        assert (out.status_code, out.headers["location"]) == (303, "/sign-in")
    # The same token, replayed, no longer opens a page or the API.
    async with browser_client(app, cookie) as http:
        assert (await http.get("/account/sessions")).status_code == 303
    assert (await client.get("/me", headers={"Authorization": f"Bearer {cookie}"})).status_code == 401


async def test_an_expired_cookie_is_renewed_while_the_session_lasts(app, db, settings):
    user_id, _ = await new_person(db, "web-renew")
    async with await as_person(app, db, settings, user_id) as http:
        sid = await service_scalar(db, "select id from server.sessions where user_id = :u", u=user_id)
        old = issue_access_token(settings, user_id, None, sid, now=datetime.now(UTC) - timedelta(hours=2))
        http.cookies.set(SESSION_COOKIE, old)
        page = await http.get("/account/sessions")
        assert page.status_code == 200
        assert page.cookies[SESSION_COOKIE] != old
        await service_scalar(db, "update server.sessions set revoked_at = now() where id = :s returning id", s=sid)
        http.cookies.set(SESSION_COOKIE, old)
        assert (await http.get("/account/sessions")).status_code == 303


async def test_a_forged_cookie_is_a_stranger(app):
    async with browser_client(app, "not-a-token") as http:
        response = await http.get("/account/sessions")
        assert response.status_code == 303 and response.headers["location"].startswith("/sign-in")


async def test_an_admin_set_password_must_be_changed_first(app, db, settings):
    user_id, email = await new_person(db, "web-must-change")
    await service_scalar(
        db, "update server.credentials set must_change = true where user_id = :u returning 1", u=user_id
    )
    async with browser_client(app) as http:
        signed = await sign_in(http, email)
        assert signed.headers["location"] == "/account/password"
        assert (await http.get("/account/sessions")).headers["location"] == "/account/password"
        mismatch = await submit(
            http,
            "/account/password",
            "/account/password",
            {"current_password": PASSWORD, "new_password": "a-new-password-1", "confirm_password": "other-password-1"},
        )
        assert mismatch.status_code == 422 and "not the same" in mismatch.text
        wrong = await submit(
            http,
            "/account/password",
            "/account/password",
            {
                "current_password": "wrong-password",
                "new_password": "a-new-password-1",
                "confirm_password": "a-new-password-1",
            },
        )
        assert wrong.status_code == 403 and "not right" in wrong.text
        changed = await submit(
            http,
            "/account/password",
            "/account/password",
            {"current_password": PASSWORD, "new_password": "a-new-password-1", "confirm_password": "a-new-password-1"},
        )
        assert changed.status_code == 303
        assert (await http.get("/account/sessions")).status_code == 200


async def test_a_password_reset_by_email(app, db, settings):
    user_id, email = await new_person(db, "web-reset")
    async with browser_client(app) as http:
        asked = await submit(http, "/forgot-password", "/forgot-password", {"login": email})
        assert (asked.status_code, asked.headers["location"]) == (303, "/sign-in")
        reset_id = await service_scalar(db, "select id from server.password_resets where user_id = :u", u=user_id)
        token = await emailed_token(db, settings, reset_id)
        form = await http.get(f"/reset-password?token={token}")
        assert form.status_code == 200 and token in form.text
        data = {"csrf_token": form_token(form.text), "token": token}
        short = await http.post("/reset-password", data={**data, "new_password": "short", "confirm_password": "short"})
        assert short.status_code == 422
        new = "brand-new-password-7"
        done = await http.post("/reset-password", data={**data, "new_password": new, "confirm_password": new})
        assert done.status_code == 303
        again = await http.post("/reset-password", data={**data, "new_password": new, "confirm_password": new})
        assert again.status_code == 400 and "expired" in again.text
        assert (await sign_in(http, email, new)).headers["location"] == "/home"


async def test_my_sessions_list_and_end_them(app, db, settings):
    user_id, _ = await new_person(db, "web-sessions")
    other = await as_person(app, db, settings, user_id)
    async with await as_person(app, db, settings, user_id) as http, other as phone:
        page = await http.get("/account/sessions")
        assert page.text.count("Sign out this session") == 2 and "(this one)" in page.text
        phone_sid = await service_scalar(
            db,
            "select id from server.sessions where user_id = :u order by created_at limit 1",
            u=user_id,
        )
        ended = await submit(http, "/account/sessions", f"/account/sessions/{phone_sid}/end", {})
        assert ended.status_code == 303
        assert (await phone.get("/account/sessions")).status_code == 303
        stranger = await submit(http, "/account/sessions", f"/account/sessions/{uuid.uuid4()}/end", {})
        assert stranger.status_code == 404 and "<h1>" in stranger.text


async def test_the_organization_switcher_changes_what_is_looked_at(app, db, settings, make_school):
    first, second = await make_school(), await make_school(time_zone="Europe/London")
    teacher = first.people["t"]
    await service_scalar(
        db,
        "insert into public.memberships (organization_id, user_id, role) values (:o, :u, 'parent') returning 1",
        o=second.org_id,
        u=teacher,
    )
    async with await as_person(app, db, settings, teacher) as http:
        page = await http.get("/account/sessions")
        assert 'id="organization-switch"' in page.text
        switched = await submit(
            http, "/account/sessions", "/switch-organization", {"organization_id": str(second.org_id)}
        )
        assert switched.headers["location"] == "/children"
        assert switched.cookies[ORGANIZATION_COOKIE] == str(second.org_id)
        assert "times are in Europe/London" in (await http.get("/account/sessions")).text
        elsewhere = await submit(
            http, "/account/sessions", "/switch-organization", {"organization_id": str(uuid.uuid4())}
        )
        assert elsewhere.status_code == 404


async def test_page_errors_are_pages_and_api_errors_stay_problems(app, client):
    async with browser_client(app) as http:
        missing = await http.get("/no-such-page")
        assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    api = await client.get("/no-such-page")
    assert api.headers["content-type"].startswith("application/problem+json")


async def invite(client, school, email: str) -> str:
    """An emailed invitation of ``school`` for ``email`` as a parent: the link's token."""
    body = {"email": email, "display_name": "Invited Parent", "roles": ["parent"]}
    response = await client.post(f"/organizations/{school.org_id}/members", json=body, headers=school.headers["oa"])
    assert response.status_code == 202, response.text
    return response.json()["invitation"]["id"]


async def test_an_invitation_makes_a_new_account_from_its_page(app, client, db, settings, make_school):
    school = await make_school()
    email = f"parent-{uuid.uuid4().hex[:8]}@mailbox.example.net"
    token = await emailed_token(db, settings, await invite(client, school, email))
    async with browser_client(app) as http:
        page = await http.get(f"/accept-invitation?token={token}")
        assert page.status_code == 200 and email in page.text and "Create my account and join" in page.text
        data = {"csrf_token": form_token(page.text), "token": token, "display_name": "Robin Parent"}
        short = await http.post("/accept-invitation", data={**data, "password": "short"})
        assert short.status_code == 422 and 'aria-invalid="true"' in short.text
        joined = await http.post("/accept-invitation", data={**data, "password": "the parent's own 1"})
        assert (joined.status_code, joined.headers["location"]) == (303, "/home")
        assert (await http.get("/home")).headers["location"] == "/children"
        used = await http.get(f"/accept-invitation?token={token}")
        assert used.status_code >= 400 and "cannot be used" in used.text
    async with browser_client(app) as http:
        assert (await sign_in(http, email, "the parent's own 1")).headers["location"] == "/home"


async def test_an_invitation_to_an_existing_account_is_accepted_signed_in(app, client, db, settings, make_school):
    school = await make_school()
    user_id, email = await new_person(db, "web-invited")
    token = await emailed_token(db, settings, await invite(client, school, email))
    async with browser_client(app) as http:
        page = await http.get(f"/accept-invitation?token={token}")
        assert "Sign in to accept" in page.text and "Create my account" not in page.text
    async with await as_person(app, db, settings, user_id) as http:
        accepted = await submit(http, f"/accept-invitation?token={token}", "/accept-invitation", {"token": token})
        assert accepted.status_code == 303
        assert (await http.get("/home")).headers["location"] == "/children"
    # Someone else, signed in, cannot accept an invitation for an address with an account.
    other_id, _ = await new_person(db, "web-not-invited")
    _, third_email = await new_person(db, "web-invited-too")
    second = await emailed_token(db, settings, await invite(client, school, third_email))
    async with await as_person(app, db, settings, other_id) as http:
        refused = await submit(http, f"/accept-invitation?token={second}", "/accept-invitation", {"token": second})
        assert refused.status_code == 403 and "Join" in refused.text


async def test_over_https_the_cookies_are_secure(app, db):
    _, email = await new_person(db, "web-https")
    transport = httpx.ASGITransport(app=app, client=("10.9.9.9", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="https://test", headers=HTML) as http:
        signed = await sign_in(http, email)
    cookies = [value.lower() for name, value in signed.headers.multi_items() if name == "set-cookie"]
    session = next(c for c in cookies if c.startswith("sb_session="))
    assert "secure" in session and "httponly" in session and "samesite=lax" in session


async def test_an_api_address_opened_in_a_browser_explains_itself(app, db, settings):
    user_id, _ = await new_person(db, "web-api-in-browser")
    async with await as_person(app, db, settings, user_id) as http:
        response = await http.get("/classes")
        assert response.status_code == 401 and response.headers["content-type"].startswith("text/html")
        assert "<h1>Not authenticated</h1>" in response.text
