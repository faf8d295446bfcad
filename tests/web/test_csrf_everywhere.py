"""Every page route that changes something refuses a post without the form token (403), before
it reads or changes anything: found by walking the app's routes, so a new form cannot forget."""

import re
import uuid

from fastapi.routing import APIRoute

from schoolbase.app import create_app
from tests.conftest import new_person
from tests.web.support import as_person

CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


def routes_of(routes, seen: set[int]):
    for route in routes:
        if id(route) in seen:
            continue
        seen.add(id(route))
        if isinstance(route, APIRoute):
            yield route
        elif not hasattr(route, "app") or type(route).__name__ == "_IncludedRouter":
            for value in vars(route).values():  # a router included into the app
                if isinstance(getattr(value, "routes", None), list):
                    yield from routes_of(value.routes, seen)


def page_routes_that_change() -> list[tuple[str, str]]:
    found = {
        (method, route.path)
        for route in routes_of(create_app().router.routes, set())
        if route.endpoint.__module__.startswith("schoolbase.web")
        for method in route.methods & CHANGES
    }
    return sorted(found)


def test_the_walk_finds_the_forms():
    paths = {path for _, path in page_routes_that_change()}
    assert {
        "/sign-in",
        "/teach/submissions/{submission_id}/grade",
        "/teach/classes/{class_id}/gradebook",
        "/teach/classes/{class_id}/gradebook/overrides/{student_id}",
        "/admin/school-year/sessions",
        "/admin/school-year/sessions/{session_id}/reopen",
    } <= paths
    assert len(paths) > 20


async def test_no_page_route_changes_anything_without_the_form_token(app, db, settings):
    user_id, _ = await new_person(db, "csrf-walk")
    async with await as_person(app, db, settings, user_id) as http:
        await http.get("/account/sessions")  # the browser has its token cookie; the forms below leave it out
        for method, path in page_routes_that_change():
            url = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
            response = await http.request(method, url, data={"anything": "x"})
            assert response.status_code == 403, (method, path, response.status_code)
            assert "reload the page" in response.text
