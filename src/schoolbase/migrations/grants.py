"""Revisions grant exactly what they say, whatever default privileges the migration owner has.

On Supabase the owner has ``alter default privileges in schema public grant all on tables to
anon, authenticated, service_role`` (and on functions and sequences): every object a revision
created would be open to those roles, TRUNCATE included, which row-level security does not
cover. ``explicit_grants`` sets the owner's default privileges aside for the revision's step
and puts them back after it, so objects get only what the revision grants and the project's
own defaults are left as they were.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from alembic import op
from sqlalchemy import text

# pg_default_acl.defaclobjtype -> the words ALTER DEFAULT PRIVILEGES uses.
OBJECT_TYPES = {
    "r": "tables",
    "S": "sequences",
    "f": "functions",
    "T": "types",
    "n": "schemas",
    "L": "large objects",
}

# How each of the owner's entries departs from PostgreSQL's built-in default. A global entry
# (no schema) replaces the built-in default, so it may also withhold what that grants (say
# EXECUTE on functions to PUBLIC); an entry for a schema only ever adds to it.
DEPARTURES = """
with entries as (
  select d.defaclobjtype as object_type, d.defaclnamespace as schema_oid, d.defaclacl as acl,
         case when d.defaclnamespace = 0
              -- acldefault() spells sequences 's'; pg_default_acl spells them 'S'.
              then acldefault(case d.defaclobjtype when 'S' then 's' else d.defaclobjtype end::"char",
                              d.defaclrole)
         end as builtin
  from pg_default_acl d
  where d.defaclrole = (select oid from pg_roles where rolname = current_user)
)
select e.object_type, e.schema_oid, quote_ident(n.nspname) as schema,
       case when x.grantee = 0 then 'public' else quote_ident(g.rolname) end as grantee,
       x.privilege_type, x.is_grantable, x.granted
from entries e
cross join lateral (
  (select grantee, privilege_type, is_grantable, true as granted from aclexplode(e.acl)
   except select grantee, privilege_type, is_grantable, true from aclexplode(e.builtin))
  union all
  (select grantee, privilege_type, is_grantable, false from aclexplode(e.builtin)
   except select grantee, privilege_type, is_grantable, false from aclexplode(e.acl))
) x
left join pg_namespace n on n.oid = e.schema_oid
left join pg_roles g on g.oid = x.grantee
"""


@dataclass(frozen=True)
class Departure:
    object_type: str
    schema_oid: int
    schema: str | None
    grantee: str
    privilege: str
    grantable: bool
    granted: bool  # True: granted beyond the built-in default; False: withheld from it

    def grant(self) -> str:
        option = " with grant option" if self.grantable else ""
        return f"{self._prefix()} grant {self.privilege} on {OBJECT_TYPES[self.object_type]} to {self.grantee}{option}"

    def revoke(self) -> str:
        return f"{self._prefix()} revoke {self.privilege} on {OBJECT_TYPES[self.object_type]} from {self.grantee}"

    def _prefix(self) -> str:
        return f"alter default privileges in schema {self.schema}" if self.schema else "alter default privileges"


def explicit_grants(step: Callable[[], None]) -> Callable[[], None]:
    """Run a revision's ``upgrade`` or ``downgrade`` under PostgreSQL's built-in default privileges.

    No ``finally``: the step runs in the revision's transaction, so when it fails the rollback
    undoes the changed default privileges too.
    """

    @functools.wraps(step)
    def run() -> None:
        bind = op.get_bind()
        departures = [Departure(*row) for row in bind.execute(text(DEPARTURES))]
        # Revokes first: a privilege held with a different grant option is revoked, then granted anew.
        for departure in departures:
            if departure.granted:
                op.execute(departure.revoke())
        for departure in departures:
            if not departure.granted:
                op.execute(departure.grant())
        step()
        # Dropping a schema drops its default privileges, as it would have without us.
        schemas = set(bind.execute(text("select oid from pg_namespace")).scalars())
        restored = [d for d in departures if not d.schema or d.schema_oid in schemas]
        for departure in restored:
            if not departure.granted:
                op.execute(departure.revoke())
        for departure in restored:
            if departure.granted:
                op.execute(departure.grant())

    run.explicit_grants = True
    return run
