
-- Every organization has AI settings, with the defaults, from the moment it exists.
create function private.create_ai_settings() returns trigger
  language plpgsql security definer set search_path = ''
  as $$ begin insert into public.ai_organization_settings (organization_id) values (new.id); return new; end $$;
create trigger organizations_ai_settings after insert on public.organizations
  for each row execute function private.create_ai_settings();
insert into public.ai_organization_settings (organization_id) select id from public.organizations;

create function private.check_allowed_services() returns trigger
  language plpgsql set search_path = ''
  as $$
  declare missing uuid;
  begin
    select s into missing from unnest(new.allowed_service_ids) s
      where not exists (select from public.ai_services a where a.id = s) limit 1;
    if missing is not null then
      raise exception 'allowed_service_ids: no AI service %', missing using errcode = '23503';
    end if;
    return new;
  end $$;
create trigger ai_organization_settings_services before insert or update of allowed_service_ids
  on public.ai_organization_settings for each row execute function private.check_allowed_services();

-- Monthly partitions of ai_usage_logs, from p_first's month for p_months months.
-- Security definer: creating or dropping a partition needs the owner of ai_usage_logs,
-- and maintenance runs as service_role (the only role allowed to execute these two).
create function private.ensure_ai_usage_partitions(p_first date, p_months integer) returns integer
  language plpgsql security definer set search_path = ''
  as $$
  declare
    m date;
    created integer := 0;
    name text;
  begin
    for i in 0 .. p_months - 1 loop
      m := (date_trunc('month', p_first) + make_interval(months => i))::date;
      name := format('ai_usage_logs_%s', to_char(m, 'YYYY_MM'));
      if to_regclass('private.' || name) is null then
        execute format(
          'create table private.%I partition of public.ai_usage_logs for values from (%L) to (%L)',
          name, m::timestamp at time zone 'UTC', (m + interval '1 month')::timestamp at time zone 'UTC');
        created := created + 1;
      end if;
    end loop;
    return created;
  end $$;
select private.ensure_ai_usage_partitions((now() at time zone 'UTC')::date - 31, 5);

-- Drops the monthly partitions that end at or before p_before; returns how many.
create function private.drop_ai_usage_partitions_before(p_before timestamptz) returns integer
  language plpgsql security definer set search_path = ''
  as $$
  declare
    part record;
    dropped integer := 0;
  begin
    for part in
      select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'public.ai_usage_logs'::regclass and c.relname ~ '^ai_usage_logs_[0-9]{4}_[0-9]{2}$'
    loop
      if (to_date(right(part.relname, 7), 'YYYY_MM') + interval '1 month')::timestamp at time zone 'UTC' <= p_before then
        execute format('drop table private.%I', part.relname);
        dropped := dropped + 1;
      end if;
    end loop;
    return dropped;
  end $$;

-- (organization, student) pairs: a teacher's or parent's reach is the student's rows
-- in the organization where they teach or guard her, not in her other organizations.
create function private.taught_student_keys() returns table (organization_id uuid, user_id uuid)
  language sql stable security definer set search_path = ''
  as $$ select distinct s.organization_id, s.user_id
        from public.enrollments t
        join public.enrollments s on s.class_id = t.class_id and s.role = 'student'
        where t.user_id = auth.uid() and t.role = 'teacher' $$;
create function private.child_keys() returns table (organization_id uuid, user_id uuid)
  language sql stable security definer set search_path = ''
  as $$ select g.organization_id, g.student_id from public.guardianships g where g.parent_id = auth.uid() $$;

revoke all on all functions in schema private from public;
grant execute on all functions in schema private to authenticated, service_role;
revoke execute on function private.ensure_ai_usage_partitions(date, integer),
  private.drop_ai_usage_partitions_before(timestamptz) from authenticated;
