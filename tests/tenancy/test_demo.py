"""The demo a new user meets first: a teacher lists their classes; another organization sees none."""

from schoolbase.tenancy.demo import DEMO_PASSWORD, load_demo
from tests.conftest import login


async def test_demo_teacher_sees_own_classes_and_other_org_sees_none(db, client):
    async with db.as_service() as session:
        first = await load_demo(session)
    async with db.as_service() as session:
        again = await load_demo(session)
    assert first.created and not again.created

    ada = await login(client, "ada@maple-grove.example.org", DEMO_PASSWORD)
    names = {c["name"] for c in (await client.get("/classes", headers=ada)).json()["items"]}
    assert names == {"Algebra I", "Computer Science"}

    edsger = await login(client, "edsger@riverside.example.org", DEMO_PASSWORD)
    theirs = (await client.get("/classes", headers=edsger)).json()["items"]
    assert [c["name"] for c in theirs] == ["Physics"]
    maple = (await client.get("/me", headers=ada)).json()["organizations"][0]["id"]
    assert (await client.get(f"/organizations/{maple}/classes", headers=edsger)).json()["items"] == []
    assert (await client.get(f"/organizations/{maple}", headers=edsger)).status_code == 404
