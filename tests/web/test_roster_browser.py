"""The roster upload in Chromium, at desktop and phone widths, with no axe-core violations on
any of its pages: an org admin uploads a OneRoster zip, watches it being checked, reads the
report, accepts it and sees what was imported; a report with errors, and held invitations."""

import pytest

from schoolbase.models import RosterImportState
from tests.roster.test_upload_jobs import stored_import
from tests.roster.upload_support import district_zip, validated_import
from tests.tenancy.test_held_invitations import held
from tests.web.browser import VIEWPORTS, check_accessible
from tests.web.test_learning_browser import signed_in_context


@pytest.mark.parametrize("viewport", VIEWPORTS)
async def test_upload_check_accept_and_see_the_summary(
    app, chromium, live_server, db, settings, make_school, tmp_path, viewport
):
    school = await make_school()
    checked = await validated_import(db, school)
    checking = await stored_import(
        db, school, RosterImportState.validating, None, app.state.roster, 12000, stalled=False
    )
    await held(db, school.org_id, "waiting")
    zipped = tmp_path / "district.zip"
    zipped.write_bytes(district_zip())
    context = await signed_in_context(chromium, live_server, db, settings, school.people["oa"], viewport)
    page = await context.new_page()

    await page.goto("/admin/roster")
    await check_accessible(page, f"roster page at {viewport}")
    await page.get_by_label("Zip file").set_input_files(zipped)
    await page.get_by_role("button", name="Upload and check").click()
    await page.wait_for_url("**/admin/roster/imports/*")
    # The page follows the check by itself and shows the report once it is done.
    await page.get_by_role("heading", name="Accept the report").wait_for(timeout=30_000)
    assert await page.get_by_role("heading", name="Report per file").is_visible()
    assert await page.get_by_role("rowheader", name="users.csv").is_visible()
    await check_accessible(page, f"validated import at {viewport}")

    await page.get_by_role("button", name="Accept and import").click()
    await page.get_by_role("heading", name="What was imported").wait_for(timeout=30_000)
    assert await page.get_by_role("rowheader", name="People").is_visible()
    await check_accessible(page, f"completed import at {viewport}")

    await page.goto(f"/admin/roster/imports/{checking}")
    assert await page.get_by_role("progressbar").is_visible()
    await check_accessible(page, f"import being checked at {viewport}")

    await page.goto(f"/admin/roster/imports/{checked}")
    assert await page.get_by_role("heading", name="Errors and warnings").is_visible()
    await check_accessible(page, f"import with errors at {viewport}")
    await page.get_by_role("button", name="Import the valid rows").click()
    await page.wait_for_load_state()
    assert await page.locator("#error-summary").is_visible()
    await check_accessible(page, f"accepting errors unticked at {viewport}")

    await page.goto("/admin/roster")
    assert await page.get_by_role("link", name="district.zip").is_visible()
    await check_accessible(page, f"roster history at {viewport}")
    await page.goto("/admin/invitations")
    await check_accessible(page, f"held invitations at {viewport}")
    # The one held before and the three the import left (people outside the school's domains).
    await page.get_by_role("button", name="Send all 4 held invitations").click()
    await page.wait_for_load_state()
    assert "4 held invitations were sent." in await page.locator(".notice").inner_text()
    await context.close()
