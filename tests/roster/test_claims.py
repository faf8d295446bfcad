"""A person the roster invited gets what the roster holds for them when they accept."""

import uuid

from sqlalchemy import text

from schoolbase.roster.claims import claim
from tests.roster.support import make_district, roster_set, run_import
from tests.roster.test_import import rows


async def test_accepting_a_held_invitation_brings_the_guardianships_and_enrollments(db, tmp_path):
    district = await make_district(db)
    folder = roster_set("valid-1.1", tmp_path / "set", district, base=None)
    # Lucia (an outside address) also co-teaches Biology period 1: an enrollment waiting for her.
    with (folder / "enrollments.csv").open("a") as file:
        file.write("e20,,,k-bio1,s1,u-p1,teacher,false,,\n")
    first = await run_import(db, district, folder)
    assert first.counts["enrollment"] == {"created": 10, "updated": 0, "unchanged": 0, "ended": 0}
    lucia = district.email("lucia.silva", "mail.example.com")
    org = district.org_id
    [(invitation_id, roles)] = await rows(
        db, "select id, roles::text[] from invitations where organization_id = :org and email = :e", org=org, e=lucia
    )
    assert sorted(roles) == ["parent", "teacher"]
    assert await rows(
        db,
        "select count(*) from roster_links where organization_id = :org and entity = 'enrollment' and target_id is null",
        org=org,
    ) == [(1,)]
    async with db.as_service() as session:
        user_id = uuid.uuid4()
        await session.execute(
            text("insert into users (id, email, display_name) values (:id, :e, 'Lucia Silva')"),
            {"id": user_id, "e": lucia},
        )
        for role in roles:
            await session.execute(
                text(
                    "insert into memberships (organization_id, user_id, role) values (:org, :u, cast(:r as membership_role))"
                ),
                {"org": org, "u": user_id, "r": role},
            )
        await claim(session, org, invitation_id, user_id)
    children = await rows(
        db,
        """select u.email, u.username from guardianships g join users u on u.id = g.student_id
           where g.organization_id = :org and g.parent_id = :p order by 1 nulls last""",
        org=org,
        p=user_id,
    )
    assert children == [(district.email("ana.silva", "students.riverside.example.org"), None), (None, "chloe.dubois")]
    assert await rows(
        db,
        "select c.class_code, e.role::text from enrollments e join classes c on c.id = e.class_id where e.user_id = :u",
        u=user_id,
    ) == [("BIO1-1", "teacher")]
    # A later import finds her through the link and changes nothing.
    again = await run_import(db, district, folder)
    assert again.counts["user"]["created"] == 0 and again.counts["enrollment"]["created"] == 0
