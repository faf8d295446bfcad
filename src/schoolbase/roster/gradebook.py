"""The gradebook files: categories, line items and results become a class's assignment
categories, its assignments, and its students' submissions with final, posted grades.

- A OneRoster category belongs to no class; Schoolbase's do. A category becomes one per class
  of the line items that use it, found by its title (a class's category names are unique),
  with its 1.2 ``weight`` where the class's weights still add up to at most 100, else 0.
- A line item is an assignment, handed out (published): ``resultValueMax`` its points
  possible, ``assignDate`` the day it opens and ``dueDate`` the day it is due (at 23:59 in
  the organization's time zone). Its grading period follows from that date, as for any.
- A result is the student's submission: ``fully graded`` with its score becomes a final grade,
  posted on ``scoreDate``; ``exempt`` an excused and ``not submitted`` a missing submission;
  ``submitted`` and ``partially graded`` are not kept (a warning). A student no longer in the
  class keeps the grade on an enrollment that is already over (so it gives no reach).
- Nothing is deleted: a line item or result a set removes keeps its assignment and grade.
"""

from typing import Any

from psycopg import AsyncConnection

from schoolbase.roster.apply import GOOD, Target, count_removed, keep_links, ref_id, run, scalar, script, table, upsert
from schoolbase.roster.report import Report

CATEGORIES, LINE_ITEMS, RESULTS = table("categories"), table("lineItems"), table("results")
TZ = "(select o.time_zone from public.organizations o where o.id = %(org)s)"
KEPT = "('fully graded', 'exempt', 'not submitted')"

ROW_RULES = (
    (
        "lineItems",
        "s.result_max is null or s.result_max <= 0",
        "invalid-value",
        "resultValueMax must be more than 0: it is the line item's points possible",
    ),
    ("lineItems", "s.due_date < s.assign_date", "bad-date", "dueDate is before assignDate"),
    (
        "results",
        "s.score_status = 'fully graded' and s.score is null",
        "missing-field",
        "a fully graded result needs a score",
    ),
    ("results", "s.score < 0", "invalid-value", "score must not be negative"),
    (
        "results",
        f"""exists (select from {RESULTS} o where o.line_item_ref = s.line_item_ref and o.student_ref = s.student_ref
                    and not o.bad and o.status = 'active' and o.line < s.line)""",
        "duplicate-result",
        "the student already has a result for this line item on an earlier line",
    ),
)


async def _flag(
    connection: AsyncConnection, stem: str, condition: str, params: dict[str, Any], report: Report, issue: tuple
) -> None:
    severity, code, message = issue
    mark = "bad = true" if severity == "error" else "bad = bad"
    cursor = await connection.execute(
        f"""update {table(stem)} s set {mark} where not s.bad and s.status = 'active' and ({condition})
            returning s.line, s.sourced_id""",
        params,
    )
    for line, sourced_id in sorted(await cursor.fetchall()):
        report.add(stem, line, severity, code, message, sourced_id)


async def check_rows(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    """Rules of each line item and result of their own (before references spread errors)."""
    for stem, condition, code, message in ROW_RULES:
        await _flag(connection, stem, condition, params, report, ("error", code, message))


# A result's student must be a student here: by their row's role, their enrollments or
# roles in this set, or (a person an earlier import brought) their membership.
_IS_STUDENT = f"""
  exists (select from {table("users")} u where u.sourced_id = s.student_ref and not u.bad and u.status = 'active'
          and (u.source_role = 'student'
               or exists (select from {table("enrollments")} e where e.user_ref = u.sourced_id and not e.bad
                          and e.status = 'active' and e.source_role = 'student')
               or exists (select from {table("roles")} r where r.user_ref = u.sourced_id and not r.bad
                          and r.status = 'active' and r.source_role = 'student')))
  or (not exists (select from {table("users")} u where u.sourced_id = s.student_ref)
      and exists (select from public.roster_links l
                  join public.memberships m on m.organization_id = l.organization_id and m.user_id = l.target_id
                  where l.organization_id = %(org)s and l.source_system = %(source)s and l.entity = 'user'
                    and l.sourced_id = s.student_ref and l.status = 'active' and m.role = 'student'
                    and m.ended_at is null))"""


async def check_students(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    await _flag(
        connection,
        "results",
        f"not ({_IS_STUDENT})",
        params,
        report,
        ("error", "not-a-student", "studentSourcedId is not a student here"),
    )
    await _flag(
        connection,
        "results",
        f"s.score_status not in {KEPT}",
        params,
        report,
        ("warning", "result-not-kept", "only fully graded, exempt and not submitted results are kept; skipped"),
    )


CATEGORY_PREPARE = f"""
alter table {LINE_ITEMS} add column class_id uuid, add column category_id uuid,
  add column locked boolean not null default false;
update {LINE_ITEMS} s set class_id = {ref_id("classes", "s.class_ref")} where {GOOD};
-- A category linked before stays the line item's while it is in the same class; its title follows.
update {LINE_ITEMS} s set category_id = c.target_id
  from {CATEGORIES} c join public.assignment_categories x on x.id = c.target_id
  where {GOOD} and c.sourced_id = s.category_ref and not c.bad and x.class_id = s.class_id;
update public.assignment_categories x set name = c.title from {CATEGORIES} c
  where x.organization_id = %(org)s and x.id = c.target_id and not c.bad and c.status = 'active' and x.name <> c.title
    and not exists (select from public.assignment_categories y where y.organization_id = x.organization_id
                    and y.class_id = x.class_id and y.name = c.title)
"""

NEW_CATEGORIES = f"""
with needed as (
  select distinct on (s.class_id, c.title) s.class_id, c.title, c.weight
  from {LINE_ITEMS} s join {CATEGORIES} c on c.sourced_id = s.category_ref and not c.bad and c.status = 'active'
  where {GOOD} and s.class_id is not null and s.category_id is null
    and not exists (select from public.assignment_categories x where x.organization_id = %(org)s
                    and x.class_id = s.class_id and x.name = c.title)
  order by s.class_id, c.title, s.line
), weighed as (
  select n.*, sum(greatest(coalesce(n.weight, 0), 0)) over (partition by n.class_id)
              + coalesce((select sum(x.weight_percent) from public.assignment_categories x
                          where x.organization_id = %(org)s and x.class_id = n.class_id), 0) as total
  from needed n)
insert into public.assignment_categories (organization_id, class_id, name, weight_percent)
select %(org)s, w.class_id, w.title,
       case when w.total <= 100 and coalesce(w.weight, 0) >= 0 then coalesce(w.weight, 0) else 0 end
from weighed w
returning id
"""

CATEGORY_TARGETS = f"""
update {LINE_ITEMS} s set category_id = x.id from {CATEGORIES} c, public.assignment_categories x
  where {GOOD} and s.category_id is null and c.sourced_id = s.category_ref and not c.bad
    and x.organization_id = %(org)s and x.class_id = s.class_id and x.name = c.title;
-- A category's link names its Schoolbase category where the category is one class's.
update {CATEGORIES} c set target_id = u.category_id
  from (select s.category_ref, (array_agg(s.category_id))[1] as category_id from {LINE_ITEMS} s
        where {GOOD} and s.category_id is not null group by s.category_ref
        having count(distinct s.category_id) = 1) u
  where u.category_ref = c.sourced_id and not c.bad
"""

# Is the grading period that ``due`` falls in (for the class) closed?
CLOSED = """exists (select from public.academic_sessions p
    where p.id = private.grading_period_of(%(org)s, {klass}, {due}) and p.closed_at is not null)"""
NEW_DUE = f"((s.due_date + time '23:59') at time zone {TZ})"

# A graded assignment's points possible stay (the database refuses to change them).
POINTS_FIXED = f"""
update {LINE_ITEMS} s set result_max = a.points_possible from public.assignments a
  where {GOOD} and a.organization_id = %(org)s and a.id = s.target_id and a.points_possible <> s.result_max
    and exists (select from public.assignment_grades g where g.organization_id = %(org)s and g.assignment_id = a.id)
returning s.line, s.sourced_id
"""

# A graded assignment whose due date, points or category would change, in or into a closed
# grading period, stays as it is (the database refuses it) until the period is reopened.
LOCKED_LINE_ITEMS = f"""
update {LINE_ITEMS} s set locked = true from public.assignments a
  where {GOOD} and a.organization_id = %(org)s and a.id = s.target_id
    and exists (select from public.assignment_grades g where g.organization_id = %(org)s and g.assignment_id = a.id)
    and (a.due_at, a.points_possible, a.category_id) is distinct from ({NEW_DUE}, s.result_max, s.category_id)
    and ({CLOSED.format(klass="a.class_id", due="a.due_at")} or {CLOSED.format(klass="s.class_id", due=NEW_DUE)})
returning s.line, s.sourced_id
"""

ASSIGNMENTS = Target(
    "lineItems",
    "public.assignments",
    {
        "class_id": "s.class_id",
        "category_id": "s.category_id",
        "title": "s.title",
        "instructions": "s.description",
        "points_possible": "s.result_max",
        "available_from": f"(s.assign_date::timestamp at time zone {TZ})",
        "due_at": NEW_DUE,
    },
    rows="s.class_id is not null and s.category_id is not null and not s.locked",
)

RESULT_TARGETS = f"""
alter table {RESULTS} add column assignment_id uuid, add column class_id uuid, add column student_id uuid,
  add column submission_id uuid, add column locked boolean not null default false;
update {RESULTS} s set assignment_id = {ref_id("lineItems", "s.line_item_ref")},
                       student_id = {ref_id("users", "s.student_ref")}
  where {GOOD} and s.score_status in {KEPT};
update {RESULTS} s set class_id = a.class_id from public.assignments a
  where a.organization_id = %(org)s and a.id = s.assignment_id;
insert into public.enrollments (organization_id, class_id, user_id, role, ended_at)
select distinct %(org)s, s.class_id, s.student_id, 'student'::public.membership_role, now() from {RESULTS} s
where {GOOD} and s.class_id is not null and s.student_id is not null
  and exists (select from public.memberships m where m.organization_id = %(org)s and m.user_id = s.student_id
              and m.role = 'student')
on conflict do nothing;
-- A grade, or whether work is excused or missing, in a closed grading period does not change
-- (the database refuses it): the result waits.
update {RESULTS} s set locked = true from public.assignments a
  where {GOOD} and a.organization_id = %(org)s and a.id = s.assignment_id
    and {CLOSED.format(klass="a.class_id", due="a.due_at")}
    and case when s.score_status = 'fully graded' then
          not exists (select from public.assignment_grades g where g.organization_id = %(org)s
                      and g.assignment_id = s.assignment_id and g.student_id = s.student_id and g.state = 'final'
                      and g.points = s.score and g.feedback is not distinct from s.comment and g.posted_at is not null)
        else not exists (select from public.assignment_submissions x where x.organization_id = %(org)s
                         and x.assignment_id = s.assignment_id and x.student_id = s.student_id) end;
update {RESULTS} s set submission_id = (select x.id from public.assignment_submissions x
    where x.organization_id = %(org)s and x.assignment_id = s.assignment_id and x.student_id = s.student_id
    order by x.attempt desc limit 1)
  where {GOOD} and s.class_id is not null and s.student_id is not null;
update {RESULTS} s set submission_id = gen_random_uuid(), is_new = true
  where {GOOD} and s.submission_id is null and s.class_id is not null and not s.locked
    and exists (select from public.enrollments e where e.organization_id = %(org)s and e.class_id = s.class_id
                and e.user_id = s.student_id and e.role = 'student');
insert into public.assignment_submissions (id, organization_id, class_id, assignment_id, student_id, status)
select s.submission_id, %(org)s, s.class_id, s.assignment_id, s.student_id,
       (case s.score_status when 'exempt' then 'excused' when 'not submitted' then 'missing' else 'graded' end)
         ::public.submission_status
from {RESULTS} s where s.is_new order by s.line
"""

# Only grades that are new or change are written: a grade's triggers (and a closed period's
# lock) fire on every row an INSERT tries, even one that conflicts.
NEW_GRADES = f"""
insert into public.assignment_grades
  (organization_id, class_id, assignment_id, submission_id, student_id, points, points_possible, feedback,
   state, posted_at)
select %(org)s, s.class_id, s.assignment_id, s.submission_id, s.student_id, s.score, a.points_possible, s.comment,
       'final', (s.score_date::timestamp at time zone {TZ})
from {RESULTS} s join public.assignments a on a.organization_id = %(org)s and a.id = s.assignment_id
where {GOOD} and s.submission_id is not null and s.score_status = 'fully graded' and not s.locked
  and not exists (select from public.assignment_grades g where g.organization_id = %(org)s
                  and g.submission_id = s.submission_id)
order by s.line
"""
CHANGED_GRADES = f"""
update public.assignment_grades g
set points = s.score, feedback = s.comment, state = 'final',
    posted_at = coalesce(g.posted_at, s.score_date::timestamp at time zone {TZ})
from {RESULTS} s
where {GOOD} and s.submission_id is not null and s.score_status = 'fully graded' and not s.locked
  and g.organization_id = %(org)s and g.submission_id = s.submission_id
  and ((g.points, g.feedback, g.state::text) is distinct from (s.score, s.comment, 'final') or g.posted_at is null)
"""


async def apply_gradebook(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    await _categories(connection, params, report)
    await _line_items(connection, params, report)
    await _results(connection, params, report)


async def _categories(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    await script(connection, CATEGORY_PREPARE, params)
    cursor = await connection.execute(NEW_CATEGORIES, params)
    made = [row[0] for row in await cursor.fetchall()]
    await script(connection, CATEGORY_TARGETS, params)
    # Created: the classes' categories made; unchanged: the file's categories that needed none.
    unchanged = await scalar(
        connection,
        f"""select count(*) from {CATEGORIES} c where not c.bad and c.status = 'active'
            and not exists (select from {LINE_ITEMS} s where s.category_ref = c.sourced_id
                            and s.category_id = any(%(made)s))""",
        {**params, "made": made},
    )
    report.count("category", "created", len(made))
    report.count("category", "unchanged", unchanged)
    await keep_links(connection, "categories", params)


async def _line_items(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    await _warn(
        connection,
        "lineItems",
        POINTS_FIXED,
        params,
        report,
        ("points-fixed", "the line item has grades, so its points possible (resultValueMax) stay as they were"),
    )
    await _warn(connection, "lineItems", LOCKED_LINE_ITEMS, params, report)
    await upsert(connection, ASSIGNMENTS, params, report)
    await run(
        connection,
        f"""update public.assignments a set state = 'published' from {LINE_ITEMS} s
            where s.is_new and a.id = s.target_id and a.state = 'draft'""",
        params,
    )
    await count_removed(connection, "lineItems", params, report)
    await keep_links(connection, "lineItems", params)


async def _results(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    await script(connection, RESULT_TARGETS, params)
    await _warn(connection, "results", f"select s.line, s.sourced_id from {RESULTS} s where s.locked", params, report)
    regraded = await run(connection, CHANGED_GRADES, params)
    graded = await run(connection, NEW_GRADES, params)
    await run(
        connection,
        f"""update {RESULTS} s set target_id = g.id from public.assignment_grades g
            where {GOOD} and g.organization_id = %(org)s and g.submission_id = s.submission_id""",
        params,
    )
    skipped = await run(
        connection,
        f"""select s.line from {RESULTS} s
            where {GOOD} and s.score_status in {KEPT} and s.submission_id is null and not s.locked""",
        params,
    )
    if skipped:
        report.add(
            "results", None, "warning", "result-not-kept", f"{skipped} result(s) of people without an account here yet"
        )
    kept = await scalar(
        connection, f"select count(*) from {RESULTS} s where {GOOD} and s.submission_id is not null", params
    )
    # New submissions without a grade (exempt, not submitted) are results created too.
    ungraded = await scalar(
        connection, f"select count(*) from {RESULTS} s where s.is_new and s.score_status <> 'fully graded'", params
    )
    report.count("result", "created", graded + ungraded)
    report.count("result", "updated", regraded)
    report.count("result", "unchanged", max(kept - graded - ungraded - regraded, 0))
    await count_removed(connection, "results", params, report)
    await keep_links(connection, "results", params)


CLOSED_PERIOD = ("period-closed", "its grading period is closed: the change waits until an org admin reopens it")


async def _warn(
    connection: AsyncConnection,
    stem: str,
    sql: str,
    params: dict[str, Any],
    report: Report,
    issue: tuple[str, str] = CLOSED_PERIOD,
) -> None:
    """A warning for each row ``sql`` returns (line, sourcedId): rows left as they were."""
    code, message = issue
    cursor = await connection.execute(sql, params)
    for line, sourced_id in sorted(await cursor.fetchall()):
        report.add(stem, line, "warning", code, message, sourced_id)
