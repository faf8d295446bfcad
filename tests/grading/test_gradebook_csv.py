"""The gradebook CSV goes through the one CSV writer: formula-safe, streamed, same name."""

import csv
import io

from sqlalchemy import update

from schoolbase.models import User
from tests.grading.support import assignment, category


async def test_the_gradebook_export_escapes_and_streams(client, db, settings, make_school):
    school = await make_school()
    cat = await category(client, school, "All", 100)
    await assignment(client, school, cat["id"], title="@SUM(A1:A9)", points_possible="10")
    async with db.as_service() as session:
        await session.execute(update(User).where(User.id == school.people["s"]).values(display_name="-2+3+cmd|x"))
    url = f"/classes/{school.class_id}/gradebook"
    for response in (
        await client.get(f"{url}.csv", headers=school.headers["t"]),
        await client.get(url, params={"format": "csv"}, headers=school.headers["t"]),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == f'attachment; filename="gradebook-{school.class_id}.csv"'
        assert "content-length" not in response.headers  # streamed
        table = list(csv.reader(io.StringIO(response.text, newline="")))
        assert table[0] == ["student_id", "student", "'@SUM(A1:A9) (10.00)", "course_percentage", "course_letter"]
        rows = {values[0]: values for values in table[1:]}
        assert rows[str(school.people["s"])][1] == "'-2+3+cmd|x"
