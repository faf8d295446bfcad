"""Two questions about meetings that the caller's own rights cannot answer, asked as
``service_role`` with fixed and narrow queries (ACCESS.md, "Resource portal and meetings"):

- which session is in the way when the room is already booked: the exclusion
  constraint ``meeting_sessions_no_overlap`` refuses the write, but the session
  in the way may be one the caller cannot read (another teacher's). Only its id
  and time range are fetched; its id and title are shown only if the caller can
  read it under RLS, otherwise just the time range. The constraint fires only
  after the caller's write passed the insert/update policies, so only someone
  allowed to book the room learns when it is busy.
- whether a person is a member of the organization, when a host invites them:
  a teacher may not read students' memberships, yet may invite any member.

Neither lookup changes anything: each is one read-only statement through
``Database.service_lookup``, on a connection of its own, beside the request's transaction.
"""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import text

from schoolbase.db.engine import Database


class Lookups:
    """Narrow ``service_role`` reads that the caller's own rights cannot answer (see the module doc)."""

    _OVERLAPPING = text(
        """
        select id, starts_at, ends_at from public.meeting_sessions
        where organization_id = :org and room_id = :room and state <> 'cancelled'
          and tstzrange(starts_at, ends_at, '[)') && tstzrange(:starts, :ends, '[)')
          and (cast(:exclude as uuid) is null or id <> cast(:exclude as uuid))
        order by starts_at, id
        limit 1
        """
    )
    _IS_MEMBER = text("select exists (select from public.memberships where organization_id = :org and user_id = :user)")

    def __init__(self, db: Database) -> None:
        self.db = db

    async def session_in_the_way(
        self,
        org_id: uuid.UUID,
        room_id: uuid.UUID,
        starts_at: datetime,
        ends_at: datetime,
        exclude: uuid.UUID | None,
    ) -> Any:
        params = {"org": org_id, "room": room_id, "starts": starts_at, "ends": ends_at, "exclude": exclude}
        rows = await self.db.service_lookup(self._OVERLAPPING, params)
        return rows[0] if rows else None

    async def is_member(self, org_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        (row,) = await self.db.service_lookup(self._IS_MEMBER, {"org": org_id, "user": user_id})
        return bool(row[0])
