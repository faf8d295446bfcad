
-- ts_rank of one lexeme in a search vector: a resource's rank for one word of a query (its
-- rank is that of its best word). The trigger stores it and the search recomputes it with
-- this same function, so the two agree to the bit. The lexeme is quoted for tsquery input (a quote doubled, a backslash escaped), so it is
-- read as exactly that lexeme, never parsed or stemmed again.
create function private.resource_term_rank(p_search tsvector, p_lexeme text) returns real
  language sql immutable set search_path = ''
  as $$
    select ts_rank(p_search, ('''' || replace(replace(p_lexeme, '\', '\\'), '''', '''''') || '''')::tsquery)
  $$;

-- One row per lexeme of each resource's search vector with its rank, and the columns the
-- resources select policy reads, kept by the trigger below. A search reads the caller's
-- visible rows of each (organization, query word) in rank order straight from the index
-- and stops at the page's end, where the GIN index can only hand over every match, each
-- then ranked, before the first page is known.
create table private.resource_terms (
  organization_id uuid not null,
  lexeme text not null,
  rank real not null,
  resource_id uuid not null,
  state public.resource_state not null,
  class_id uuid,
  author_id uuid not null
);
-- Rank and id are the search's order; the included columns let the policy filter the rows
-- without visiting the table. The trigger finds a resource's rows by this key too: it
-- recomputes each old rank.
create unique index resource_terms_rank_idx on private.resource_terms (organization_id, lexeme, rank, resource_id)
  include (state, class_id, author_id);

-- The condition of resources_select on the copied columns (keep the two alike:
-- tests/resources/test_search_leaks.py compares them for every kind of person), with its
-- membership test taken out of the arms (an org admin's organizations are among their
-- member ones): a search reads this table beside resources, and each helper the policy
-- calls costs the statement a call.
alter table private.resource_terms enable row level security;
create policy resource_terms_select on private.resource_terms for select to authenticated
  using ((select private.is_super_admin())
         or (organization_id in (select private.member_org_ids())
             and ((state = 'approved'
                   and (class_id is null
                        or class_id in (select private.taught_class_ids())
                        or class_id in (select private.enrolled_class_ids())
                        or class_id in (select private.child_class_ids())))
                  or (author_id = (select auth.uid()) and state <> 'archived')
                  or organization_id in (select private.org_ids_with_role('org_admin')))));
grant select on private.resource_terms to authenticated, service_role;

-- Security definer: nobody else writes the terms. A resource's rows are replaced whenever
-- its text or a column the policy reads changes, and go with it.
create function private.index_resource_terms() returns trigger
  language plpgsql security definer set search_path = ''
  as $$
  begin
    if tg_op in ('UPDATE', 'DELETE') then
      delete from private.resource_terms t
      using unnest(old.search) u
      where t.organization_id = old.organization_id and t.lexeme = u.lexeme
        and t.rank = private.resource_term_rank(old.search, u.lexeme) and t.resource_id = old.id;
    end if;
    if tg_op in ('INSERT', 'UPDATE') then
      insert into private.resource_terms (organization_id, lexeme, rank, resource_id, state, class_id, author_id)
      select new.organization_id, u.lexeme, private.resource_term_rank(new.search, u.lexeme), new.id,
             new.state, new.class_id, new.author_id
      from unnest(new.search) u;
    end if;
    return null;
  end $$;

create trigger resources_index_terms
  after insert or delete or update of title, description, tags, state, class_id, author_id, organization_id
  on public.resources for each row execute function private.index_resource_terms();

insert into private.resource_terms (organization_id, lexeme, rank, resource_id, state, class_id, author_id)
select r.organization_id, u.lexeme, private.resource_term_rank(r.search, u.lexeme), r.id, r.state, r.class_id,
       r.author_id
from public.resources r, unnest(r.search) u;
