"""Every function an end user's role may execute is listed here with the reason it may.

An end user reaches the database as ``anon`` or ``authenticated``, and any function those
roles may execute can be called with any argument. So each one either answers only about
the caller (their own claims, the set of ids they reach), is a trigger (which PostgreSQL
never lets anyone call directly), is pure computation, or checks that the caller may see
what it is asked about; the proofs of the last kind are in tests/grading/test_function_leaks.py
and tests/resources/test_search_leaks.py.

A new function that end users may execute fails this test until it is added with its
reason; so does a listed one that is gone or no longer executable by them. Extension
functions are the extension's; PostgreSQL's own schemas are not ours.
"""

from sqlalchemy import text

TRIGGER = "trigger"
OWN = "the caller's own"  # a set-returning helper of the caller's reach, for policies (DESIGN.md)

# Regprocedure text with an empty search_path: every name schema-qualified.
EXECUTABLE = {
    # Supabase's auth helpers (on Supabase they are Supabase's): anon evaluates them too.
    "auth.jwt()": "the caller's own JWT claims",
    "auth.role()": "the role claim of the caller's own JWT",
    "auth.uid()": "the caller's own user id from their JWT",
    # Role checks and the caller's reach.
    "private.is_super_admin()": "whether the caller is a super admin",
    "private.member_org_ids()": f"{OWN} organizations",
    "private.org_ids_with_role(public.membership_role)": f"{OWN} organizations where they hold a role",
    "private.admin_org_ids()": f"{OWN} organizations where they are org admin",
    "private.admin_org_people()": f"{OWN} reach as org admin: their organizations' members and managed accounts",
    "private.taught_class_ids()": f"{OWN} classes they teach",
    "private.enrolled_class_ids()": f"{OWN} classes they are enrolled in",
    "private.child_ids()": f"{OWN} children",
    "private.child_class_ids()": f"{OWN} children's classes",
    "private.child_keys()": f"{OWN} children, per organization",
    "private.taught_student_ids()": f"{OWN} students",
    "private.taught_student_keys()": f"{OWN} students, per organization",
    "private.visible_user_ids()": f"{OWN} people ACCESS.md lets them read",
    "private.participating_session_ids()": f"{OWN} meeting sessions they take part in",
    "private.hosted_session_ids()": f"{OWN} meeting sessions they host",
    "private.child_assignment_ids_visible_to_parents()": f"{OWN} children's assignments parents may see",
    "private.session_is_active()": "whether the caller's own account and sign-in session are active",
    # Functions that take an id or a query: each checks the caller.
    "private.letter_grade(uuid,numeric)": "null unless the caller is a member of the organization (or SA)",
    "private.class_organization_id(uuid)": "runs as the caller: null for a class the classes policy hides",
    "private.category_subtree(uuid)": "runs as the caller: the categories policy hides other organizations'",
    "private.resource_matches(tsquery)": "only ids the resources select policy lets the caller read",
    "public.class_gradebook(uuid,uuid)": "runs as the caller: every row it reads is under RLS",
    "private.set_managed_password(uuid,text)": "raises 42501 unless SA or an org admin of the managing organization",
    "private.resource_search_vector(text,text,text[])": "pure: a tsvector of its arguments, no table read",
    "private.resource_term_rank(tsvector,text)": "pure: the ts_rank of a lexeme in a tsvector it is given, no table read",
    # Triggers.
    "private.touch_updated_at()": TRIGGER,
    "private.check_time_zone()": TRIGGER,
    "private.guard_user_columns()": TRIGGER,
    "private.create_ai_settings()": TRIGGER,
    "private.check_allowed_services()": TRIGGER,
    "private.check_category_cycle()": TRIGGER,
    "private.guard_resource_columns()": TRIGGER,
    "private.refresh_resource_rating()": TRIGGER,
    "private.guard_meeting_self_service()": TRIGGER,
    "private.check_category_weights()": TRIGGER,
    "private.submission_rules()": TRIGGER,
    "private.guard_submission_columns()": TRIGGER,
    "private.grade_derived_fields()": TRIGGER,
    "private.grade_moves_submission()": TRIGGER,
    "private.record_grade_history()": TRIGGER,
    "private.lock_grades_of_closed_periods()": TRIGGER,
    "private.lock_rubric_grades_of_closed_periods()": TRIGGER,
    "private.lock_assignments_of_closed_periods()": TRIGGER,
    "private.record_period_state()": TRIGGER,
    "private.lock_excused_and_missing_of_closed_periods()": TRIGGER,
    "private.record_period_override()": TRIGGER,
    "private.grading_period_of(uuid,uuid,timestamp with time zone)": "invoker's rights: the grading period an "
    "assignment falls in, among the periods the caller may read",
    "private.refuse_in_closed_period(uuid,uuid,timestamp with time zone,text)": "invoker's rights: raises when "
    "the period the caller may read is closed",
    "private.points_fixed_once_graded()": TRIGGER,
    "private.rubric_points_within_max()": TRIGGER,
    "private.rubric_sum_to_grade()": TRIGGER,
    "private.keep_ai_suggestion()": TRIGGER,
    "private.index_resource_terms()": TRIGGER,
}
# Of those, what anon may execute: a request without a token evaluates nothing else.
ANON_EXECUTABLE = {"auth.jwt()", "auth.role()", "auth.uid()"}

END_USER_FUNCTIONS = text("""
    select p.oid::regprocedure::text as name,
           has_function_privilege('anon', p.oid, 'execute') as anon,
           has_function_privilege('authenticated', p.oid, 'execute') as authenticated,
           p.prorettype = 'pg_catalog.trigger'::pg_catalog.regtype as is_trigger
    from pg_catalog.pg_proc p join pg_catalog.pg_namespace n on n.oid = p.pronamespace
    where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
      and not exists (select from pg_catalog.pg_depend d
                      where d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass and d.objid = p.oid
                        and d.deptype = 'e')
      and (has_function_privilege('anon', p.oid, 'execute')
           or has_function_privilege('authenticated', p.oid, 'execute'))
""")


async def _end_user_functions(db) -> dict[str, tuple[bool, bool, bool]]:
    async with db.sessions() as session, session.begin():
        await session.execute(text("set local search_path = ''"))
        rows = (await session.execute(END_USER_FUNCTIONS)).all()
    return {row.name: (row.anon, row.authenticated, row.is_trigger) for row in rows}


async def test_every_function_end_users_may_execute_is_listed_with_a_reason(db):
    found = await _end_user_functions(db)
    unlisted = sorted(set(found) - set(EXECUTABLE))
    assert unlisted == [], f"end users may execute these; check what they reveal, then list them: {unlisted}"
    gone = sorted(set(EXECUTABLE) - set(found))
    assert gone == [], f"listed, but gone or no longer executable by anon or authenticated: {gone}"
    assert all(reason.strip() for reason in EXECUTABLE.values())


async def test_anon_may_execute_only_the_auth_helpers(db):
    found = await _end_user_functions(db)
    assert {name for name, (anon, _, _) in found.items() if anon} == ANON_EXECUTABLE


async def test_only_trigger_functions_are_excused_as_triggers(db):
    found = await _end_user_functions(db)
    listed_as_trigger = {name for name, reason in EXECUTABLE.items() if reason == TRIGGER}
    assert listed_as_trigger == {name for name, (_, _, is_trigger) in found.items() if is_trigger}
