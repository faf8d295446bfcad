"""The SQL behind each file of the OneRoster 1.1 export: one statement per file, its columns in
the file's order, sorted by sourcedId in byte order (``COLLATE "C"``, the same on every
server), so the same data always gives the same bytes.

Every statement takes ``:org`` and the scope's ``:district``, ``:default_school`` and
``:default_term`` sourcedIds; the gradebook ones also ``:period`` and ``:tz``.
"""


def sid(entity: str, id_sql: str) -> str:
    """The sourcedId of the ``entity`` row ``id_sql``: the one it was imported under (the
    active link first, then the newest), else its own id. An index lookup per row on
    ``roster_links_target_idx``, so a file streams without every link held in memory."""
    return (
        "coalesce((select l.sourced_id from public.roster_links l"
        f" where l.organization_id = :org and l.entity = '{entity}' and l.target_id = {id_sql}"
        " order by l.status = 'active' desc, l.created_at desc, l.source_system limit 1),"
        f" {id_sql}::text)"
    )


def _school(class_alias: str) -> str:
    return (
        f"case when {class_alias}.school_id is null then :default_school"
        f" else {sid('org', f'{class_alias}.school_id')} end"
    )


def _order(sql: str) -> str:
    return f'select * from ({sql}) rows order by sourced_id collate "C"'


# The organization itself, the district; a class without a school counts as in a school of
# the organization's own name, which comes into being with the first such class.
ORGS = _order(f"""
    select :district as sourced_id, '' as status, '' as modified, o.name, 'district' as type,
           o.slug as identifier, '' as parent
    from public.organizations o where o.id = :org
    union all
    select {sid("org", "s.id")}, '', '', s.name, 'school', s.identifier, :district
    from public.schools s where s.organization_id = :org
    union all
    select :default_school, '', '', o.name, 'school', '', :district
    from public.organizations o
    where o.id = :org and exists (select from public.classes c where c.organization_id = :org and c.school_id is null)
""")

SESSION_TYPE = (
    "case s.type when 'school_year' then 'schoolYear' when 'grading_period' then 'gradingPeriod' else s.type::text end"
)
ACADEMIC_SESSIONS = _order(f"""
    select {sid("academicSession", "s.id")} as sourced_id, '' as status, '' as modified, s.title,
           {SESSION_TYPE} as type, s.start_date, s.end_date,
           case when s.parent_id is null then '' else {sid("academicSession", "s.parent_id")} end as parent,
           coalesce(s.school_year, up.school_year, top.school_year, extract(year from s.end_date)::int) as school_year
    from public.academic_sessions s
    left join public.academic_sessions up on up.organization_id = s.organization_id and up.id = s.parent_id
    left join public.academic_sessions top on top.organization_id = up.organization_id and top.id = up.parent_id
    where s.organization_id = :org
    union all
    select :default_term, '', '', :term_title, 'schoolYear', :term_start, :term_end, '', :term_year
    where :synthetic_term
""")

COURSES = _order(f"""
    select {sid("course", "c.id")} as sourced_id, '' as status, '' as modified,
           case when c.school_year_id is null then '' else {sid("academicSession", "c.school_year_id")} end,
           c.title, c.code, array_to_string(c.grade_levels, ','),
           case when c.school_id is null then :district else {sid("org", "c.school_id")} end,
           array_to_string(c.subjects, ','), ''
    from public.courses c where c.organization_id = :org
    union all
    select {sid("class", "k.id")} || '-course', '', '', '', k.name, '', coalesce(k.grade_level, ''),
           {_school("k")}, coalesce(k.subject, ''), ''
    from public.classes k where k.organization_id = :org and k.course_id is null
""")

CLASSES = _order(f"""
    select {sid("class", "k.id")} as sourced_id, '' as status, '' as modified, k.name, k.grade_level,
           case when k.course_id is null then {sid("class", "k.id")} || '-course'
                else {sid("course", "k.course_id")} end,
           k.class_code, 'scheduled', '', {_school("k")},
           coalesce((select string_agg(term, ',' order by term collate "C")
                     from (select {sid("academicSession", "t.session_id")} as term from public.class_terms t
                           where t.organization_id = :org and t.class_id = k.id) terms), :default_term),
           k.subject, '', ''
    from public.classes k where k.organization_id = :org
""")

# One row per person with a membership that has not ended. OneRoster 1.1 gives a user one
# role, and an importer (ours too) takes a person's class roles from their enrollments: so
# the row names a role their enrollments do not already imply, the one otherwise lost, and
# of two such, the one that carries more: an admin stays an administrator; a parent of
# children stays a parent (their guardianships are agents), whether they also teach classes
# (their enrollments make them a teacher) or not (then the bare teacher role is what is lost).
USER_ROLE = """case when 'org_admin' = any(m.roles) then 'administrator'
    when 'student' = any(m.roles) and not 'student' = any(m.taught) then 'student'
    when 'parent' = any(m.roles) and m.has_children then 'parent'
    when 'teacher' = any(m.roles) and not 'teacher' = any(m.taught) then 'teacher'
    when 'parent' = any(m.roles) then 'parent'
    when 'teacher' = any(m.roles) then 'teacher' else 'student' end"""
ACTIVE_MEMBER = (
    "exists (select from public.memberships am where am.organization_id = :org and am.user_id = {who}"
    " and am.ended_at is null)"
)


def _names(display_name: str) -> str:
    """givenName and familyName: the last word of the name is the family name."""
    name = f"btrim({display_name})"
    return (
        f"case when strpos({name}, ' ') > 0 then regexp_replace({name}, '\\s+\\S+$', '') else {name} end,"
        f" case when strpos({name}, ' ') > 0 then regexp_replace({name}, '^.*\\s', '') else {name} end"
    )


def _schools(enrollments: str) -> str:
    """orgSourcedIds: the schools of the classes in ``enrollments`` (rows with ``class_id``), else the district."""
    return f"""coalesce((select string_agg(school, ',' order by school collate "C")
                     from (select distinct {_school("k")} as school from ({enrollments}) e
                           join public.classes k on k.organization_id = :org and k.id = e.class_id) schools),
                    :district)"""


# People an import invited and who have not accepted yet: their roster rows wait in their links
# (the invitation holds the address, name and roles; enrollments wait in enrollment links).
HELD = """select l.source_system, l.sourced_id, l.detail, i.email, i.display_name,
       array(select r::text from unnest(i.roles) r) as roles
    from public.roster_links l
    join public.invitations i on i.organization_id = l.organization_id and i.id = l.invitation_id
    where l.organization_id = :org and l.entity = 'user' and l.status = 'active' and l.target_id is null
      and i.accepted_at is null and i.revoked_at is null"""
WAITING = """select w.sourced_id, w.source_system, (w.detail ->> 'class_id')::uuid as class_id,
       w.detail ->> 'role' as role, w.detail ->> 'user' as user_ref
    from public.roster_links w
    where w.organization_id = :org and w.entity = 'enrollment' and w.status = 'active' and w.target_id is null
      and w.detail ? 'class_id'"""
# Agents (agentSourcedIds) a held person shares with another roster person, either side naming the other.
NAMED = "({a}.detail -> 'agents' ? {b}.sourced_id or {b}.detail -> 'agents' ? {a}.sourced_id)"

USERS = _order(f"""
    select {sid("user", "u.id")} as sourced_id, '' as status, '' as modified,
           case when u.disabled_at is null then 'true' else 'false' end,
           {_schools("select e.class_id from public.enrollments e where e.organization_id = :org and e.user_id = u.id and e.ended_at is null")},
           {USER_ROLE}, coalesce(u.username, u.email), '', {_names("u.display_name")}, '', '', u.email, '', '',
           (select string_agg(agent, ',' order by agent collate "C")
            from (select {sid("user", "case when g.parent_id = u.id then g.student_id else g.parent_id end")} as agent
                  from public.guardianships g
                  where g.organization_id = :org and (g.parent_id = u.id or g.student_id = u.id)
                    and {ACTIVE_MEMBER.format(who="g.parent_id")}
                    and {ACTIVE_MEMBER.format(who="g.student_id")}
                  union
                  select h.sourced_id from public.roster_links mine join ({HELD}) h on h.source_system = mine.source_system
                  where mine.organization_id = :org and mine.entity = 'user' and mine.target_id = u.id
                    and mine.status = 'active' and {NAMED.format(a="mine", b="h")}) agents),
           '', ''
    from public.users u
    join (select ms.user_id, array_agg(ms.role::text) as roles,
                 array(select distinct e.role::text from public.enrollments e
                       where e.organization_id = :org and e.user_id = ms.user_id and e.ended_at is null) as taught,
                 exists (select from public.guardianships g where g.organization_id = :org
                         and g.parent_id = ms.user_id) as has_children
          from public.memberships ms
          where ms.organization_id = :org and ms.ended_at is null group by ms.user_id) m on m.user_id = u.id
    union all
    select m.sourced_id, '', '', 'true',
           {_schools("select w.class_id from (" + WAITING + ") w where w.source_system = m.source_system and w.user_ref = m.sourced_id")},
           {USER_ROLE}, m.email, '', {_names("coalesce(m.display_name, m.email)")}, '', '', m.email, '', '',
           (select string_agg(agent, ',' order by agent collate "C")
            from (select case when o.target_id is null then o.sourced_id else {sid("user", "o.target_id")} end as agent
                  from public.roster_links o
                  where o.organization_id = :org and o.source_system = m.source_system and o.entity = 'user'
                    and o.status = 'active' and o.sourced_id <> m.sourced_id and {NAMED.format(a="m", b="o")}
                    and (({ACTIVE_MEMBER.format(who="o.target_id")})
                         or exists (select from ({HELD}) other where other.source_system = o.source_system
                                    and other.sourced_id = o.sourced_id))) agents),
           '', ''
    from (select h.*, array(select distinct w.role from ({WAITING}) w
                            where w.source_system = h.source_system and w.user_ref = h.sourced_id) as taught,
                 jsonb_array_length(coalesce(h.detail -> 'agents', '[]')) > 0 as has_children
          from ({HELD}) h) m
""")

ENROLLMENTS = _order(f"""
    select {sid("enrollment", "e.id")} as sourced_id, '' as status, '' as modified,
           {sid("class", "e.class_id")}, {_school("k")}, {sid("user", "e.user_id")}, e.role::text, '', '', ''
    from public.enrollments e
    join public.classes k on k.organization_id = e.organization_id and k.id = e.class_id
    join public.memberships m on m.organization_id = e.organization_id and m.user_id = e.user_id and m.role = e.role
    where e.organization_id = :org and e.ended_at is null and m.ended_at is null
    union all
    select w.sourced_id, '', '', {sid("class", "k.id")}, {_school("k")}, w.user_ref, w.role, '', '', ''
    from ({WAITING}) w join public.classes k on k.organization_id = :org and k.id = w.class_id
    where exists (select from ({HELD}) h where h.source_system = w.source_system and h.sourced_id = w.user_ref)
""")

# A line item's due date: an assignment without one is written as due when it closes, opens
# or was made (OneRoster requires a date), and the grading period is the one that date falls
# in (as it will once imported); outside every period, its class's term counts (OneRoster
# requires a session here too).
DUE = "coalesce(a.due_at, a.close_at, a.available_from, a.created_at)"

# Gradebook: the line items are the assignments handed out (not drafts); with a period, only
# those whose due date falls in it. A period-limited export is a delta (rows say active and
# when they changed), since it holds only part of the gradebook.
LINE_ITEM_SCOPE = (
    "a.organization_id = :org and a.state <> 'draft'"
    f" and (cast(:period as uuid) is null or private.grading_period_of(:org, a.class_id, {DUE}) = :period)"
)


def _status(alias: str) -> str:
    return (
        f"case when :delta then 'active' else '' end as status,"
        f" case when :delta then to_char({alias}.updated_at at time zone 'UTC',"
        " 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') else '' end as modified"
    )


CATEGORIES = _order(f"""
    select {sid("category", "c.id")} as sourced_id, {_status("c")}, c.name
    from public.assignment_categories c
    where c.organization_id = :org
      and exists (select from public.assignments a where {LINE_ITEM_SCOPE} and a.category_id = c.id)
""")

LINE_ITEMS = _order(f"""
    select {sid("lineItem", "a.id")} as sourced_id, {_status("a")}, a.title, a.instructions,
           (coalesce(a.available_from, a.created_at) at time zone :tz)::date,
           ({DUE} at time zone :tz)::date,
           {sid("class", "a.class_id")}, {sid("category", "a.category_id")},
           coalesce((select {sid("academicSession", "p.id")}
                     from (select private.grading_period_of(:org, a.class_id, {DUE}) as id) p where p.id is not null),
                    (select min({sid("academicSession", "t.session_id")} collate "C") from public.class_terms t
                     where t.organization_id = :org and t.class_id = a.class_id),
                    :default_term),
           0, a.points_possible
    from public.assignments a where {LINE_ITEM_SCOPE}
""")

# Results: the final grades posted to students who are still members.
RESULTS = _order(f"""
    select {sid("result", "g.id")} as sourced_id, {_status("g")},
           {sid("lineItem", "g.assignment_id")}, {sid("user", "g.student_id")}, 'fully graded',
           g.final_points, (g.posted_at at time zone :tz)::date, g.feedback
    from public.assignment_grades g
    join public.assignments a on a.organization_id = g.organization_id and a.id = g.assignment_id
    where {LINE_ITEM_SCOPE} and g.state = 'final' and g.posted_at is not null
      and exists (select from public.memberships m where m.organization_id = :org and m.user_id = g.student_id
                  and m.role = 'student' and m.ended_at is null)
""")

FILES = {
    "orgs": ORGS,
    "academicSessions": ACADEMIC_SESSIONS,
    "courses": COURSES,
    "classes": CLASSES,
    "users": USERS,
    "enrollments": ENROLLMENTS,
    "categories": CATEGORIES,
    "lineItems": LINE_ITEMS,
    "results": RESULTS,
}
GRADEBOOK = ("categories", "lineItems", "results")

# The scope: the district's sourcedId, whether a class lacks terms, and the newest school year.
SCOPE = f"""
    select {sid("org", "o.id")} as district, o.time_zone, (o.created_at at time zone o.time_zone)::date as created_on,
           exists (select from public.classes k where k.organization_id = :org
                   and not exists (select from public.class_terms t
                                   where t.organization_id = :org and t.class_id = k.id)) as termless,
           (select {sid("academicSession", "s.id")} from public.academic_sessions s
            where s.organization_id = :org and s.type = 'school_year'
            order by s.start_date desc, s.id limit 1) as school_year
    from public.organizations o where o.id = :org
"""
PERIOD = """
    select true from public.academic_sessions s
    where s.organization_id = :org and s.id = :period and s.type = 'grading_period'
"""
