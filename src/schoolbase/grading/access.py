"""Who manages a class's grading: the staff of ACCESS.md's grading rows (super admins, the
organization's admins and the class's teachers), and the server itself (``service_role``,
which row-level security lets change everything: the CLI, jobs and the demo loader). Row-level
security refuses everyone else on write; these checks answer 403 before work that would only
be refused later."""

import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.problems import forbidden

_MANAGES_CLASS = text(
    "select current_user = 'service_role' or private.is_super_admin()"
    " or cast(:org as uuid) in (select private.org_ids_with_role('org_admin'))"
    " or cast(:class as uuid) in (select private.taught_class_ids())"
)


async def manages_class(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID) -> bool:
    """Is the caller the server, a super admin, an org admin of the organization or a teacher of the class?"""
    return bool(await session.scalar(_MANAGES_CLASS, {"org": organization_id, "class": class_id}))


async def require_manager(session: AsyncSession, organization_id: uuid.UUID, class_id: uuid.UUID, doing: str) -> None:
    if not await manages_class(session, organization_id, class_id):
        raise forbidden(f"only the class's teachers and org admins may {doing}")


async def refreshed(session: AsyncSession, row: Any) -> Any:
    """``row`` as the database has it now (triggers set some of its columns)."""
    await session.refresh(row)
    return row
