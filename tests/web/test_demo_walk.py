"""The demo, walked in Chromium as a teacher, a student, two parents, an org admin and a super
admin at desktop and phone
widths: one page of every kind reachable from where each lands answers 200 and has no
axe-core violations; the README's screenshots are made by the same code."""

import pytest

from tests.web.browser import VIEWPORTS
from tests.web.demo_walk import (
    ADMIN,
    PARENT,
    PARENT_OF_TWO,
    STUDENT,
    SUPER_ADMIN,
    TEACHER,
    demo_site,
    person,
    screenshots,
    walk,
)

PEOPLE = {
    "teacher": TEACHER,
    "student": STUDENT,
    "parent": PARENT,
    "parent-of-two": PARENT_OF_TWO,
    "org-admin": ADMIN,
    "super-admin": SUPER_ADMIN,
}


@pytest.fixture(scope="module")
async def demo_url(server_url, settings):
    async with demo_site(server_url, settings) as base_url:
        yield base_url


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("who", PEOPLE)
async def test_every_kind_of_demo_page_is_reachable_and_accessible(chromium, demo_url, who, viewport):
    async with person(chromium, demo_url, PEOPLE[who], VIEWPORTS[viewport]) as page:
        walked = await walk(page, demo_url)
    print(who, viewport, walked)
    assert len(walked) >= 3, walked


async def test_the_readme_screenshots_are_made_by_the_test_tooling(chromium, demo_url, tmp_path):
    for path in await screenshots(chromium, demo_url, tmp_path):
        assert path.stat().st_size > 10_000, path
