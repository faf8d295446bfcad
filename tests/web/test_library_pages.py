"""The resource portal's pages over HTTP: search with each filter and highlighted matches,
escaping, creating a link and uploading a file, generating (pending until approved), rejecting
with a note and resubmitting, reviews, and what is refused (another organization's resource,
a student at the queue or the create pages)."""

import re

from tests.conftest import add_person
from tests.resources.conftest import Portal
from tests.web.support import as_person, form_token, submit


async def _portal(make_school, client, db, settings) -> Portal:
    school = await make_school()
    await add_person(db, settings, school, "t2", "teacher")
    return Portal(client, school)


def results(html: str) -> str:
    found = re.search(r'<ul class="cards results".*?</ul>', html, re.S)
    return found.group() if found else ""


async def test_search_with_each_filter_and_highlighted_matches(app, client, db, settings, make_school):
    portal = await _portal(make_school, client, db, settings)
    science = await portal.category("Science")
    biology = await portal.category("Biology", science["id"])
    await portal.approved(
        title="Photosynthesis worksheet",
        description="Plants turn light into sugar. Photosynthesis happens in leaves.",
        subject="Biology",
        grade_levels=["7"],
        category_id=biology["id"],
    )
    await portal.approved(title="Fractions practice", type="quiz", subject="Math", grade_levels=["5"])
    rated = await portal.approved(title="Volcano video", type="video", subject="Geology", grade_levels=["8"])
    await portal.ok("POST", f"/resources/{rated['id']}/reviews", "s", 201, json={"rating": 5})

    async with await as_person(app, db, settings, portal.school.people["s"]) as http:
        home = await http.get("/library")
        assert home.status_code == 200
        assert 'href="/library"' in home.text and ">Resources<" in home.text  # in the menu
        # The tree: Science (1) with Biology (1) below it.
        assert re.search(r">Science</a> <span class=\"muted\">\(1\)", home.text)
        assert re.search(r">Biology</a> <span class=\"muted\">\(1\)", home.text)

        async def titles(**params) -> set[str]:
            page = await http.get("/library", params=params)
            assert page.status_code == 200, page.text
            found = results(page.text)
            return {t for t in ("Photosynthesis", "Fractions", "Volcano") if t in found}

        assert await titles() == {"Photosynthesis", "Fractions", "Volcano"}
        assert await titles(q="leaves") == {"Photosynthesis"}
        blank = dict.fromkeys(("type", "subject", "grade_level", "category_id", "min_rating"), "")
        assert await titles(q="leaves", **blank) == {"Photosynthesis"}  # the form as a browser sends it
        assert await titles(type="quiz") == {"Fractions"}
        assert await titles(subject="geology") == {"Volcano"}
        assert await titles(grade_level="5") == {"Fractions"}
        assert await titles(category_id=science["id"]) == {"Photosynthesis"}  # the subtree
        assert await titles(min_rating="4") == {"Volcano"}

        page = await http.get("/library", params={"q": "photosynthesis"})
        assert "<mark>Photosynthesis</mark> worksheet" in page.text
        assert "<mark>Photosynthesis</mark> happens in leaves" in page.text
        empty = await http.get("/library", params={"q": "nonexistentword"})
        assert "No resources match this search" in empty.text
        bad = await http.get("/library", params={"min_rating": "9"})
        assert bad.status_code == 422 and "Please fix" in bad.text


async def test_titles_and_queries_are_escaped(app, client, db, settings, make_school):
    portal = await _portal(make_school, client, db, settings)
    created = await portal.approved(title="<script>alert(1)</script> Trick", description="<img src=x onerror=alert(2)>")
    async with await as_person(app, db, settings, portal.school.people["s"]) as http:
        page = await http.get("/library", params={"q": "trick"})
        assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(1)&lt;/script&gt; <mark>Trick</mark>" in page.text
        echoed = await http.get("/library", params={"q": '<b>"bold"</b>', "subject": "<i>x</i>"})
        assert "<b>" not in echoed.text and "<i>" not in echoed.text
        assert "&lt;b&gt;&#34;bold&#34;&lt;/b&gt;" in echoed.text and "&lt;i&gt;x&lt;/i&gt;" in echoed.text
        one = await http.get(f"/library/resources/{created['id']}")
        assert "<script>alert(1)" not in one.text and "&lt;img src=x" in one.text


async def test_a_teacher_adds_a_link_and_uploads_a_file(app, client, db, settings, make_school):
    portal = await _portal(make_school, client, db, settings)
    async with await as_person(app, db, settings, portal.school.people["t"]) as http:
        bad = await submit(http, "/library/new", "/library/new", {"title": "x", "url": "javascript:alert(1)"})
        assert bad.status_code == 422 and "Please fix" in bad.text
        made = await submit(
            http,
            "/library/new",
            "/library/new",
            {"title": "Khan fractions", "url": "https://example.org/f", "type": "link", "submit": "1"},
        )
        assert made.status_code == 303, made.text
        page = await http.get(made.headers["location"])
        assert "Khan fractions" in page.text and "Waiting for approval" in page.text
        assert 'href="https://example.org/f"' in page.text

        token = form_token((await http.get("/library/upload")).text)
        fields = {"csrf_token": token, "organization_id": str(portal.school.org_id), "title": "Reading list"}
        fields |= {"type": "document", "state": "draft"}
        sent = await http.post(
            "/library/upload", data=fields, files={"file": ("list.txt", b"Charlotte's Web\nHoles\n", "text/plain")}
        )
        assert sent.status_code == 303, sent.text
        page = await http.get(sent.headers["location"])
        assert "Reading list" in page.text and "Draft" in page.text
        link = re.search(r'href="(/library/resources/[^"]+/file)"', page.text).group(1)
        file = await http.get(link)
        assert file.status_code == 200 and file.content == b"Charlotte's Web\nHoles\n"
        assert file.headers["content-disposition"] == 'attachment; filename="Reading-list.txt"'

        # A file whose content is not its declared type is refused with the reason on the form.
        fields["title"] = "Fake PDF"
        refused = await http.post(
            "/library/upload", data=fields, files={"file": ("x.pdf", b"not a pdf at all", "application/pdf")}
        )
        assert refused.status_code == 415 and "Please fix" in refused.text and "Fake PDF" in refused.text
        # Without the form token: refused before anything is stored.
        del fields["csrf_token"]
        forged = await http.post("/library/upload", data=fields, files={"file": ("a.txt", b"hi", "text/plain")})
        assert forged.status_code == 403 and "reload the page" in forged.text
    mine = await portal.search("t")
    assert sorted(item["title"] for item in mine["items"]) == ["Khan fractions", "Reading list"]
    # A student neither downloads the draft nor reaches the create pages.
    async with await as_person(app, db, settings, portal.school.people["s"]) as http:
        assert (await http.get(link)).status_code == 404
        for path in ("/library/new", "/library/upload", "/library/generate", "/library/mine"):
            assert (await http.get(path)).status_code == 403


async def test_generated_is_pending_and_hidden_from_students_until_approved(app, client, db, settings, make_school):
    portal = await _portal(make_school, client, db, settings)
    school = portal.school
    async with await as_person(app, db, settings, school.people["t"]) as http:
        data = {"organization_id": str(school.org_id), "kind": "worksheet", "topic": "Leaves", "grade_level": "7"}
        too_long = await submit(http, "/library/generate", "/library/generate", {**data, "length": "99"})
        assert too_long.status_code == 422 and "Please fix" in too_long.text
        made = await submit(http, "/library/generate", "/library/generate", {**data, "length": "4"})
        assert made.status_code == 303, made.text
        url = made.headers["location"]
        page = await http.get(url)
        assert "Worksheet: Leaves" in page.text and "Waiting for approval" in page.text and "written by AI" in page.text
        assert "Worksheet: Leaves" in (await http.get("/library/mine")).text
    resource_id = url.rsplit("/", 1)[1]
    async with await as_person(app, db, settings, school.people["s"]) as http:
        assert (await http.get(url)).status_code == 404
        assert "Worksheet: Leaves" not in (await http.get("/library", params={"q": "leaves"})).text
        assert (await http.get("/library/review")).status_code == 403
    async with await as_person(app, db, settings, school.people["oa"]) as http:
        queue = await http.get("/library/review")
        assert "Worksheet: Leaves" in queue.text and "[local upstream]" in queue.text
        done = await submit(
            http, "/library/review", f"/library/resources/{resource_id}/decision", {"action": "approve", "note": ""}
        )
        assert done.status_code == 303 and "Nothing is waiting" in (await http.get("/library/review")).text
    async with await as_person(app, db, settings, school.people["s"]) as http:
        assert "<mark>Leaves</mark>" in (await http.get("/library", params={"q": "leaves"})).text
        reviewed = await submit(http, url, f"{url}/review", {"rating": "4", "comment": "Helpful"})
        assert reviewed.status_code == 303
        page = await http.get(url)
        assert "Rated 4.0 of 5 by 1 person" in page.text and "Helpful" in page.text and "Save my review" in page.text
        changed = await submit(http, url, f"{url}/review", {"rating": "2", "comment": ""})
        assert changed.status_code == 303 and "Rated 2.0 of 5" in (await http.get(url)).text
        gone = await submit(http, url, f"{url}/review/delete", {})
        assert gone.status_code == 303 and "No reviews yet" in (await http.get(url)).text
        bad = await submit(http, url, f"{url}/review", {"rating": "9"})
        assert bad.status_code == 422


async def test_the_ai_refusal_is_shown_with_its_reason(app, client, db, settings, make_school):
    school = await make_school(monthly_budget_usd=0)
    async with await as_person(app, db, settings, school.people["t"]) as http:
        data = {"organization_id": str(school.org_id), "kind": "quiz", "topic": "Rivers", "grade_level": "4"}
        refused = await submit(http, "/library/generate", "/library/generate", {**data, "length": "3"})
        assert refused.status_code >= 400 and "The AI request was refused" in refused.text
        assert 'value="Rivers"' in refused.text


async def test_rejected_with_a_note_the_author_revises_and_resubmits(app, client, db, settings, make_school):
    portal = await _portal(make_school, client, db, settings)
    created = await portal.resource(state="pending_review", title="Rough draft")
    rid = created["id"]
    async with await as_person(app, db, settings, portal.school.people["oa"]) as http:
        no_note = await submit(http, "/library/review", f"/library/resources/{rid}/decision", {"action": "reject"})
        assert no_note.status_code == 422 and "Rough draft" in no_note.text
        done = await submit(
            http, "/library/review", f"/library/resources/{rid}/decision", {"action": "reject", "note": "Add answers"}
        )
        assert done.status_code == 303
    async with await as_person(app, db, settings, portal.school.people["t"]) as http:
        mine = (await http.get("/library/mine")).text
        assert "Rejected (1)" in mine and "Reviewer's note: Add answers" in mine and "Revise and resubmit" in mine
        edit_url = f"/library/resources/{rid}/edit"
        assert "Add answers" in (await http.get(edit_url)).text
        sent = await submit(
            http, edit_url, edit_url, {"title": "Better draft", "type": "worksheet", "body": "1+1=2", "submit": "1"}
        )
        assert sent.status_code == 303, sent.text
        assert "Waiting for approval (1)" in (await http.get("/library/mine")).text
    async with await as_person(app, db, settings, portal.school.people["t2"]) as http:
        assert (await http.get(edit_url)).status_code == 404  # not theirs, not approved: not there for t2
    assert (await portal.ok("GET", f"/resources/{rid}", "oa"))["title"] == "Better draft"


async def test_another_organizations_resource_is_not_found(app, client, db, settings, make_school):
    portal = await _portal(make_school, client, db, settings)
    other = Portal(client, await make_school())
    theirs = await other.approved(title="Their secret")
    async with await as_person(app, db, settings, portal.school.people["oa"]) as http:
        for path in ("", "/edit", "/file"):
            assert (await http.get(f"/library/resources/{theirs['id']}{path}")).status_code == 404
        refused = await submit(
            http, "/library/review", f"/library/resources/{theirs['id']}/decision", {"action": "approve"}
        )
        assert refused.status_code == 404
        assert "Their secret" not in (await http.get("/library")).text
    async with await as_person(app, db, settings, portal.school.people["p"]) as http:
        assert ">Resources<" not in (await http.get("/children")).text
