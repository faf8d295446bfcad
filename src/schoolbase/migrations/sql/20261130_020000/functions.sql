-- The grading period an assignment falls in: the organization's grading period whose days
-- (in the organization's time zone) hold the due date. A class linked to terms looks only
-- at periods within those terms (the period itself, its parent or its grandparent).
-- Invoker's rights: a caller learns only of periods row-level security lets them read (the
-- triggers below call it with theirs).
create function private.grading_period_of(org uuid, class uuid, due timestamptz) returns uuid
  language sql stable set search_path = ''
  as $$
    select p.id
    from public.academic_sessions p
    join public.organizations o on o.id = p.organization_id
    left join public.academic_sessions up on up.organization_id = p.organization_id and up.id = p.parent_id
    where p.organization_id = org and p.type = 'grading_period' and due is not null
      and (due at time zone o.time_zone)::date between p.start_date and p.end_date
      and (not exists (select from public.class_terms t where t.organization_id = org and t.class_id = class)
           or exists (select from public.class_terms t
                      where t.organization_id = org and t.class_id = class
                        and t.session_id in (p.id, p.parent_id, up.parent_id)))
    order by p.start_date desc, p.id
    limit 1
  $$;

-- Refuses a change to grades of an assignment whose grading period is closed (55000, shown
-- as 409 period-closed), and moving or removing an assignment into or out of such a period.
create function private.refuse_in_closed_period(org uuid, class uuid, due timestamptz, what text)
  returns void
  language plpgsql stable set search_path = ''
  as $$
  declare
    period public.academic_sessions;
  begin
    select * into period from public.academic_sessions s
    where s.id = private.grading_period_of(org, class, due) and s.closed_at is not null;
    if period.id is not null then
      raise exception 'the grading period "%" is closed, so % cannot change until an org admin reopens it',
        period.title, what using errcode = '55000', constraint = 'grading_period_closed';
    end if;
  end $$;

create function private.lock_grades_of_closed_periods() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    row_org uuid := coalesce(new.organization_id, old.organization_id);
    row_class uuid := coalesce(new.class_id, old.class_id);
    row_assignment uuid := coalesce(new.assignment_id, old.assignment_id);
  begin
    -- An organization or class being deleted takes its grades along.
    if tg_op = 'DELETE' and not exists (select from public.classes c where c.organization_id = row_org and c.id = row_class) then
      return old;
    end if;
    perform private.refuse_in_closed_period(row_org, row_class, a.due_at, 'its grades')
    from public.assignments a where a.organization_id = row_org and a.id = row_assignment;
    return coalesce(new, old);
  end $$;

create function private.lock_rubric_grades_of_closed_periods() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    row_org uuid := coalesce(new.organization_id, old.organization_id);
  begin
    perform private.refuse_in_closed_period(g.organization_id, g.class_id, a.due_at, 'its grades')
    from public.assignment_grades g
    join public.assignments a on a.organization_id = g.organization_id and a.id = g.assignment_id
    where g.organization_id = row_org and g.id = coalesce(new.grade_id, old.grade_id);
    return coalesce(new, old);
  end $$;

create function private.lock_assignments_of_closed_periods() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if tg_op = 'DELETE' then
      if exists (select from public.classes c where c.organization_id = old.organization_id and c.id = old.class_id)
         and exists (select from public.assignment_grades g
                     where g.organization_id = old.organization_id and g.assignment_id = old.id) then
        perform private.refuse_in_closed_period(old.organization_id, old.class_id, old.due_at, 'its graded assignments');
      end if;
      return old;
    end if;
    if (new.due_at, new.points_possible, new.category_id) is distinct from (old.due_at, old.points_possible, old.category_id)
       and exists (select from public.assignment_grades g
                   where g.organization_id = old.organization_id and g.assignment_id = old.id) then
      perform private.refuse_in_closed_period(old.organization_id, old.class_id, old.due_at, 'its graded assignments');
      perform private.refuse_in_closed_period(new.organization_id, new.class_id, new.due_at, 'its graded assignments');
    end if;
    return new;
  end $$;

-- Closing and reopening a grading period, and every override of a period grade, leave a row
-- in grading_period_history whoever writes them.
create function private.record_period_state() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if (new.closed_at is null) <> (old.closed_at is null) then
      insert into public.grading_period_history (organization_id, session_id, action, actor_id, reason)
      values (new.organization_id, new.id, case when new.closed_at is null then 'reopened' else 'closed' end,
              auth.uid(), new.state_note);
    end if;
    return null;
  end $$;

create function private.record_period_override() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  declare
    row public.period_grade_overrides := coalesce(new, old);
  begin
    -- A class or grading period being deleted takes its overrides and history along.
    if tg_op = 'DELETE' and (
        not exists (select from public.classes c where c.organization_id = old.organization_id and c.id = old.class_id)
        or not exists (select from public.academic_sessions s
                       where s.organization_id = old.organization_id and s.id = old.session_id)) then
      return null;
    end if;
    insert into public.grading_period_history
      (organization_id, session_id, class_id, student_id, action, actor_id, reason, detail)
    values (row.organization_id, row.session_id, row.class_id, row.student_id,
            case tg_op when 'INSERT' then 'override_set' when 'UPDATE' then 'override_changed' else 'override_removed' end,
            auth.uid(), row.reason,
            jsonb_build_object('old', case when tg_op <> 'INSERT' then jsonb_build_object('percent', old.percent, 'letter', old.letter) end,
                               'new', case when tg_op <> 'DELETE' then jsonb_build_object('percent', new.percent, 'letter', new.letter) end));
    return null;
  end $$;

-- Excusing work or marking it missing changes what a period grade counts (excused work is
-- left out, missing work is 0): refused, like a grade, while the assignment's period is closed.
create function private.lock_excused_and_missing_of_closed_periods() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if (tg_op = 'INSERT' and new.status in ('excused', 'missing'))
       or (tg_op = 'UPDATE' and new.status is distinct from old.status
           and (new.status in ('excused', 'missing') or old.status in ('excused', 'missing'))) then
      perform private.refuse_in_closed_period(new.organization_id, new.class_id, a.due_at, 'whether work is excused or missing')
      from public.assignments a where a.organization_id = new.organization_id and a.id = new.assignment_id;
    end if;
    return new;
  end $$;
