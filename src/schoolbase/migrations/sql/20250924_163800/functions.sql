
-- Weights of a class's categories add up to at most 100%. Changes per class are
-- serialised so two concurrent inserts cannot pass the check together.
create function private.check_category_weights() returns trigger
  language plpgsql set search_path = ''
  as $$
  declare total numeric;
  begin
    perform pg_advisory_xact_lock(hashtextextended('assignment_categories:' || new.class_id::text, 0));
    select coalesce(sum(c.weight_percent), 0) into total
    from public.assignment_categories c
    where c.organization_id = new.organization_id and c.class_id = new.class_id and c.id <> new.id;
    if total + new.weight_percent > 100 then
      raise exception 'category weights of this class would add up to % %%, more than 100 %%',
        total + new.weight_percent using errcode = '23514', constraint = 'assignment_categories_weights';
    end if;
    return new;
  end $$;
create trigger assignment_categories_weights before insert or update of weight_percent, class_id
  on public.assignment_categories for each row execute function private.check_category_weights();

-- The organization's scale, or the common A-F one when it has none.
create function private.letter_grade(p_org uuid, p_percent numeric) returns text
  language sql stable security definer set search_path = ''
  as $$
    select coalesce(
      (select l.letter from public.grading_scale_levels l
       where l.organization_id = p_org and l.min_percent <= p_percent order by l.min_percent desc limit 1),
      (select d.letter from (values ('A', 90), ('B', 80), ('C', 70), ('D', 60), ('F', 0)) as d(letter, min_percent)
       where not exists (select from public.grading_scale_levels l where l.organization_id = p_org)
         and d.min_percent <= p_percent order by d.min_percent desc limit 1))
  $$;

-- Submitting: stamped with the server's clock, refused before it opens, after it
-- closes or beyond the allowed attempts, marked late after the due time.
create function private.submission_rules() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare a public.assignments;
  begin
    if new.status not in ('draft', 'submitted', 'late') then
      return new;
    end if;
    if tg_op = 'UPDATE' and old.status = 'missing' and new.status = 'draft' then
      raise exception 'work marked missing can be turned in, not turned back into a draft' using errcode = 'P0001';
    end if;
    select * into a from public.assignments where id = new.assignment_id;
    if tg_op = 'UPDATE' and old.submitted_at is not null then
      if new.submitted_at is distinct from old.submitted_at then
        raise exception 'a submission cannot be submitted twice; resubmit as a new attempt' using errcode = 'P0001';
      end if;
      if new.attempt <> old.attempt or new.assignment_id <> old.assignment_id then
        raise exception 'a submitted attempt cannot move to another attempt or assignment' using errcode = 'P0001';
      end if;
      -- Editing submitted work never clears (or sets) its late mark.
      if old.status in ('submitted', 'late') then
        new.status := old.status;
      end if;
      return new;
    end if;
    if new.submitted_at is null and new.status = 'draft' then
      return new;
    end if;
    if a.state <> 'published' then
      raise exception 'assignment "%" is not open for submissions (it is %)', a.title, a.state using errcode = 'P0001';
    end if;
    if a.available_from is not null and now() < a.available_from then
      raise exception 'assignment "%" opens at %', a.title, a.available_from using errcode = 'P0001';
    end if;
    if a.close_at is not null and now() > a.close_at then
      raise exception 'assignment "%" closed at %', a.title, a.close_at using errcode = 'P0001';
    end if;
    if new.attempt > a.allowed_attempts then
      raise exception 'assignment "%" allows % attempt(s)', a.title, a.allowed_attempts using errcode = 'P0001';
    end if;
    new.submitted_at := now();
    if a.due_at is not null and new.submitted_at > a.due_at then
      if not a.accept_late then
        raise exception 'assignment "%" was due at % and does not accept late work', a.title, a.due_at
          using errcode = 'P0001';
      end if;
      new.status := 'late';
    else
      new.status := 'submitted';
    end if;
    return new;
  end $$;
create trigger assignment_submissions_rules before insert or update on public.assignment_submissions
  for each row execute function private.submission_rules();

-- Who changes which columns of a submission (the policies decide which rows): the
-- student the content (body, links) and turning it in; staff (OA, T) only the status
-- (return, excuse, mark missing). Nobody but a super admin or the server moves a
-- submission to another student, assignment or attempt.
create function private.guard_submission_columns() returns trigger
  language plpgsql set search_path = ''
  as $$
  declare allowed text[] := array['status', 'updated_at'];
  begin
    if current_user <> 'authenticated' or private.is_super_admin() then
      return new;
    end if;
    if old.student_id = auth.uid() then
      allowed := allowed || array['body', 'links', 'submitted_at'];
    end if;
    if (to_jsonb(new) - allowed) is distinct from (to_jsonb(old) - allowed) then
      raise exception 'only the student changes the work (body, links) and staff only its status'
        using errcode = '42501';
    end if;
    return new;
  end $$;
create trigger assignment_submissions_guard before update on public.assignment_submissions
  for each row execute function private.guard_submission_columns();

-- A grade carries the assignment's points, the late penalty its submission earned
-- (percent per started day late, never below the floor) and its letter.
create function private.grade_derived_fields() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    a public.assignments;
    s public.assignment_submissions;
    days_late integer := 0;
    penalty_percent numeric := 0;
  begin
    select * into a from public.assignments where id = new.assignment_id;
    select * into s from public.assignment_submissions where id = new.submission_id;
    new.points_possible := a.points_possible;
    if s.submitted_at is not null and a.due_at is not null and s.submitted_at > a.due_at then
      days_late := ceil(extract(epoch from s.submitted_at - a.due_at) / 86400);
      penalty_percent := least(days_late * a.late_penalty_percent_per_day, 100 - a.late_penalty_floor_percent);
    end if;
    new.late_penalty_points := round(new.points * penalty_percent / 100, 2);
    new.letter_grade := private.letter_grade(new.organization_id,
      round(greatest(new.points - new.late_penalty_points, 0) / new.points_possible * 100, 2));
    return new;
  end $$;
create trigger assignment_grades_derived before insert or update on public.assignment_grades
  for each row execute function private.grade_derived_fields();

-- The submission follows its grade: final → graded, posted → returned, gone → back.
create function private.grade_moves_submission() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if tg_op = 'DELETE' then
      update public.assignment_submissions s
      set status = case when s.submitted_at is null then 'missing'::public.submission_status
                        when exists (select from public.assignments a where a.id = s.assignment_id
                                     and a.due_at is not null and s.submitted_at > a.due_at)
                        then 'late'::public.submission_status else 'submitted'::public.submission_status end
      where s.id = old.submission_id and s.status in ('graded', 'returned');
      return null;
    end if;
    update public.assignment_submissions s
    set status = case when new.posted_at is not null then 'returned'::public.submission_status
                      when new.state = 'final' then 'graded'::public.submission_status
                      else s.status end
    where s.id = new.submission_id and s.status not in ('excused')
      and s.status is distinct from case when new.posted_at is not null then 'returned'::public.submission_status
                                         when new.state = 'final' then 'graded'::public.submission_status
                                         else s.status end;
    return null;
  end $$;
create trigger assignment_grades_submission after insert or update or delete on public.assignment_grades
  for each row execute function private.grade_moves_submission();

create function private.record_grade_history() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    -- A grade deleted along with its whole organization leaves no history (there is no
    -- organization left to keep it for, and the foreign key would refuse the row).
    insert into public.grade_history (organization_id, class_id, grade_id, operation, changed_by, old_row, new_row)
    select coalesce(new.organization_id, old.organization_id), coalesce(new.class_id, old.class_id),
           coalesce(new.id, old.id), tg_op, auth.uid(),
           case when tg_op <> 'INSERT' then to_jsonb(old) end, case when tg_op <> 'DELETE' then to_jsonb(new) end
    where tg_op <> 'DELETE' or exists (select from public.organizations o where o.id = old.organization_id);
    return null;
  end $$;
create trigger assignment_grades_history after insert or update or delete on public.assignment_grades
  for each row execute function private.record_grade_history();

-- Rubric scores: each within its criterion's maximum; their sum is the grade's points.
create function private.rubric_points_within_max() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    most numeric;
    rubric_assignment uuid;
  begin
    select c.max_points, r.assignment_id into most, rubric_assignment
    from public.assignment_rubric_criteria c join public.assignment_rubrics r on r.id = c.rubric_id
    where c.id = new.criterion_id;
    if rubric_assignment is distinct from (select g.assignment_id from public.assignment_grades g where g.id = new.grade_id) then
      raise exception 'criterion is not part of the rubric of this grade''s assignment'
        using errcode = '23514', constraint = 'rubric_grades_within_max';
    end if;
    if new.points > most then
      raise exception 'criterion allows at most % points, got %', most, new.points
        using errcode = '23514', constraint = 'rubric_grades_within_max';
    end if;
    return new;
  end $$;
create trigger rubric_grades_within_max before insert or update on public.rubric_grades
  for each row execute function private.rubric_points_within_max();

create function private.rubric_sum_to_grade() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    target uuid := coalesce(new.grade_id, old.grade_id);
    org uuid := coalesce(new.organization_id, old.organization_id);
  begin
    update public.assignment_grades g
    set points = (select coalesce(sum(r.points), 0) from public.rubric_grades r
                  where r.organization_id = org and r.grade_id = target)
    where g.id = target;
    return null;
  end $$;
create trigger rubric_grades_sum after insert or update or delete on public.rubric_grades
  for each row execute function private.rubric_sum_to_grade();

-- The organization of a class (an id, no row data), so the gradebook can use the
-- (organization_id, class_id, ...) indexes; every row it reads stays under RLS.
create function private.class_organization_id(p_class_id uuid) returns uuid
  language sql stable security definer set search_path = ''
  as $$ select c.organization_id from public.classes c where c.id = p_class_id $$;

-- Assignments a parent may see work and grades of: not drafts, visible to parents, in a
-- class of one of the caller's children. One set per statement, instead of hashing every
-- assignment the caller can read.
create function private.child_assignment_ids_visible_to_parents() returns setof uuid
  language sql stable security definer set search_path = ''
  as $$ select a.id from public.guardianships g
        join public.enrollments e
          on e.organization_id = g.organization_id and e.user_id = g.student_id and e.role = 'student'
        join public.assignments a on a.organization_id = e.organization_id and a.class_id = e.class_id
        where g.parent_id = auth.uid() and a.visible_to_parents and a.state <> 'draft' $$;

-- The gradebook of one class in one query, as the caller sees it (row-level
-- security applies: a teacher sees current grades, a student only posted ones).
-- Each cell is the student's latest submitted attempt (a draft only when there is nothing else).
-- Per category: earned / possible over counted items after dropping the lowest
-- percentages (excused and ungraded items do not count, missing ones count as 0);
-- the course percentage weights the categories that have counted items.
create function public.class_gradebook(p_class_id uuid)
  returns table (student_id uuid, assignment_id uuid, category_id uuid, grade_id uuid, status public.submission_status,
                 points numeric, final_points numeric, points_possible numeric, percentage numeric,
                 letter_grade text, grade_state public.grade_state, posted_at timestamptz,
                 counted boolean, course_percentage numeric)
  -- Every join below is between small sets of one class: hash joins. Left to itself the
  -- planner merges the student x assignment grid on one key and filters on the other.
  language sql stable set search_path = '' set enable_mergejoin = off
  as $$
    with class as (
      select private.class_organization_id(p_class_id) as organization_id
    ), students as materialized (
      select e.user_id as student_id from public.enrollments e
      where e.organization_id = (select organization_id from class) and e.class_id = p_class_id and e.role = 'student'
    ), categories as (
      select cat.id, cat.weight_percent, cat.drop_lowest from public.assignment_categories cat
      where cat.organization_id = (select organization_id from class) and cat.class_id = p_class_id
    ), work as (
      select a.id as assignment_id, a.category_id, a.points_possible from public.assignments a
      where a.organization_id = (select organization_id from class) and a.class_id = p_class_id and a.state <> 'draft'
    ), latest as materialized (
      select distinct on (s.student_id, s.assignment_id) s.student_id, s.assignment_id, s.id, s.status
      from public.assignment_submissions s
      where s.organization_id = (select organization_id from class) and s.class_id = p_class_id
      order by s.student_id, s.assignment_id, s.status = 'draft', s.attempt desc
    ), grades as materialized (
      select g.id, g.submission_id, g.points, g.final_points, g.percentage, g.letter_grade, g.state, g.posted_at
      from public.assignment_grades g
      where g.organization_id = (select organization_id from class) and g.class_id = p_class_id
    ), cells as (
      select st.student_id, w.assignment_id, w.category_id, w.points_possible, l.status,
             g.id as grade_id, g.points, g.final_points, g.percentage, g.letter_grade, g.state, g.posted_at,
             case when l.status = 'excused' then null
                  when g.id is not null and g.state <> 'ai_suggested' then g.final_points
                  when l.status = 'missing' then 0
             end as earned
      from students st cross join work w
      left join latest l on l.student_id = st.student_id and l.assignment_id = w.assignment_id
      left join grades g on g.submission_id = l.id
    ), ranked as (
      select c.*, row_number() over (partition by c.student_id, c.category_id
                                     order by c.earned / c.points_possible, c.assignment_id) as rank_low,
             count(*) over (partition by c.student_id, c.category_id) as n_counted
      from cells c where c.earned is not null
    ), kept as (
      select r.student_id, r.category_id, sum(r.earned) as earned, sum(r.points_possible) as possible
      from ranked r join categories cat on cat.id = r.category_id
      where r.rank_low > least(cat.drop_lowest, r.n_counted - 1)
      group by r.student_id, r.category_id
    ), course as (
      select k.student_id,
             round(sum(cat.weight_percent * k.earned / k.possible) / nullif(sum(cat.weight_percent), 0) * 100, 2)
               as course_percentage
      from kept k join categories cat on cat.id = k.category_id
      group by k.student_id
    )
    select c.student_id, c.assignment_id, c.category_id, c.grade_id, c.status, c.points, c.final_points,
           c.points_possible, c.percentage, c.letter_grade, c.state, c.posted_at, c.earned is not null,
           co.course_percentage
    from cells c left join course co on co.student_id = c.student_id
    order by c.student_id, c.assignment_id
  $$;

