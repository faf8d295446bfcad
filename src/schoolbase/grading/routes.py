"""Grading over HTTP: grading scales, categories, assignments, rubrics, submissions,
grades, posting, the gradebook (JSON and CSV) and the student's and parent's view.
Who may do what is ACCESS.md's "Assignments and grading"; the database enforces it."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from schoolbase.auth.deps import CurrentUser, Session
from schoolbase.csvexport import csv_response
from schoolbase.grading import assignments, categories, gradebook_schemas, grades, rubrics, scale, schemas, submissions
from schoolbase.grading import gradebook as gradebooks
from schoolbase.models import Assignment, AssignmentCategory, AssignmentState, SubmissionStatus
from schoolbase.pagination import Page, PageParams, page_params

router = APIRouter(tags=["grading"])
Paging = Annotated[PageParams, Depends(page_params)]
PeriodId = Annotated[uuid.UUID | None, Query(description="a grading period: only its assignments; none: the year")]


# Grading scale


@router.get("/organizations/{organization_id}/grading-scale", response_model=schemas.GradingScaleOut)
async def get_grading_scale(organization_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.GradingScaleOut:
    """The organization's letter scale, or the default A–F one when it has none."""
    return await scale.get_grading_scale(session, organization_id)


@router.put("/organizations/{organization_id}/grading-scale", response_model=schemas.GradingScaleOut)
async def set_grading_scale(
    organization_id: uuid.UUID, body: schemas.GradingScaleIn, _: CurrentUser, session: Session
) -> schemas.GradingScaleOut:
    """Org admins replace the scale (an empty list restores the default); existing grades are re-lettered."""
    return await scale.set_grading_scale(session, organization_id, body)


# Categories


@router.get("/classes/{class_id}/assignment-categories", response_model=Page[schemas.CategoryOut])
async def list_categories(class_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging) -> Page:
    return await categories.list_categories(session, class_id, paging)


@router.post("/classes/{class_id}/assignment-categories", response_model=schemas.CategoryOut, status_code=201)
async def create_category(
    class_id: uuid.UUID, body: schemas.CategoryCreate, _: CurrentUser, session: Session
) -> AssignmentCategory:
    """Org admins and the class's teachers. The weights of a class add up to at most 100 (422)."""
    return await categories.create_category(session, class_id, body)


@router.get("/classes/{class_id}/assignment-categories/{category_id}", response_model=schemas.CategoryOut)
async def get_category(
    class_id: uuid.UUID, category_id: uuid.UUID, _: CurrentUser, session: Session
) -> AssignmentCategory:
    return await categories.get_category(session, class_id, category_id)


@router.patch("/classes/{class_id}/assignment-categories/{category_id}", response_model=schemas.CategoryOut)
async def update_category(
    class_id: uuid.UUID, category_id: uuid.UUID, body: schemas.CategoryUpdate, _: CurrentUser, session: Session
) -> AssignmentCategory:
    return await categories.update_category(session, class_id, category_id, body)


@router.delete("/classes/{class_id}/assignment-categories/{category_id}", status_code=204)
async def delete_category(class_id: uuid.UUID, category_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """409 while the category has assignments."""
    await categories.delete_category(session, class_id, category_id)


# Assignments


@router.get("/classes/{class_id}/assignments", response_model=Page[schemas.AssignmentOut])
async def list_assignments(
    class_id: uuid.UUID, _: CurrentUser, session: Session, paging: Paging, state: AssignmentState | None = None
) -> Page:
    """Staff see drafts too; students and parents the published and closed ones."""
    return await assignments.list_assignments(session, class_id, paging, state)


@router.post("/classes/{class_id}/assignments", response_model=schemas.AssignmentOut, status_code=201)
async def create_assignment(
    class_id: uuid.UUID, body: schemas.AssignmentCreate, user: CurrentUser, session: Session
) -> Assignment:
    """Org admins and the class's teachers; it starts as a draft."""
    return await assignments.create_assignment(session, user.user_id, class_id, body)


@router.get("/assignments/{assignment_id}", response_model=schemas.AssignmentOut)
async def get_assignment(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> Assignment:
    return await assignments.get_assignment(session, assignment_id)


@router.patch("/assignments/{assignment_id}", response_model=schemas.AssignmentOut)
async def update_assignment(
    assignment_id: uuid.UUID, body: schemas.AssignmentUpdate, _: CurrentUser, session: Session
) -> Assignment:
    return await assignments.update_assignment(session, assignment_id, body)


@router.delete("/assignments/{assignment_id}", status_code=204)
async def delete_assignment(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """Its submissions and grades go with it (the grade history stays)."""
    await assignments.delete_assignment(session, assignment_id)


@router.post("/assignments/{assignment_id}/publish", response_model=schemas.AssignmentOut)
async def publish_assignment(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> Assignment:
    """draft (or closed, to reopen) → published."""
    return await assignments.publish_assignment(session, assignment_id)


@router.post("/assignments/{assignment_id}/close", response_model=schemas.AssignmentOut)
async def close_assignment(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> Assignment:
    """published → closed: no more submissions."""
    return await assignments.close_assignment(session, assignment_id)


@router.post("/assignments/{assignment_id}/mark-missing", response_model=schemas.MarkedMissing)
async def mark_missing(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.MarkedMissing:
    """After the due date: every enrolled student who turned nothing in is marked missing."""
    return await submissions.mark_missing(session, assignment_id)


@router.post("/assignments/{assignment_id}/post-grades", response_model=schemas.PostedGrades)
async def post_grades(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.PostedGrades:
    """Posts every final grade of the assignment: students (and parents) see them from now on."""
    return await grades.post_grades(session, assignment_id)


@router.post("/assignments/{assignment_id}/students/{student_id}/excuse", response_model=schemas.SubmissionOut)
async def excuse_student(
    assignment_id: uuid.UUID, student_id: uuid.UUID, _: CurrentUser, session: Session
) -> schemas.SubmissionOut:
    """Excuse a student from the assignment, with or without a submission."""
    return await submissions.set_student_status(session, assignment_id, student_id, SubmissionStatus.excused)


@router.post("/assignments/{assignment_id}/students/{student_id}/missing", response_model=schemas.SubmissionOut)
async def mark_student_missing(
    assignment_id: uuid.UUID, student_id: uuid.UUID, _: CurrentUser, session: Session
) -> schemas.SubmissionOut:
    """Mark one student's work missing (it counts as 0), with or without a submission."""
    return await submissions.set_student_status(session, assignment_id, student_id, SubmissionStatus.missing)


# Rubrics


@router.get("/assignments/{assignment_id}/rubric", response_model=schemas.RubricOut)
async def get_rubric(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.RubricOut:
    return await rubrics.get_rubric(session, assignment_id)


@router.put("/assignments/{assignment_id}/rubric", response_model=schemas.RubricOut)
async def set_rubric(
    assignment_id: uuid.UUID, body: schemas.RubricIn, _: CurrentUser, session: Session
) -> schemas.RubricOut:
    """Create or replace the rubric; 409 once a grade scores its criteria."""
    return await rubrics.set_rubric(session, assignment_id, body)


@router.delete("/assignments/{assignment_id}/rubric", status_code=204)
async def delete_rubric(assignment_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await rubrics.delete_rubric(session, assignment_id)


# Submissions


@router.post("/assignments/{assignment_id}/submissions", response_model=schemas.SubmissionOut, status_code=201)
async def submit(
    assignment_id: uuid.UUID, body: schemas.SubmissionCreate, user: CurrentUser, session: Session, response: Response
) -> schemas.SubmissionOut:
    """A student saves a draft or, with ``submit: true``, turns the work in. An open draft is
    filled in (200); after a turned-in attempt this starts the next attempt (201) within the
    assignment's allowed attempts."""
    out, created = await submissions.submit(session, user.user_id, assignment_id, body)
    if not created:
        response.status_code = 200
    return out


@router.get("/assignments/{assignment_id}/submissions", response_model=Page[schemas.SubmissionOut])
async def list_submissions(
    assignment_id: uuid.UUID,
    _: CurrentUser,
    session: Session,
    paging: Paging,
    student_id: uuid.UUID | None = None,
    status: SubmissionStatus | None = None,
) -> Page:
    """Staff see every submission (and grade); a student their own; a parent their child's."""
    return await submissions.list_submissions(session, assignment_id, paging, student_id=student_id, status=status)


@router.get("/me/submissions", response_model=Page[schemas.SubmissionOut])
async def my_submissions(
    user: CurrentUser, session: Session, paging: Paging, assignment_id: uuid.UUID | None = None
) -> Page:
    """My submissions (every attempt), with grades once posted."""
    return await submissions.my_submissions(session, user.user_id, paging, assignment_id)


@router.get("/submissions/{submission_id}", response_model=schemas.SubmissionOut)
async def get_submission(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.SubmissionOut:
    return await submissions.submission_out(session, await submissions.get_submission(session, submission_id))


@router.patch("/submissions/{submission_id}", response_model=schemas.SubmissionOut)
async def update_submission(
    submission_id: uuid.UUID, body: schemas.SubmissionUpdate, user: CurrentUser, session: Session
) -> schemas.SubmissionOut:
    """The student edits their draft, and may turn it in with ``submit: true``."""
    return await submissions.update_my_submission(session, user.user_id, submission_id, body)


@router.delete("/submissions/{submission_id}", status_code=204)
async def delete_submission(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    """A student discards their own unsent draft while the assignment is open; turned-in work stays."""
    await submissions.delete_submission(session, submission_id)


@router.post("/submissions/{submission_id}/return", response_model=schemas.SubmissionOut)
async def return_submission(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.SubmissionOut:
    return await submissions.return_submission(session, submission_id)


@router.post("/submissions/{submission_id}/excuse", response_model=schemas.SubmissionOut)
async def excuse_submission(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.SubmissionOut:
    return await submissions.excuse_submission(session, submission_id)


@router.post("/submissions/{submission_id}/missing", response_model=schemas.SubmissionOut)
async def mark_submission_missing(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.SubmissionOut:
    return await submissions.mark_submission_missing(session, submission_id)


# Grades


@router.get("/submissions/{submission_id}/grade", response_model=schemas.GradeOut)
async def get_grade(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> schemas.GradeOut:
    """Staff see every grade; a student their own once posted; a parent their child's once
    posted, when the assignment is visible to parents."""
    return await grades.grade_out(session, await grades.get_grade(session, submission_id))


@router.put("/submissions/{submission_id}/grade", response_model=schemas.GradeOut)
async def grade_submission(
    submission_id: uuid.UUID, body: schemas.GradeIn, user: CurrentUser, session: Session
) -> schemas.GradeOut:
    """Grade by ``points`` or by ``rubric`` (scores per criterion, summed into the points), as a
    ``draft`` or ``final`` grade, with feedback. The late penalty and letter are derived."""
    return await grades.grade_out(session, await grades.teacher_grades(session, submission_id, user.user_id, body))


@router.delete("/submissions/{submission_id}/grade", status_code=204)
async def delete_grade(submission_id: uuid.UUID, _: CurrentUser, session: Session) -> None:
    await grades.delete_grade(session, submission_id)


@router.get("/grades/{grade_id}/history", response_model=list[schemas.GradeHistoryOut])
async def grade_history(grade_id: uuid.UUID, _: CurrentUser, session: Session) -> list:
    """Every change of a grade, oldest first, with who made it (staff only)."""
    return await grades.grade_history(session, grade_id)


# Gradebook


def _csv_response(class_id: uuid.UUID, book: gradebook_schemas.Gradebook) -> StreamingResponse:
    header, rows = gradebooks.gradebook_table(book)
    return csv_response(f"gradebook-{class_id}.csv", header, rows)


@router.get(
    "/classes/{class_id}/gradebook",
    response_model=gradebook_schemas.Gradebook,
    responses={200: {"content": {"text/csv": {}}}},
)
async def gradebook(
    class_id: uuid.UUID,
    _: CurrentUser,
    session: Session,
    format: Annotated[Literal["json", "csv"], Query(description="csv: one row per student")] = "json",  # noqa: A002
    period_id: PeriodId = None,
):
    """Per student and published assignment the latest attempt's grade, and each student's
    weighted course percentage (lowest scores dropped per category; excused work does not
    count, missing work counts as 0). Computed in the database in one query, as you see it:
    staff see current grades, a student or parent only posted ones. With ``period_id`` only
    the assignments due in that grading period count, and each student's period override
    (where you may see it) is shown beside the computed grade; without, the whole year."""
    book = await gradebooks.gradebook(session, class_id, period_id)
    if format == "csv":
        return _csv_response(class_id, book)
    return book


@router.get(
    "/classes/{class_id}/gradebook.csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}}},
)
async def gradebook_csv(
    class_id: uuid.UUID, _: CurrentUser, session: Session, period_id: PeriodId = None
) -> StreamingResponse:
    """The gradebook as CSV: one row per student, a column per assignment, then the course percentage and letter
    (and, for a grading period, the override). Text that a spreadsheet would run as a formula is prefixed with ``'``."""
    return _csv_response(class_id, await gradebooks.gradebook(session, class_id, period_id))


# Student and parent views


@router.get("/me/assignments", response_model=Page[gradebook_schemas.MyAssignment])
async def my_assignments(
    user: CurrentUser,
    session: Session,
    paging: Paging,
    student_id: Annotated[uuid.UUID | None, Query(description="a parent: one of your children")] = None,
    class_id: uuid.UUID | None = None,
) -> Page:
    """My assignments (or my child's), soonest due first, with the latest attempt's status and
    posted grade."""
    return await gradebooks.my_assignments(session, user.user_id, paging, student_id=student_id, class_id=class_id)
