"""Academic structure over HTTP: schools, academic sessions, courses, a class's place among
them, closing grading periods, period grade overrides and the periods' history. Who may do
what is ACCESS.md's "Academic structure and rostering"; the database enforces it."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from schoolbase.academics import closing, schemas, service
from schoolbase.auth.deps import CurrentUser, Session
from schoolbase.models import AcademicSession, AcademicSessionType, Course, PeriodGradeOverride, School
from schoolbase.pagination import Page, PageParams, page_params
from schoolbase.problems import IN_USE, INVALID_STATE, NOT_A_MEMBER, responses

router = APIRouter(tags=["academics"])
Paging = Annotated[PageParams, Depends(page_params)]


# Schools


@router.get("/organizations/{organization_id}/schools", response_model=Page[schemas.SchoolOut])
async def list_schools(organization_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Every member sees the organization's schools."""
    return await service.list_schools(session, organization_id, paging)


@router.post("/organizations/{organization_id}/schools", response_model=schemas.SchoolOut, status_code=201)
async def create_school(
    organization_id: uuid.UUID, body: schemas.SchoolCreate, _: CurrentUser, session: Session
) -> School:
    """Org admins."""
    return await service.create_school(session, organization_id, body)


@router.get("/schools/{school_id}", response_model=schemas.SchoolOut)
async def get_school(school_id: uuid.UUID, _: CurrentUser, session: Session) -> School:
    return await service.get_school(session, school_id)


@router.patch("/schools/{school_id}", response_model=schemas.SchoolOut)
async def update_school(school_id: uuid.UUID, body: schemas.SchoolUpdate, _: CurrentUser, session: Session) -> School:
    return await service.update_school(session, school_id, body)


@router.delete("/schools/{school_id}", status_code=204, responses=responses(IN_USE))
async def delete_school(school_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Refused while courses or classes belong to it."""
    await service.delete_school(session, school_id)


# Academic sessions


@router.get("/organizations/{organization_id}/academic-sessions", response_model=Page[schemas.SessionOut])
async def list_sessions(
    organization_id: uuid.UUID,
    _: CurrentUser,
    session: Session,
    paging: Paging,
    type: Annotated[AcademicSessionType | None, Query()] = None,  # noqa: A002
    parent_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page:
    """School years, semesters, terms and grading periods; every member sees them."""
    return await service.list_sessions(session, organization_id, paging, type=type, parent_id=parent_id)


@router.post("/organizations/{organization_id}/academic-sessions", response_model=schemas.SessionOut, status_code=201)
async def create_session(
    organization_id: uuid.UUID, body: schemas.SessionCreate, _: CurrentUser, session: Session
) -> AcademicSession:
    """Org admins. Sessions nest school year → semester or term → grading period (a grading
    period may also sit directly in a school year), each within its parent's dates."""
    return await service.create_session(session, organization_id, body)


@router.get("/academic-sessions/{session_id}", response_model=schemas.SessionOut)
async def get_session(session_id: uuid.UUID, _: CurrentUser, session: Session) -> AcademicSession:
    return await service.get_session(session, session_id)


@router.patch("/academic-sessions/{session_id}", response_model=schemas.SessionOut)
async def update_session(
    session_id: uuid.UUID, body: schemas.SessionUpdate, _: CurrentUser, session: Session
) -> AcademicSession:
    """Org admins. New dates stay within the parent's and hold the sessions within it."""
    return await service.update_session(session, session_id, body)


@router.delete("/academic-sessions/{session_id}", status_code=204, responses=responses(IN_USE))
async def delete_session(session_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Org admins; the sessions within it go with it."""
    await service.delete_session(session, session_id)


@router.post(
    "/academic-sessions/{session_id}/close", response_model=schemas.SessionOut, responses=responses(INVALID_STATE)
)
async def close_period(
    session_id: uuid.UUID, body: schemas.CloseBody, user: CurrentUser, session: Session
) -> AcademicSession:
    """Org admins close a grading period: the grades of its assignments are locked (409
    period-closed) until it is reopened. Overrides stay possible."""
    return await closing.close_period(session, session_id, user.user_id, body.note)


@router.post(
    "/academic-sessions/{session_id}/reopen", response_model=schemas.SessionOut, responses=responses(INVALID_STATE)
)
async def reopen_period(
    session_id: uuid.UUID, body: schemas.ReopenBody, _: CurrentUser, session: Session
) -> AcademicSession:
    """Org admins, with a reason, kept on the period and in its history."""
    return await closing.reopen_period(session, session_id, body.reason)


@router.get("/academic-sessions/{session_id}/history", response_model=Page[schemas.HistoryOut])
async def period_history(session_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    """Closing, reopening and overrides, newest first: org admins all of it, teachers what
    concerns the period itself and their classes."""
    return await closing.history(session, session_id, paging)


# Courses


@router.get("/organizations/{organization_id}/courses", response_model=Page[schemas.CourseOut])
async def list_courses(
    organization_id: uuid.UUID,
    _: CurrentUser,
    session: Session,
    paging: Paging,
    school_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page:
    return await service.list_courses(session, organization_id, paging, school_id=school_id)


@router.post("/organizations/{organization_id}/courses", response_model=schemas.CourseOut, status_code=201)
async def create_course(
    organization_id: uuid.UUID, body: schemas.CourseCreate, _: CurrentUser, session: Session
) -> Course:
    """Org admins."""
    return await service.create_course(session, organization_id, body)


@router.get("/courses/{course_id}", response_model=schemas.CourseOut)
async def get_course(course_id: uuid.UUID, _: CurrentUser, session: Session) -> Course:
    return await service.get_course(session, course_id)


@router.patch("/courses/{course_id}", response_model=schemas.CourseOut)
async def update_course(course_id: uuid.UUID, body: schemas.CourseUpdate, _: CurrentUser, session: Session) -> Course:
    return await service.update_course(session, course_id, body)


@router.delete("/courses/{course_id}", status_code=204, responses=responses(IN_USE))
async def delete_course(course_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Refused while classes belong to it."""
    await service.delete_course(session, course_id)


# A class among them


@router.get("/classes/{class_id}/academics", response_model=schemas.ClassAcademicsOut)
async def get_class_academics(class_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.ClassAcademicsOut:
    """The class's school, course, code and terms."""
    return await service.class_academics(session, class_id)


@router.put("/classes/{class_id}/academics", response_model=schemas.ClassAcademicsOut)
async def set_class_academics(
    class_id: uuid.UUID, body: schemas.ClassAcademics, _: CurrentUser, session: Session
) -> schemas.ClassAcademicsOut:
    """Org admins: the class's school, course, code and terms, all four at once. A class
    linked to terms finds its assignments' grading periods within them."""
    return await service.set_class_academics(session, class_id, body)


# Period grade overrides

OVERRIDE = "/classes/{class_id}/grading-periods/{period_id}/overrides"


@router.get(OVERRIDE, response_model=Page[schemas.OverrideOut])
async def list_overrides(
    class_id: uuid.UUID, period_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging
) -> Page:
    """Staff see every override of the class's period; a student their own and a parent their
    child's, once the period is closed."""
    return await closing.list_overrides(session, class_id, period_id, paging)


@router.put(OVERRIDE + "/{student_id}", response_model=schemas.OverrideOut, responses=responses(NOT_A_MEMBER))
async def set_override(
    class_id: uuid.UUID,
    period_id: uuid.UUID,
    student_id: uuid.UUID,
    body: schemas.OverrideSet,
    user: CurrentUser,
    session: Session,
) -> PeriodGradeOverride:
    """The class's teachers and org admins set or change a student's period grade, with a
    reason; also while the period is closed. Every change is in the period's history."""
    return await closing.set_override(session, class_id, period_id, student_id, body, user.user_id)


@router.delete(OVERRIDE + "/{student_id}", status_code=204, responses=responses(NOT_A_MEMBER))
async def remove_override(
    class_id: uuid.UUID,
    period_id: uuid.UUID,
    student_id: uuid.UUID,
    reason: Annotated[str, Query(min_length=1, max_length=2000, description="why (kept in the history)")],
    _: CurrentUser,
    session: Session,
) -> None:
    """The computed grade counts again; the reason is kept in the period's history."""
    await closing.remove_override(session, class_id, period_id, student_id, reason)
