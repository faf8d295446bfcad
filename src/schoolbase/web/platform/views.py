"""What the super admin's pages read: organizations a page at a time, one organization and its
email domains. Through the tenancy services the API uses, as the super admin under row-level
security."""

import uuid
from zoneinfo import available_timezones

from sqlalchemy.ext.asyncio import AsyncSession

from schoolbase.models import Organization
from schoolbase.pagination import Page, PageParams
from schoolbase.problems import FORBIDDEN
from schoolbase.tenancy import schemas, service
from schoolbase.web.context import PageContext

PAGE_SIZE = 50
MAX_DOMAINS = 200
TIME_ZONES = sorted(available_timezones())


def require_super_admin(page: PageContext) -> None:
    """Only a super admin manages organizations (403 for anyone else)."""
    if page.me is None or not page.me.user.is_super_admin:
        raise FORBIDDEN("Only a platform administrator manages organizations.")


async def organizations(session: AsyncSession, cursor: str | None) -> Page:
    return await service.list_organizations(session, PageParams(cursor=cursor, limit=PAGE_SIZE))


async def organization(session: AsyncSession, organization_id: uuid.UUID) -> Organization:
    return await service.get_organization(session, organization_id)


async def domains(session: AsyncSession, organization_id: uuid.UUID) -> list[schemas.DomainOut]:
    found = await service.list_domains(session, organization_id, PageParams(limit=MAX_DOMAINS))
    return sorted(found.items, key=lambda domain: domain.domain)
