-- The gradebook of one class, for the whole year or (p_period_id) for one grading period:
-- only the assignments that fall in it (private.grading_period_of), and the course
-- percentage over them. Otherwise as revision 20250924_163800 made it.
drop function public.class_gradebook(uuid);

create function public.class_gradebook(p_class_id uuid, p_period_id uuid default null)
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
        and (p_period_id is null
             or private.grading_period_of((select organization_id from class), p_class_id, a.due_at) = p_period_id)
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
