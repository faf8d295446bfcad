"""Attendance: minutes each participant was present inside a session's window, and per
student across a class's sessions. Computed from the join and leave times the caller may
read (row-level security), less the time away between a leave and the next join."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Numeric, case, cast, extract, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.db.crud import get_visible
from schoolbase.meetings import schemas
from schoolbase.meetings.sessions import in_window, managed_session, org_admin_or
from schoolbase.models import Class, Enrollment, MeetingParticipant, MeetingSession, MeetingState, MembershipRole, User
from schoolbase.problems import forbidden

_TEACHES_OR_ADMINISTERS = org_admin_or("taught_class_ids")


def seconds_present(p: Any = MeetingParticipant, s: Any = MeetingSession) -> ColumnElement:
    """Seconds of [joined_at, left_at or (still there) now, capped at the end] inside [starts_at, ends_at],
    less the time away between a leave and the next join (``away``)."""
    until = func.least(func.coalesce(p.left_at, func.least(func.now(), s.ends_at)), s.ends_at)
    since = func.greatest(p.joined_at, s.starts_at)
    present = func.tstzmultirange(func.tstzrange(since, func.greatest(since, until))).op("-")(p.away)
    piece = func.unnest(present).column_valued("piece")
    seconds = select(
        func.coalesce(func.sum(extract("epoch", func.upper(piece) - func.lower(piece))), literal(0))
    ).scalar_subquery()
    # greatest/least skip nulls, so someone who never joined is handled before them.
    return case((p.joined_at.is_(None), literal(0)), else_=seconds)


def minutes(seconds: Any) -> ColumnElement:
    return func.round(cast(seconds, Numeric) / 60, 2)


async def session_attendance(session: AsyncSession, session_id: uuid.UUID) -> schemas.SessionAttendance:
    row = await managed_session(session, session_id, "see the attendance of")
    stmt = (
        select(
            MeetingParticipant.user_id,
            User.display_name,
            MeetingParticipant.joined_at,
            MeetingParticipant.left_at,
            minutes(seconds_present()).label("minutes"),
        )
        .join(MeetingSession, MeetingSession.id == MeetingParticipant.session_id)
        .outerjoin(User, User.id == MeetingParticipant.user_id)
        .where(MeetingParticipant.session_id == session_id)
        .order_by(User.display_name, MeetingParticipant.user_id)
    )
    rows = (await session.execute(stmt)).all()
    return schemas.SessionAttendance(
        session_id=row.id,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        participants=[
            schemas.AttendanceRow(
                user_id=r.user_id,
                display_name=r.display_name,
                joined_at=r.joined_at,
                left_at=r.left_at,
                minutes=float(r.minutes),
            )
            for r in rows
        ],
    )


async def class_attendance(
    session: AsyncSession, class_id: uuid.UUID, since: datetime | None, until: datetime | None
) -> schemas.ClassAttendance:
    """Per enrolled student, minutes present and sessions attended across the class's sessions that start
    in [since, until). Counts the participant rows the caller may read: an org admin all of them, a teacher
    those of the sessions they host (ACCESS.md: participants are read by OA, the host and the person)."""
    cls = await get_visible(session, Class, class_id, "class")
    if not await session.scalar(_TEACHES_OR_ADMINISTERS, {"org": cls.organization_id, "id": class_id}):
        raise forbidden("only the class's teachers and org admins may see its attendance")
    sessions = in_window(
        select(MeetingSession.id, MeetingSession.starts_at, MeetingSession.ends_at).where(
            MeetingSession.organization_id == cls.organization_id,
            MeetingSession.class_id == class_id,
            MeetingSession.state != MeetingState.cancelled,
        ),
        since,
        until,
    ).cte("class_sessions")
    present = (
        select(
            MeetingParticipant.user_id,
            MeetingParticipant.session_id,
            seconds_present(MeetingParticipant, sessions.c).label("seconds"),
        )
        .join(sessions, sessions.c.id == MeetingParticipant.session_id)
        .cte("present")
    )
    students = (
        select(Enrollment.user_id)
        .where(Enrollment.class_id == class_id, Enrollment.role == MembershipRole.student)
        .cte("students")
    )
    stmt = (
        select(
            students.c.user_id,
            User.display_name,
            minutes(func.coalesce(func.sum(present.c.seconds), 0)).label("minutes"),
            func.count(present.c.session_id).filter(present.c.seconds > 0).label("attended"),
        )
        .select_from(students)
        .outerjoin(present, present.c.user_id == students.c.user_id)
        .outerjoin(User, User.id == students.c.user_id)
        .group_by(students.c.user_id, User.display_name)
        .order_by(User.display_name, students.c.user_id)
    )
    rows = (await session.execute(stmt)).all()
    held = await session.scalar(select(func.count()).select_from(sessions))
    return schemas.ClassAttendance(
        class_id=class_id,
        since=since,
        until=until,
        sessions=held,
        students=[
            schemas.StudentAttendance(
                user_id=r.user_id, display_name=r.display_name, minutes=float(r.minutes), sessions_attended=r.attended
            )
            for r in rows
        ],
    )
