"""Schools, academic sessions and courses of an organization, and a class's place among them.

Members read, org admins write (row-level security; see schoolbase.db.crud for the
403-versus-404 rule). What the database would refuse with a bare constraint name is checked
here first, so the answer says what to fix: a session's dates lie within its parent's and hold
its children's, and sessions nest school year → semester or term → grading period."""

import uuid
from datetime import date

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.academics import schemas
from schoolbase.db.crud import add, change, get_visible, remove
from schoolbase.models import AcademicSession, AcademicSessionType, Class, ClassTerm, Course, Organization, School
from schoolbase.pagination import Page, PageParams, page_of
from schoolbase.problems import IN_USE, VALIDATION

# The types a session of each type may sit in.
PARENT_TYPES = {
    AcademicSessionType.school_year: (),
    AcademicSessionType.semester: (AcademicSessionType.school_year,),
    AcademicSessionType.term: (AcademicSessionType.school_year,),
    AcademicSessionType.grading_period: (
        AcademicSessionType.school_year,
        AcademicSessionType.semester,
        AcademicSessionType.term,
    ),
}


async def _refuse_in_use(session: AsyncSession, row_id: uuid.UUID, what: str, columns: tuple) -> None:
    """409 while a row the caller can see names ``row_id`` in one of ``columns``."""
    for column in columns:
        if await session.scalar(select(func.count()).where(column == row_id)):
            raise IN_USE(f"this {what} still has {column.class_.__tablename__}; move or remove them first")


# Schools


async def list_schools(session: AsyncSession, organization_id: uuid.UUID, paging: PageParams) -> Page:
    stmt = select(School).where(School.organization_id == organization_id)
    return await page_of(session, stmt, School, paging, schemas.SchoolOut)


async def create_school(session: AsyncSession, organization_id: uuid.UUID, body: schemas.SchoolCreate) -> School:
    await get_visible(session, Organization, organization_id, "organization")
    return await add(session, School(organization_id=organization_id, **body.model_dump()))


async def get_school(session: AsyncSession, school_id: uuid.UUID) -> School:
    return await get_visible(session, School, school_id, "school")


async def update_school(session: AsyncSession, school_id: uuid.UUID, body: schemas.SchoolUpdate) -> School:
    return await change(session, School, school_id, body.values(), "school")


async def delete_school(session: AsyncSession, school_id: uuid.UUID) -> None:
    """Refused (409) while a course or class still belongs to it."""
    await _refuse_in_use(session, school_id, "school", (Course.school_id, Class.school_id))
    await remove(session, School, school_id, "school")


# Academic sessions


async def list_sessions(
    session: AsyncSession,
    organization_id: uuid.UUID,
    paging: PageParams,
    *,
    type: AcademicSessionType | None = None,  # noqa: A002 - the column's name
    parent_id: uuid.UUID | None = None,
) -> Page:
    stmt = select(AcademicSession).where(AcademicSession.organization_id == organization_id)
    if type is not None:
        stmt = stmt.where(AcademicSession.type == type)
    if parent_id is not None:
        stmt = stmt.where(AcademicSession.parent_id == parent_id)
    return await page_of(session, stmt, AcademicSession, paging, schemas.SessionOut)


async def get_session(session: AsyncSession, session_id: uuid.UUID) -> AcademicSession:
    return await get_visible(session, AcademicSession, session_id, "academic session")


def _within(what: str, start: date, end: date, outer: AcademicSession) -> None:
    if start < outer.start_date or end > outer.end_date:
        raise VALIDATION(
            f"{what} must lie within {outer.title} ({outer.start_date.isoformat()} to {outer.end_date.isoformat()})"
        )


async def create_session(
    session: AsyncSession, organization_id: uuid.UUID, body: schemas.SessionCreate
) -> AcademicSession:
    await get_visible(session, Organization, organization_id, "organization")
    school_year = body.school_year
    if body.parent_id is not None:
        parent = await session.get(AcademicSession, body.parent_id)
        if parent is None or parent.organization_id != organization_id:
            raise VALIDATION("parent_id: no such academic session in this organization")
        if parent.type not in PARENT_TYPES[body.type]:
            kinds = " or ".join(t.value.replace("_", " ") for t in PARENT_TYPES[body.type])
            raise VALIDATION(f"parent_id: a {body.type.value.replace('_', ' ')} belongs to a {kinds}")
        _within("the dates", body.start_date, body.end_date, parent)
        school_year = school_year or parent.school_year
    return await add(
        session,
        AcademicSession(
            organization_id=organization_id, **body.model_dump(exclude={"school_year"}), school_year=school_year
        ),
    )


async def update_session(session: AsyncSession, session_id: uuid.UUID, body: schemas.SessionUpdate) -> AcademicSession:
    current = await get_session(session, session_id)
    start = body.start_date or current.start_date
    end = body.end_date or current.end_date
    if end < start:
        raise VALIDATION("end_date must be on or after start_date")
    if current.parent_id is not None:
        _within("the dates", start, end, await get_session(session, current.parent_id))
    earliest, latest = (
        await session.execute(
            select(func.min(AcademicSession.start_date), func.max(AcademicSession.end_date)).where(
                AcademicSession.organization_id == current.organization_id,
                AcademicSession.parent_id == session_id,
            )
        )
    ).one()
    if earliest is not None and (earliest < start or latest > end):
        raise VALIDATION(f"the dates must hold the sessions within it ({earliest.isoformat()} to {latest.isoformat()})")
    return await change(session, AcademicSession, session_id, body.values(), "academic session")


async def delete_session(session: AsyncSession, session_id: uuid.UUID) -> None:
    """The sessions within it go with it; refused (409) while a course names it as its year."""
    await _refuse_in_use(session, session_id, "academic session", (Course.school_year_id,))
    await remove(session, AcademicSession, session_id, "academic session")


# Courses


async def list_courses(
    session: AsyncSession, organization_id: uuid.UUID, paging: PageParams, *, school_id: uuid.UUID | None = None
) -> Page:
    stmt = select(Course).where(Course.organization_id == organization_id)
    if school_id is not None:
        stmt = stmt.where(Course.school_id == school_id)
    return await page_of(session, stmt, Course, paging, schemas.CourseOut)


async def _check_course_refs(
    session: AsyncSession, organization_id: uuid.UUID, school_id: uuid.UUID | None, year_id: uuid.UUID | None
) -> None:
    if school_id is not None:
        school = await session.get(School, school_id)
        if school is None or school.organization_id != organization_id:
            raise VALIDATION("school_id: no such school in this organization")
    if year_id is not None:
        year = await session.get(AcademicSession, year_id)
        if year is None or year.organization_id != organization_id or year.type != AcademicSessionType.school_year:
            raise VALIDATION("school_year_id: no such school year in this organization")


async def create_course(session: AsyncSession, organization_id: uuid.UUID, body: schemas.CourseCreate) -> Course:
    await get_visible(session, Organization, organization_id, "organization")
    await _check_course_refs(session, organization_id, body.school_id, body.school_year_id)
    return await add(session, Course(organization_id=organization_id, **body.model_dump()))


async def get_course(session: AsyncSession, course_id: uuid.UUID) -> Course:
    return await get_visible(session, Course, course_id, "course")


async def update_course(session: AsyncSession, course_id: uuid.UUID, body: schemas.CourseUpdate) -> Course:
    current = await get_course(session, course_id)
    await _check_course_refs(session, current.organization_id, body.school_id, body.school_year_id)
    return await change(session, Course, course_id, body.values(), "course")


async def delete_course(session: AsyncSession, course_id: uuid.UUID) -> None:
    """Refused (409) while a class belongs to it."""
    await _refuse_in_use(session, course_id, "course", (Class.course_id,))
    await remove(session, Course, course_id, "course")


# A class among them


async def class_academics(session: AsyncSession, class_id: uuid.UUID) -> schemas.ClassAcademicsOut:
    cls = await get_visible(session, Class, class_id, "class")
    terms = await session.scalars(
        select(ClassTerm.session_id)
        .join(AcademicSession, AcademicSession.id == ClassTerm.session_id)
        .where(ClassTerm.organization_id == cls.organization_id, ClassTerm.class_id == class_id)
        .order_by(AcademicSession.start_date, AcademicSession.id)
    )
    return schemas.ClassAcademicsOut(
        class_id=class_id,
        school_id=cls.school_id,
        course_id=cls.course_id,
        class_code=cls.class_code,
        term_ids=list(terms),
    )


async def set_class_academics(
    session: AsyncSession, class_id: uuid.UUID, body: schemas.ClassAcademics
) -> schemas.ClassAcademicsOut:
    """Org admins: the class's school, course, code and terms, all at once."""
    cls = await get_visible(session, Class, class_id, "class")
    org = cls.organization_id
    await _check_course_refs(session, org, body.school_id, None)
    if body.course_id is not None:
        course = await session.get(Course, body.course_id)
        if course is None or course.organization_id != org:
            raise VALIDATION("course_id: no such course in this organization")
    term_ids = list(dict.fromkeys(body.term_ids))
    if term_ids:
        found = set(
            await session.scalars(
                select(AcademicSession.id).where(
                    AcademicSession.organization_id == org, AcademicSession.id.in_(term_ids)
                )
            )
        )
        if missing := [str(t) for t in term_ids if t not in found]:
            raise VALIDATION(f"term_ids: no such academic sessions in this organization: {', '.join(missing)}")
    values = body.model_dump(exclude={"term_ids"})
    await change(session, Class, class_id, values, "class")
    await session.execute(
        delete(ClassTerm).where(
            ClassTerm.organization_id == org, ClassTerm.class_id == class_id, ClassTerm.session_id.not_in(term_ids)
        )
    )
    known = set(
        await session.scalars(
            select(ClassTerm.session_id).where(ClassTerm.organization_id == org, ClassTerm.class_id == class_id)
        )
    )
    for term_id in term_ids:
        if term_id not in known:
            session.add(ClassTerm(organization_id=org, class_id=class_id, session_id=term_id))
    await session.flush()
    return await class_academics(session, class_id)
