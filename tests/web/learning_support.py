"""A school day's work for the student's and parent's page tests, set up through the API:
assignments due soon, later, late and missing, one graded by rubric with feedback and posted,
one graded and not posted, one hidden from parents."""

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from tests.conftest import Builder
from tests.grading.support import assignment, category, due_ago, grade, ok, rubric_assignment, turn_in


def section(html: str, section_id: str) -> str:
    """The HTML of the section headed by the element with ``section_id``, up to its end."""
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def text_of(html: str) -> str:
    """The page's text, tags removed and spaces collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def soon(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@dataclass
class Day:
    """The ids of a school day's assignments, by name."""

    ids: dict[str, str] = field(default_factory=dict)
    submissions: dict[str, str] = field(default_factory=dict)


async def school_day(client, db, school) -> Day:
    """s's work in ``school.class_id``; every assignment is visible to parents but "Hidden"."""
    day = Day()
    homework = await category(client, school, name="Homework", weight=60)

    async def make(name: str, **fields) -> dict:
        a = await assignment(client, school, homework["id"], title=name, **fields)
        day.ids[name] = a["id"]
        return a

    await make("Soon essay", due_at=soon(3), allowed_attempts=3, instructions="Write 300 words.")
    await make("Far project", due_at=soon(30))
    await make("Late lab", due_at=soon(1), allowed_attempts=2)
    await due_ago(db, day.ids["Late lab"], "2 days")
    await make("Missed quiz", due_at=soon(1), accept_late=False)
    await due_ago(db, day.ids["Missed quiz"], "1 day")
    await make("Marked missing", due_at=soon(1))
    await due_ago(db, day.ids["Marked missing"], "3 days")
    ok(await client.post(f"/assignments/{day.ids['Marked missing']}/mark-missing", headers=school.headers["t"]))
    await make("Sent late", due_at=soon(1), allowed_attempts=2)
    await due_ago(db, day.ids["Sent late"], "1 hour")
    await turn_in(client, school, day.ids["Sent late"])
    await make("Done on time", due_at=soon(2))
    await turn_in(client, school, day.ids["Done on time"])

    graded, rubric = await rubric_assignment(client, school, title="Graded essay", due_at=soon(20))
    day.ids["Graded essay"] = graded["id"]
    work = await turn_in(client, school, graded["id"], body="My essay")
    thesis, evidence = rubric["criteria"]
    scores = [
        {"criterion_id": thesis["id"], "points": "4", "level_title": "Clear", "comment": "Sharp thesis"},
        {"criterion_id": evidence["id"], "points": "4.5", "comment": "More quotes"},
    ]
    await grade(client, school, work["id"], rubric=scores, state="final", feedback="Well argued overall")
    ok(await client.post(f"/assignments/{graded['id']}/post-grades", headers=school.headers["t"]))

    await make("Unposted test", due_at=soon(25))
    unposted = await turn_in(client, school, day.ids["Unposted test"])
    await grade(client, school, unposted["id"], points="77", state="final", feedback="Not posted yet")

    await make("Hidden diary", due_at=soon(4), visible_to_parents=False)
    hidden = await turn_in(client, school, day.ids["Hidden diary"])
    await grade(client, school, hidden["id"], points="61", state="final", feedback="Private feedback")
    ok(await client.post(f"/assignments/{day.ids['Hidden diary']}/post-grades", headers=school.headers["t"]))

    # Not s's: a draft, and another class's work.
    draft = ok(
        await client.post(
            f"/classes/{school.class_id}/assignments",
            json={"category_id": homework["id"], "title": "Unpublished draft", "points_possible": "5"},
            headers=school.headers["t"],
        ),
        201,
    )
    day.ids["Unpublished draft"] = draft["id"]
    return day


async def other_class(db, school, name: str = "Other class") -> uuid.UUID:
    """A class of the school that s is not in (t teaches it)."""
    async with db.as_service() as session:
        build = Builder(session, uuid.uuid4().hex[:10])
        class_id = await build.klass(school.org_id, name)
        await build.enroll(school.org_id, class_id, school.people["t"], "teacher")
    return class_id
