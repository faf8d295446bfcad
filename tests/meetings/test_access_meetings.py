"""Every cell of the meeting rows of "Resource portal and meetings" in ACCESS.md
(meeting_rooms, meeting_sessions, meeting_participants, meeting_action_items), proved
against the real database.

Same method as ``tests/tenancy/test_access_core.py`` (helpers in ``tests/access.py``):
each probe runs one statement as one actor through the server's own login role in a
transaction that is always rolled back; a probe counts as refused when PostgreSQL
answers 42501 or the statement touches no row. The tables below name, per row (reads)
or per statement (writes), exactly who may; every other actor is expected to be
refused, and service (which bypasses RLS) is added to every allowed set.

The rows are committed once per module by ``refs`` (as service, in January 2000, where
no booking of another test can collide) and deleted after it, so the shared world is
left as it was. In organization A:

* rooms ``A1`` (owned by t1) and ``A-oa`` (owned by oa);
* session ``t1``: in A1, hosted by t1, for class c3 (so t2 is a T of its class), with
  participants s1 and p2, and action item ``t1:s1`` assigned to s1;
* session ``oa``: in A-oa, hosted by oa, for class c1 (so t1 is a T of its class), with
  participant t2, and action item ``oa:s2`` assigned to s2, who does not take part.

In organization B: room ``B`` (owned by tB), session ``B`` hosted by tB for class cB with
participant sB, action item ``B:sB``.

Readings of ACCESS.md made here (where it is silent, deny):

* "T" of a session's class is a teacher of that class: a teacher hosts a session only
  without a class or for a class they teach (OA for any class of the org).
* "the host", "participants", "own row" and "the assignee" are people of the session's
  organization: someone from another organization named in such a column (X) sees and
  changes nothing, like every X.
* A session is "created by the host": OA creates sessions hosted by themselves; the host
  may be handed over by OA (not by the host).
* The assignee of an action item reads it even without taking part in the session (they
  change its state and progress, which needs the row).
"""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from schoolbase.db.rls import SERVICE
from schoolbase.errors import sqlstate
from tests.access import (
    A_PEOPLE,
    B_PEOPLE,
    FOREIGN_KEY_VIOLATION,
    INSUFFICIENT_PRIVILEGE,
    NOW,
    Read,
    Refs,
    Sql,
    W,
    as_actor,
    assert_writes_cover,
    can_insert,
    can_update,
    inserted,
    members,
    outsiders_test,
    public_tables_like,
    read_test,
    write_test,
)
from tests.conftest import rolled_back

TABLES = ("meeting_rooms", "meeting_sessions", "meeting_participants", "meeting_action_items")


def at(day: int, hour: int) -> datetime:
    return datetime(2000, 1, day, hour, tzinfo=UTC)


# key -> (org, owner)
ROOMS = {"A1": ("A", "t1"), "A-oa": ("A", "oa"), "B": ("B", "tB")}
# key -> (org, room, host, class, day)
SESSIONS = {"t1": ("A", "A1", "t1", "c3", 3), "oa": ("A", "A-oa", "oa", "c1", 4), "B": ("B", "B", "tB", "cB", 5)}
# key "session:person" -> (session, person)
PARTICIPANTS = {"t1:s1": ("t1", "s1"), "t1:p2": ("t1", "p2"), "oa:t2": ("oa", "t2"), "B:sB": ("B", "sB")}
ACTION_ITEMS = {"t1:s1": ("t1", "s1"), "oa:s2": ("oa", "s2"), "B:sB": ("B", "sB")}


@pytest.fixture(scope="module")
async def refs(db, world) -> AsyncIterator[Refs]:
    """The module's rows, committed as service and deleted again at the end."""
    refs = Refs(world)
    rows = refs.rows
    rows.update(room={}, session={}, participant={}, item={})
    tag = uuid.uuid4().hex[:8]

    def of_session(key: str) -> dict:
        return {"organization_id": world.orgs[SESSIONS[key][0]], "session_id": rows["session"][key]}

    try:
        async with db.as_service() as session:
            for key, (org, owner) in ROOMS.items():
                name = f"Probe room {key} {tag}"
                rows["room"][key] = await inserted(
                    session, "meeting_rooms", organization_id=world.orgs[org], name=name, owner_id=world.users[owner]
                )
            for key, (org, room, host, cls, day) in SESSIONS.items():
                rows["session"][key] = await inserted(
                    session,
                    "meeting_sessions",
                    organization_id=world.orgs[org],
                    room_id=rows["room"][room],
                    title=f"Probe {key} {tag}",
                    class_id=world.classes[cls],
                    host_id=world.users[host],
                    starts_at=at(day, 10),
                    ends_at=at(day, 11),
                )
            for key, (sess, who) in PARTICIPANTS.items():
                rows["participant"][key] = await inserted(
                    session, "meeting_participants", **of_session(sess), user_id=world.users[who]
                )
            for key, (sess, who) in ACTION_ITEMS.items():
                rows["item"][key] = await inserted(
                    session, "meeting_action_items", **of_session(sess), title="Follow up", assignee_id=world.users[who]
                )
        yield refs
    finally:
        async with db.as_service() as session:
            # Sessions, participants and action items go with their rooms.
            await session.execute(
                text("delete from public.meeting_rooms where id = any(:ids)"), {"ids": list(rows["room"].values())}
            )
            for kind, table in (
                ("item", "meeting_action_items"),
                ("participant", "meeting_participants"),
                ("session", "meeting_sessions"),
                ("room", "meeting_rooms"),
            ):
                left = await session.scalar(
                    text(f"select count(*) from public.{table} where id = any(:ids)"),
                    {"ids": list(rows[kind].values())},
                )
                assert left == 0, (table, left)


# Rows made inside a probe's own transaction (as service, before the actor's identity).
PROBE_SESSION = uuid.UUID("00000000-0000-4000-8000-0000000b1001")
PROBE_PARTICIPANT = uuid.UUID("00000000-0000-4000-8000-0000000b1002")
PROBE_ITEM = uuid.UUID("00000000-0000-4000-8000-0000000b1003")


def session_hosted_by(who: str):
    """A session of org A in room A1 hosted by ``who`` (a person of org B too: service writes what it likes)."""
    return (
        "insert into public.meeting_sessions (id, organization_id, room_id, title, host_id, starts_at, ends_at)"
        " values (:id, :org, :room, 'Probe', :host, :starts, :ends)",
        {
            "id": PROBE_SESSION,
            "org": "@org:A",
            "room": "@room:A1",
            "host": f"@user:{who}",
            "starts": at(20, 10),
            "ends": at(20, 11),
        },
    )


def participant(session: str, who: str):
    return (
        "insert into public.meeting_participants (id, organization_id, session_id, user_id)"
        " values (:id, :org, :session, :user)",
        {"id": PROBE_PARTICIPANT, "org": "@org:A", "session": session, "user": f"@user:{who}"},
    )


def item_for(session: str, who: str):
    return (
        "insert into public.meeting_action_items (id, organization_id, session_id, title, assignee_id)"
        " values (:id, :org, :session, 'Probe', :user)",
        {"id": PROBE_ITEM, "org": "@org:A", "session": session, "user": f"@user:{who}"},
    )


# ---------------------------------------------------------------------------
# Reads: one row each, and who may see it (service is added to every set).

KIND = {
    "meeting_rooms": "room",
    "meeting_sessions": "session",
    "meeting_participants": "participant",
    "meeting_action_items": "item",
}


def R(table, key, readers, *, setup=(), case=None) -> Read:
    """Who reads the seeded row ``key``; ``case`` names what ``setup`` changed first."""
    row = f"{key}[{case}]" if case else key
    return Read(table, row, frozenset(readers), {"id": f"@{KIND[table]}:{key}"}, tuple(setup))


def Probe(table, row, readers, ident, setup) -> Read:
    """Who reads a row made by the probe's own ``setup``."""
    return Read(table, row, frozenset(readers), {"id": ident}, tuple(setup))


SESSION_READERS = {
    # OA; the host; participants; T of the session's class.
    "t1": {"sa", "oa", "t1", "s1", "p2", "t2"},  # not s2, p1: neither take part; t2 teaches c3
    "oa": {"sa", "oa", "t2", "t1"},  # not s1: a student of c1 without a seat; not p1
    "B": {"sa", "oaB", "tB", "sB"},  # not pB
}
ITEM_READERS = {
    # OA; the host; participants of the session; the assignee. Not the T of its class.
    "t1:s1": {"sa", "oa", "t1", "s1", "p2"},  # not t2
    "oa:s2": {"sa", "oa", "t2", "s2"},  # s2 as assignee; not t1
    "B:sB": {"sa", "oaB", "tB", "sB"},
}

READS = [
    # meeting_rooms: M.
    R("meeting_rooms", "A1", members(A_PEOPLE)),
    R("meeting_rooms", "A-oa", members(A_PEOPLE)),
    R("meeting_rooms", "B", members(B_PEOPLE)),
    *(R("meeting_sessions", key, readers) for key, readers in SESSION_READERS.items()),
    # meeting_participants: OA; the host; own row (not other participants, not the T of the class).
    R("meeting_participants", "t1:s1", {"sa", "oa", "t1", "s1"}),
    R("meeting_participants", "t1:p2", {"sa", "oa", "t1", "p2"}),
    R("meeting_participants", "oa:t2", {"sa", "oa", "t2"}),  # not t1 (T of c1)
    R("meeting_participants", "B:sB", {"sa", "oaB", "tB", "sB"}),
    *(R("meeting_action_items", key, readers) for key, readers in ITEM_READERS.items()),
    # Someone from org B named in an org A row is still X there: they see nothing.
    Probe(
        "meeting_participants", "tB-in-t1", {"sa", "oa", "t1"}, PROBE_PARTICIPANT, [participant("@session:t1", "tB")]
    ),
    R("meeting_sessions", "t1", SESSION_READERS["t1"], setup=[participant("@session:t1", "tB")], case="tB-takes-part"),
    R(
        "meeting_action_items",
        "t1:s1",
        ITEM_READERS["t1:s1"],
        setup=[participant("@session:t1", "tB")],
        case="tB-takes-part",
    ),
    Probe("meeting_sessions", "hosted-by-tB", {"sa", "oa"}, PROBE_SESSION, [session_hosted_by("tB")]),
    Probe(
        "meeting_participants",
        "s2-in-hosted-by-tB",
        {"sa", "oa", "s2"},
        PROBE_PARTICIPANT,
        [session_hosted_by("tB"), participant(PROBE_SESSION, "s2")],
    ),
    Probe(
        "meeting_action_items",
        "for-s2-in-hosted-by-tB",
        {"sa", "oa", "s2"},
        PROBE_ITEM,
        [session_hosted_by("tB"), item_for(PROBE_SESSION, "s2")],
    ),
    Probe("meeting_action_items", "for-tB-in-t1", ITEM_READERS["t1:s1"], PROBE_ITEM, [item_for("@session:t1", "tB")]),
    # A session hosted by a student (only service or SA makes one): its host reads it.
    Probe("meeting_sessions", "hosted-by-s2", {"sa", "oa", "s2"}, PROBE_SESSION, [session_hosted_by("s2")]),
]


def test_read_table_covers_every_seeded_row():
    seeded = {(r.table, r.row) for r in READS if not r.setup}
    assert seeded == {
        *(("meeting_rooms", key) for key in ROOMS),
        *(("meeting_sessions", key) for key in SESSIONS),
        *(("meeting_participants", key) for key in PARTICIPANTS),
        *(("meeting_action_items", key) for key in ACTION_ITEMS),
    }


test_read = read_test(READS)


# ---------------------------------------------------------------------------
# Writes: one statement each, and who may run it (service is added to every set).

OA = {"sa", "oa"}
TEACHERS_AND_OA = {"sa", "oa", "t1", "t2"}
NEW_ROOM = {"organization_id": "@org:A", "name": "@unique", "owner_id": "@user:self"}
NEW_SESSION = {
    "organization_id": "@org:A",
    "room_id": "@room:A1",
    "title": "Probe",
    "host_id": "@user:self",
    "starts_at": datetime(2100, 1, 1, 10, tzinfo=UTC),
    "ends_at": datetime(2100, 1, 1, 11, tzinfo=UTC),
}
JOINED = Sql("timestamptz '2000-01-03 10:05+00'")
LEFT = Sql("timestamptz '2000-01-03 10:55+00'")


def new_participant(session: str, who: str, org: str = "A") -> dict:
    return {"organization_id": f"@org:{org}", "session_id": f"@session:{session}", "user_id": f"@user:{who}"}


def new_item(session: str, org: str = "A", assignee: str = "s1") -> dict:
    return {
        "organization_id": f"@org:{org}",
        "session_id": f"@session:{session}",
        "title": "Probe",
        "assignee_id": f"@user:{assignee}",
    }


WRITES = [
    # meeting_rooms: OA; T creates (as owner); the owner or OA changes.
    W("room-create", "insert", "meeting_rooms", TEACHERS_AND_OA, values=NEW_ROOM),
    W(
        "room-create-owned-by-t1",
        "insert",
        "meeting_rooms",
        {"sa", "oa", "t1"},
        values={**NEW_ROOM, "owner_id": "@user:t1"},
    ),
    W(
        "room-create-in-B",
        "insert",
        "meeting_rooms",
        {"sa", "oaB", "tB"},
        values={**NEW_ROOM, "organization_id": "@org:B"},
    ),
    W(
        "room-A1-change",
        "update",
        "meeting_rooms",
        {"sa", "oa", "t1"},
        where={"id": "@room:A1"},
        values={"name": "@unique", "capacity": 12, "join_url": "https://example.org/j"},
    ),
    W(
        "room-A1-deactivate",
        "update",
        "meeting_rooms",
        {"sa", "oa", "t1"},
        where={"id": "@room:A1"},
        values={"active": False},
    ),
    W("room-A-oa-change", "update", "meeting_rooms", OA, where={"id": "@room:A-oa"}, values={"name": "@unique"}),
    W("room-A1-give-to-t2", "update", "meeting_rooms", OA, where={"id": "@room:A1"}, values={"owner_id": "@user:t2"}),
    W(
        "room-B-change",
        "update",
        "meeting_rooms",
        {"sa", "oaB", "tB"},
        where={"id": "@room:B"},
        values={"name": "@unique"},
    ),
    W("room-A1-delete", "delete", "meeting_rooms", {"sa", "oa", "t1"}, where={"id": "@room:A1"}),
    W("room-A-oa-delete", "delete", "meeting_rooms", OA, where={"id": "@room:A-oa"}),
    W("room-B-delete", "delete", "meeting_rooms", {"sa", "oaB", "tB"}, where={"id": "@room:B"}),
    # meeting_sessions: created by the host (T or OA) in a room of the org.
    W("session-create", "insert", "meeting_sessions", TEACHERS_AND_OA, values=NEW_SESSION),
    W(
        "session-create-in-others-room",
        "insert",
        "meeting_sessions",
        TEACHERS_AND_OA,
        values={**NEW_SESSION, "room_id": "@room:A-oa"},
    ),
    W(
        "session-create-for-c1",
        "insert",
        "meeting_sessions",
        {"sa", "oa", "t1"},
        values={**NEW_SESSION, "class_id": "@class:c1"},
    ),
    W(
        "session-create-for-c2",
        "insert",
        "meeting_sessions",
        {"sa", "oa", "t2"},
        values={**NEW_SESSION, "class_id": "@class:c2"},
    ),
    W(
        "session-create-for-c3",
        "insert",
        "meeting_sessions",
        TEACHERS_AND_OA,
        values={**NEW_SESSION, "class_id": "@class:c3"},
    ),
    W(
        "session-create-hosted-by-t1",
        "insert",
        "meeting_sessions",
        {"sa", "t1"},
        values={**NEW_SESSION, "host_id": "@user:t1"},
    ),
    W(
        "session-create-in-B",
        "insert",
        "meeting_sessions",
        {"sa", "oaB", "tB"},
        values={**NEW_SESSION, "organization_id": "@org:B", "room_id": "@room:B"},
    ),
    # meeting_sessions: the host or OA changes.
    W(
        "session-t1-change",
        "update",
        "meeting_sessions",
        {"sa", "oa", "t1"},
        where={"id": "@session:t1"},
        values={"title": "Renamed", "starts_at": at(3, 9)},
    ),
    W(
        "session-t1-cancel",
        "update",
        "meeting_sessions",
        {"sa", "oa", "t1"},
        where={"id": "@session:t1"},
        values={"state": "cancelled"},
    ),
    W(
        "session-t1-to-room-A-oa",
        "update",
        "meeting_sessions",
        {"sa", "oa", "t1"},
        where={"id": "@session:t1"},
        values={"room_id": "@room:A-oa"},
    ),
    W(
        "session-t1-for-c1",
        "update",
        "meeting_sessions",
        {"sa", "oa", "t1"},
        where={"id": "@session:t1"},
        values={"class_id": "@class:c1"},
    ),
    W(
        "session-t1-for-c2",
        "update",
        "meeting_sessions",
        OA,
        where={"id": "@session:t1"},
        values={"class_id": "@class:c2"},
    ),
    W(
        "session-t1-hand-to-t2",
        "update",
        "meeting_sessions",
        OA,
        where={"id": "@session:t1"},
        values={"host_id": "@user:t2"},
    ),
    W("session-oa-change", "update", "meeting_sessions", OA, where={"id": "@session:oa"}, values={"title": "Renamed"}),
    W(
        "session-B-change",
        "update",
        "meeting_sessions",
        {"sa", "oaB", "tB"},
        where={"id": "@session:B"},
        values={"title": "Renamed"},
    ),
    W(
        "session-hosted-by-tB-change",
        "update",
        "meeting_sessions",
        OA,
        where={"id": PROBE_SESSION},
        values={"title": "Renamed"},
        setup=[session_hosted_by("tB")],
    ),
    W("session-t1-delete", "delete", "meeting_sessions", {"sa", "oa", "t1"}, where={"id": "@session:t1"}),
    W("session-oa-delete", "delete", "meeting_sessions", OA, where={"id": "@session:oa"}),
    W("session-B-delete", "delete", "meeting_sessions", {"sa", "oaB", "tB"}, where={"id": "@session:B"}),
    # meeting_participants: the host or OA.
    W(
        "participant-add-to-t1",
        "insert",
        "meeting_participants",
        {"sa", "oa", "t1"},
        values=new_participant("t1", "s2"),
    ),
    W("participant-add-to-oa", "insert", "meeting_participants", OA, values=new_participant("oa", "s1")),
    W(
        "participant-add-self-to-oa",
        "insert",
        "meeting_participants",
        OA,
        values=new_participant("oa", "self"),
        not_for={"t2"},
    ),  # t2 takes part already
    W(
        "participant-add-to-B",
        "insert",
        "meeting_participants",
        {"sa", "oaB", "tB"},
        values=new_participant("B", "pB", "B"),
    ),
    W(
        "participant-add-to-hosted-by-tB",
        "insert",
        "meeting_participants",
        OA,
        values={**new_participant("t1", "s2"), "session_id": PROBE_SESSION},
        setup=[session_hosted_by("tB")],
    ),
    W(
        "participant-t1:s1-move-to-s2",
        "update",
        "meeting_participants",
        {"sa", "oa", "t1"},
        where={"id": "@participant:t1:s1"},
        values={"user_id": "@user:s2"},
    ),
    W(
        "participant-t1:s1-move-to-session-oa",
        "update",
        "meeting_participants",
        OA,
        where={"id": "@participant:t1:s1"},
        values={"session_id": "@session:oa"},
    ),
    W(
        "participant-t1:s1-created_at",
        "update",
        "meeting_participants",
        {"sa", "oa", "t1"},
        where={"id": "@participant:t1:s1"},
        values={"created_at": Sql("created_at - interval '1 day'")},
    ),
    W(
        "participant-t1:s1-delete",
        "delete",
        "meeting_participants",
        {"sa", "oa", "t1"},
        where={"id": "@participant:t1:s1"},
    ),
    W("participant-oa:t2-delete", "delete", "meeting_participants", OA, where={"id": "@participant:oa:t2"}),
    W(
        "participant-B:sB-delete",
        "delete",
        "meeting_participants",
        {"sa", "oaB", "tB"},
        where={"id": "@participant:B:sB"},
    ),
    # meeting_participants: a participant records own join and leave.
    W(
        "participant-t1:s1-join",
        "update",
        "meeting_participants",
        {"sa", "oa", "t1", "s1"},
        where={"id": "@participant:t1:s1"},
        values={"joined_at": JOINED},
    ),
    W(
        "participant-t1:s1-join-and-leave",
        "update",
        "meeting_participants",
        {"sa", "oa", "t1", "s1"},
        where={"id": "@participant:t1:s1"},
        values={"joined_at": JOINED, "left_at": LEFT},
    ),
    W(
        "participant-t1:p2-join",
        "update",
        "meeting_participants",
        {"sa", "oa", "t1", "p2"},
        where={"id": "@participant:t1:p2"},
        values={"joined_at": JOINED},
    ),
    W(
        "participant-oa:t2-join",
        "update",
        "meeting_participants",
        {"sa", "oa", "t2"},
        where={"id": "@participant:oa:t2"},
        values={"joined_at": JOINED},
    ),
    W(
        "participant-B:sB-join",
        "update",
        "meeting_participants",
        {"sa", "oaB", "tB", "sB"},
        where={"id": "@participant:B:sB"},
        values={"joined_at": JOINED},
    ),
    W(
        "participant-t1:s1-join-and-created_at",
        "update",
        "meeting_participants",
        {"sa", "oa", "t1"},
        where={"id": "@participant:t1:s1"},
        values={"joined_at": JOINED, "created_at": Sql("created_at - interval '1 day'")},
    ),
    # ... a participant who hosts another session does not move their row into it.
    W(
        "participant-oa:t2-move-into-own-session",
        "update",
        "meeting_participants",
        OA,
        where={"id": "@participant:oa:t2"},
        values={"session_id": PROBE_SESSION},
        setup=[session_hosted_by("t2")],
    ),
    # ... and someone of org B named as a participant of org A is X there.
    W(
        "participant-tB-in-t1-join",
        "update",
        "meeting_participants",
        {"sa", "oa", "t1"},
        where={"id": PROBE_PARTICIPANT},
        values={"joined_at": JOINED},
        setup=[participant("@session:t1", "tB")],
    ),
    # meeting_action_items: the host or OA.
    W("item-add-to-t1", "insert", "meeting_action_items", {"sa", "oa", "t1"}, values=new_item("t1")),
    W("item-add-to-oa", "insert", "meeting_action_items", OA, values=new_item("oa")),
    W("item-add-to-B", "insert", "meeting_action_items", {"sa", "oaB", "tB"}, values=new_item("B", "B", "sB")),
    W(
        "item-add-to-hosted-by-tB",
        "insert",
        "meeting_action_items",
        OA,
        values={**new_item("t1"), "session_id": PROBE_SESSION},
        setup=[session_hosted_by("tB")],
    ),
    W(
        "item-t1:s1-change",
        "update",
        "meeting_action_items",
        {"sa", "oa", "t1"},
        where={"id": "@item:t1:s1"},
        values={"title": "Renamed", "description": "more", "due_date": date(2000, 2, 1)},
    ),
    W(
        "item-t1:s1-reassign",
        "update",
        "meeting_action_items",
        {"sa", "oa", "t1"},
        where={"id": "@item:t1:s1"},
        values={"assignee_id": "@user:s2"},
    ),
    W(
        "item-t1:s1-move-to-session-oa",
        "update",
        "meeting_action_items",
        OA,
        where={"id": "@item:t1:s1"},
        values={"session_id": "@session:oa"},
    ),
    W(
        "item-oa:s2-change",
        "update",
        "meeting_action_items",
        OA,
        where={"id": "@item:oa:s2"},
        values={"title": "Renamed"},
    ),
    W("item-t1:s1-delete", "delete", "meeting_action_items", {"sa", "oa", "t1"}, where={"id": "@item:t1:s1"}),
    W("item-oa:s2-delete", "delete", "meeting_action_items", OA, where={"id": "@item:oa:s2"}),
    W("item-B:sB-delete", "delete", "meeting_action_items", {"sa", "oaB", "tB"}, where={"id": "@item:B:sB"}),
    # meeting_action_items: the assignee changes status and progress.
    W(
        "item-t1:s1-progress",
        "update",
        "meeting_action_items",
        {"sa", "oa", "t1", "s1"},
        where={"id": "@item:t1:s1"},
        values={"state": "in_progress", "progress_percent": 40},
    ),
    W(
        "item-t1:s1-done",
        "update",
        "meeting_action_items",
        {"sa", "oa", "t1", "s1"},
        where={"id": "@item:t1:s1"},
        values={"state": "done", "progress_percent": 100},
    ),
    W(
        "item-oa:s2-progress",
        "update",
        "meeting_action_items",
        {"sa", "oa", "s2"},
        where={"id": "@item:oa:s2"},
        values={"progress_percent": 10},
    ),
    W(
        "item-B:sB-progress",
        "update",
        "meeting_action_items",
        {"sa", "oaB", "tB", "sB"},
        where={"id": "@item:B:sB"},
        values={"state": "in_progress"},
    ),
    W(
        "item-t1:s1-progress-and-title",
        "update",
        "meeting_action_items",
        {"sa", "oa", "t1"},
        where={"id": "@item:t1:s1"},
        values={"progress_percent": 40, "title": "Renamed"},
    ),
    W(
        "item-oa:s2-move-into-own-session",
        "update",
        "meeting_action_items",
        OA,
        where={"id": "@item:oa:s2"},
        values={"session_id": PROBE_SESSION},
        setup=[session_hosted_by("s2")],
    ),
    W(
        "item-for-tB-progress",
        "update",
        "meeting_action_items",
        {"sa", "oa", "t1"},
        where={"id": PROBE_ITEM},
        values={"progress_percent": 10},
        setup=[item_for("@session:t1", "tB")],
    ),
]


def test_write_table_covers_every_table_and_operation():
    assert_writes_cover(WRITES, TABLES)


test_write = write_test(WRITES)


# ---------------------------------------------------------------------------
# Specific guarantees stated in words.


async def test_meeting_tables_are_all_in_the_matrix(db):
    """A new meeting_* table fails here until this file says who may read and write it."""
    assert await public_tables_like(db, "meeting%") == set(TABLES)


@pytest.mark.parametrize(("who", "row"), [("s1", "t1:s1"), ("p2", "t1:p2"), ("t2", "oa:t2")])
@pytest.mark.parametrize(
    "change", ["user_id = :other", "session_id = :session", "created_at = created_at - interval '1 day'"]
)
async def test_participant_changing_more_than_join_and_leave_is_refused_by_the_guard(db, refs, who, row, change):
    """Their own row passes the update policy; the guard trigger is what refuses (42501)."""
    other_session = "oa" if row.startswith("t1") else "t1"
    async with as_actor(db, refs, who) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(f"update public.meeting_participants set {change} where id = :id"),
                {
                    "other": refs.world.users["s2"],
                    "session": refs.rows["session"][other_session],
                    "id": refs.rows["participant"][row],
                },
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert "you may change only joined_at, left_at" in str(caught.value.orig)


@pytest.mark.parametrize(("who", "row"), [("s1", "t1:s1"), ("s2", "oa:s2")])
@pytest.mark.parametrize(
    "change",
    [
        "title = 'Renamed'",
        "description = 'more'",
        "due_date = current_date",
        "assignee_id = :other",
        "session_id = :session",
    ],
)
async def test_assignee_changing_more_than_state_and_progress_is_refused_by_the_guard(db, refs, who, row, change):
    other_session = "oa" if row.startswith("t1") else "t1"
    async with as_actor(db, refs, who) as session:
        with pytest.raises(DBAPIError) as caught:
            await session.execute(
                text(f"update public.meeting_action_items set {change} where id = :id"),
                {
                    "other": refs.world.users["p1"],
                    "session": refs.rows["session"][other_session],
                    "id": refs.rows["item"][row],
                },
            )
    assert sqlstate(caught.value) == INSUFFICIENT_PRIVILEGE
    assert "you may change only state, progress_percent" in str(caught.value.orig)


async def test_participant_join_and_leave_are_stored(db, refs):
    async with as_actor(db, refs, "s1") as session:
        result = await session.execute(
            text("update public.meeting_participants set joined_at = now(), left_at = now() where id = :id"),
            {"id": refs.rows["participant"]["t1:s1"]},
        )
        assert result.rowcount == 1
        row = (
            await session.execute(
                text(
                    "select joined_at is not null, left_at is not null, user_id from public.meeting_participants"
                    " where id = :id"
                ),
                {"id": refs.rows["participant"]["t1:s1"]},
            )
        ).one()
    assert tuple(row) == (True, True, refs.world.users["s1"])


@pytest.mark.parametrize(
    ("table", "values"),
    [
        # A session of org B in a room of org A.
        ("meeting_sessions", {**NEW_SESSION, "organization_id": "@org:B"}),
        # A participant and an action item of org B on a session of org A.
        ("meeting_participants", new_participant("t1", "sB", "B")),
        ("meeting_action_items", new_item("t1", "B")),
    ],
    ids=["session-in-other-org-room", "participant-of-other-org-session", "item-of-other-org-session"],
)
@pytest.mark.parametrize("actor", ["service", "sa"])
async def test_rows_cannot_point_into_another_organization(db, refs, actor, table, values):
    """The composite foreign keys refuse what RLS lets through (service and SA pass every policy)."""
    with pytest.raises(DBAPIError) as caught:
        await can_insert(db, refs, actor, table, values)
    assert sqlstate(caught.value) == FOREIGN_KEY_VIOLATION


async def test_probes_leave_no_trace(db, refs):
    assert await can_update(db, refs, "s1", "meeting_participants", {"id": "@participant:t1:s1"}, {"joined_at": NOW})
    async with rolled_back(db, SERVICE) as session:
        assert (
            await session.scalar(
                text("select joined_at from public.meeting_participants where id = :id"),
                {"id": refs.rows["participant"]["t1:s1"]},
            )
            is None
        )


test_x_and_anon_see_nothing_of_org_a = outsiders_test(TABLES)
