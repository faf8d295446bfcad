"""The checks that need more than one row, in SQL over the stages: duplicate sourcedIds,
orgs outside the organization being imported into, references to rows that exist nowhere (or
only on rows with errors, which makes the referring row an error too), duplicate addresses
and usernames. Rows found wrong are marked bad; nothing is written outside the stages."""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from schoolbase.roster.formats import ENROLLMENT_ROLES, FILES, USER_ROLES
from schoolbase.roster.report import Report
from schoolbase.roster.stages import STAGES

LINKED = """exists (select from public.roster_links l where l.organization_id = %(org)s
  and l.source_system = %(source)s and l.entity = %(entity)s and l.sourced_id = {ref} and l.status = 'active')"""


@dataclass(frozen=True)
class Reference:
    stem: str
    column: str
    source_column: str
    target: str
    many: bool = False
    # A soft reference that is missing only drops that link (a warning), not the row.
    soft: bool = False


REFERENCES = (
    Reference("academicSessions", "parent", "parentSourcedId", "academicSessions"),
    Reference("courses", "org", "orgSourcedId", "orgs"),
    Reference("courses", "school_year", "schoolYearSourcedId", "academicSessions"),
    Reference("classes", "course", "courseSourcedId", "courses"),
    Reference("classes", "school", "schoolSourcedId", "orgs"),
    Reference("classes", "terms", "termSourcedIds", "academicSessions", many=True),
    Reference("users", "orgs", "orgSourcedIds", "orgs", many=True),
    Reference("users", "agents", "agentSourcedIds", "users", many=True, soft=True),
    Reference("roles", "user_ref", "userSourcedId", "users"),
    Reference("roles", "org", "orgSourcedId", "orgs"),
    Reference("enrollments", "class_ref", "classSourcedId", "classes"),
    Reference("enrollments", "school", "schoolSourcedId", "orgs"),
    Reference("enrollments", "user_ref", "userSourcedId", "users"),
    Reference("lineItems", "class_ref", "classSourcedId", "classes"),
    Reference("lineItems", "category_ref", "categorySourcedId", "categories"),
    # An assignment's grading period follows from its due date; the reference is only checked.
    Reference("lineItems", "period_ref", "gradingPeriodSourcedId", "academicSessions", soft=True),
    Reference("results", "line_item_ref", "lineItemSourcedId", "lineItems"),
    Reference("results", "student_ref", "studentSourcedId", "users"),
)


def table(stem: str) -> str:
    return STAGES[stem].table


async def _rows(connection: AsyncConnection, sql: str, params: dict[str, Any]) -> list[tuple]:
    cursor = await connection.execute(sql, params)
    return await cursor.fetchall() if cursor.description else []


async def duplicates(connection: AsyncConnection, report: Report) -> None:
    for stem in STAGES:
        found = await _rows(
            connection,
            f"""with d as (select sourced_id, array_agg(line order by line) as lines from {table(stem)}
                           group by sourced_id having count(*) > 1)
                update {table(stem)} t set bad = true from d where t.sourced_id = d.sourced_id
                returning t.line, t.sourced_id, d.lines""",
            {},
        )
        for line, sourced_id, lines in sorted(found):
            others = ", ".join(str(other) for other in lines if other != line)
            message = f"sourcedId {sourced_id} is also on line {others}"
            report.add(stem, line, "error", "duplicate-sourced-id", message, sourced_id)


async def _root(connection: AsyncConnection, params: dict[str, Any], report: Report) -> str | None:
    """The sourcedId of the org row that is this organization: the one an earlier import
    linked to it, else the set's only district (or only org without a parent)."""
    linked = await _rows(
        connection,
        """select sourced_id from public.roster_links where organization_id = %(org)s
           and source_system = %(source)s and entity = 'org' and target_id = %(org)s""",
        params,
    )
    if linked:
        return linked[0][0]
    orgs = table("orgs")
    candidates = await _rows(
        connection, f"select line, sourced_id, name from {orgs} where not bad and type = 'district' order by line", {}
    )
    if not candidates:
        candidates = await _rows(
            connection,
            f"""select line, sourced_id, name from {orgs} o where not bad and (o.parent is null
                or not exists (select from {orgs} p where p.sourced_id = o.parent)) order by line""",
            {},
        )
    if len(candidates) == 1:
        return candidates[0][1]
    names = ", ".join(name for _, _, name in candidates)
    for line, sourced_id, _ in candidates:
        report.add(
            "orgs",
            line,
            "error",
            "org-outside-target",
            f"{len(candidates)} orgs could each be this organization ({names}); a set describes one district",
            sourced_id,
        )
    await connection.execute(f"update {orgs} set bad = true where type = 'district' or parent is null")
    return None


async def org_tree(connection: AsyncConnection, params: dict[str, Any], report: Report) -> str | None:
    """Every org must lie within the organization being imported into."""
    root = await _root(connection, params, report)
    if root is None:
        return None
    orgs = table("orgs")
    linked_parent = LINKED.format(ref="up.parent").replace("%(entity)s", "'org'")
    outside = await _rows(
        connection,
        f"""with recursive up as (
              select sourced_id, sourced_id as node, parent, 0 as depth from {orgs} where not bad and status = 'active'
              union all
              select up.sourced_id, p.sourced_id, p.parent, up.depth + 1
              from up join {orgs} p on p.sourced_id = up.parent and not p.bad
              where up.node <> %(root)s and up.depth < 64)
            update {orgs} t set bad = true
            where not t.bad and t.status = 'active' and t.sourced_id <> %(root)s
              and not exists (select from up where up.sourced_id = t.sourced_id
                              and (up.node = %(root)s or up.parent = %(root)s or {linked_parent}))
            returning t.line, t.sourced_id, t.name""",
        {**params, "root": root},
    )
    for line, sourced_id, name in sorted(outside):
        report.add(
            "orgs",
            line,
            "error",
            "org-outside-target",
            f"{name} is not within the organization this import is for (its parents never reach {root})",
            sourced_id,
        )
    return root


async def references(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    """Rounds until no row turns bad: an error spreads to every row that refers to it. Soft
    references, which turn nothing bad, are checked once the rest has settled (each warned of once)."""
    while True:
        spread = 0
        for ref in REFERENCES:
            if not ref.soft:
                spread += await _reference(connection, ref, params, report)
        if not spread:
            break
    for ref in REFERENCES:
        if ref.soft:
            await _reference(connection, ref, params, report)


async def _reference(connection: AsyncConnection, ref: Reference, params: dict[str, Any], report: Report) -> int:
    source, target = table(ref.stem), table(ref.target)
    values = f"s.{ref.column}" if ref.many else f"array[s.{ref.column}]"
    linked = LINKED.format(ref="r.ref")
    found = await _rows(
        connection,
        f"""select s.line, s.sourced_id, r.ref,
                   exists (select from {target} t where t.sourced_id = r.ref) as staged
            from {source} s cross join lateral unnest({values}) as r(ref)
            where not s.bad and s.status = 'active' and r.ref is not null
              and not exists (select from {target} t where t.sourced_id = r.ref and not t.bad and t.status = 'active')
              and not ({linked} and not exists (select from {target} t where t.sourced_id = r.ref))""",
        {**params, "entity": FILES[ref.target].entity},
    )
    for line, sourced_id, target_id, staged in found:
        if staged:
            code, why = (
                "reference-invalid",
                f"{target_id} is on a row of {ref.target}.csv that has errors or is removed",
            )
        else:
            code, why = "reference-missing", f"{target_id} is in no {ref.target}.csv row and was never imported"
        if ref.soft:
            report.add(ref.stem, line, "warning", code, f"{ref.source_column}: {why}; that link is skipped", sourced_id)
        else:
            report.add(ref.stem, line, "error", code, f"{ref.source_column}: {why}", sourced_id)
    if ref.soft or not found:
        return 0
    await connection.execute(
        f"update {source} set bad = true where line = any(%(lines)s)", {"lines": [row[0] for row in found]}
    )
    return len(found)


async def people(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    users = table("users")
    for column, code, what in (("email", "duplicate-email", "address"), ("username", "duplicate-username", "username")):
        found = await _rows(
            connection,
            f"""with d as (select {column} as value, min(line) as first from {users}
                           where not bad and status = 'active' and {column} is not null
                           group by {column} having count(*) > 1)
                update {users} u set bad = true from d where u.{column} = d.value and u.line > d.first
                returning u.line, u.sourced_id, d.value, d.first""",
            {},
        )
        for line, sourced_id, value, first in sorted(found):
            report.add("users", line, "error", code, f"the {what} {value} is also on line {first}", sourced_id)
    taken = await _rows(
        connection,
        f"""update {users} s set bad = true
            from public.users u join public.roster_links l
              on l.organization_id = %(org)s and l.entity = 'user' and l.target_id = u.id
            where not s.bad and s.status = 'active' and s.username is not null
              and u.managed_by_organization_id = %(org)s and u.username = s.username
              and (l.source_system, l.sourced_id) <> (%(source)s, s.sourced_id)
            returning s.line, s.sourced_id, s.username""",
        params,
    )
    for line, sourced_id, username in sorted(taken):
        report.add(
            "users", line, "error", "username-taken", f"username {username} belongs to another person here", sourced_id
        )
    await _roles_not_kept(connection, report)


async def _roles_not_kept(connection: AsyncConnection, report: Report) -> None:
    dropped_user_roles = [role for role, kept in USER_ROLES.items() if kept is None]
    dropped_enrollment_roles = [role for role, kept in ENROLLMENT_ROLES.items() if kept is None]
    for stem, roles, what in (
        ("users", dropped_user_roles, "the person is imported without it"),
        ("roles", dropped_user_roles, "the role is skipped"),
        ("enrollments", dropped_enrollment_roles, "the enrollment is skipped"),
    ):
        found = await _rows(
            connection,
            f"select line, sourced_id, source_role from {table(stem)} where not bad and source_role = any(%(roles)s)",
            {"roles": roles},
        )
        for line, sourced_id, role in found:
            report.add(
                stem,
                line,
                "warning",
                "role-not-kept",
                f"role {role} has no counterpart in Schoolbase; {what}",
                sourced_id,
            )
