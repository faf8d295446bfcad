"""Held invitations (made by a roster import, ``sent_at`` null): listed as held, sent one by one
with resend or all at once by an org admin, each then queueing its message."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import null, text

from schoolbase.models import Invitation, MembershipRole


async def held(db, org_id, *names: str) -> list[uuid.UUID]:
    async with db.as_service() as session:
        rows = [
            Invitation(
                organization_id=org_id,
                email=f"{name}-{uuid.uuid4().hex[:8]}@elsewhere.example",
                roles=[MembershipRole.parent],
                expires_at=datetime.now(UTC) + timedelta(days=14),
                sent_at=null(),  # None would leave it to the column's default, now()
            )
            for name in names
        ]
        session.add_all(rows)
        await session.flush()
        return [row.id for row in rows]


async def messages(db, invitation_ids) -> int:
    async with db.as_service() as session:
        query = text("select count(*) from server.mail_outbox where kind = 'invitation' and reference_id = any(:ids)")
        return await session.scalar(query, {"ids": list(invitation_ids)})


async def test_a_held_invitation_is_listed_as_held_and_sent_by_resend(client, db, make_school):
    school = await make_school()
    [invitation_id] = await held(db, school.org_id, "paula")
    listed = await client.get(f"/organizations/{school.org_id}/invitations", headers=school.headers["oa"])
    shown = next(i for i in listed.json()["items"] if i["id"] == str(invitation_id))
    assert (shown["state"], shown["sent_at"]) == ("held", None)
    assert await messages(db, [invitation_id]) == 0

    sent = await client.post(f"/invitations/{invitation_id}/resend", headers=school.headers["oa"])
    assert sent.status_code == 200, sent.text
    assert sent.json()["state"] == "pending" and sent.json()["sent_at"]
    assert await messages(db, [invitation_id]) == 1
    # Now it was sent: sending it again at once is too soon, as for any invitation.
    again = await client.post(f"/invitations/{invitation_id}/resend", headers=school.headers["oa"])
    assert again.status_code == 429


async def test_an_org_admin_sends_every_held_invitation_at_once(client, db, make_school):
    school, other = await make_school(), await make_school()
    ids = await held(db, school.org_id, "a", "b", "c")
    [elsewhere] = await held(db, other.org_id, "d")
    url = f"/organizations/{school.org_id}/invitations/send-held"
    assert (await client.post(url, headers=school.headers["t"])).status_code == 403
    assert (await client.post(url, headers=other.headers["oa"])).status_code == 404
    assert await messages(db, ids) == 0

    sent = await client.post(url, headers=school.headers["oa"])
    assert (sent.status_code, sent.json()) == (200, {"sent": 3})
    assert await messages(db, ids) == 3 and await messages(db, [elsewhere]) == 0
    assert (await client.post(url, headers=school.headers["oa"])).json() == {"sent": 0}
