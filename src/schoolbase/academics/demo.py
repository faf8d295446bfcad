"""The demo's calendar: a school, a school year of two semesters with two grading periods
each, a course per class, and each class linked to its school, course and year. Dates are
relative to the load's day in the organization's time zone, so the demo's work, due from
weeks ago to weeks ahead, falls in the year's first two grading periods whenever it is loaded. Loaded once: an
organization that has any academic session is left alone."""

import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import AcademicSession, AcademicSessionType, Class, ClassTerm, Course, School

# Quarters of ten weeks; the second starts three weeks before the load, so the demo's work
# (due from about five weeks ago to three weeks ahead) spans the first two.
QUARTER = timedelta(weeks=10)
SECOND_QUARTER_BEGAN = timedelta(weeks=3)


async def load_calendar(
    session: AsyncSession,
    organization_id: uuid.UUID,
    name: str,
    slug: str,
    time_zone: str,
    now: datetime,
    classes: dict[str, tuple[str, str]],  # class name -> (subject, grade level)
) -> None:
    if await session.scalar(select(exists().where(AcademicSession.organization_id == organization_id))):
        return
    school = School(organization_id=organization_id, name=name, identifier=slug)
    session.add(school)
    start = now.astimezone(ZoneInfo(time_zone)).date() - SECOND_QUARTER_BEGAN - QUARTER
    day = timedelta(days=1)
    end = start + 4 * QUARTER - day
    year = AcademicSession(
        organization_id=organization_id,
        title=f"School year {start.year}–{end.year % 100:02d}",
        type=AcademicSessionType.school_year,
        start_date=start,
        end_date=end,
        school_year=end.year,
    )
    session.add(year)
    await session.flush()
    for half in range(2):
        semester = AcademicSession(
            organization_id=organization_id,
            parent_id=year.id,
            title=("First", "Second")[half] + " semester",
            type=AcademicSessionType.semester,
            start_date=start + 2 * half * QUARTER,
            end_date=start + 2 * (half + 1) * QUARTER - day,
            school_year=end.year,
        )
        session.add(semester)
        await session.flush()
        for quarter in (2 * half, 2 * half + 1):
            session.add(
                AcademicSession(
                    organization_id=organization_id,
                    parent_id=semester.id,
                    title=f"Quarter {quarter + 1}",
                    type=AcademicSessionType.grading_period,
                    start_date=start + quarter * QUARTER,
                    end_date=start + (quarter + 1) * QUARTER - day,
                    school_year=end.year,
                )
            )
    await session.flush()
    rows = await session.execute(select(Class).where(Class.organization_id == organization_id))
    for cls in rows.scalars():
        subject, grade = classes.get(cls.name, (cls.subject, cls.grade_level))
        code = "".join(word[0] for word in cls.name.split()).upper() + (grade or "")
        course = Course(
            organization_id=organization_id,
            school_id=school.id,
            school_year_id=year.id,
            title=cls.name,
            code=code,
            subjects=[subject] if subject else [],
            grade_levels=[grade] if grade else [],
        )
        session.add(course)
        await session.flush()
        cls.school_id, cls.course_id, cls.class_code = school.id, course.id, f"{code}-01"
        session.add(ClassTerm(organization_id=organization_id, class_id=cls.id, session_id=year.id))
    await session.flush()
