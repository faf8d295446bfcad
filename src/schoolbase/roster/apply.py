"""Applying the checked stages, set by set: each file's good rows become Schoolbase rows
(found again by their link, or made), their links are kept, and rows the set removes are
ended. Statements work on whole stages, so a district takes a handful of statements per
file, not one per row."""

from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection

from schoolbase.roster.formats import FILES
from schoolbase.roster.report import Report
from schoolbase.roster.stages import STAGES

GOOD = "not s.bad and s.status = 'active'"


def table(stem: str) -> str:
    return STAGES[stem].table


def ref_id(stem: str, expr: str) -> str:
    """The id a sourcedId refers to: a row of this import, else one an earlier import linked."""
    entity = FILES[stem].entity
    return (
        f"coalesce((select t.target_id from {table(stem)} t where t.sourced_id = {expr} and not t.bad"
        f" and t.status = 'active' and t.target_id is not null limit 1),"
        f" (select l.target_id from public.roster_links l where l.organization_id = %(org)s"
        f" and l.source_system = %(source)s and l.entity = '{entity}' and l.sourced_id = {expr} and l.status = 'active'))"
    )


def school_id(expr: str) -> str:
    """An org reference as a school: the organization itself (the root) is no school."""
    return f"nullif({ref_id('orgs', expr)}, %(org)s)"


async def run(connection: AsyncConnection, sql: str, params: dict[str, Any]) -> int:
    cursor = await connection.execute(sql, params)
    return cursor.rowcount


async def script(connection: AsyncConnection, statements: str, params: dict[str, Any]) -> None:
    """Several statements, one after another (a statement with parameters must go alone)."""
    for statement in statements.split(";\n"):
        if statement.strip() and not all(line.strip().startswith("--") for line in statement.strip().splitlines()):
            await connection.execute(statement, params)


async def scalar(connection: AsyncConnection, sql: str, params: dict[str, Any]) -> Any:
    cursor = await connection.execute(sql, params)
    row = await cursor.fetchone()
    return row[0] if row else None


async def absent_from_bulk(connection: AsyncConnection, stem: str, params: dict[str, Any]) -> None:
    """A bulk file is the whole set: what an earlier import of this source linked and the
    file no longer holds is removed, as if it said tobedeleted."""
    await run(
        connection,
        f"""insert into {table(stem)} (line, sourced_id, status)
            select null, l.sourced_id, 'tobedeleted' from public.roster_links l
            where l.organization_id = %(org)s and l.source_system = %(source)s and l.entity = %(entity)s
              and l.status = 'active' and l.target_id is distinct from %(org)s
              and not exists (select from {table(stem)} s where s.sourced_id = l.sourced_id)""",
        {**params, "entity": FILES[stem].entity},
    )


async def linked_targets(connection: AsyncConnection, stem: str, params: dict[str, Any]) -> None:
    await run(
        connection,
        f"""update {table(stem)} s set target_id = l.target_id from public.roster_links l
            where l.organization_id = %(org)s and l.source_system = %(source)s and l.entity = %(entity)s
              and l.sourced_id = s.sourced_id""",
        {**params, "entity": FILES[stem].entity},
    )


async def keep_links(
    connection: AsyncConnection, stem: str, params: dict[str, Any], detail: str = "'{}'::jsonb"
) -> None:
    """Each good row's link: made, or changed where what it says changed (so importing the
    same files again writes nothing)."""
    await run(
        connection,
        f"""insert into public.roster_links
              (organization_id, source_system, entity, sourced_id, target_id, invitation_id, status,
               date_last_modified, import_id, detail)
            select %(org)s, %(source)s, %(entity)s, s.sourced_id, s.target_id, {_invitation(stem)}, s.status,
                   s.modified, %(import)s, {detail}
            from {table(stem)} s where not s.bad and (s.target_id is not null or s.status = 'active')
            on conflict (organization_id, source_system, entity, sourced_id) do update
              set target_id = excluded.target_id, invitation_id = excluded.invitation_id, status = excluded.status,
                  date_last_modified = coalesce(excluded.date_last_modified, roster_links.date_last_modified),
                  import_id = excluded.import_id, detail = excluded.detail
              where (roster_links.target_id, roster_links.invitation_id, roster_links.status, roster_links.detail)
                    is distinct from (excluded.target_id, excluded.invitation_id, excluded.status, excluded.detail)
                 or excluded.date_last_modified > roster_links.date_last_modified""",
        {**params, "entity": FILES[stem].entity},
    )


def _invitation(stem: str) -> str:
    return "s.invitation_id" if stem == "users" else "null::uuid"


@dataclass(frozen=True)
class Target:
    """A file whose rows become rows of one table, column by column."""

    stem: str
    table: str
    values: dict[str, str]
    rows: str = "true"

    def expressions(self) -> str:
        return ", ".join(self.values.values())

    def columns(self) -> str:
        return ", ".join(self.values)


TARGETS = (
    Target(
        "orgs",
        "public.schools",
        {"name": "s.name", "identifier": "s.identifier"},
        rows="s.sourced_id <> %(root)s",
    ),
    Target(
        "academicSessions",
        "public.academic_sessions",
        {
            "parent_id": ref_id("academicSessions", "s.parent"),
            "title": "s.title",
            "type": "s.type::public.academic_session_type",
            "start_date": "s.start_date",
            "end_date": "s.end_date",
            "school_year": "s.school_year",
        },
    ),
    Target(
        "courses",
        "public.courses",
        {
            "school_id": school_id("s.org"),
            "school_year_id": ref_id("academicSessions", "s.school_year"),
            "title": "s.title",
            "code": "s.code",
            "subjects": "coalesce(s.subjects, '{}')",
            "grade_levels": "coalesce(s.grades, '{}')",
        },
    ),
    Target(
        "classes",
        "public.classes",
        {
            "name": "s.title",
            "class_code": "s.code",
            "subject": "s.subjects[1]",
            "grade_level": "nullif(array_to_string(s.grades, ', '), '')",
            "school_id": school_id("s.school"),
            "course_id": ref_id("courses", "s.course"),
        },
    ),
)


async def upsert(connection: AsyncConnection, target: Target, params: dict[str, Any], report: Report) -> None:
    stage, entity = table(target.stem), FILES[target.stem].entity
    await run(
        connection,
        f"""update {stage} s set target_id = gen_random_uuid(), is_new = true
            where {GOOD} and {target.rows}
              and (s.target_id is null or not exists (select from {target.table} x where x.id = s.target_id))""",
        params,
    )
    created = await run(
        connection,
        f"""insert into {target.table} (id, organization_id, {target.columns()})
            select s.target_id, %(org)s, {target.expressions()} from {stage} s where s.is_new order by s.line""",
        params,
    )
    updated = await run(
        connection,
        f"""update {target.table} x set ({target.columns()}) = (select {target.expressions()})
            from {stage} s
            where x.id = s.target_id and x.organization_id = %(org)s and not s.is_new and {GOOD} and {target.rows}
              and ({", ".join(f"x.{c}" for c in target.values)}) is distinct from ({target.expressions()})""",
        params,
    )
    good = await scalar(connection, f"select count(*) from {stage} s where {GOOD} and {target.rows}", params)
    report.count(entity, "created", created)
    report.count(entity, "updated", updated)
    report.count(entity, "unchanged", good - created - updated)


async def root_link(connection: AsyncConnection, params: dict[str, Any]) -> None:
    await run(connection, f"update {table('orgs')} set target_id = %(org)s where sourced_id = %(root)s", params)


async def class_terms(connection: AsyncConnection, params: dict[str, Any]) -> None:
    """A class's terms are the ones its row lists."""
    classes = table("classes")
    await run(
        connection,
        f"""insert into public.class_terms (organization_id, class_id, session_id)
            select distinct %(org)s, s.target_id, {ref_id("academicSessions", "r.term")}
            from {classes} s cross join lateral unnest(s.terms) as r(term) where {GOOD}
            on conflict do nothing""",
        params,
    )
    await run(
        connection,
        f"""delete from public.class_terms ct using {classes} s
            where ct.organization_id = %(org)s and ct.class_id = s.target_id and {GOOD}
              and ct.session_id <> all (array(select {ref_id("academicSessions", "r.term")}
                                               from unnest(s.terms) as r(term)))""",
        params,
    )


async def end_classes(connection: AsyncConnection, params: dict[str, Any], report: Report) -> None:
    """A removed class keeps its assignments and grades; its enrollments end."""
    removed = f"select s.target_id from {table('classes')} s where not s.bad and s.status = 'tobedeleted'"
    await run(
        connection,
        f"""update public.enrollments e set ended_at = now()
            where e.organization_id = %(org)s and e.ended_at is null and e.class_id in ({removed})""",
        params,
    )
    ended = await scalar(connection, f"select count(*) from ({removed}) r where r.target_id is not null", params)
    report.count("class", "ended", ended)


async def count_removed(connection: AsyncConnection, stem: str, params: dict[str, Any], report: Report) -> None:
    """Schools, sessions and courses a set removes stay (classes and grades hang off them);
    their links say they were removed."""
    ended = await scalar(
        connection,
        f"select count(*) from {table(stem)} s where not s.bad and s.status = 'tobedeleted' and s.target_id is not null",
        params,
    )
    report.count(FILES[stem].entity, "ended", ended)
